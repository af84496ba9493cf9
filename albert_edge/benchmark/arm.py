"""``python -m albert_edge.benchmark arm``: exports on the phone's aarch64 LiteRT kernels under qemu-user.

A thin CLI over :mod:`albert_edge.emulation` (CPU models ``qemu_cpus``, provisioning ``qemu_env``,
running ``qemu_run``, the numerics rule ``numerics``, shared with the NPU check): this module only
parses flags, writes the table, the rows and the plot, and maps errors to exit codes.

Every parity and accuracy gate of the export runs on this x86 host's kernels, while a phone runs
XNNPACK's aarch64 NEON / dotprod / i8mm paths; no phone is needed to run those. Outputs are compared
with LiteRT's *reference kernels* on the host, which do not depend on the host's instruction set
(``emulation/numerics.py`` says why and states the bound).

Exit codes: 0 every row within the rule · 1 a numerics gate failed (named) · 2 unusable model,
options or environment (the message says what is missing and how to install it), or a model that
crashed or timed out under emulation (the message carries qemu's last lines).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from albert_edge.cli import check_writable_file, csv_of, nonnegative_float, positive_int
from albert_edge.emulation.errors import ArmEnvironmentError, ArmRunError
from albert_edge.emulation.numerics import OUTPUT_STEPS, POSITIONS_PER_STEP, FLOAT_TOLERANCE
from albert_edge.emulation.qemu_cpus import CPU_MODELS, DEFAULT_CPUS, parse_cpu_list
from albert_edge.emulation.qemu_env import default_cache_dir, prepare
from albert_edge.emulation.qemu_run import DEFAULT_PAIRS, FLOAT_PAIRS, gate_failures, markdown_table, run_arm
from albert_edge.fileio import write_text_atomic

# `make arm-check` writes here by default: a check must not rewrite tracked files
# (benchmark/arm/results.* are the committed reference run, refreshed by hand with --json/--markdown).
DEFAULT_OUT = Path("runs") / "arm"
RULE_TEXT = (f"fp32/fp16 ≤ {FLOAT_TOLERANCE:g}, int8 ≤ k(L) = {OUTPUT_STEPS} + ⌈L/{POSITIONS_PER_STEP}⌉ output steps, "
             "argmax agreement against LiteRT's reference kernels")


def _known_variants() -> tuple[str, ...]:
    from albert_edge.export import variants   # the registry (TensorFlow-free): file name → variant
    return tuple(variants.names())


def plot_instructions(rows: Sequence[dict], path: str | os.PathLike) -> Path | None:
    """Grouped bars: x = variant × signature, one bar per emulated CPU (millions of instructions)."""
    if not rows:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({(r["variant"], r["seq_len"]) for r in rows}, key=lambda g: (g[1], g[0]))
    devices = sorted({r["device"] for r in rows})
    width = 0.8 / len(devices)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) + 2), 4.5))
    for i, device in enumerate(devices):
        xs, ys = [], []
        for j, (variant, L) in enumerate(groups):
            match = [r["instructions"] for r in rows if r["device"] == device and r["variant"] == variant and r["seq_len"] == L]
            if match:
                xs.append(j + (i - (len(devices) - 1) / 2) * width)
                ys.append(match[0] / 1e6)
        ax.bar(xs, ys, width=width, label=device)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{v}\nL{L}" for v, L in groups], fontsize=8)
    ax.set_ylabel("million instructions per inference")
    ax.set_yscale("log")
    ax.set_title("ALBERT-tiny on aarch64 LiteRT kernels (qemu-user, 1 thread)")
    ax.legend(fontsize=8)
    from albert_edge.benchmark.report import save_figure
    return save_figure(fig, path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="M",
                        help=".tflite file; repeat for several (e.g. --model a_int8.tflite --model a_fp32.tflite)")
    parser.add_argument("--cpu", default=",".join(DEFAULT_CPUS),
                        help="qemu CPU models, comma-separated (default cortex-a76); "
                             + "; ".join(f"{k}: {v}" for k, v in CPU_MODELS.items()))
    parser.add_argument("--seq-len", type=csv_of(positive_int, "positive integers"),
                        help="signature lengths to run, e.g. 32,128 (default: the shortest)")
    parser.add_argument("--pairs", type=positive_int, default=DEFAULT_PAIRS,
                        help=f"sentence pairs per signature (default {DEFAULT_PAIRS})")
    parser.add_argument("--float-pairs", type=positive_int, default=FLOAT_PAIRS,
                        help=f"at most this many pairs for fp32/fp16, ~10x slower to emulate (default {FLOAT_PAIRS})")
    parser.add_argument("--pairs-file", help="a<TAB>b[<TAB>label] lines (default: bundled LCQMC calibration pairs)")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write the rows (JSON list) to OUT")
    parser.add_argument("--markdown", metavar="OUT", help="write a Markdown table to OUT")
    parser.add_argument("--plot", metavar="OUT.png", help="write a bar chart of instruction counts")
    parser.add_argument("--cache-dir", help=f"userland, wheels and plugin (default {default_cache_dir()})")
    parser.add_argument("--allow-sme", action="store_true",
                        help="run CPU models that advertise SME anyway (results under qemu 7.2 are garbage)")
    parser.add_argument("--timeout-s", type=nonnegative_float, default=3600.0, help="time limit per model × CPU run (default 3600)")
    parser.add_argument("--setup-only", action="store_true", help="prepare the cache and exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    try:
        for flag, path in (("--json", args.json_out), ("--markdown", args.markdown), ("--plot", args.plot)):
            if path:
                check_writable_file(path, flag)
        if not args.model and not args.setup_only:
            raise ValueError("give at least one --model M.tflite (or --setup-only)")
        cpus = parse_cpu_list(args.cpu)
        env = prepare(cpus, args.cache_dir, args.allow_sme)
        if args.setup_only:
            print(f"ready: {env.cache} (qemu {env.qemu_version}, ai-edge-litert {env.litert_version}, "
                  f"plugin {env.plugin.name})")
            return 0
        rows = run_arm(args.model, cpus, args.seq_len, args.pairs, args.float_pairs, args.pairs_file,
                       allow_sme=args.allow_sme, timeout_s=args.timeout_s, progress=not args.no_progress, env=env,
                       known_variants=_known_variants())
    except (ArmEnvironmentError, ArmRunError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json_out:
        write_text_atomic(args.json_out, json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    table = markdown_table(rows)
    if args.markdown:
        write_text_atomic(args.markdown, table)
    if args.plot:
        plot_instructions(rows, args.plot)
    print(table, end="")
    failures = gate_failures(rows)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    from albert_edge.benchmark.__main__ import main as benchmark_main
    return benchmark_main(["arm", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())