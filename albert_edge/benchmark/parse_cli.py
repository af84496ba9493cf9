"""Parse benchmark_model output (a file, or ``-`` for stdin) into JSON.

Exit codes: 0 parsed, 1 the ``--require-npu`` gate failed (the log shows the CPU ran, or does not
show the NPU did), 2 garbled/truncated output or unreadable file (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from albert_edge.benchmark.results_io import atomic_write_json, atomic_write_text
from albert_edge.cli import check_writable_file, describe_os_error
from albert_edge.benchmark.parse import (BenchmarkParseError, accelerator_evidence, npu_verdict, ops_to_csv, parse_all,
                                        parse_op_profile)

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="benchmark_model / logcat / benchmark_litert_model output, or - for stdin")
    parser.add_argument("--all", action="store_true", help="print every run found (JSON list) instead of the last")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="also write the JSON to OUT")
    parser.add_argument("--ops-csv", metavar="OUT", help="write the op-profiling tables (--enable_op_profiling) as CSV")
    parser.add_argument("--require-npu", action="store_true",
                        help="gate: exit 1 unless the log shows the run on the NPU (LiteRT's DispatchDelegate / "
                             "dispatch library) with no node on the CPU; adds accelerator, npu_nodes, total_nodes")


def read_source(path: str) -> str:
    """``-`` = stdin; undecodable bytes stay visible (U+FFFD) instead of vanishing."""
    if path == "-":
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    with open(path, "rb") as fh:
        return fh.read().decode("utf-8", errors="replace")


def run(args: argparse.Namespace) -> int:
    try:
        for flag, path in (("--json", args.json_out), ("--ops-csv", args.ops_csv)):
            if path:
                check_writable_file(path, flag)
                if args.file != "-" and os.path.exists(path) and os.path.exists(args.file) and \
                        os.path.samefile(path, args.file):
                    raise ValueError(f"{flag} {path} is the input file: it would be overwritten; choose another {flag}")
        text = read_source(args.file)
        runs = parse_all(text)
        result = runs if args.all else runs[-1]
        if args.ops_csv:
            rows = parse_op_profile(text)
            if not rows:
                log.warning("no op-profiling tables in %s (run with --enable_op_profiling=true)", args.file)
            atomic_write_text(args.ops_csv, ops_to_csv(rows))
    except BenchmarkParseError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = None
    if args.require_npu:
        evidence = accelerator_evidence(text)
        accelerator, problem = npu_verdict(evidence, require_positive=True)
        for item in (runs if args.all else [result]):
            item.update(accelerator=accelerator, npu_nodes=evidence["npu_nodes"], total_nodes=evidence["total_nodes"])
    print(json.dumps(result, indent=2))
    if args.json_out:
        try:
            atomic_write_json(args.json_out, result)
        except OSError as exc:
            print(f"error: {describe_os_error(exc)} (the result is printed above)", file=sys.stderr)
            return 2
    if problem:
        print(f"gate npu failed: {args.file}: {problem}", file=sys.stderr)
        return 1
    return 0
