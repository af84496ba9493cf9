"""Measure a .tflite on this machine the way benchmark_model measures it on a phone.

Why our own loop rather than ``litert-benchmark`` (the wheel's tool): that tool feeds
random int8-range values, which makes ``GATHER`` fail on any embedding model (captured in
``tests/data/benchmark_outputs/litert-2.3.0_benchmark_litert_model_gather_failure.txt``),
and it reports neither memory nor percentiles. Here the inputs are real tokenized LCQMC
sentence pairs, only ``Invoke`` is timed (inputs are written before the clock starts, as
benchmark_model does), and memory is read the way benchmark_model reads it
(``getrusage`` max-RSS deltas plus the absolute peak).

Every (signature, threads) configuration runs in a fresh Python process by default, so
one configuration's peak RSS cannot leak into the next one's figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from albert_edge import resources
from albert_edge.benchmark.results_io import atomic_write_json, parse_int_list
from albert_edge.cli import (check_writable_file, csv_of, describe_os_error, nonnegative_float, positive_int,
                             thread_count)
from albert_edge.fileio import check_outputs_apart
from albert_edge.benchmark.parse import CORE_KEYS
from albert_edge.data.tasks import DataError, read_texts
from albert_edge.runtime import ModelError, load_interpreter, runtime_name
# One definition of the inputs for host, emulated and reference runs (re-exported for callers of host).
from albert_edge.emulation.feeds import get_encoder, input_role, make_feeds  # noqa: F401

log = logging.getLogger(__name__)


class HostBenchmarkError(RuntimeError):
    """A configuration could not be measured (bad model, signature, or length)."""


@dataclass(frozen=True)
class HostConfig:
    model: str
    signature: str | None = None
    seq_len: int | None = None
    threads: int = 1
    runs: int = 50
    warmup: int = 5


# --------------------------------------------------------------------------- inputs


def load_pairs(path: str | os.PathLike = resources.LCQMC_CALIBRATION,
               limit: int | None = None) -> list[tuple[str, str]]:
    """The first `limit` sentence pairs of a TSV (label column optional; the bundled LCQMC
    calibration sample by default)."""
    try:
        examples = read_texts(path, "pairs")
    except DataError as exc:
        raise HostBenchmarkError(str(exc)) from None
    return [(ex.text_a, ex.text_b) for ex in examples[:limit]]


# --------------------------------------------------------------------------- invoking


class _Invoker:
    """Write inputs, then ``Invoke`` — with only ``invoke`` inside the timed region."""

    def __init__(self, interp: Any, signature: str | None):
        self.interp = interp
        self.signature = signature
        self.scope = "invoke"
        if signature is None:
            interp.allocate_tensors()
            self.details = {d["name"]: d for d in interp.get_input_details()}
            self._set = lambda name, value: interp.set_tensor(self.details[name]["index"], value)
            self.invoke = interp.invoke
            return
        runner = interp.get_signature_runner(signature)
        self.details = runner.get_input_details()
        wrapper = getattr(runner, "_interpreter_wrapper", None)
        sub = getattr(runner, "_subgraph_index", None)
        inputs = getattr(runner, "_inputs", None)
        if wrapper is not None and sub is not None and isinstance(inputs, dict):
            wrapper.AllocateTensors(sub)
            self._set = lambda name, value: wrapper.SetTensor(inputs[name], value, sub)
            self.invoke = lambda: wrapper.Invoke(sub)
        else:  # public API only: the timed call also copies inputs/outputs
            self.scope = "signature-call"
            self._pending: dict[str, np.ndarray] = {}
            self._set = self._pending.__setitem__
            self.invoke = lambda: runner(**self._pending)

    def set_inputs(self, feed: dict[str, np.ndarray]) -> None:
        for name, value in feed.items():
            self._set(name, value)


def signatures_of(interp: Any) -> dict[str, dict]:
    try:
        return dict(interp.get_signature_list())
    except (AttributeError, ValueError):
        return {}


def select_signatures(available: Sequence[str], seq_len: int | None, signature: str | None) -> list[str | None]:
    """Which signatures to measure: the named one, ``L{seq_len}``, or all of them."""
    if signature:
        if available and signature not in available:
            raise HostBenchmarkError(f"signature {signature!r} not in model (has {', '.join(available)})")
        return [signature]
    if not available:
        return [None]
    if seq_len is not None and f"L{seq_len}" in available:
        return [f"L{seq_len}"]
    lone = available[0] if len(available) == 1 else ""
    if seq_len is not None and lone and not (lone[:1] == "L" and lone[1:].isdigit()):
        return [lone]     # one unnamed-length signature: its input shape is checked when it loads
    if seq_len is not None:
        raise HostBenchmarkError(f"no signature L{seq_len} in model (has {', '.join(available)})")
    length_sigs = sorted((s for s in available if s[1:].isdigit() and s[0] == "L"), key=lambda s: int(s[1:]))
    return list(length_sigs or available)


# --------------------------------------------------------------------------- memory


def current_rss_mb() -> float:
    """Resident set size now (``/proc/self/statm``; psutil elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        import psutil

        return psutil.Process().memory_info().rss / (1024 * 1024)


def max_rss_mb() -> float:
    """Peak RSS of this process so far — what benchmark_model's memory lines are built on."""
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / (1024 * 1024) if sys.platform == "darwin" else value / 1024


# --------------------------------------------------------------------------- measuring


def latency_stats(times_us: Sequence[float]) -> dict[str, float | int]:
    arr = np.asarray(times_us, dtype=np.float64)
    return {
        "count": int(arr.size),
        "inference_avg_us": float(arr.mean()),
        "mean_us": float(arr.mean()),
        "min_us": float(arr.min()),
        "max_us": float(arr.max()),
        "std_us": float(arr.std()),  # population std, as benchmark_model prints
        "p50_us": float(np.percentile(arr, 50)),
        "p90_us": float(np.percentile(arr, 90)),
        "p99_us": float(np.percentile(arr, 99)),
    }


def measure(config: HostConfig, pairs: Sequence[tuple[str, str]] | None = None) -> dict:
    """Measure one configuration in this process; returns the parse-compatible keys + extras."""
    if config.runs < 1:
        raise HostBenchmarkError("--runs must be at least 1")
    model = str(config.model)
    if not os.path.isfile(model):
        raise HostBenchmarkError(f"model not found: {model}")
    pairs = list(pairs or load_pairs())
    encode, encoder_name = get_encoder()

    rss0, maxrss0 = current_rss_mb(), max_rss_mb()
    t0 = time.perf_counter()
    try:
        interp = load_interpreter(model, config.threads)
        available = list(signatures_of(interp))
        signature = select_signatures(available, config.seq_len, config.signature)[0]
        invoker = _Invoker(interp, signature)
    except (ValueError, RuntimeError) as exc:
        raise HostBenchmarkError(f"cannot load {model}: {exc}") from exc
    init_us = (time.perf_counter() - t0) * 1e6
    rss_init, maxrss_init = current_rss_mb(), max_rss_mb()

    shapes = {name: [int(x) for x in det["shape"]] for name, det in invoker.details.items()}
    lengths = {s[-1] for s in shapes.values() if len(s) == 2}
    if len(lengths) != 1:
        raise HostBenchmarkError(f"expected [1, L] inputs, got {shapes}")
    seq_len = lengths.pop()
    if config.seq_len is not None and config.seq_len != seq_len:
        raise HostBenchmarkError(f"signature {signature} takes L={seq_len}, not --seq-len {config.seq_len}")
    feeds = make_feeds(invoker.details, pairs, encode, seq_len)

    warmup_times, run_times = [], []
    for i in range(max(config.warmup, 1)):  # benchmark_model always runs >= 1 warm-up
        invoker.set_inputs(feeds[i % len(feeds)])
        start = time.perf_counter()
        invoker.invoke()
        warmup_times.append((time.perf_counter() - start) * 1e6)
    for i in range(config.runs):
        invoker.set_inputs(feeds[(i + len(warmup_times)) % len(feeds)])
        start = time.perf_counter()
        invoker.invoke()
        run_times.append((time.perf_counter() - start) * 1e6)
    maxrss_end = max_rss_mb()

    result: dict[str, Any] = {key: None for key in CORE_KEYS}
    result.update(
        init_us=init_us,
        first_us=warmup_times[0],
        warmup_avg_us=float(np.mean(warmup_times)),
        model_size_mb=os.path.getsize(model) / 1e6,  # benchmark_model divides by 1e6 too
        mem_init_mb=maxrss_init - maxrss0,
        mem_overall_mb=maxrss_end - maxrss0,
        peak_mem_mb=maxrss_end,
        threads=config.threads,
    )
    result.update(latency_stats(run_times))
    result.update(
        source="host",
        status="ok",
        model=os.path.basename(model),
        signature=signature,
        seq_len=seq_len,
        runs=config.runs,
        warmup=max(config.warmup, 1),
        model_mem_delta_mb=rss_init - rss0,
        vm_rss_mb=current_rss_mb(),
        runtime=runtime_name(),
        encoder=encoder_name,
        timing_scope=invoker.scope,
        host=f"{platform.system()} {platform.machine()} ({os.cpu_count()} CPUs)",
        device_model="host",
    )
    return result


def _measure_isolated(config: HostConfig, timeout_s: float) -> dict:
    """Run one configuration in a fresh interpreter (clean RSS baseline)."""
    with tempfile.TemporaryDirectory(prefix="albert_edge_host_") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable, "-m", "albert_edge.benchmark", "host",
            "--model", config.model, "--threads", str(config.threads),
            "--runs", str(config.runs), "--warmup", str(config.warmup),
            "--no-isolate", "--json", str(out), "--quiet",
        ]
        if config.signature:
            cmd += ["--signature", config.signature]
        if config.seq_len is not None:
            cmd += ["--seq-len", str(config.seq_len)]
        env = dict(os.environ)
        # the child imports this very package, installed or not
        env["PYTHONPATH"] = os.pathsep.join([str(resources.PACKAGE_DIR.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            raise HostBenchmarkError(f"timed out after {timeout_s:.0f}s") from None
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise HostBenchmarkError(f"worker exited {proc.returncode}: {tail[0]}")
        rows = json.loads(out.read_text())
        return rows[0]


def run_host(
    model: str,
    seq_len: int | None = None,
    threads: Sequence[int] = (1,),
    runs: int = 50,
    warmup: int = 5,
    signature: str | None = None,
    isolate: bool = True,
    timeout_s: float = 600.0,
) -> list[dict]:
    """Measure every selected signature × thread count; failures become error rows."""
    if not os.path.isfile(model):
        raise HostBenchmarkError(f"model not found: {model}")
    try:
        interp = load_interpreter(model, 1)
    except (ModelError, ValueError) as exc:
        raise HostBenchmarkError(str(exc)) from None
    sigs = select_signatures(list(signatures_of(interp)), seq_len, signature)
    if seq_len is not None and len(sigs) == 1:   # a lone unnamed-length signature: its length, before measuring
        try:
            shapes = [tuple(d["shape"]) for d in _Invoker(interp, sigs[0]).details.values()]
        except (ValueError, RuntimeError):
            shapes = []
        lengths = {int(s[-1]) for s in shapes if len(s) == 2}
        if len(lengths) == 1 and seq_len not in lengths:
            raise HostBenchmarkError(f"--seq-len {seq_len}: {model} takes length {lengths.pop()} "
                                     f"(signature {sigs[0]}); give that length or leave --seq-len out")
    del interp
    rows = []
    for sig in sigs:
        for t in threads:
            config = HostConfig(model=model, signature=sig, seq_len=seq_len, threads=int(t), runs=runs, warmup=warmup)
            try:
                row = _measure_isolated(config, timeout_s) if isolate else measure(config)
            except HostBenchmarkError as exc:
                log.error("%s %s threads=%s: %s", os.path.basename(model), sig, t, exc)
                row = {key: None for key in CORE_KEYS}
                row.update(asdict(config), source="host", status="error", error=str(exc), model=os.path.basename(model))
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- benchmark_model-format rendering


def _g(value: float) -> str:
    """C++ ``ostream << double`` default formatting (6 significant digits, e.g. 2.71985e+06)."""
    text = f"{value:.6g}"
    if "e" in text:
        mant, exp = text.split("e")
        sign = exp[0]
        digits = exp[1:].lstrip("0").rjust(2, "0")
        text = f"{mant}e{sign}{digits}"
    return text


def render_benchmark_model_log(result: dict, graph: str, num_runs: int | None = None, prefix: str = "INFO: ") -> str:
    """Print a host measurement in benchmark_model's own output format (TF 2.x layout).

    The fake adb's on-device ``benchmark_model`` uses this, so the adb path is tested end to
    end against the same parser as real phones.
    """
    count = int(result.get("count") or num_runs or 1)
    lines = [
        "STARTING!",
        "Log parameter values verbosely: [0]",
        f"Min num runs: [{count}]",
        f"Num threads: [{result['threads']}]",
        f"Graph: [{graph}]",
        f"Signature to run: [{result.get('signature') or ''}]",
        f"#threads used for CPU inference: [{result['threads']}]",
        f"Loaded model {graph}",
        f"The input model file size (MB): {_g(result['model_size_mb'])}",
        f"Initialized session in {_g(result['init_us'] / 1000.0)}ms.",
        "Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.",
        f"count={result.get('warmup', 1)} first={int(result['first_us'])} curr={int(result['first_us'])} "
        f"min={int(result['first_us'])} max={int(result['first_us'])} avg={_g(result['warmup_avg_us'])} std=0",
        "",
        f"Running benchmark for at least {count} iterations and at least 1 seconds but terminate if exceeding 150 seconds.",
        f"count={count} first={int(result['min_us'])} curr={int(result['max_us'])} min={int(result['min_us'])} "
        f"max={int(result['max_us'])} avg={_g(result['inference_avg_us'])} std={int(result['std_us'])}",
        "",
        f"Inference timings in us: Init: {int(result['init_us'])}, First inference: {int(result['first_us'])}, "
        f"Warmup (avg): {_g(result['warmup_avg_us'])}, Inference (avg): {_g(result['inference_avg_us'])}",
        "Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the "
        "actual memory footprint of the model at runtime. Take the information at your discretion.",
        f"Memory footprint delta from the start of the tool (MB): init={_g(result['mem_init_mb'])} "
        f"overall={_g(result['mem_overall_mb'])}",
        f"Overall peak memory footprint (MB) via periodic monitoring: {_g(result['peak_mem_mb'])}",
        "Memory status at the end of exeution:",
        f"- VmRSS              : {int(result.get('vm_rss_mb') or result['peak_mem_mb'])} MB",
    ]
    return "\n".join(f"{prefix}{line}" if line else "" for line in lines) + "\n"


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=".tflite file")
    parser.add_argument("--seq-len", type=positive_int,
                        help="measure signature L<N> only (default: every length signature)")
    parser.add_argument("--signature", help="signature key to measure (overrides --seq-len)")
    parser.add_argument("--threads", type=csv_of(thread_count, "thread counts"), default=(1,),
                        help="comma-separated thread counts, e.g. 1,2,4 (default 1)")
    parser.add_argument("--runs", type=positive_int, default=50, help="timed runs per configuration (default 50)")
    parser.add_argument("--warmup", type=positive_int, default=5, help="warm-up runs, at least 1 (default 5)")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write the result rows (JSON list) to OUT")
    parser.add_argument("--markdown", metavar="OUT", help="write a Markdown table of the rows to OUT")
    parser.add_argument("--format", choices=("json", "benchmark_model"), default="json",
                        help="stdout format: JSON rows, or benchmark_model-style log lines")
    parser.add_argument("--no-isolate", dest="isolate", action="store_false",
                        help="measure in this process instead of one fresh process per configuration")
    parser.add_argument("--timeout-s", type=nonnegative_float, default=600.0, help="per-configuration time limit (isolated mode)")
    parser.add_argument("--quiet", action="store_true", help="no stdout (with --json)")


def run(args: argparse.Namespace) -> int:
    try:
        # Output paths are checked before measuring: minutes of measurements must not be lost to a typo.
        check_outputs_apart({"--json": args.json_out, "--markdown": args.markdown}, {"--model": args.model})
        if args.json_out and args.markdown and os.path.realpath(args.json_out) == os.path.realpath(args.markdown):
            raise ValueError(f"--json and --markdown are both {args.json_out}: give two files")
        for flag, path in (("--json", args.json_out), ("--markdown", args.markdown)):
            if path:
                check_writable_file(path, flag)
        threads = parse_int_list(args.threads)
        rows = run_host(
            args.model, seq_len=args.seq_len, threads=threads, runs=args.runs, warmup=args.warmup,
            signature=args.signature, isolate=args.isolate, timeout_s=args.timeout_s,
        )
    except (HostBenchmarkError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_error = None
    try:
        if args.json_out:
            atomic_write_json(args.json_out, rows)
        if args.markdown:
            from albert_edge.benchmark.report import markdown_table
            from albert_edge.benchmark.results_io import atomic_write_text

            atomic_write_text(args.markdown, markdown_table(rows))
    except OSError as exc:   # the disk filled up while measuring: keep the rows, on stdout
        write_error = describe_os_error(exc)
        args.quiet = False
    if not args.quiet:
        if args.format == "benchmark_model":
            for row in rows:
                if row.get("status") == "ok":
                    sys.stdout.write(render_benchmark_model_log(row, args.model, prefix=""))
        else:
            print(json.dumps(rows, indent=2))
    if write_error:
        print(f"error: {write_error} (the measurements are printed above)", file=sys.stderr)
        return 2
    return 1 if any(r.get("status") != "ok" for r in rows) else 0
