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
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import logging
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
from albert_edge.benchmark.parse import CORE_KEYS, BenchmarkParseError, first_error, parse_text
from albert_edge.benchmark.report import write_reports

log = logging.getLogger(__name__)

REMOTE_DIR = "/data/local/tmp/albert_edge"
APK_PACKAGE = "org.tensorflow.lite.benchmark"
APK_ACTIVITY = f"{APK_PACKAGE}/.BenchmarkModelActivity"
DELEGATE_FLAGS = {
    "cpu": [],  # the tool's default CPU path (XNNPACK on TF >= 2.3 builds)
    "xnnpack": ["--use_xnnpack=true"],
    "gpu": ["--use_gpu=true"],
    "nnapi": ["--use_nnapi=true"],
}
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
        return f"{self.index:03d}-{self.variant}{sig}-{self.delegate}-t{self.threads}"


def model_signatures(model: str) -> list[str | None]:
    """Signatures to run for ``model``: recent benchmark_model builds refuse a multi-signature
    model without ``--signature_to_run_for``, so each one becomes its own run."""
    try:
        from albert_edge.benchmark.host import signatures_of
        from albert_edge.runtime import load_interpreter

        interp = load_interpreter(model, 1)
        sigs = list(signatures_of(interp))
    except Exception as exc:  # no LiteRT on this host: let the tool pick its default
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
            for delegate, t in itertools.product(delegates, threads):
                specs.append(RunSpec(model, int(t), delegate, len(specs), sig))
    return specs


def benchmark_args(remote_model: str, spec: RunSpec, runs: int, warmup: int, signature: str | None,
                   extra_args: Sequence[str]) -> list[str]:
    args = [
        f"--graph={remote_model}",
        f"--num_threads={spec.threads}",
        f"--num_runs={runs}",
        f"--warmup_runs={warmup}",
        "--report_peak_memory_footprint=true",
    ]
    if signature:
        args.append(f"--signature_to_run_for={signature}")
    return args + DELEGATE_FLAGS[spec.delegate] + list(extra_args)


def binary_command(binary: str, args: Sequence[str], cpu_mask: str | None) -> str:
    """Shell line: print our PID (so a hang can be killed by PID), then exec the pinned tool."""
    pin = f"taskset {shlex.quote(cpu_mask)} " if cpu_mask else ""
    return f"echo BENCH_PID=$$; exec {pin}{shlex.quote(binary)} " + " ".join(shlex.quote(a) for a in args)


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
                   signature=spec.signature, threads=spec.threads, delegate=spec.delegate)
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
    args = benchmark_args(remote_model, spec, cfg.runs, cfg.warmup, spec.signature, cfg.extra_args)
    command = binary_command(remote_binary, args, cfg.cpu_mask)
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

    # -- setup: binary / apk, then models (a model that fails to push fails only its runs)
    remote_binary = f"{cfg.remote_dir}/{Path(cfg.benchmark_binary).name}" if cfg.benchmark_binary else ""
    try:
        adb.shell(f"mkdir -p {shlex.quote(cfg.remote_dir)}")
        if cfg.benchmark_apk:
            adb.run(["install", "-r", "-d", "-g", cfg.benchmark_apk], timeout_s=max(cfg.adb_timeout_s, 300))
        else:
            push_if_changed(adb, cfg.benchmark_binary, remote_binary, mode="755")
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
        try:
            parsed = parse_text(output)
        except BenchmarkParseError as exc:
            hint = first_error(output)
            message = f"{_describe_exit(code)}: {exc}" if code else str(exc)
            if hint and hint not in message:
                message += f" [{hint}]"
            rec.add(_error_row(base, "parse" if not code else "run", message, raw))
            continue
        if code not in (0, None):
            rec.add(_error_row(base, "run", f"{_describe_exit(code)} despite a summary", raw))
            continue
        base.update({k: v for k, v in parsed.items() if v is not None or k not in base})
        base["threads"] = spec.threads if parsed.get("threads") is None else parsed["threads"]
        base.update(status="ok", raw_log=raw)
        rec.add(base)

    if not cfg.keep_remote and gone is None:
        try:
            names = [p for p in remote_models.values() if isinstance(p, str)]
            if remote_binary:
                names.append(remote_binary)
            if names:
                adb.shell("rm -f " + " ".join(shlex.quote(n) for n in names), timeout_s=30, check=False)
        except AdbError as exc:
            log.warning("%s: cleanup failed: %s", serial, exc)


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
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rec = _Recorder(out)
    signatures = {m: (list(cfg.signatures) if cfg.signatures else model_signatures(m)) for m in cfg.models}
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
    parser.add_argument("--delegates", default="cpu", help=f"comma-separated, from {','.join(DELEGATE_FLAGS)}")
    tool = parser.add_mutually_exclusive_group(required=True)
    tool.add_argument("--benchmark-binary", help="benchmark_model built for the device ABI")
    tool.add_argument("--benchmark-apk", help="benchmark_model.apk (BenchmarkModelActivity, results via logcat)")
    parser.add_argument("--cpu-mask", default="f0", help="taskset mask, hex (default f0: big cores); 'none' = no pinning")
    parser.add_argument("--cooldown-s", type=float, default=10.0, help="pause between runs on one device (default 10)")
    parser.add_argument("--runs", type=int, default=50, help="--num_runs (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="--warmup_runs (default 5)")
    parser.add_argument("--run-timeout-s", type=float, default=300.0, help="time limit per run (default 300)")
    parser.add_argument("--adb-timeout-s", type=float, default=60.0, help="time limit per adb call (default 60)")
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
    threads = parse_int_list(args.threads)
    if any(t < 1 for t in threads):
        raise ValueError(f"thread counts must be >= 1: {args.threads}")
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
        parallel=args.parallel,
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
