"""Compare two result files and fail on a latency or memory regression (the CI gate).

Inputs may be a ``parse`` JSON object, a ``host`` JSON list, or an ``adb``/``farm``
``results.jsonl``. Rows are matched on (device, model variant, signature, delegate,
threads); a metric regresses when NEW > BASELINE × (1 + bound). Lower is better for
every metric compared. Exit codes: 0 no regression, 1 regression, 2 unreadable input or
nothing to compare.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from albert_edge.benchmark.results_io import read_jsonl

METRICS = (
    ("inference_avg_us", "latency avg"),
    ("p90_us", "latency p90"),
    ("init_us", "init"),
    ("peak_mem_mb", "peak memory"),
    ("mem_overall_mb", "memory delta"),
    ("instructions", "instructions"),
)
GATED = {"inference_avg_us", "p90_us", "peak_mem_mb", "mem_overall_mb", "instructions"}
# Counted, not timed (`benchmark arm`): the same build gives the same count, so any increase is
# gated by default (--max-instruction-regression), not the latency bound.
EXACT = {"instructions"}


def _json(path: str, text: str):
    """json.loads whose error names the file and line (a results file is often edited by hand)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:  # json's decoder recurses once per nesting level
        raise ValueError(f"{path}: JSON nested too deeply to be a results file (a list of flat rows); "
                         "give parse/host JSON or results.jsonl") from None


def check_metrics(path: str, rows: list[dict]) -> None:
    """Every compared metric is null or a finite number ≥ 0, else ValueError naming file, row, metric.

    Why: a NaN latency compares False with every bound, so it would read as "no regression";
    a string would end in a TypeError traceback instead of a message naming the row.
    """
    for index, row in enumerate(rows, 1):
        for metric, _ in METRICS:
            value = row.get(metric)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{path}: row {index} ({' / '.join(str(k) for k in row_key(row))}): "
                                 f"{metric} is {value!r}, not a finite number ≥ 0; fix or remove that row")


def load_rows(path: str) -> list[dict]:
    """Accept any results format the harness writes."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text; expected parse/host JSON or results.jsonl") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder; give a results file (e.g. {path}/results.jsonl)") from None
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"{path}: empty")
    if stripped.startswith("["):
        rows = _json(path, stripped)
    elif stripped.startswith("{") and "\n{" not in stripped:
        obj = _json(path, stripped)
        rows = obj.get("results", [obj]) if isinstance(obj, dict) else obj
    else:
        rows = read_jsonl(path)
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list of result rows or an object, got {type(rows).__name__}")
    rows = [r for r in rows if isinstance(r, dict) and r.get("status", "ok") == "ok"]
    check_metrics(path, rows)
    return rows


def row_key(row: dict) -> tuple:
    device = row.get("device_model") or row.get("serial") or row.get("source") or "-"
    variant = row.get("variant") or (Path(str(row["model"])).stem if row.get("model") else "-")
    return (device, variant, row.get("signature") or "-", row.get("delegate") or "cpu", row.get("threads"))


def parse_bound(text: str | float) -> float:
    """``"10%"`` / ``"0.1"`` / ``10`` → 0.10."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        raw = text.strip()
        try:
            value = float(raw.rstrip("%")) / 100.0 if raw.endswith("%") else float(raw)
        except ValueError:
            raise ValueError(f"--max-regression must be a bound such as 10% or 0.1, got {text!r}") from None
    if not math.isfinite(value):   # NaN passes every comparison, inf allows any regression
        raise ValueError(f"--max-regression must be a finite bound such as 10% or 0.1, got {text!r}")
    if value > 1 and not (isinstance(text, str) and text.strip().endswith("%")):
        value /= 100.0
    if value < 0:
        raise ValueError(f"--max-regression must not be negative, got {text!r}")
    return value


def group_rows(rows: list[dict]) -> dict[tuple, dict]:
    """One row per configuration; several phones of one model (or repeated runs) are averaged."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(row_key(row), []).append(row)
    merged = {}
    for key, members in groups.items():
        row = dict(members[0])
        for metric, _ in METRICS:
            values = [m[metric] for m in members if m.get(metric) is not None]
            row[metric] = sum(values) / len(values) if values else None
        row["n"] = len(members)
        merged[key] = row
    return merged


def _same_configuration(a: tuple, b: tuple) -> bool:
    """Every field (model variant, signature, delegate, threads) equal, or unknown on one side."""
    return all(x == y or x in ("-", None) or y in ("-", None) for x, y in zip(a, b))


def compare_rows(baseline: list[dict], new: list[dict], bound: float,
                 exact_bound: float = 0.0) -> tuple[list[dict], list[tuple]]:
    """Per matched configuration and metric: values, relative change, regression flag.

    Metrics in EXACT (instruction counts) use ``exact_bound`` (default 0: any increase regresses).
    """
    base_by = group_rows(baseline)
    new_by = group_rows(new)
    if len(base_by) == 1 and len(new_by) == 1 and not (base_by.keys() & new_by.keys()):
        (base_key,), (new_key,) = base_by.keys(), new_by.keys()
        if _same_configuration(base_key[1:], new_key[1:]):
            # two single results of one configuration on different phones (two `parse` outputs):
            # compare directly. Another model, signature, delegate or thread count is no baseline.
            base_by = {("single",): next(iter(base_by.values()))}
            new_by = {("single",): next(iter(new_by.values()))}
    diffs = []
    for key in sorted(base_by.keys() & new_by.keys(), key=str):
        b, n = base_by[key], new_by[key]
        for metric, label in METRICS:
            bv, nv = b.get(metric), n.get(metric)
            if bv is None or nv is None:
                continue
            change = (nv - bv) / bv if bv else (0.0 if nv == bv else float("inf"))
            diffs.append({
                "key": key, "metric": metric, "label": label, "baseline": bv, "new": nv, "change": change,
                "regression": metric in GATED and change > (exact_bound if metric in EXACT else bound),
            })
    unmatched = sorted((base_by.keys() ^ new_by.keys()), key=str)
    return diffs, unmatched


def _fmt(metric: str, value: float) -> str:
    if metric in EXACT:
        return f"{round(value):,}"
    return f"{value / 1000:.2f} ms" if metric.endswith("_us") else f"{value:.1f} MB"


def _change(d: dict) -> str:
    if d["metric"] in EXACT:  # a count: the absolute difference says more than "+0.0%"
        return f"{round(d['new'] - d['baseline']):+,} ({d['change']:+.3%})"
    return f"{d['change']:+.1%}"


def verdict(diffs: list[dict], bound: float, exact_bound: float = 0.0) -> str:
    """'no regression: instructions: no increase; latency avg, peak memory: within +10%'.

    Why it names the metrics and their bound: instruction counts (`benchmark arm`) are gated exactly
    and latency / memory within `bound`; a bare "no regression beyond +10%" after a comparison of
    counts alone claimed a latency check that never ran.
    """
    compared = {d["metric"] for d in diffs if d["metric"] in GATED}
    exact = [label for metric, label in METRICS if metric in compared & EXACT]
    bounded = [label for metric, label in METRICS if metric in compared - EXACT]
    parts = []
    if exact:
        parts.append(f"{', '.join(exact)}: " + (f"within +{exact_bound:.2%}" if exact_bound else "no increase"))
    if bounded:
        parts.append(f"{', '.join(bounded)}: within +{bound:.0%}")
    return "no regression: " + "; ".join(parts)


def format_table(diffs: list[dict], bound: float, exact_bound: float = 0.0) -> str:
    lines = [
        "| configuration | metric | baseline | new | change | |",
        "|---|---|---:|---:|---:|---|",
    ]
    for d in diffs:
        limit = exact_bound if d["metric"] in EXACT else bound
        flag = (f"REGRESSION (> +{limit:.2%})" if limit or d["metric"] not in EXACT else "REGRESSION (any increase)") \
            if d["regression"] else ""
        lines.append(
            f"| {' / '.join(str(k) for k in d['key'])} | {d['label']} | {_fmt(d['metric'], d['baseline'])} | "
            f"{_fmt(d['metric'], d['new'])} | {_change(d)} | {flag} |"
        )
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", help="baseline results (parse JSON, host JSON, or results.jsonl)")
    parser.add_argument("new", help="new results, same formats")
    parser.add_argument("--max-regression", default="10%", help="allowed increase, e.g. 10%% or 0.1 (default 10%%)")
    parser.add_argument("--max-instruction-regression", default="0",
                        help="allowed increase of instruction counts (`benchmark arm` rows), e.g. 0.01%% "
                             "(default 0: counts are deterministic, any increase is a regression)")


def run(args: argparse.Namespace) -> int:
    try:
        bound = parse_bound(args.max_regression)
        exact_bound = parse_bound(getattr(args, "max_instruction_regression", "0"))
        baseline, new = load_rows(args.baseline), load_rows(args.new)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    diffs, unmatched = compare_rows(baseline, new, bound, exact_bound)
    if not diffs:
        print(f"error: no configuration present in both {args.baseline} and {args.new} with comparable "
              "metrics (rows match on device / model / signature / delegate / threads)", file=sys.stderr)
        return 2
    if not any(d["metric"] in GATED for d in diffs):
        gated = ", ".join(label for metric, label in METRICS if metric in GATED)
        print(f"error: none of the gated metrics ({gated}) has a value in both {args.baseline} and {args.new}: "
              "the regression gate cannot check anything", file=sys.stderr)
        return 2
    print(format_table(diffs, bound, exact_bound), end="")
    for key in unmatched:
        print(f"note: only in one file: {' / '.join(str(k) for k in key)}")
    regressions = [d for d in diffs if d["regression"]]
    if regressions:
        counted = [d for d in regressions if d["metric"] in EXACT]
        if counted:
            print(f"{len(counted)} instruction-count regression(s) beyond +{exact_bound:.2%}")
        if len(counted) < len(regressions):
            print(f"{len(regressions) - len(counted)} regression(s) beyond +{bound:.0%}")
        return 1
    print(verdict(diffs, bound, exact_bound))
    return 0
