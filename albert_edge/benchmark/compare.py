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
import sys
from pathlib import Path

from albert_edge.benchmark._io import read_jsonl

METRICS = (
    ("inference_avg_us", "latency avg"),
    ("p90_us", "latency p90"),
    ("init_us", "init"),
    ("peak_mem_mb", "peak memory"),
    ("mem_overall_mb", "memory delta"),
)
GATED = {"inference_avg_us", "p90_us", "peak_mem_mb", "mem_overall_mb"}


def load_rows(path: str) -> list[dict]:
    """Accept any results format the harness writes."""
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"{path}: empty")
    if stripped.startswith("["):
        rows = json.loads(stripped)
    elif stripped.startswith("{") and "\n{" not in stripped:
        obj = json.loads(stripped)
        rows = obj.get("results", [obj]) if isinstance(obj, dict) else obj
    else:
        rows = read_jsonl(path)
    return [r for r in rows if isinstance(r, dict) and r.get("status", "ok") == "ok"]


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
        value = float(raw.rstrip("%")) / 100.0 if raw.endswith("%") else float(raw)
    if value > 1 and not (isinstance(text, str) and text.strip().endswith("%")):
        value /= 100.0
    if value < 0:
        raise ValueError(f"negative bound: {text}")
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


def compare_rows(baseline: list[dict], new: list[dict], bound: float) -> tuple[list[dict], list[tuple]]:
    """Per matched configuration and metric: values, relative change, regression flag."""
    base_by = group_rows(baseline)
    new_by = group_rows(new)
    if len(base_by) == 1 and len(new_by) == 1 and not (base_by.keys() & new_by.keys()):
        # two single results (e.g. two `parse` outputs of different phones): compare directly
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
                "regression": metric in GATED and change > bound,
            })
    unmatched = sorted((base_by.keys() ^ new_by.keys()), key=str)
    return diffs, unmatched


def _fmt(metric: str, value: float) -> str:
    return f"{value / 1000:.2f} ms" if metric.endswith("_us") else f"{value:.1f} MB"


def format_table(diffs: list[dict], bound: float) -> str:
    lines = [
        "| configuration | metric | baseline | new | change | |",
        "|---|---|---:|---:|---:|---|",
    ]
    for d in diffs:
        flag = f"REGRESSION (> +{bound:.0%})" if d["regression"] else ""
        lines.append(
            f"| {' / '.join(str(k) for k in d['key'])} | {d['label']} | {_fmt(d['metric'], d['baseline'])} | "
            f"{_fmt(d['metric'], d['new'])} | {d['change']:+.1%} | {flag} |"
        )
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", help="baseline results (parse JSON, host JSON, or results.jsonl)")
    parser.add_argument("new", help="new results, same formats")
    parser.add_argument("--max-regression", default="10%", help="allowed increase, e.g. 10%% or 0.1 (default 10%%)")


def run(args: argparse.Namespace) -> int:
    try:
        bound = parse_bound(args.max_regression)
        baseline, new = load_rows(args.baseline), load_rows(args.new)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    diffs, unmatched = compare_rows(baseline, new, bound)
    if not diffs:
        print("error: no configuration present in both files with comparable metrics", file=sys.stderr)
        return 2
    print(format_table(diffs, bound), end="")
    for key in unmatched:
        print(f"note: only in one file: {' / '.join(str(k) for k in key)}")
    regressions = [d for d in diffs if d["regression"]]
    if regressions:
        print(f"{len(regressions)} regression(s) beyond +{bound:.0%}")
        return 1
    print(f"no regression beyond +{bound:.0%}")
    return 0
