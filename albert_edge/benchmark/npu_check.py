"""``python -m albert_edge.benchmark npu-check --model M.sm8650.tflite --data pairs.tsv --pairs N``.

Runs each signature of an NPU-compiled model (``export --npu``) on Qualcomm's HTP emulator
(onnxruntime-qnn, CPU fallback disabled) on N real pairs, and compares the logits with the CPU
model it was compiled from, run through LiteRT's reference kernels, under the numerics rule shared
with ``benchmark arm`` (``emulation/numerics.py``: same argmax, |Δlogit| ≤ k(L) = 2 + ⌈L/16⌉ output
steps). A thin CLI over :mod:`albert_edge.emulation.htp_check`.

What this proves and what it does not: the compiled NPU code computes what the CPU model computes,
on Qualcomm's own HTP emulation. Milliseconds, memory and power come only from a phone
(``benchmark adb --delegates npu``).

Exit codes: 0 every signature within the rule · 1 a gate failed (numerics, a compiled file that is
not the one compiled for this SoC, a context the emulator refuses or crashes on) · 2 unusable input
or environment (the message says what and how to fix it).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Sequence

from albert_edge.cli import check_writable_file, csv_of, nonnegative_float, positive_int

log = logging.getLogger(__name__)

MAX_PAIRS = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from albert_edge.emulation.htp_check import DEFAULT_PAIRS
    parser.add_argument("--model", action="append", default=[], required=True, metavar="M.SOC.tflite",
                        help="NPU-compiled model from `export --npu` (repeat for several)")
    parser.add_argument("--data", metavar="PAIRS.tsv",
                        help="a<TAB>b[<TAB>label] lines (default: the bundled LCQMC calibration pairs)")
    parser.add_argument("--pairs", type=positive_int, default=DEFAULT_PAIRS,
                        help=f"pairs per signature (default {DEFAULT_PAIRS}; 5–12 s per L32 inference on 2 cores)")
    parser.add_argument("--seq-len", type=csv_of(positive_int, "positive integers"),
                        help="signature lengths to check, e.g. 32 (default: every signature)")
    parser.add_argument("--soc", help="the SoC the model was compiled for (default: from its name, ….sm8650.tflite)")
    parser.add_argument("--cpu-model", help="the CPU .tflite it was compiled from (default: its compile record's "
                                            "source beside it)")
    parser.add_argument("--qnn-sdk", metavar="DIR", help="Qualcomm QAIRT SDK folder (default: onnxruntime-qnn's)")
    parser.add_argument("--timeout-s", type=nonnegative_float, default=3600.0,
                        help="time limit per signature on the emulator (default 3600)")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write the rows (JSON list) to OUT")
    parser.add_argument("--markdown", metavar="OUT", help="write the table to OUT")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from albert_edge.emulation import htp_check, socs
    from albert_edge.emulation.errors import EmulationError
    from albert_edge.emulation.feeds import read_pairs
    from albert_edge.export import variants
    from albert_edge.fileio import write_text_atomic

    rows, failures = [], []
    try:
        if args.pairs > MAX_PAIRS:
            raise ValueError(f"--pairs {args.pairs}: at most {MAX_PAIRS} (each L32 pair costs seconds on the emulator)")
        if args.timeout_s <= 0:
            raise ValueError("--timeout-s must be > 0")
        for flag, path in (("--json", args.json_out), ("--markdown", args.markdown)):
            if path:
                check_writable_file(path, flag)
                if any(str(path) == str(m) for m in args.model):
                    raise ValueError(f"{flag} {path} is the input model")
        soc = socs.get(args.soc) if args.soc else None
        pairs = read_pairs(args.data, args.pairs)
        if not pairs:
            raise ValueError(f"--data {args.data}: no sentence pairs")
        for model in args.model:
            check = htp_check.check_compiled(model, pairs, soc=soc, cpu_model=args.cpu_model, seq_lens=args.seq_len,
                                             qnn_sdk=args.qnn_sdk, known_variants=variants.names(),
                                             progress=not args.no_progress, timeout_s=args.timeout_s)
            rows.extend(check.rows)
            failures.extend(check.failures)
    except (EmulationError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    table = htp_check.markdown_table(rows)
    if args.json_out:
        write_text_atomic(args.json_out, json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    if args.markdown:
        write_text_atomic(args.markdown, table)
    print(table, end="")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    from albert_edge.benchmark.__main__ import main as benchmark_main
    return benchmark_main(["npu-check", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
