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
benchmark_model output (or the logcat of the APK run); Firebase's game-loop app writes
``benchmark_result_<scenario tag>`` CSVs under ``<variant>/<device>/…``.
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
from albert_edge.benchmark.parse import CORE_KEYS, BenchmarkParseError, parse_all
from albert_edge.benchmark.report import write_reports

log = logging.getLogger(__name__)

LOG_NAME = re.compile(
    r"^(?P<variant>.+?)(?:__(?P<signature>L\d+|serving_default))?__t(?P<threads>\d+)(?:__(?P<delegate>[a-z]+))?"
    r"\.(?:log|txt)$"
)
GENERIC_DIRS = {"customer_artifacts", "artifacts", "logs", "files", "test_results", "results", "tmp",
                "host_machine_files", "devicefarm_log_dir"}


def read_devices(path: str) -> list[dict]:
    """``.txt``: one device per line (``model`` or ``model,version``); ``.json``: list of objects."""
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith(".json"):
        data = json.loads(text)
        devices = data["devices"] if isinstance(data, dict) else data
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
    for dev in devices:
        if "model" not in dev:
            raise ValueError(f"{path}: device entry without 'model': {dev}")
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


_SHELL_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def _sig_flag(sig: str | None) -> str:
    return f" --signature_to_run_for={sig}" if sig else ""


def aws_test_spec(models: Sequence[str], threads: Sequence[int], runs: int = 50, warmup: int = 5,
                  cpu_mask: str | None = "f0", binary: str = "benchmark_model",
                  signatures: dict[str, list] | None = None) -> str:
    """Device Farm custom-environment spec: push, run pinned, logcat, all into $DEVICEFARM_LOG_DIR."""
    remote = "/data/local/tmp/albert_edge"
    # Names below reach a host shell and then a device shell inside the generated spec: only
    # names that need no quoting in either are accepted (rename the file otherwise).
    for item in [binary, *(Path(m).name for m in models)]:
        if not _SHELL_SAFE.match(item):
            raise ValueError(f"{item!r}: a file name in a Device Farm spec may hold only letters, digits and "
                             "._- (it reaches a device shell); rename the file")
    if cpu_mask and not re.fullmatch(r"[0-9a-fA-F]+", str(cpu_mask)):
        raise ValueError(f"--cpu-mask must be a hex CPU mask such as f0, got {cpu_mask!r}")
    pin = f"taskset {cpu_mask} " if cpu_mask else ""
    run_lines = []
    for model, sig, t in _runs(models, threads, signatures):
        name = Path(model).name
        args = (f"--graph={remote}/{name} --num_threads={t} --num_runs={runs} --warmup_runs={warmup} "
                f"--report_peak_memory_footprint=true{_sig_flag(sig)}")
        out = f"$DEVICEFARM_LOG_DIR/{log_name(model, t, sig)}"
        run_lines.append(
            f'      - adb -s "$DEVICEFARM_DEVICE_UDID" shell "{pin}{remote}/{binary} {args}" > "{out}" 2>&1 || echo "run failed, exit status $?" >> "{out}"'
        )
        run_lines.append("      - sleep 10  # cooldown between runs")
    pushes = [f'      - adb -s "$DEVICEFARM_DEVICE_UDID" push "$DEVICEFARM_TEST_PACKAGE_PATH/{Path(m).name}" {remote}/'
              for m in models]
    return "\n".join([
        "# Generated by `python -m albert_edge.benchmark farm aws`. Upload with the test package",
        "# (a zip holding benchmark_model and the .tflite files) as a custom-environment run.",
        "version: 0.1",
        "android_test_host: amazon_linux_2",
        "phases:",
        "  install:",
        "    commands:",
        "      - export PATH=$PATH:$ANDROID_HOME/platform-tools",
        "  pre_test:",
        "    commands:",
        f'      - adb -s "$DEVICEFARM_DEVICE_UDID" shell mkdir -p {remote}',
        f'      - adb -s "$DEVICEFARM_DEVICE_UDID" push "$DEVICEFARM_TEST_PACKAGE_PATH/{binary}" {remote}/',
        f'      - adb -s "$DEVICEFARM_DEVICE_UDID" shell chmod 755 {remote}/{binary}',
        *pushes,
        '      - adb -s "$DEVICEFARM_DEVICE_UDID" shell getprop > "$DEVICEFARM_LOG_DIR/getprop.txt"',
        '      - adb -s "$DEVICEFARM_DEVICE_UDID" logcat -c',
        "  test:",
        "    commands:",
        *run_lines,
        "  post_test:",
        "    commands:",
        '      - adb -s "$DEVICEFARM_DEVICE_UDID" logcat -d > "$DEVICEFARM_LOG_DIR/logcat.txt"',
        f'      - adb -s "$DEVICEFARM_DEVICE_UDID" shell rm -rf {remote}',
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
    ``/sdcard/benchmark_output`` for ``farm collect``.
    """
    scenarios = firebase_scenarios(threads, delegates)
    numbers = ",".join(str(n) for n, _ in scenarios)
    commands = []
    for model in models:
        variant = Path(model).stem
        cmd = ["gcloud", "firebase", "test", "android", "run", "--type=game-loop", f"--app={apk}",
               f"--scenario-numbers={numbers}", f"--timeout={timeout}",
               f"--other-files={FIREBASE_GRAPH}={model}", f"--directories-to-pull={FIREBASE_OUTPUT_DIR}"]
        for dev in devices:
            spec = f"model={dev['model']}" + (f",version={dev['version']}" if dev.get("version") else "")
            cmd.append(f"--device={spec}")
        if results_bucket:
            cmd.append(f"--results-bucket={results_bucket}")
        commands.append({"variant": variant, "command": shlex.join(cmd) + f' --results-dir="$RESULTS_DIR/{variant}"'})
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
        from albert_edge.benchmark.adb import model_signatures

        return {m: model_signatures(m) if os.path.isfile(m) else [None] for m in models}
    sigs = [s.strip() for s in value.split(",") if s.strip()]
    return {m: list(sigs) for m in models}


class AwsDeviceFarm(FarmBackend):
    """AWS Device Farm custom-environment run: test spec + device-pool rules; one log per run."""

    name = "aws"
    help_text = "write an AWS Device Farm test spec + device-pool rules"
    artifact_names = "'<variant>__t<threads>.log'"
    catch_all = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--runs", type=int, default=50, help="--num_runs (default 50)")
        parser.add_argument("--warmup", type=int, default=5, help="--warmup_runs (default 5)")
        parser.add_argument("--signatures", default="auto",
                            help="signatures to run, e.g. L128; 'auto' = read each model's (needs the file here); "
                                 "'default' = let the tool choose")
        parser.add_argument("--cpu-mask", default="f0", help="taskset mask; 'none' = no pinning")

    def write(self, args: argparse.Namespace, devices: list[dict], threads: list[int], out: Path) -> str:
        signatures = _signatures_arg(args.signatures, args.model)
        mask = None if str(args.cpu_mask).lower() in ("", "none") else args.cpu_mask
        spec = atomic_write_text(out / "aws_testspec.yml", aws_test_spec(args.model, threads, args.runs, args.warmup,
                                                                         mask, signatures=signatures))
        pool = atomic_write_json(out / "aws_device_pool_rules.json", aws_device_pool_rules(devices))
        return f"wrote {spec} and {pool}"

    def prepare_artifacts(self, root: Path) -> None:
        unpack_zips(root)

    def matches(self, path: Path) -> bool:
        return LOG_NAME.match(path.name) is not None

    def collect_row(self, path: Path, root: Path) -> dict:
        """``<device dir>/…/<variant>[__<signature>]__t<threads>[__<delegate>].log``: benchmark_model output."""
        match = LOG_NAME.match(path.name)
        row = {key: None for key in CORE_KEYS}
        row.update(source="farm", run_id=str(path.relative_to(root)), device_model=_device_from_path(path, root),
                   variant=match.group("variant"), signature=match.group("signature"),
                   threads=int(match.group("threads")),
                   delegate=match.group("delegate") or "cpu", raw_log=str(path))
        try:
            parsed = parse_all(path.read_bytes().decode("utf-8", errors="replace"))[-1]
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
        threads = parse_int_list(args.threads)
        print(backend.write(args, devices, threads, Path(args.out)))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
