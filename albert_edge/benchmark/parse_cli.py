"""Parse benchmark_model output (a file, or ``-`` for stdin) into JSON.

Exit codes: 0 parsed, 2 garbled/truncated output or unreadable file (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from albert_edge.benchmark.results_io import atomic_write_json, atomic_write_text
from albert_edge.fileio import check_outputs_apart
from albert_edge.cli import check_writable_file, describe_os_error
from albert_edge.benchmark.parse import BenchmarkParseError, ops_to_csv, parse_all, parse_op_profile

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="benchmark_model / logcat / benchmark_litert_model output, or - for stdin")
    parser.add_argument("--all", action="store_true", help="print every run found (JSON list) instead of the last")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="also write the JSON to OUT")
    parser.add_argument("--ops-csv", metavar="OUT", help="write the op-profiling tables (--enable_op_profiling) as CSV")


def read_source(path: str) -> str:
    """``-`` = stdin; undecodable bytes stay visible (U+FFFD) instead of vanishing."""
    if path == "-":
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    with open(path, "rb") as fh:
        return fh.read().decode("utf-8", errors="replace")


def run(args: argparse.Namespace) -> int:
    try:
        check_outputs_apart({"--json": args.json_out, "--ops-csv": args.ops_csv},
                            {"the input": None if args.file == "-" else args.file})
        for flag, path in (("--json", args.json_out), ("--ops-csv", args.ops_csv)):
            if path:
                check_writable_file(path, flag)
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
    print(json.dumps(result, indent=2))
    if args.json_out:
        try:
            atomic_write_json(args.json_out, result)
        except OSError as exc:
            print(f"error: {describe_os_error(exc)} (the result is printed above)", file=sys.stderr)
            return 2
    return 0
