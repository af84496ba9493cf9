"""Run benchmark_model on Android devices over adb: many devices, one matrix, no lost rows.

Why it is built this way:
- every run is one row appended to ``results.jsonl`` the moment it finishes (measurement
  or error), and its raw output is kept under ``raw/`` — a harness that dies on device 3
  of 5 still leaves devices 1–2 measured and the reason for 3 on disk;
- every adb call has a time limit, and a run that hangs is killed (our adb child's process
  group locally, the benchmark's own PID on the device — never a name-based kill);
- a device that goes offline or is unauthorized becomes error rows, the others go on;
- binaries and models are pushed only when the on-device hash differs;
- runs are pinned with ``taskset`` (big cores by default) and separated by a cooldown,
  because thermal throttling is the largest error source on phones.

The APK route (``--benchmark-apk``) starts ``BenchmarkModelActivity`` and reads the
result from logcat, which measures inside an app process, as a shipped app would run.

NPU runs (``--delegates npu``) take a model AOT-compiled for one Snapdragon SoC (LiteRT's
``LiteRtStamp`` metadata names it) and LiteRT's own ``benchmark_model`` (litert/tools, the
CompiledModel API), told to use the NPU alone (``--use_npu=true --use_cpu=false
--require_full_delegation=true``) with the Qualcomm dispatch and QNN libraries pushed from
``--qnn-device-libs``. Each device runs only the model compiled for its SoC (``ro.soc.model``).
A run whose log shows any node on the CPU is an error row without timings: an NPU that fell back
to the CPU must never read as a fast NPU number.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from albert_edge.benchmark.results_io import append_jsonl, atomic_write_json, atomic_write_text, parse_int_list, parse_str_list
from albert_edge.benchmark.parse import (CORE_KEYS, BenchmarkParseError, accelerator_evidence, first_error,
                                        npu_verdict, parse_text)
from albert_edge.benchmark.report import write_reports
from albert_edge.emulation import socs
from albert_edge.cli import check_writable_dir, checked, nonnegative_float, nonnegative_int, positive_int

log = logging.getLogger(__name__)

REMOTE_DIR = "/data/local/tmp/albert_edge"
APK_PACKAGE = "org.tensorflow.lite.benchmark"
APK_ACTIVITY = f"{APK_PACKAGE}/.BenchmarkModelActivity"
DELEGATE_FLAGS = {
    "cpu": [],  # the tool's default CPU path (XNNPACK on TF >= 2.3 builds)
    "xnnpack": ["--use_xnnpack=true"],
    "gpu": ["--use_gpu=true"],
    "nnapi": ["--use_nnapi=true"],
    # LiteRT's benchmark_model (CompiledModel): the NPU alone — LiteRT refuses to compile a model
    # with an op left for the CPU ("Some ops are not accelerated"), so no silent fallback
    "npu": ["--use_npu=true", "--use_cpu=false", "--require_full_delegation=true"],
}
# Delegates whose runs use no CPU threads: one run per model × signature, threads not applicable.
NO_THREAD_DELEGATES = ("npu",)
# Snapdragon SoCs LiteRT's Qualcomm AOT compiler targets: marketing name and Hexagon (HTP) version,
# which names the device-side QNN libraries (libQnnHtpV<N>Stub.so / Skel.so).
def hexagon_version(soc: str) -> int | None:
    """The Hexagon (HTP) version of a Snapdragon SoC from the kit's chip registry (75 for SM8650),
    None for a SoC it does not know: its libQnnHtpV<N> libraries are what the phone needs."""
    try:
        return int(socs.get(soc).htp_arch)
    except socs.UnknownSocError:
        return None


QNN_DISPATCH_LIB = "libLiteRtDispatch_Qualcomm.so"
# Strings every LiteRT benchmark_model binary carries (its flag names); TFLite's tool has neither.
LITERT_TOOL_MARKERS = (b"dispatch_library_path", b"require_full_delegation")
FACT_PROPS = {
    "device_model": "ro.product.model",
    "manufacturer": "ro.product.manufacturer",
    "soc_model": "ro.soc.model",
    "board_platform": "ro.board.platform",
    "abi": "ro.product.cpu.abi",
    "android": "ro.build.version.release",
    "sdk": "ro.build.version.sdk",
}
_DEVICE_GONE = re.compile(r"device offline|device '.*' not found|device not found|no devices|unauthorized|"
                          r"device still authorizing|closed", re.I)

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_NO_DEVICE = 0, 1, 2, 3
MAX_THREADS = 64  # more threads than any phone has cores is a typo, not a benchmark
positive_seconds = checked(float, lambda v: math.isfinite(v) and v > 0, "a finite number of seconds > 0",
                           "positive_seconds")


class AdbError(RuntimeError):
    """An adb command failed (transport or remote command)."""

    def __init__(self, message: str, output: str = "", returncode: int | None = None):
        super().__init__(message)
        self.output = output
        self.returncode = returncode


class AdbTimeout(AdbError):
    """An adb command ran past its time limit and was killed."""


@dataclass
class Adb:
    """Thin adb wrapper: one serial, a default time limit, text output."""

    adb: str = "adb"
    serial: str | None = None
    timeout_s: float = 60.0

    def base(self) -> list[str]:
        return [self.adb] + (["-s", self.serial] if self.serial else [])

    def run(self, args: Sequence[str], timeout_s: float | None = None, check: bool = True) -> subprocess.CompletedProcess:
        cmd = self.base() + list(args)
        limit = self.timeout_s if timeout_s is None else timeout_s
        log.debug("$ %s", shlex.join(cmd))
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        except FileNotFoundError:
            raise AdbError(f"adb executable not found: {self.adb}") from None
        try:
            out, _ = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            text = out.decode("utf-8", errors="replace")
            raise AdbTimeout(f"timed out after {limit:.0f}s: {' '.join(args)[:120]}", text, None) from None
        text = out.decode("utf-8", errors="replace")
        result = subprocess.CompletedProcess(cmd, proc.returncode, text, "")
        if check and proc.returncode != 0:
            raise AdbError(f"exit {proc.returncode}: {' '.join(args)[:120]}: {_last_line(text)}", text, proc.returncode)
        return result

    def shell(self, command: str, timeout_s: float | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(["shell", command], timeout_s=timeout_s, check=check)


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the adb child we started (and its own children) by process group id."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1][:200] if lines else "(no output)"


# --------------------------------------------------------------------------- devices


@dataclass
class DeviceEntry:
    serial: str
    state: str
    info: dict[str, str] = field(default_factory=dict)


def parse_devices(text: str) -> list[DeviceEntry]:
    """Parse ``adb devices -l`` (states: device, unauthorized, offline, recovery, …)."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("List of devices") or line.startswith("*"):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        info = dict(p.split(":", 1) for p in parts[2:] if ":" in p)
        state = parts[1] if parts[1] != "no" else "no permissions"
        entries.append(DeviceEntry(parts[0], state, info))
    return entries


def list_devices(adb_path: str = "adb", timeout_s: float = 30.0) -> list[DeviceEntry]:
    return parse_devices(Adb(adb_path, None, timeout_s).run(["devices", "-l"]).stdout)


def parse_getprop(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\[([^\]]+)\]:\s*\[(.*)\]\s*$", text, flags=re.M))


def device_facts(adb: Adb) -> dict[str, str | None]:
    """Model, SoC, ABI, Android version and thermal status — the row's context."""
    props = parse_getprop(adb.shell("getprop").stdout)
    facts: dict[str, str | None] = {key: props.get(prop) or None for key, prop in FACT_PROPS.items()}
    facts["soc"] = facts.get("soc_model") or facts.get("board_platform")
    facts["thermal_status"] = thermal_status(adb)
    return facts


def thermal_status(adb: Adb) -> str | None:
    """``dumpsys thermalservice`` status (0 = none … 6 = shutdown); None where unsupported."""
    try:
        out = adb.shell("dumpsys thermalservice", timeout_s=15, check=False).stdout
    except AdbError:
        return None
    match = re.search(r"Thermal Status:\s*(\d+)", out)
    return match.group(1) if match else None


# --------------------------------------------------------------------------- pushing


def file_digest(path: str | os.PathLike, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def remote_digest(adb: Adb, remote: str) -> tuple[str, str] | None:
    """(algo, hex) of a device file, or None when it is missing / no hash tool exists."""
    for algo in ("sha256", "md5"):
        proc = adb.shell(f"{algo}sum {shlex.quote(remote)}", timeout_s=60, check=False)
        first = proc.stdout.strip().split()
        if proc.returncode == 0 and first and re.fullmatch(r"[0-9a-f]{32,64}", first[0]):
            return algo, first[0]
        if "No such file" in proc.stdout:
            return None
    return None


def push_if_changed(adb: Adb, local: str | os.PathLike, remote: str, mode: str | None = None) -> str:
    """Push unless the device already has identical bytes; verify the hash after pushing."""
    have = remote_digest(adb, remote)
    if have and have[1] == file_digest(local, have[0]):
        return "skipped"
    adb.run(["push", str(local), remote], timeout_s=max(adb.timeout_s, 300))
    after = remote_digest(adb, remote)
    if after is None or after[1] != file_digest(local, after[0]):
        raise AdbError(f"hash mismatch after pushing {local} to {remote}")
    if mode:
        adb.shell(f"chmod {shlex.quote(mode)} {shlex.quote(remote)}")
    return "pushed"


# --------------------------------------------------------------------------- matrix


@dataclass(frozen=True)
class RunSpec:
    model: str
    threads: int
    delegate: str
    index: int
    signature: str | None = None

    @property
    def variant(self) -> str:
        return Path(self.model).stem

    @property
    def run_id(self) -> str:
        sig = f"-{self.signature}" if self.signature else ""
        threads = "" if self.delegate in NO_THREAD_DELEGATES else f"-t{self.threads}"
        return f"{self.index:03d}-{self.variant}{sig}-{self.delegate}{threads}"


def flatbuffer_signatures(model: str | os.PathLike) -> list[str]:
    """Signature keys read from the .tflite flatbuffer itself (no interpreter: an AOT-compiled
    NPU model holds DISPATCH ops a host interpreter cannot build)."""
    from ai_edge_litert import schema_py_generated as schema  # the TFLite flatbuffer schema

    root = schema.Model.GetRootAsModel(Path(model).read_bytes(), 0)
    return [root.SignatureDefs(i).SignatureKey().decode("utf-8", "replace") for i in range(root.SignatureDefsLength())]


def model_signatures(model: str) -> list[str | None]:
    """Signatures to run for ``model``: recent benchmark_model builds refuse a multi-signature
    model without ``--signature_to_run_for``, so each one becomes its own run."""
    try:
        sigs = flatbuffer_signatures(model)
    except Exception as exc:  # no LiteRT on this host, or not a flatbuffer: let the tool pick its default
        log.warning("cannot read signatures of %s (%s); running the default signature", model, exc)
        return [None]
    if len(sigs) <= 1:
        return [None]
    lengths = sorted((s for s in sigs if s[:1] == "L" and s[1:].isdigit()), key=lambda s: int(s[1:]))
    return list(lengths or sigs)


def build_matrix(models: Sequence[str], threads: Sequence[int], delegates: Sequence[str],
                 signatures: dict[str, list[str | None]] | None = None) -> list[RunSpec]:
    """models × signatures × delegates × threads, in that nesting order."""
    unknown = [d for d in delegates if d not in DELEGATE_FLAGS]
    if unknown:
        raise ValueError(f"unknown delegate(s) {unknown}; choose from {sorted(DELEGATE_FLAGS)}")
    specs: list[RunSpec] = []
    for model in models:
        for sig in (signatures or {}).get(model, [None]):
            for delegate in delegates:
                for t in ([0] if delegate in NO_THREAD_DELEGATES else threads):
                    specs.append(RunSpec(model, int(t), delegate, len(specs), sig))
    return specs


def benchmark_args(remote_model: str, spec: RunSpec, runs: int, warmup: int, signature: str | None,
                   extra_args: Sequence[str], remote_lib_dir: str | None = None) -> list[str]:
    args = [f"--graph={remote_model}"]
    if spec.delegate not in NO_THREAD_DELEGATES:
        args.append(f"--num_threads={spec.threads}")
    args += [
        f"--num_runs={runs}",
        f"--warmup_runs={warmup}",
        "--report_peak_memory_footprint=true",
    ]
    if signature:
        args.append(f"--signature_to_run_for={signature}")
    args += DELEGATE_FLAGS[spec.delegate]
    if spec.delegate == "npu":
        if not remote_lib_dir:
            raise ValueError("an NPU run needs the device folder of the dispatch library")
        args.append(f"--dispatch_library_path={remote_lib_dir}")
    return args + list(extra_args)


def binary_command(binary: str, args: Sequence[str], cpu_mask: str | None, lib_dir: str | None = None) -> str:
    """Shell line: print our PID (so a hang can be killed by PID), then exec the pinned tool.

    ``lib_dir`` (NPU runs) goes to ``LD_LIBRARY_PATH`` (the dispatch and QNN host-side libraries)
    and ``ADSP_LIBRARY_PATH`` (where the HTP loads its Skel library from).
    """
    pin = f"taskset {shlex.quote(cpu_mask)} " if cpu_mask else ""
    env = ""
    if lib_dir:
        quoted = shlex.quote(lib_dir)
        env = f"export LD_LIBRARY_PATH={quoted}; export ADSP_LIBRARY_PATH={quoted}; "
    return f"echo BENCH_PID=$$; {env}exec {pin}{shlex.quote(binary)} " + " ".join(shlex.quote(a) for a in args)


# --------------------------------------------------------------------------- NPU (Snapdragon HTP)


_SIGNATURE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_SOC_IN_NAME = re.compile(r"(?:^|[._-])(sm\d{4})(?=[._-]|$)", re.I)


def model_soc(model: str | os.PathLike) -> str | None:
    """The SoC a model was AOT-compiled for (``SM8650``), or None for a plain CPU model.

    Read from LiteRT's ``LiteRtStamp`` metadata (soc_manufacturer, soc_model: two NUL-padded
    char[125] fields, litert/core/build_stamp.cc) when the model has one, else from a ``.sm8650.``
    part of the file name (the export's naming). Both present and different: ValueError.
    """
    stamp = _litert_stamp(model)
    named = _SOC_IN_NAME.search(Path(model).name)
    from_name = named.group(1).upper() if named else None
    if stamp and from_name and stamp[1].upper() != from_name:
        raise ValueError(f"{model}: its name says {from_name} but its LiteRtStamp says {stamp[1]}: rename the file")
    if stamp:
        return stamp[1].upper() or None
    return from_name


def _litert_stamp(model: str | os.PathLike) -> tuple[str, str] | None:
    """(manufacturer, soc model) from the flatbuffer's ``LiteRtStamp`` metadata, or None."""
    data = Path(model).read_bytes()
    try:
        from ai_edge_litert import schema_py_generated as schema  # the TFLite flatbuffer schema

        root = schema.Model.GetRootAsModel(data, 0)
        for i in range(root.MetadataLength()):
            entry = root.Metadata(i)
            if (entry.Name() or b"") != b"LiteRtStamp":
                continue
            buf = root.Buffers(entry.Buffer())
            if buf.Offset() > 1:  # data stored after the flatbuffer
                raw = data[buf.Offset(): buf.Offset() + buf.Size()]
            else:
                raw = buf.DataAsNumpy().tobytes() if buf.DataLength() else b""
            half = len(raw) // 2
            if half == 0:
                return None
            return (raw[:half].split(b"\0", 1)[0].decode("ascii", "replace"),
                    raw[half:].split(b"\0", 1)[0].decode("ascii", "replace"))
    except ImportError:  # no LiteRT here: the file name is the only source
        return None
    except Exception as exc:  # noqa: BLE001 - not a TFLite flatbuffer
        raise ValueError(f"{model}: not a readable .tflite flatbuffer ({exc})") from None
    return None


def required_qnn_libs(soc: str) -> list[str]:
    """Device-side libraries of an AOT (context-binary) NPU run on ``soc``."""
    arch = hexagon_version(soc)
    if arch is None:
        raise ValueError(f"{soc}: no known Hexagon version; known SoCs: {', '.join(socs.names())}")
    return [QNN_DISPATCH_LIB, "libQnnHtp.so", "libQnnSystem.so", f"libQnnHtpV{arch}Stub.so",
            f"libQnnHtpV{arch}Skel.so"]


def find_qnn_libs(folder: str | os.PathLike, socs: Sequence[str], extra_dirs: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """Local paths of every library the SoCs need, from a flat folder or a QAIRT root.

    QAIRT's layout: ``lib/aarch64-android/*.so`` and ``lib/hexagon-v<N>/unsigned/*Skel.so``;
    LiteRT's dispatch library may also sit beside the benchmark binary (``extra_dirs``).
    Raises ValueError naming each missing library and where it was looked for.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"--qnn-device-libs {folder}: not a folder; give your QAIRT root or a folder holding "
                         "its aarch64-android and hexagon-v<N>/unsigned libraries")
    found: dict[str, Path] = {}
    missing: list[str] = []
    searched: set[str] = set()
    for soc in socs:
        arch = hexagon_version(soc)
        dirs = [root, root / "lib" / "aarch64-android", root / "lib" / f"hexagon-v{arch}" / "unsigned",
                *map(Path, extra_dirs)]
        searched.update(str(d) for d in dirs if d.is_dir())
        for name in required_qnn_libs(soc):
            if name in found:
                continue
            hit = next((d / name for d in dirs if (d / name).is_file()), None)
            if hit is None:
                missing.append(f"{name} (for {soc})")
            else:
                found[name] = hit
    if missing:
        where = ", ".join(sorted(searched)) or str(root)
        raise ValueError(f"missing device librar{'y' if len(missing) == 1 else 'ies'} for the NPU run: "
                         f"{', '.join(missing)}; looked in {where}. The QNN libraries come from Qualcomm's QAIRT "
                         f"(lib/aarch64-android, lib/hexagon-v<N>/unsigned), {QNN_DISPATCH_LIB} from LiteRT's "
                         "prebuilt Android release; pass --qnn-device-libs DIR holding them")
    return list(found.values())


def is_litert_benchmark(binary: str | os.PathLike) -> bool:
    """Whether ``binary`` is LiteRT's benchmark_model (CompiledModel), by the flag names it carries."""
    data = Path(binary).read_bytes()
    return all(marker in data for marker in LITERT_TOOL_MARKERS)


# --------------------------------------------------------------------------- running


@dataclass
class AdbConfig:
    models: list[str]
    serials: list[str] | None = None
    all_devices: bool = False
    threads: list[int] = field(default_factory=lambda: [1, 4])
    delegates: list[str] = field(default_factory=lambda: ["cpu"])
    benchmark_binary: str | None = None
    benchmark_apk: str | None = None
    cpu_mask: str | None = "f0"
    cooldown_s: float = 10.0
    runs: int = 50
    warmup: int = 5
    run_timeout_s: float = 300.0
    adb_timeout_s: float = 60.0
    signatures: list[str] | None = None  # None = every signature of each model ("auto")
    extra_args: list[str] = field(default_factory=list)
    out_dir: str = "runs/adb"
    adb_path: str = "adb"
    remote_dir: str = REMOTE_DIR
    keep_remote: bool = False
    parallel: bool = True
    qnn_device_libs: str | None = None  # NPU runs: QAIRT root or folder with the device libraries
    # filled by run_adb: the SoC each model was compiled for, the local libraries each SoC needs
    model_socs: dict[str, str | None] = field(default_factory=dict)
    qnn_libs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def remote_lib_dir(self) -> str:
        return f"{self.remote_dir}/qnn"


class _Recorder:
    """Appends rows to results.jsonl as they happen (thread-safe) and keeps them for reports."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.path = out_dir / "results.jsonl"
        self.rows: list[dict] = []
        self.lock = threading.Lock()

    def add(self, row: dict) -> dict:
        row.setdefault("recorded_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        with self.lock:
            self.rows.append(row)
        append_jsonl(self.path, row)
        return row

    def save_raw(self, serial: str, run_id: str, text: str) -> str:
        path = self.out_dir / "raw" / _safe(serial) / f"{run_id}.log"
        atomic_write_text(path, text)
        return str(path.relative_to(self.out_dir))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _base_row(serial: str, facts: dict, spec: RunSpec | None, cfg: AdbConfig, source: str) -> dict:
    row = {key: None for key in CORE_KEYS}
    row.update(
        source=source,
        serial=serial,
        device_model=facts.get("device_model"),
        soc=facts.get("soc"),
        abi=facts.get("abi"),
        android=facts.get("android"),
        thermal_status=facts.get("thermal_status"),
        cpu_mask=cfg.cpu_mask if source == "adb" else None,
    )
    if spec is not None:
        row.update(run_id=spec.run_id, model=os.path.basename(spec.model), variant=spec.variant,
                   signature=spec.signature, delegate=spec.delegate,
                   threads=None if spec.delegate in NO_THREAD_DELEGATES else spec.threads)
        if spec.delegate == "npu":
            row["accelerator"] = None  # filled from the run's log; None = nothing proven
    return row


def _error_row(base: dict, stage: str, message: str, raw_log: str | None = None) -> dict:
    row = dict(base)
    row.update(status="error", stage=stage, error=message)
    if raw_log:
        row["raw_log"] = raw_log
    return row


def _device_gone(exc: Exception) -> bool:
    text = f"{exc} {getattr(exc, 'output', '')}"
    return bool(_DEVICE_GONE.search(text))


def _run_binary(adb: Adb, cfg: AdbConfig, spec: RunSpec, remote_model: str, remote_binary: str) -> tuple[str, int | None]:
    """One benchmark_model run; returns (output, exit code). Timeouts kill the remote PID."""
    npu = spec.delegate == "npu"
    args = benchmark_args(remote_model, spec, cfg.runs, cfg.warmup, spec.signature, cfg.extra_args,
                          cfg.remote_lib_dir if npu else None)
    command = binary_command(remote_binary, args, cfg.cpu_mask, cfg.remote_lib_dir if npu else None)
    try:
        proc = adb.shell(command, timeout_s=cfg.run_timeout_s, check=False)
    except AdbTimeout as exc:
        pid = re.search(r"BENCH_PID=(\d+)", exc.output or "")
        if pid:
            try:
                adb.shell(f"kill {shlex.quote(pid.group(1))}", timeout_s=10, check=False)
            except AdbError:
                pass
        raise
    return proc.stdout, proc.returncode


def apk_start_command(args: Sequence[str]) -> str:
    """`am start … --es args VALUE` with VALUE one shell word, whatever the arguments hold.

    Why: the device shell parses this line. Arguments joined into '"…"' unquoted would let a model
    file name with a quote or `;` run as a device command. The activity splits VALUE
    on spaces itself, so each argument must be free of whitespace (`remote_name` makes model
    names so); VALUE as a whole is quoted with shlex.quote.
    """
    value = " ".join(args)
    return f"am start -S -n {shlex.quote(APK_ACTIVITY)} --es args {shlex.quote(value)}"


def remote_name(local: str | os.PathLike) -> str:
    """The on-device file name of a local model: its name with anything but [A-Za-z0-9._-] as '_'."""
    return _safe(Path(local).name)


def _run_apk(adb: Adb, cfg: AdbConfig, spec: RunSpec, remote_model: str) -> tuple[str, int | None]:
    """Start BenchmarkModelActivity and poll logcat for its summary (the app-process view)."""
    args = benchmark_args(remote_model, spec, cfg.runs, cfg.warmup, spec.signature, cfg.extra_args)
    adb.run(["logcat", "-c"], timeout_s=30)
    adb.shell(apk_start_command(args), timeout_s=30)
    deadline = time.monotonic() + cfg.run_timeout_s
    while True:
        text = _logcat(adb)
        if _SUMMARY_SEEN.search(text):
            time.sleep(0.5)  # the memory lines follow the summary within milliseconds
            return _logcat(adb), 0
        if _APK_ERROR.search(text):
            return text, 1
        if time.monotonic() > deadline:
            adb.shell(f"am force-stop {shlex.quote(APK_PACKAGE)}", timeout_s=15, check=False)
            raise AdbTimeout(f"no result in logcat after {cfg.run_timeout_s:.0f}s", text)
        time.sleep(0.5)


_SUMMARY_SEEN = re.compile(r"[Ii]nference timings in us")
_APK_ERROR = re.compile(r"^\S+\s+\S+\s+\d+\s+\d+\s+[EF]\s+tflite\s*:", re.M)


def _logcat(adb: Adb) -> str:
    return adb.run(["logcat", "-d", "-v", "threadtime", "-s", "tflite:*"], timeout_s=30, check=False).stdout


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code >= 128:
        try:
            return f"exit {code} ({signal.Signals(code - 128).name})"
        except ValueError:
            return f"exit {code}"
    return f"exit {code}"


def run_device(serial: str, cfg: AdbConfig, matrix: Sequence[RunSpec], rec: _Recorder,
               sleep: Callable[[float], None] = time.sleep) -> None:
    """All runs of one device, in order; every outcome becomes a row."""
    adb = Adb(cfg.adb_path, serial, cfg.adb_timeout_s)
    source = "apk" if cfg.benchmark_apk else "adb"
    facts: dict = {}
    try:
        facts = device_facts(adb)
        atomic_write_json(rec.out_dir / "devices" / f"{_safe(serial)}.json", {"serial": serial, **facts})
    except AdbError as exc:
        for spec in matrix:
            rec.add(_error_row(_base_row(serial, facts, spec, cfg, source), "facts", str(exc)))
        return

    matrix = _for_device_soc(serial, facts, cfg, matrix, rec, source)
    if not matrix:
        return
    device_soc = _device_soc(facts)
    remote_libs = []

    # -- setup: binary / apk, NPU libraries, then models (a model that fails to push fails only its runs)
    remote_binary = f"{cfg.remote_dir}/{Path(cfg.benchmark_binary).name}" if cfg.benchmark_binary else ""
    try:
        adb.shell(f"mkdir -p {shlex.quote(cfg.remote_dir)}")
        if cfg.benchmark_apk:
            adb.run(["install", "-r", "-d", "-g", cfg.benchmark_apk], timeout_s=max(cfg.adb_timeout_s, 300))
        else:
            push_if_changed(adb, cfg.benchmark_binary, remote_binary, mode="755")
        if any(spec.delegate == "npu" for spec in matrix):
            adb.shell(f"mkdir -p {shlex.quote(cfg.remote_lib_dir)}")
            for lib in cfg.qnn_libs.get(device_soc or "", []):
                remote_lib = f"{cfg.remote_lib_dir}/{Path(lib).name}"
                log.info("%s: %s %s", serial, push_if_changed(adb, lib, remote_lib, mode="755"), Path(lib).name)
                remote_libs.append(remote_lib)
    except AdbError as exc:
        for spec in matrix:
            rec.add(_error_row(_base_row(serial, facts, spec, cfg, source), "setup", str(exc)))
        return
    remote_models: dict[str, str | Exception] = {}
    for model in dict.fromkeys(s.model for s in matrix):
        remote = f"{cfg.remote_dir}/{remote_name(model)}"
        try:
            state = push_if_changed(adb, model, remote)
            log.info("%s: %s %s", serial, state, Path(model).name)
            remote_models[model] = remote
        except AdbError as exc:
            remote_models[model] = exc
            if _device_gone(exc):
                break

    gone: str | None = None
    ran_any = False
    for spec in matrix:
        base = _base_row(serial, facts, spec, cfg, source)
        target = remote_models.get(spec.model)
        if gone is not None:
            rec.add(_error_row(base, "device", f"skipped: {gone}"))
            continue
        if target is None or isinstance(target, Exception):
            rec.add(_error_row(base, "push", str(target or "model not pushed (device lost during setup)")))
            if target is None or _device_gone(target):
                gone = "device went away during setup"
            continue
        if ran_any and cfg.cooldown_s > 0:
            sleep(cfg.cooldown_s)
        ran_any = True
        started = time.monotonic()
        base["thermal_status"] = thermal_status(adb) or facts.get("thermal_status")
        try:
            if cfg.benchmark_apk:
                output, code = _run_apk(adb, cfg, spec, target)
            else:
                output, code = _run_binary(adb, cfg, spec, target, remote_binary)
        except AdbTimeout as exc:
            raw = rec.save_raw(serial, spec.run_id, exc.output or "")
            rec.add(_error_row(base, "timeout", str(exc), raw))
            if not _still_there(adb):
                gone = "device went offline"
            continue
        except AdbError as exc:
            raw = rec.save_raw(serial, spec.run_id, exc.output or str(exc))
            rec.add(_error_row(base, "adb", str(exc), raw))
            if _device_gone(exc) or not _still_there(adb):
                gone = "device went offline"
            continue
        raw = rec.save_raw(serial, spec.run_id, output)
        base["duration_s"] = round(time.monotonic() - started, 3)
        if _DEVICE_GONE.search(output) and "Inference timings" not in output and not _still_there(adb):
            rec.add(_error_row(base, "adb", f"device went offline: {_last_line(output)}", raw))
            gone = "device went offline"
            continue
        npu = spec.delegate == "npu"
        evidence = accelerator_evidence(output) if npu else None
        try:
            parsed = parse_text(output)
        except BenchmarkParseError as exc:
            hint = first_error(output)
            message = f"{_describe_exit(code)}: {exc}" if code else str(exc)
            if hint and hint not in message:
                message += f" [{hint}]"
            if evidence is not None and evidence["npu_unavailable"] and evidence["npu_unavailable"] not in message:
                message += f" [NPU: {evidence['npu_unavailable']}]"
            rec.add(_error_row(base, "parse" if not code else "run", message, raw))
            continue
        if code not in (0, None):
            rec.add(_error_row(base, "run", f"{_describe_exit(code)} despite a summary", raw))
            continue
        if evidence is not None:
            accelerator, problem = npu_verdict(evidence)
            base.update(accelerator=accelerator, npu_nodes=evidence["npu_nodes"], total_nodes=evidence["total_nodes"],
                        accelerator_evidence=evidence["lines"][:8], soc=device_soc or base.get("soc"))
            if problem:  # no timings on this row: they are CPU numbers, not the NPU's
                rec.add(_error_row(base, "accelerator", f"NPU run did not run on the NPU: {problem}", raw))
                continue
        base.update({k: v for k, v in parsed.items() if v is not None or k not in base})
        if spec.delegate in NO_THREAD_DELEGATES:
            base["threads"] = None
        else:
            base["threads"] = spec.threads if parsed.get("threads") is None else parsed["threads"]
        base.update(status="ok", raw_log=raw)
        rec.add(base)

    if not cfg.keep_remote and gone is None:
        try:
            names = [p for p in remote_models.values() if isinstance(p, str)] + remote_libs
            if remote_binary:
                names.append(remote_binary)
            if names:
                adb.shell("rm -f " + " ".join(shlex.quote(n) for n in names), timeout_s=30, check=False)
        except AdbError as exc:
            log.warning("%s: cleanup failed: %s", serial, exc)


def _device_soc(facts: dict) -> str | None:
    value = (facts.get("soc_model") or "").strip().upper()
    return value or None


def _for_device_soc(serial: str, facts: dict, cfg: AdbConfig, matrix: Sequence[RunSpec], rec: "_Recorder",
                    source: str) -> list[RunSpec]:
    """The device's runs: an NPU run only of a model compiled for the device's own SoC.

    A compiled model carries one SoC's HTP context binary; on another SoC LiteRT cannot run it on
    the NPU. With ``--all`` and one model per SoC, each phone picks its own; a phone with none
    gets one error row naming its SoC and the models given.
    """
    soc = _device_soc(facts)
    kept = [s for s in matrix if s.delegate != "npu" or cfg.model_socs.get(s.model) == soc]
    npu_given = [s for s in matrix if s.delegate == "npu"]
    if npu_given and not any(s.delegate == "npu" for s in kept):
        given = ", ".join(f"{Path(m).name} ({cfg.model_socs.get(m)})" for m in dict.fromkeys(s.model for s in npu_given))
        base = _base_row(serial, facts, npu_given[0], cfg, source)
        base.update(model=None, variant=None, signature=None, run_id=f"{npu_given[0].index:03d}-npu-soc")
        what = soc or "unknown (ro.soc.model is empty)"
        rec.add(_error_row(base, "soc", f"no model compiled for this device's SoC {what}; given: {given}. "
                                        "Compile one with `python -m albert_edge.export … --npu <soc>`"))
    return kept


def _still_there(adb: Adb) -> bool:
    try:
        return adb.run(["get-state"], timeout_s=10, check=False).stdout.strip() == "device"
    except AdbError:
        return False


def select_devices(cfg: AdbConfig, rec: _Recorder) -> list[str]:
    """Serials to run on; unusable ones (unauthorized, offline, absent) become error rows."""
    entries = list_devices(cfg.adb_path, cfg.adb_timeout_s)
    atomic_write_json(rec.out_dir / "devices.json", [e.__dict__ for e in entries])
    states = {e.serial: e.state for e in entries}
    wanted = list(cfg.serials or [])
    if cfg.all_devices or not wanted:
        wanted = list(dict.fromkeys(wanted + [e.serial for e in entries]))
    if not cfg.all_devices and not cfg.serials:
        usable = [s for s in wanted if states.get(s) == "device"]
        if len(usable) > 1:
            raise ValueError(f"{len(usable)} devices attached ({', '.join(usable)}): pass --serial S or --all")
    chosen = []
    for serial in wanted:
        state = states.get(serial, "not found")
        if state == "device":
            chosen.append(serial)
            continue
        hint = {"unauthorized": "accept the RSA key prompt on the phone",
                "offline": "replug the cable or restart adb"}.get(state, "check the cable / serial")
        log.error("%s is %s (%s)", serial, state, hint)
        rec.add(_error_row({**{k: None for k in CORE_KEYS}, "source": "adb", "serial": serial, "run_id": "device"},
                           "device", f"device {state}: {hint}"))
    return chosen


def _check_numbers(cfg: AdbConfig) -> None:
    """The library's own bounds (the CLI's argparse types say the same before anything runs)."""
    for name, value, ok, what in (
        ("--cooldown-s", cfg.cooldown_s, lambda v: math.isfinite(v) and v >= 0, "a finite number of seconds ≥ 0"),
        ("--run-timeout-s", cfg.run_timeout_s, lambda v: math.isfinite(v) and v > 0, "a finite number of seconds > 0"),
        ("--adb-timeout-s", cfg.adb_timeout_s, lambda v: math.isfinite(v) and v > 0, "a finite number of seconds > 0"),
        ("--runs", cfg.runs, lambda v: v >= 1, "an integer ≥ 1"),
        ("--warmup", cfg.warmup, lambda v: v >= 0, "an integer ≥ 0"),
    ):
        if not ok(value):
            raise ValueError(f"{name} must be {what}, got {value!r}")
    if any(t < 1 or t > MAX_THREADS for t in cfg.threads):
        raise ValueError(f"thread counts must be between 1 and {MAX_THREADS}: {cfg.threads}")


def _prepare_npu(cfg: AdbConfig) -> None:
    """Everything an NPU run needs, checked on the host before any device is touched (exit 2)."""
    if cfg.benchmark_apk:
        raise ValueError("--delegates npu runs LiteRT's benchmark_model binary (CompiledModel API); the benchmark "
                         "APK route has no NPU accelerator: pass --benchmark-binary")
    if not is_litert_benchmark(cfg.benchmark_binary):
        raise ValueError(f"--benchmark-binary {cfg.benchmark_binary} is not LiteRT's benchmark_model (it has no "
                         "--dispatch_library_path / --require_full_delegation flags): NPU runs need the one built from "
                         "google-ai-edge/LiteRT litert/tools:benchmark_model or its prebuilt Android release")
    if not cfg.qnn_device_libs:
        raise ValueError("--delegates npu needs --qnn-device-libs DIR: your QAIRT root (or a folder) holding "
                         f"{QNN_DISPATCH_LIB}, libQnnHtp.so, libQnnSystem.so and the SoC's libQnnHtpV<N>Stub/Skel.so")
    socs = {}
    for model in cfg.models:
        soc = model_soc(model)
        if soc is None:
            raise ValueError(f"{model}: not compiled for an NPU (no LiteRtStamp metadata, no .sm<NNNN>. in its name): "
                             "compile it with `python -m albert_edge.export … --npu <soc>`")
        if hexagon_version(soc) is None:
            raise ValueError(f"{model}: compiled for {soc}, which this harness has no Hexagon version for; "
                             f"known: {', '.join(socs.names())}")
        socs[model] = soc
    cfg.model_socs = socs
    beside = [Path(cfg.benchmark_binary).parent]
    cfg.qnn_libs = {soc: [str(p) for p in find_qnn_libs(cfg.qnn_device_libs, [soc], beside)]
                    for soc in dict.fromkeys(socs.values())}


def run_adb(cfg: AdbConfig, sleep: Callable[[float], None] = time.sleep) -> tuple[int, list[dict]]:
    """Library entry of the ``adb`` subcommand: returns (exit code, rows)."""
    for model in cfg.models:
        if not os.path.isfile(model):
            raise ValueError(f"model not found: {model}")
    names = [Path(m).name for m in cfg.models]
    if len(set(names)) != len(names):
        raise ValueError(f"models must have distinct file names (they share one device folder): {names}")
    if bool(cfg.benchmark_binary) == bool(cfg.benchmark_apk):
        raise ValueError("give exactly one of --benchmark-binary PATH or --benchmark-apk PATH")
    tool = cfg.benchmark_binary or cfg.benchmark_apk
    if not os.path.isfile(tool):
        raise ValueError(f"not found: {tool}")
    _check_numbers(cfg)
    if "npu" in cfg.delegates:
        _prepare_npu(cfg)
    check_writable_dir(cfg.out_dir, "--out")
    out = Path(cfg.out_dir)
    rec = _Recorder(out)
    signatures = {m: (list(cfg.signatures) if cfg.signatures else model_signatures(m)) for m in cfg.models}
    for model, sigs in signatures.items():  # they reach the phone's shell (quoted) and the APK's argument string
        for sig in sigs:
            if sig is not None and not _SIGNATURE.fullmatch(sig):
                where = "--signatures" if cfg.signatures else f"--signatures auto ({model})"
                raise ValueError(f"{where}: {sig!r} is not a signature name (letters, digits and _, not starting "
                                 "with a digit, at most 64); pass --signatures with the one to run")
    matrix = build_matrix(cfg.models, cfg.threads, cfg.delegates, signatures)
    serials = select_devices(cfg, rec)
    if serials:
        workers = len(serials) if cfg.parallel else 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="adb") as pool:
            futures = [pool.submit(run_device, s, cfg, matrix, rec, sleep) for s in serials]
            for serial, fut in zip(serials, futures):
                exc = fut.exception()
                if exc is not None:  # a bug, not a device fault: still leave a row
                    log.exception("%s: harness error", serial, exc_info=exc)
                    rec.add(_error_row({"source": "adb", "serial": serial, "run_id": "harness"}, "harness", repr(exc)))
    write_reports(rec.rows, out, "results", "On-device benchmark (adb)")
    failed = [r for r in rec.rows if r.get("status") != "ok"]
    if not serials:
        code = EXIT_NO_DEVICE
    else:
        code = EXIT_FAILURES if failed else EXIT_OK
    log.info("%d rows (%d failed) in %s", len(rec.rows), len(failed), out)
    return code, rec.rows


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", required=True, help=".tflite to run (repeat for variants)")
    parser.add_argument("--serial", action="append", help="device serial (repeatable); default: the only device")
    parser.add_argument("--all", dest="all_devices", action="store_true", help="every attached device")
    parser.add_argument("--threads", default="1,4", help="comma-separated thread counts (default 1,4)")
    parser.add_argument("--delegates", default="cpu",
                        help=f"comma-separated, from {','.join(DELEGATE_FLAGS)} (npu: a model AOT-compiled for the "
                             "device's Snapdragon SoC, LiteRT's benchmark_model, --qnn-device-libs)")
    tool = parser.add_mutually_exclusive_group(required=True)
    tool.add_argument("--benchmark-binary", help="benchmark_model built for the device ABI")
    tool.add_argument("--benchmark-apk", help="benchmark_model.apk (BenchmarkModelActivity, results via logcat)")
    parser.add_argument("--cpu-mask", default="f0", help="taskset mask, hex (default f0: big cores); 'none' = no pinning")
    parser.add_argument("--cooldown-s", type=nonnegative_float, default=10.0,
                        help="pause between runs on one device (default 10)")
    parser.add_argument("--runs", type=positive_int, default=50, help="--num_runs (default 50)")
    parser.add_argument("--warmup", type=nonnegative_int, default=5, help="--warmup_runs (default 5)")
    parser.add_argument("--run-timeout-s", type=positive_seconds, default=300.0, help="time limit per run (default 300)")
    parser.add_argument("--adb-timeout-s", type=positive_seconds, default=60.0,
                        help="time limit per adb call (default 60)")
    parser.add_argument("--qnn-device-libs", metavar="DIR",
                        help="--delegates npu: your QAIRT root (lib/aarch64-android, lib/hexagon-v<N>/unsigned) or a "
                             f"folder holding {QNN_DISPATCH_LIB}, libQnnHtp.so, libQnnSystem.so and the SoC's "
                             "libQnnHtpV<N>Stub.so / Skel.so; pushed with the model")
    parser.add_argument("--signatures", default="auto",
                        help="signatures to run (--signature_to_run_for), e.g. L128 or L32,L128; "
                             "'auto' = every signature of each model, read on the host (default)")
    parser.add_argument("--extra-arg", action="append", default=[], dest="extra_args",
                        help="extra benchmark_model flag, e.g. --extra-arg=--use_xnnpack=false (repeatable)")
    parser.add_argument("--out", default="runs/adb", help="output folder (default runs/adb)")
    parser.add_argument("--adb", dest="adb_path", default=os.environ.get("ADB", "adb"), help="adb executable ($ADB)")
    parser.add_argument("--remote-dir", default=REMOTE_DIR, help=f"device folder (default {REMOTE_DIR})")
    parser.add_argument("--keep-remote", action="store_true", help="leave binary and models on the device")
    parser.add_argument("--sequential", dest="parallel", action="store_false", help="one device at a time")


def config_from_args(args: argparse.Namespace) -> AdbConfig:
    try:
        threads = parse_int_list(args.threads)
    except ValueError:
        raise ValueError(f"--threads must be comma-separated integers such as 1,4: {args.threads!r}") from None
    if any(t < 1 or t > MAX_THREADS for t in threads):
        raise ValueError(f"--threads: thread counts must be between 1 and {MAX_THREADS}: {args.threads}")
    mask = str(args.cpu_mask)
    if mask.lower() not in ("", "none") and not re.fullmatch(r"(?:0x)?[0-9a-fA-F]+", mask):
        raise ValueError(f"--cpu-mask must be a hex CPU mask such as f0, or 'none': {mask!r}")
    return AdbConfig(
        models=args.model, serials=args.serial, all_devices=args.all_devices,
        threads=threads, delegates=parse_str_list(args.delegates),
        benchmark_binary=args.benchmark_binary, benchmark_apk=args.benchmark_apk,
        cpu_mask=None if str(args.cpu_mask).lower() in ("", "none") else args.cpu_mask,
        cooldown_s=args.cooldown_s, runs=args.runs, warmup=args.warmup, run_timeout_s=args.run_timeout_s,
        adb_timeout_s=args.adb_timeout_s,
        signatures=None if args.signatures == "auto" else parse_str_list(args.signatures), extra_args=args.extra_args,
        out_dir=args.out, adb_path=args.adb_path, remote_dir=args.remote_dir, keep_remote=args.keep_remote,
        parallel=args.parallel, qnn_device_libs=args.qnn_device_libs,
    )


def run(args: argparse.Namespace) -> int:
    try:
        cfg = config_from_args(args)
        code, rows = run_adb(cfg)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AdbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_DEVICE
    ok = sum(1 for r in rows if r.get("status") == "ok")
    print(f"{ok}/{len(rows)} rows ok; results in {cfg.out_dir}/results.{{jsonl,csv,md,png}}")
    return code
