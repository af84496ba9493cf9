"""Result rows → CSV, Markdown summary and a PNG latency plot.

Why one row schema for host, adb, APK and device-farm results: the comparison gate and
the README tables then work on any of them, and an error row (status ``error``) sits in
the same files as the measurements, so a failed phone is visible rather than missing.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Iterable, Sequence

from albert_edge.benchmark.results_io import atomic_write_bytes, atomic_write_text
from albert_edge.benchmark.parse import CORE_KEYS, STAT_KEYS

log = logging.getLogger(__name__)

ID_COLUMNS = (
    "run_id",
    "source",
    "status",
    "serial",
    "device_model",
    "soc",
    "abi",
    "android",
    "model",
    "variant",
    "signature",
    "delegate",
    "cpu_mask",
)
EXTRA_COLUMNS = ("p50_us", "p90_us", "p99_us", "p5_us", "median_us", "p95_us", "vm_rss_mb",
                 "model_mem_delta_mb", "thermal_status", "accelerator", "npu_nodes", "total_nodes", "stage", "error",
                 "raw_log")
CSV_COLUMNS = ID_COLUMNS + CORE_KEYS + STAT_KEYS + EXTRA_COLUMNS


def rows_to_csv(rows: Iterable[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})
    return buf.getvalue()


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value / 1000.0:.2f}"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def variant_of(row: dict) -> str:
    return str(row.get("variant") or (Path(str(row["model"])).stem if row.get("model") else "–"))


def device_of(row: dict) -> str:
    return str(row.get("device_model") or row.get("serial") or row.get("source") or "?")


def _delegate_cell(row: dict) -> str:
    """The delegate asked for, and what really ran when the log says otherwise (``npu→cpu``)."""
    asked = row.get("delegate") or "cpu"
    ran = row.get("accelerator")
    return f"{asked}→{ran}" if ran and ran != asked else asked


def markdown_table(rows: Sequence[dict]) -> str:
    """One line per measurement; error rows show their reason instead of numbers."""
    header = (
        "| device | model | signature | delegate | threads | avg ms | p50 ms | p90 ms | p99 ms | "
        "init ms | first ms | peak MB | Δmem MB | status |\n"
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for r in rows:
        status = r.get("status", "ok")
        if status != "ok":
            status = f"error: {str(r.get('error', ''))[:80]}".replace("|", "/")
        lines.append(
            f"| {device_of(r)} | {variant_of(r)} | {r.get('signature') or '–'} | {_delegate_cell(r)} | "
            f"{r.get('threads') if r.get('threads') is not None else '–'} | {_ms(r.get('inference_avg_us'))} | "
            f"{_ms(r.get('p50_us', r.get('median_us')))} | {_ms(r.get('p90_us'))} | {_ms(r.get('p99_us'))} | "
            f"{_ms(r.get('init_us'))} | {_ms(r.get('first_us'))} | "
            f"{_mb(r.get('peak_mem_mb'))} | {_mb(r.get('mem_overall_mb'))} | {status} |"
        )
    return header + "\n".join(lines) + "\n"


def markdown_summary(rows: Sequence[dict], title: str = "Benchmark results") -> str:
    ok = [r for r in rows if r.get("status") == "ok"]
    failed = [r for r in rows if r.get("status") != "ok"]
    devices = sorted({str(r.get("serial") or device_of(r)) for r in rows})
    text = [
        f"# {title}",
        "",
        f"{len(ok)} measurements ok, {len(failed)} failed, {len(devices)} device(s): {', '.join(devices)}.",
        "",
        "Latency is the mean of the timed runs (benchmark_model `Inference (avg)`); memory is the",
        "tool's peak RSS (`peak MB`) and the footprint delta from the start of the tool (`Δmem MB`).",
        "",
        markdown_table(rows),
    ]
    if failed:
        text += ["## Failures", ""]
        for r in failed:
            text.append(
                f"- `{r.get('run_id', '?')}` {device_of(r)} {variant_of(r)} threads={r.get('threads')}: "
                f"[{r.get('stage', '?')}] {r.get('error', '')}"
                + (f" (raw log: `{r['raw_log']}`)" if r.get("raw_log") else "")
            )
        text.append("")
    return "\n".join(text)


def plot_latency(rows: Sequence[dict], path: str | os.PathLike, title: str = "Inference latency") -> Path | None:
    """Grouped bars: x = device × variant (× delegate), one bar per thread count."""
    ok = [r for r in rows if r.get("status") == "ok" and r.get("inference_avg_us") is not None]
    if not ok:
        log.warning("no successful measurement to plot")
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def group(r: dict) -> str:
        parts = [device_of(r), variant_of(r)]
        if r.get("signature"):
            parts.append(str(r["signature"]))
        if r.get("delegate") and r.get("delegate") != "cpu":
            parts.append(str(r["delegate"]))
        return "\n".join(parts)

    groups = sorted({group(r) for r in ok})
    threads = sorted({int(r.get("threads") or 0) for r in ok})
    width = 0.8 / max(len(threads), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(groups) + 2), 4.5))
    for i, t in enumerate(threads):
        xs, ys = [], []
        for j, g in enumerate(groups):
            vals = [r["inference_avg_us"] / 1000.0 for r in ok if group(r) == g and int(r.get("threads") or 0) == t]
            if vals:
                xs.append(j + (i - (len(threads) - 1) / 2) * width)
                ys.append(sum(vals) / len(vals))
        ax.bar(xs, ys, width=width, label=f"{t} thread{'s' if t != 1 else ''}")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=7)
    ax.set_ylabel("mean latency (ms)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def save_figure(fig, path: str | os.PathLike) -> Path:
    """A matplotlib figure as a PNG at `path`, written atomically; the figure is closed."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def write_reports(rows: Sequence[dict], out_dir: str | os.PathLike, stem: str = "results", title: str = "Benchmark results") -> dict[str, Path]:
    """CSV + Markdown + PNG next to the JSONL (which is appended live while measuring)."""
    out = Path(out_dir)
    written = {
        "csv": atomic_write_text(out / f"{stem}.csv", rows_to_csv(rows)),
        "markdown": atomic_write_text(out / f"{stem}.md", markdown_summary(rows, title)),
    }
    png = plot_latency(rows, out / f"{stem}.png", title)
    if png is not None:
        written["png"] = png
    return written
