"""Device-farm runs: AWS Device Farm test spec, Firebase Test Lab game-loop config, and
``collect`` to turn downloaded artifacts into the harness's results format.

Why generate rather than hand-write the specs: the matrix (models × threads), the
benchmark flags and the log-file naming must match what ``collect`` parses, so one module
owns both ends. Farms cannot be reached from here; spec generation and collection are
what the tests cover.

Why a backend registry: everything one farm needs (its subcommand, its own flags, the files
it writes, the artifact layout ``collect`` recognises) is one ``FarmBackend`` entry in
``BACKENDS``; the CLI and ``collect`` only iterate the table, so adding a farm touches one
place. The flags every farm takes (--model, --devices, --threads, --out) are added here.

Artifact layouts: AWS logs are ``<variant>[__<signature>]__t<threads>.log`` holding the raw
benchmark_model output (or the logcat of the APK run), ``<variant>[__<signature>]__npu.log`` for
NPU runs; Firebase's game-loop app writes ``benchmark_result_<scenario tag>`` CSVs under
``<variant>/<device>/…``.

Why every value is checked against a strict pattern *and* quoted: the generated test spec and
script are run by a shell on the farm's host, and each ``adb shell "…"`` line by a second shell on
the phone. A signature, file or device name that reached them unchecked ran as a command
(``--signatures '$(…)'``, a .tflite whose signature names hold ``$(…)``, a model file named
``m$(…).tflite``). Names are refused (exit 2, saying which value, where it came from and what is
allowed) unless they match :data:`NAME_PATTERNS`; what is written is still quoted for each shell
it passes (``shlex.quote``), and each spec command is a YAML double-quoted scalar, so neither layer
depends on the other.
"""

from __future__ import annotations

import abc
import argparse
import json
import logging
import os
import re
import shlex
import sys
import zipfile
from pathlib import Path
from typing import Sequence

from albert_edge.benchmark.results_io import append_jsonl, atomic_write_json, atomic_write_text, parse_int_list
from albert_edge.benchmark.parse import CORE_KEYS, BenchmarkParseError, accelerator_evidence, npu_verdict, parse_all
from albert_edge.benchmark.report import write_reports
from albert_edge.cli import check_writable_dir

log = logging.getLogger(__name__)

LOG_NAME = re.compile(
    r"^(?P<variant>.+?)(?:__(?P<signature>L\d+|serving_default))?"
    r"(?:__t(?P<threads>\d+)(?:__(?P<delegate>[a-z]+))?|__(?P<npu>npu))\.(?:log|txt)$"
)
# What a value written into a generated shell / YAML file may look like: nothing a shell or YAML
# gives a meaning to (no quotes, $, `, ;, |, &, <, >, (, ), *, ?, space, newline, ': ', '#').
NAME_PATTERNS = {
    "file name": (re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"),
                  "letters, digits and ._- (not first), at most 128"),
    "signature": (re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}"),
                  "letters, digits and _, not starting with a digit, at most 64"),
    "device model": (re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}"),
                     "letters, digits, spaces and ._+-, at most 64"),
    "device version": (re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3})?"), "an Android version or API level such as 14 or 34"),
    "soc": (re.compile(r"SM[0-9]{4}"), "a Snapdragon part number such as SM8650"),
    "path": (re.compile(r"[A-Za-z0-9._/@+-]{1,1024}"), "letters, digits and ._/@+- (no spaces or shell characters)"),
    "bucket": (re.compile(r"(?:gs://)?[a-z0-9][a-z0-9._-]{1,221}(?:/[A-Za-z0-9._/-]*)?"),
               "a bucket name, optionally gs://bucket[/folder]"),
    "timeout": (re.compile(r"[0-9]{1,5}[smh]?"), "a duration such as 30m"),
}


def check_name(kind: str, value: object, where: str) -> str:
    """``value`` if it matches the strict pattern of ``kind``; else ValueError saying what, where, how.

    ``where`` names the flag or file it came from (``--signatures``, ``signature 2 of m.tflite``).
    """
    pattern, allowed = NAME_PATTERNS[kind]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{where}: {value!r} is not a valid {kind} for a generated device-farm file "
                         f"(allowed: {allowed}); it would reach a shell on the farm's host and on the phone. "
                         "rename it (or pass another value)")
    return value
GENERIC_DIRS = {"customer_artifacts", "artifacts", "logs", "files", "test_results", "results", "tmp",
                "host_machine_files", "devicefarm_log_dir"}


def read_devices(path: str) -> list[dict]:
    """``.txt``: one device per line (``model`` or ``model,version``); ``.json``: list of objects.

    A JSON object may also give ``soc`` (e.g. ``SM8650``): the SoC its NPU runs are compiled for.
    Every name is checked (:func:`check_name`): it is written into generated shell / YAML files.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"--devices {path}: not UTF-8 text") from None
    except FileNotFoundError:
        raise ValueError(f"--devices {path}: no such file; give a device list (.txt: model[,version] per line, or "
                         ".json: a list of objects), e.g. benchmark/devices/snapdragon_npu.json") from None
    except IsADirectoryError:
        raise ValueError(f"--devices {path} is a folder; give a device list file") from None
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"--devices {path}: not valid JSON ({exc})") from None
        devices = data.get("devices") if isinstance(data, dict) else data
        if not isinstance(devices, list) or not all(isinstance(d, dict) for d in devices):
            raise ValueError(f"--devices {path}: expected a JSON list of objects such as "
                             '[{"model": "Google Pixel 3", "version": "9"}] (or {"devices": [...]})')
    else:
        devices = []
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            model, _, version = line.partition(",")
            devices.append({"model": model.strip(), **({"version": version.strip()} if version.strip() else {})})
    if not devices:
        raise ValueError(f"{path}: no devices listed")
    for number, dev in enumerate(devices, 1):
        if "model" not in dev:
            raise ValueError(f"{path}: device entry without 'model': {dev}")
        where = f"--devices {path}, device {number}"
        check_name("device model", dev["model"], where)
        if dev.get("version") is not None:
            dev["version"] = check_name("device version", str(dev["version"]), where)
        if dev.get("soc") is not None:
            check_name("soc", dev["soc"], where)
    return devices


def log_name(model: str, threads: int, signature: str | None = None) -> str:
    sig = f"__{signature}" if signature else ""
    return f"{Path(model).stem}{sig}__t{threads}.log"


def _runs(models: Sequence[str], threads: Sequence[int], signatures: dict[str, list] | None):
    """(model, signature, threads) in a stable order; signatures default to the tool's default."""
    for model in models:
        for sig in (signatures or {}).get(model, [None]):
            for t in threads:
                yield model, sig, t


def _yaml_command(line: str) -> str:
    """One spec command as a YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return "      - " + json.dumps(line)


def _device_line(pin: list[str], binary: str, args: Sequence[str], env: dict[str, str] | None = None) -> str:
    """The command the phone's shell runs, every word quoted for that shell (env names are fixed)."""
    assignments = [f"{name}={shlex.quote(value)}" for name, value in (env or {}).items()]
    return " ".join(assignments + [shlex.quote(w) for w in [*pin, binary, *args]])


def aws_test_spec(models: Sequence[str], threads: Sequence[int], runs: int = 50, warmup: int = 5,
                  cpu_mask: str | None = "f0", binary: str = "benchmark_model",
                  signatures: dict[str, list] | None = None, delegates: Sequence[str] = ("cpu",),
                  model_socs: dict[str, str] | None = None, qnn_libs: Sequence[str] = (),
                  litert_binary: str = "litert_benchmark_model") -> str:
    """Device Farm custom-environment spec: push, run pinned, logcat, all into $DEVICEFARM_LOG_DIR.

    ``delegates`` may hold ``npu``: each compiled model (``model_socs``: model → SoC) then runs on
    the phones whose ``ro.soc.model`` is its SoC, with LiteRT's benchmark_model (``litert_binary``)
    told to use the NPU alone and the QNN libraries (``qnn_libs``: file names in the test package's
    ``qnn/`` folder) pushed beside it; a phone whose SoC has no model writes an error log.
    """
    remote = "/data/local/tmp/albert_edge"
    npu = "npu" in delegates
    cpu_delegates = [d for d in delegates if d != "npu"]
    unknown = [d for d in delegates if d not in ("cpu", "xnnpack", "npu")]
    if unknown:
        raise ValueError(f"--delegates: {unknown} not supported by the Device Farm spec (cpu, xnnpack, npu)")
    check_name("file name", binary, "benchmark binary")
    if npu:
        check_name("file name", litert_binary, "--litert-binary")
    for m in models:
        check_name("file name", Path(m).name, f"--model {m}")
    for lib in qnn_libs:
        check_name("file name", lib, "--qnn-device-libs")
    for model, sigs in (signatures or {}).items():
        for number, sig in enumerate(sigs, 1):
            if sig is not None:
                check_name("signature", sig, f"signature {number} of {Path(model).name}")
    socs = dict(model_socs or {})
    if npu:
        for m in models:
            if not socs.get(m):
                raise ValueError(f"--model {m}: NPU runs need a model compiled for one SoC (LiteRtStamp metadata or "
                                 ".sm<NNNN>. in its name); compile it with `python -m albert_edge.export … --npu <soc>`")
            check_name("soc", socs[m], f"SoC of {Path(m).name}")
    if cpu_mask and not re.fullmatch(r"[0-9a-fA-F]{1,16}", str(cpu_mask)):
        raise ValueError(f"--cpu-mask must be a hex CPU mask such as f0, got {cpu_mask!r}")
    runs, warmup = int(runs), int(warmup)
    if runs < 1 or warmup < 0:
        raise ValueError(f"--runs must be ≥ 1 and --warmup ≥ 0, got {runs} and {warmup}")
    if any(int(t) < 1 for t in threads):
        raise ValueError(f"--threads must be ≥ 1: {list(threads)}")
    pin = ["taskset", cpu_mask] if cpu_mask else []
    adb = 'adb -s "$DEVICEFARM_DEVICE_UDID"'
    run_lines = []
    for delegate in cpu_delegates:
        for model, sig, t in _runs(models, threads, signatures):
            name = Path(model).name
            args = [f"--graph={remote}/{name}", f"--num_threads={int(t)}", f"--num_runs={runs}",
                    f"--warmup_runs={warmup}", "--report_peak_memory_footprint=true"]
            if sig:
                args.append(f"--signature_to_run_for={sig}")
            if delegate == "xnnpack":
                args.append("--use_xnnpack=true")
            log = log_name(model, int(t), sig) if delegate == "cpu" else log_name(model, int(t), sig)[:-4] + "__xnnpack.log"
            out = f'"$DEVICEFARM_LOG_DIR"/{shlex.quote(log)}'
            device = _device_line(pin, f"{remote}/{binary}", args)
            run_lines.append(_yaml_command(f"{adb} shell {shlex.quote(device)} > {out} 2>&1 || "
                                           f'echo "run failed, exit status $?" >> {out}'))
            run_lines.append("      - sleep 10  # cooldown between runs")
    if npu:
        qnn = f"{remote}/qnn"
        soc_now = f"$({adb} shell getprop ro.soc.model | tr -d '\\r')"
        for model in models:
            for sig in (signatures or {}).get(model, [None]):
                args = [f"--graph={remote}/{Path(model).name}", f"--num_runs={runs}", f"--warmup_runs={warmup}",
                        "--report_peak_memory_footprint=true"]
                if sig:
                    args.append(f"--signature_to_run_for={sig}")
                args += ["--use_npu=true", "--use_cpu=false", "--require_full_delegation=true",
                         f"--dispatch_library_path={qnn}"]
                device = _device_line(pin, f"{remote}/{litert_binary}", args,
                                      {"LD_LIBRARY_PATH": qnn, "ADSP_LIBRARY_PATH": qnn})
                log = f"{Path(model).stem}{'__' + sig if sig else ''}__npu.log"
                out = f'"$DEVICEFARM_LOG_DIR"/{shlex.quote(log)}'
                run_lines.append(_yaml_command(
                    f'if [ "{soc_now}" = {shlex.quote(socs[model])} ]; then {adb} shell {shlex.quote(device)} > {out} '
                    f'2>&1 || echo "run failed, exit status $?" >> {out}; fi'))
                run_lines.append("      - sleep 10  # cooldown between runs")
        known = "|".join(sorted(set(socs.values())))
        run_lines.append(_yaml_command(
            f'soc="{soc_now}"; case "$soc" in {known}) ;; *) echo "ERROR: no model compiled for the SoC of this device: '
            f'$soc" > "$DEVICEFARM_LOG_DIR"/no_model_for_this_soc__npu.log ;; esac'))
    pushes = [_yaml_command(f'{adb} push "$DEVICEFARM_TEST_PACKAGE_PATH"/{shlex.quote(Path(m).name)} {remote}/')
              for m in models]
    def shell(*words: str) -> str:  # quoted for the phone's shell, then the whole for the host's
        return f"{adb} shell {shlex.quote(' '.join(shlex.quote(w) for w in words))}"

    setup = [
        _yaml_command(shell("mkdir", "-p", remote)),
        _yaml_command(f'{adb} push "$DEVICEFARM_TEST_PACKAGE_PATH"/{shlex.quote(binary)} {remote}/'),
        _yaml_command(shell("chmod", "755", f"{remote}/{binary}")),
    ]
    if npu:
        setup += [
            _yaml_command(f'{adb} push "$DEVICEFARM_TEST_PACKAGE_PATH"/{shlex.quote(litert_binary)} {remote}/'),
            _yaml_command(shell("chmod", "755", f"{remote}/{litert_binary}")),
            _yaml_command(shell("mkdir", "-p", f"{remote}/qnn")),
            *[_yaml_command(f'{adb} push "$DEVICEFARM_TEST_PACKAGE_PATH"/qnn/{shlex.quote(lib)} {remote}/qnn/')
              for lib in qnn_libs],
        ]
    return "\n".join([
        "# Generated by `python -m albert_edge.benchmark farm aws`. Upload with the test package",
        "# (a zip holding benchmark_model and the .tflite files; for NPU runs also LiteRT's",
        "# benchmark_model and qnn/ with the QNN libraries) as a custom-environment run.",
        "version: 0.1",
        "android_test_host: amazon_linux_2",
        "phases:",
        "  install:",
        "    commands:",
        "      - export PATH=$PATH:$ANDROID_HOME/platform-tools",
        "  pre_test:",
        "    commands:",
        *setup,
        *pushes,
        _yaml_command(f'{adb} shell getprop > "$DEVICEFARM_LOG_DIR"/getprop.txt'),
        _yaml_command(f"{adb} logcat -c"),
        "  test:",
        "    commands:",
        *run_lines,
        "  post_test:",
        "    commands:",
        _yaml_command(f'{adb} logcat -d > "$DEVICEFARM_LOG_DIR"/logcat.txt'),
        _yaml_command(shell("rm", "-rf", remote)),
        "artifacts:",
        "  - $DEVICEFARM_LOG_DIR",
        "",
    ])


def aws_device_pool_rules(devices: Sequence[dict]) -> list[dict]:
    """``aws devicefarm create-device-pool --rules`` JSON selecting the listed models."""
    models = sorted({d["model"] for d in devices})
    return [{"attribute": "MODEL", "operator": "IN", "value": json.dumps(models)}]


# TensorFlow's game-loop benchmark app (tools/benchmark/experimental/firebase/android) has fixed
# scenarios and always benchmarks /data/local/tmp/graph; see GetScenarioConfig in its JNI code.
FIREBASE_SCENARIOS = {
    ("cpu", 1): (1, "cpu_1thread"), ("cpu", 2): (2, "cpu_2threads"), ("cpu", 4): (3, "cpu_4threads"),
    ("xnnpack", 1): (4, "xnnpack_1thread"), ("xnnpack", 2): (5, "xnnpack_2threads"),
    ("xnnpack", 4): (6, "xnnpack_4threads"), ("gpu", 0): (7, "gpu_default"), ("gpu_fp16", 0): (8, "gpu_fp16"),
    ("hexagon", 0): (9, "dsp_hexagon"), ("nnapi", 0): (10, "nnapi"),
}
FIREBASE_TAGS = {tag: key for key, (_, tag) in FIREBASE_SCENARIOS.items()}
FIREBASE_GRAPH = "/data/local/tmp/graph"
FIREBASE_OUTPUT_DIR = "/sdcard/benchmark_output"


def firebase_scenarios(threads: Sequence[int], delegates: Sequence[str] = ("cpu",)) -> list[tuple[int, str]]:
    """Scenario numbers of the game-loop app for the wanted delegates × threads."""
    chosen = []
    for delegate in delegates:
        for t in ([0] if delegate not in ("cpu", "xnnpack") else threads):
            if (delegate, t) not in FIREBASE_SCENARIOS:
                raise ValueError(f"the game-loop app has no scenario for {delegate} with {t} threads "
                                 "(cpu/xnnpack: 1, 2 or 4 threads; gpu, gpu_fp16, hexagon, nnapi)")
            chosen.append(FIREBASE_SCENARIOS[(delegate, t)])
    return chosen


def firebase_config(models: Sequence[str], threads: Sequence[int], devices: Sequence[dict],
                    delegates: Sequence[str] = ("cpu",), apk: str = "benchmark_model_firebase.apk",
                    results_bucket: str | None = None, timeout: str = "30m") -> dict:
    """One ``gcloud firebase test android run --type=game-loop`` per model.

    The app takes no arguments: the model goes to its fixed path with ``--other-files`` (so a
    multi-signature model cannot be told which signature to run — export ``--seq-lens 128``),
    the scenario picks threads/delegate, and its CSV results are pulled from
    ``/sdcard/benchmark_output`` for ``farm collect``. Every value is checked (:func:`check_name`)
    and every word quoted (``shlex.join``): the commands land in ``firebase_command.sh``.
    """
    if "npu" in delegates:
        raise ValueError("--delegates npu: TensorFlow's game-loop benchmark app has no LiteRT NPU accelerator; "
                         "run NPU benchmarks with `farm aws --delegates npu` or `benchmark adb --delegates npu`")
    scenarios = firebase_scenarios(threads, delegates)
    numbers = ",".join(str(n) for n, _ in scenarios)
    check_name("path", apk, "--apk")
    check_name("timeout", timeout, "--timeout")
    if results_bucket:
        check_name("bucket", results_bucket, "--results-bucket")
    commands = []
    for model in models:
        check_name("path", model, "--model")
        variant = check_name("file name", Path(model).stem, f"--model {model} (its name without .tflite)")
        cmd = ["gcloud", "firebase", "test", "android", "run", "--type=game-loop", f"--app={apk}",
               f"--scenario-numbers={numbers}", f"--timeout={timeout}",
               f"--other-files={FIREBASE_GRAPH}={model}", f"--directories-to-pull={FIREBASE_OUTPUT_DIR}"]
        for number, dev in enumerate(devices, 1):
            where = f"--devices, device {number}"
            model_id = check_name("file name", dev["model"], where + " (Firebase model ids have no spaces)")
            version = check_name("device version", str(dev["version"]), where) if dev.get("version") else None
            cmd.append(f"--device=model={model_id}" + (f",version={version}" if version else ""))
        if results_bucket:
            cmd.append(f"--results-bucket={results_bucket}")
        commands.append({"variant": variant,
                         "command": shlex.join(cmd) + f' --results-dir="$RESULTS_DIR"/{shlex.quote(variant)}'})
    return {"scenarios": [{"scenario": n, "tag": tag} for n, tag in scenarios], "runs": commands}


def firebase_script(cfg: dict) -> str:
    """Shell script running every model's game-loop test; results land in $RESULTS_DIR/<variant>."""
    lines = ["#!/usr/bin/env bash", "# Generated by `python -m albert_edge.benchmark farm firebase`.",
             "set -euo pipefail", 'RESULTS_DIR=${RESULTS_DIR:-albert_edge/$(date +%Y%m%d-%H%M%S)}']
    lines += [run["command"] + ' "$@"' for run in cfg["runs"]]
    return "\n".join(lines) + "\n"


def _firebase_csv_row(path: Path) -> dict:
    """``benchmark_result_<tag>`` written by the game-loop app's CsvExportingListener."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        records = list(csv.DictReader(fh))
    if not records or not records[0].get("inference_avg"):
        raise BenchmarkParseError(f"{path.name}: no result line (run crashed or file cut off)")
    rec = records[-1]
    from albert_edge.benchmark.parse import to_number

    def num(key: str) -> float | None:
        value = rec.get(key)
        return None if value in (None, "") else to_number(value, key, 2)

    delegate, threads = FIREBASE_TAGS.get(rec.get("config_key", ""), ("?", 0))
    return {
        "init_us": num("init_time"), "warmup_avg_us": num("warmup_avg"), "inference_avg_us": num("inference_avg"),
        "min_us": num("inference_min"), "max_us": num("inference_max"), "std_us": num("inference_stddev"),
        "model_size_mb": num("model_size"), "mem_init_mb": num("init_max_rss"),
        "mem_overall_mb": num("overall_max_rss"), "threads": threads or None, "delegate": delegate,
    }


# --------------------------------------------------------------------------- collect


def _device_from_path(path: Path, root: Path) -> str:
    for part in reversed(path.relative_to(root).parts[:-1]):
        name = part.removesuffix("_unzipped")
        if name.lower().replace(" ", "_") not in GENERIC_DIRS and not part.startswith("0"):
            return name
    return "unknown"


def unpack_zips(root: Path) -> list[Path]:
    """Device Farm delivers "Customer Artifacts" as zips: unpack each beside itself, safely."""
    unpacked = []
    for archive in sorted(root.rglob("*.zip")):
        target = archive.with_name(archive.stem + "_unzipped")
        if target.exists():
            continue
        try:
            with zipfile.ZipFile(archive) as zf:
                for member in zf.infolist():
                    dest = (target / member.filename).resolve()
                    if not str(dest).startswith(str(target.resolve()) + os.sep):
                        log.warning("%s: skipping unsafe member %s", archive, member.filename)
                        continue
                    zf.extract(member, target)
            unpacked.append(target)
        except zipfile.BadZipFile:
            log.warning("%s: not a readable zip, skipped", archive)
    return unpacked


# --------------------------------------------------------------------------- backends


class FarmBackend(abc.ABC):
    """One device farm: its subcommand, its own flags, the files it writes, the artifacts it reads.

    To add a farm, subclass this, set the class attributes, implement the methods and put an
    instance in ``BACKENDS``; nothing else changes. ``farm <name>`` then takes the shared flags
    (--model, --devices, --threads, --out) plus the backend's own, and ``farm collect`` hands
    every downloaded file ``matches`` accepts to ``collect_row``.
    """

    # Subcommand name (``farm <name>``); ``collect`` is taken.
    name: str = ""
    # One line shown by ``farm --help`` and as the subcommand's description.
    help_text: str = ""
    # How the artifact files are named, for the message of a ``collect`` that found none.
    artifact_names: str = ""
    # True when the layout is a naming pattern other farms' files may follow too: such a backend
    # is asked last, so a file with a farm-specific name is never parsed as a generic log.
    catch_all: bool = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the flags of this farm only; the shared ones are already on ``parser``."""

    @abc.abstractmethod
    def write(self, args: argparse.Namespace, devices: list[dict], threads: list[int], out: Path) -> str:
        """Write this farm's run files under ``out``; return the line printed to the user.

        Raise ``ValueError`` (or ``OSError``) for unusable input: the CLI reports it and exits 2.
        """

    def prepare_artifacts(self, root: Path) -> None:
        """Bring downloaded artifacts under ``root`` into readable files (e.g. unpack archives)."""

    @abc.abstractmethod
    def matches(self, path: Path) -> bool:
        """Whether the file ``path`` is one of this farm's result artifacts."""

    @abc.abstractmethod
    def collect_row(self, path: Path, root: Path) -> dict:
        """One results row (``CORE_KEYS`` + ``status``) for a file ``matches`` accepted.

        A file that cannot be parsed gives a row with ``status="error"`` rather than an exception,
        so one broken download does not hide the other devices' results.
        """


def _signatures_arg(value: str, models: Sequence[str]) -> dict[str, list] | None:
    if value == "default":
        return None
    if value == "auto":
        from albert_edge.benchmark.adb import flatbuffer_signatures, model_signatures

        for model in models:  # every name the file holds: it came from wherever the file came from
            try:
                names = flatbuffer_signatures(model) if os.path.isfile(model) else []
            except Exception:  # noqa: BLE001 - unreadable: model_signatures falls back to the default
                names = []
            for number, sig in enumerate(names, 1):
                check_name("signature", sig, f"--signatures auto: signature {number} of {model}")
        return {m: model_signatures(m) if os.path.isfile(m) else [None] for m in models}
    sigs = [check_name("signature", s.strip(), "--signatures") for s in value.split(",") if s.strip()]
    if not sigs:
        raise ValueError(f"--signatures: no signature in {value!r}; give e.g. L128, 'auto' or 'default'")
    return {m: list(sigs) for m in models}


def _npu_inputs(args: argparse.Namespace) -> tuple[dict[str, str], list[str]]:
    """(model → SoC, QNN library file names) of ``farm aws --delegates npu``."""
    from albert_edge.benchmark.adb import find_qnn_libs, model_soc, required_qnn_libs

    socs = {}
    for model in args.model:
        soc = model_soc(model) if os.path.isfile(model) else None
        if soc is None:
            named = re.search(r"(?:^|[._-])(sm\d{4})(?=[._-]|$)", Path(model).name, re.I)
            soc = named.group(1).upper() if named else None
        if soc is None:
            raise ValueError(f"--model {model}: not compiled for an NPU (no LiteRtStamp, no .sm<NNNN>. in its name): "
                             "compile it with `python -m albert_edge.export … --npu <soc>`")
        socs[model] = soc
    if args.qnn_device_libs:
        libs = [p.name for p in find_qnn_libs(args.qnn_device_libs, list(dict.fromkeys(socs.values())))]
    else:
        libs = list(dict.fromkeys(n for soc in socs.values() for n in required_qnn_libs(soc)))
    return socs, libs


class AwsDeviceFarm(FarmBackend):
    """AWS Device Farm custom-environment run: test spec + device-pool rules; one log per run."""

    name = "aws"
    help_text = "write an AWS Device Farm test spec + device-pool rules"
    artifact_names = "'<variant>__t<threads>.log' / '<variant>__<signature>__npu.log'"
    catch_all = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from albert_edge.cli import nonnegative_int, positive_int

        parser.add_argument("--runs", type=positive_int, default=50, help="--num_runs (default 50)")
        parser.add_argument("--warmup", type=nonnegative_int, default=5, help="--warmup_runs (default 5)")
        parser.add_argument("--signatures", default="auto",
                            help="signatures to run, e.g. L128; 'auto' = read each model's (needs the file here); "
                                 "'default' = let the tool choose")
        parser.add_argument("--cpu-mask", default="f0", help="taskset mask; 'none' = no pinning")
        parser.add_argument("--delegates", default="cpu",
                            help="cpu,xnnpack,npu (default cpu); npu: each model AOT-compiled for one Snapdragon SoC "
                                 "runs on the pool's phones with that SoC (see benchmark/devices/snapdragon_npu.json)")
        parser.add_argument("--litert-binary", default="litert_benchmark_model",
                            help="file name, in the test package, of LiteRT's benchmark_model for NPU runs "
                                 "(default litert_benchmark_model)")
        parser.add_argument("--qnn-device-libs", metavar="DIR",
                            help="npu: your QAIRT root or folder with the device libraries; checked here, and their "
                                 "names written into the spec (put them in the test package's qnn/ folder)")

    def write(self, args: argparse.Namespace, devices: list[dict], threads: list[int], out: Path) -> str:
        signatures = _signatures_arg(args.signatures, args.model)
        mask = None if str(args.cpu_mask).lower() in ("", "none") else args.cpu_mask
        delegates = [d.strip() for d in args.delegates.split(",") if d.strip()]
        socs, libs = _npu_inputs(args) if "npu" in delegates else ({}, [])
        if socs:
            listed = {d["soc"] for d in devices if d.get("soc")}
            missing = sorted(set(socs.values()) - listed) if listed else []
            if missing:
                log.warning("no device in --devices has SoC %s: those models will not run", ", ".join(missing))
        text = aws_test_spec(args.model, threads, args.runs, args.warmup, mask, signatures=signatures,
                             delegates=delegates, model_socs=socs, qnn_libs=libs, litert_binary=args.litert_binary)
        rules = aws_device_pool_rules(devices)
        spec = atomic_write_text(out / "aws_testspec.yml", text)
        pool = atomic_write_json(out / "aws_device_pool_rules.json", rules)
        return f"wrote {spec} and {pool}"

    def prepare_artifacts(self, root: Path) -> None:
        unpack_zips(root)

    def matches(self, path: Path) -> bool:
        return LOG_NAME.match(path.name) is not None

    def collect_row(self, path: Path, root: Path) -> dict:
        """``<device dir>/…/<variant>[__<signature>]__t<threads>[__<delegate>].log``: benchmark_model output."""
        match = LOG_NAME.match(path.name)
        row = {key: None for key in CORE_KEYS}
        npu = bool(match.group("npu"))
        row.update(source="farm", run_id=str(path.relative_to(root)), device_model=_device_from_path(path, root),
                   variant=match.group("variant"), signature=match.group("signature"),
                   threads=None if npu else int(match.group("threads")),
                   delegate="npu" if npu else (match.group("delegate") or "cpu"), raw_log=str(path))
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
            if npu:  # which accelerator ran decides before any number is kept
                evidence = accelerator_evidence(text)
                accelerator, problem = npu_verdict(evidence)
                row.update(accelerator=accelerator, npu_nodes=evidence["npu_nodes"],
                           total_nodes=evidence["total_nodes"])
                parse_all(text)  # a run without a result block is a parse error first
                if problem:
                    row.update(status="error", stage="accelerator", error=f"NPU run did not run on the NPU: {problem}")
                    return row
            parsed = parse_all(text)[-1]
            row.update({k: v for k, v in parsed.items() if v is not None})
            row["status"] = "ok"
        except BenchmarkParseError as exc:
            row.update(status="error", stage="parse", error=str(exc))
        return row


class FirebaseTestLab(FarmBackend):
    """Firebase Test Lab game-loop run of TensorFlow's benchmark APK: config + gcloud script."""

    name = "firebase"
    help_text = "write a Firebase Test Lab game-loop config + gcloud command"
    artifact_names = "'benchmark_result_*'"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--apk", default="benchmark_model_firebase.apk",
                            help="TensorFlow's game-loop benchmark APK (tools/benchmark/experimental/firebase)")
        parser.add_argument("--delegates", default="cpu", help="cpu,xnnpack,gpu,gpu_fp16,hexagon,nnapi (default cpu)")
        parser.add_argument("--results-bucket", help="GCS bucket for results")

    def write(self, args: argparse.Namespace, devices: list[dict], threads: list[int], out: Path) -> str:
        cfg = firebase_config(args.model, threads, devices, [d.strip() for d in args.delegates.split(",")],
                              args.apk, args.results_bucket)
        atomic_write_json(out / "firebase_game_loop.json", cfg)
        script = atomic_write_text(out / "firebase_command.sh", firebase_script(cfg))
        script.chmod(0o755)
        return f"wrote {script} ({len(cfg['runs'])} model(s), scenarios {[s['tag'] for s in cfg['scenarios']]})"

    def matches(self, path: Path) -> bool:
        return path.name.startswith("benchmark_result_")

    def collect_row(self, path: Path, root: Path) -> dict:
        """``<root>/<variant>/<device dir>/…/benchmark_result_<tag>`` (the ``--results-dir`` layout)."""
        parts = path.relative_to(root).parts
        row = {key: None for key in CORE_KEYS}
        row.update(source="firebase", run_id=str(path.relative_to(root)), raw_log=str(path),
                   variant=parts[0] if len(parts) > 2 else "unknown",
                   device_model=parts[1] if len(parts) > 2 else _device_from_path(path, root))
        try:
            row.update(_firebase_csv_row(path))
            row["status"] = "ok"
        except (BenchmarkParseError, OSError) as exc:
            row.update(status="error", stage="parse", error=str(exc))
        return row


# Every farm the CLI and ``collect`` know; table order is the subcommand order in --help.
BACKENDS: dict[str, FarmBackend] = {backend.name: backend for backend in (AwsDeviceFarm(), FirebaseTestLab())}


def collect(artifacts_dir: str, out_dir: str) -> tuple[int, list[dict]]:
    """Parse every artifact file a backend in ``BACKENDS`` recognises under ``artifacts_dir``.

    Each file goes to the first backend whose ``matches`` accepts it (catch-all layouts asked
    last); rows follow path order and reach ``results.jsonl`` as soon as each is parsed.
    """
    root = Path(artifacts_dir)
    if not root.is_dir():
        raise ValueError(f"not a folder: {artifacts_dir}")
    for backend in BACKENDS.values():
        backend.prepare_artifacts(root)
    recognisers = sorted(BACKENDS.values(), key=lambda backend: backend.catch_all)  # stable: else table order
    out = Path(out_dir)
    jsonl = out / "results.jsonl"
    if jsonl.exists():
        jsonl.unlink()
    rows = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        owner = next((backend for backend in recognisers if backend.matches(path)), None)
        if owner is None:
            continue
        rows.append(owner.collect_row(path, root))
        append_jsonl(jsonl, rows[-1])
    if not rows:
        wanted = " or ".join(backend.artifact_names for backend in BACKENDS.values())
        raise ValueError(f"no {wanted} files under {artifacts_dir}")
    write_reports(rows, out, "results", "Device-farm benchmark")
    return (1 if any(r["status"] != "ok" for r in rows) else 0), rows


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One subcommand per entry of ``BACKENDS`` (shared flags + the backend's own), then ``collect``."""
    sub = parser.add_subparsers(dest="farm_command", metavar="{" + ",".join([*BACKENDS, "collect"]) + "}")
    sub.required = True
    for backend in BACKENDS.values():
        p = sub.add_parser(backend.name, help=backend.help_text, description=backend.help_text)
        p.add_argument("--model", action="append", required=True, help=".tflite (repeat for variants)")
        p.add_argument("--devices", required=True, help="device list (.txt: model[,version] per line; or .json)")
        p.add_argument("--threads", default="1,4", help="comma-separated thread counts (default 1,4)")
        p.add_argument("--out", default="runs/farm", help="output folder (default runs/farm)")
        backend.add_arguments(p)
    c = sub.add_parser("collect", help="parse downloaded farm artifacts into results.{jsonl,csv,md,png}",
                       description="parse downloaded farm artifacts into results.{jsonl,csv,md,png}")
    c.add_argument("dir", help="folder with the downloaded artifacts")
    c.add_argument("--out", help="output folder (default: DIR)")


def run(args: argparse.Namespace) -> int:
    try:
        if args.farm_command == "collect":
            code, rows = collect(args.dir, args.out or args.dir)
            ok = sum(r["status"] == "ok" for r in rows)
            print(f"{ok}/{len(rows)} logs parsed; results in {args.out or args.dir}")
            return code
        backend = BACKENDS[args.farm_command]
        devices = read_devices(args.devices)
        try:
            threads = parse_int_list(args.threads)
        except ValueError:
            raise ValueError(f"--threads must be comma-separated integers such as 1,4: {args.threads!r}") from None
        if any(t < 1 or t > 64 for t in threads):
            raise ValueError(f"--threads: thread counts must be between 1 and 64: {args.threads}")
        check_writable_dir(args.out, "--out")
        print(backend.write(args, devices, threads, Path(args.out)))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
