"""Parse TFLite ``benchmark_model`` output (every variant seen in the wild) into one dict.

Why a tolerant-but-strict parser: the same numbers reach us through very different
pipes — a desktop binary (``INFO: `` prefixed or not, depending on the build), the
benchmark APK through ``adb logcat`` (``threadtime`` or ``time`` prefixes), TF 1.x builds
(``Average inference timings in us: Warmup: …, Init: …, no stats: …``), TF 2.x builds
(``Inference timings in us: Init: …, First inference: …``), and the Python
``benchmark_litert_model`` shipped in the ``ai-edge-litert`` wheel. A harness that
silently returns 0 ms for a crashed or truncated run is worse than no harness, so any
output that lacks the summary, or whose numbers do not parse, raises
:class:`BenchmarkParseError` instead.

Units: all latencies are microseconds (as benchmark_model prints them); memory in MB
exactly as the tool printed it.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: Keys every parsed result carries (``None`` when the output has no such figure).
CORE_KEYS = (
    "init_us",
    "first_us",
    "warmup_avg_us",
    "inference_avg_us",
    "model_size_mb",
    "mem_init_mb",
    "mem_overall_mb",
    "peak_mem_mb",
    "threads",
)
#: Keys present only when the output has the timed runs' ``count=…`` statistics.
STAT_KEYS = ("count", "min_us", "max_us", "std_us")

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"

# Logcat / logger prefixes that precede the tool's own message.
_PREFIXES = [
    # threadtime: "07-14 13:14:52.097 22838 22838 I tflite  : msg"
    re.compile(r"^\s*\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+\S+\s*:\s?"),
    # time: "07-08 15:33:55.768 I/tflite  ( 5395): msg"
    re.compile(r"^\s*\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+[VDIWEF]/\S+\s*\(\s*\d+\):\s?"),
    # brief: "I/tflite  ( 5395): msg"
    re.compile(r"^\s*[VDIWEF]/\S+\s*\(\s*\d+\):\s?"),
    # docs elide the logcat prefix: "... tflite  : msg"
    re.compile(r"^\s*\.\.\.\s+\S+\s*:\s?"),
    # python logging of benchmark_litert_model: "2026-11-25 14:11:26 INFO name: msg"
    re.compile(r"^\s*\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\s+[A-Z]+\s+[\w.]+:\s?"),
    # TFLITE_LOG severity prefixes
    re.compile(r"^\s*(?:INFO|WARN|WARNING|ERROR|VERBOSE|DEBUG):\s?"),
    # LITERT_LOG source location after the severity: "[benchmark_litert_model.h:94] msg"
    re.compile(r"^\s*\[[\w.+-]+\.(?:cc|h|c|cpp):\d+\]\s?"),
]

_SUMMARY_NEW = re.compile(
    r"Inference timings in us:\s*Init:\s*(?P<init>\S+?),\s*First inference:\s*(?P<first>\S+?),"
    r"\s*Warmup \(avg\):\s*(?P<warmup>\S+?),\s*Inference \(avg\):\s*(?P<inf>\S+)\s*$"
)
_SUMMARY_OLD = re.compile(
    r"Average inference timings in us:\s*Warmup:\s*(?P<warmup>\S+?),\s*Init:\s*(?P<init>\S+?),"
    r"\s*(?:no stats|Inference):\s*(?P<inf>\S+)\s*$"
)
_SUMMARY_ANY = re.compile(r"(?:Average )?[Ii]nference timings in us")
_STAT = re.compile(r"^count=(?P<count>\d+)(?P<rest>.*)$")
_STAT_FIELD = re.compile(r"(?P<key>first|curr|min|max|avg|std|p5|median|p95)=(?P<val>\S+)")
_MEM_PAIR = re.compile(
    r"(?P<kind>Peak memory footprint|Memory footprint delta from the start of the tool) \(MB\):"
    r"\s*init=(?P<init>\S+)\s+overall=(?P<overall>\S+)\s*$"
)
_MEM_PAIR_ANY = re.compile(r"(?:Peak memory footprint|Memory footprint delta from the start)")
_PEAK = re.compile(r"Overall peak memory footprint \(MB\) via periodic monitoring:\s*(?P<v>\S+)\s*$")
_VMRSS = re.compile(r"^- VmRSS\s*:\s*(?P<v>\S+)\s*MB")
_MODEL_SIZE = re.compile(r"The input model file size \(MB\):\s*(?P<v>\S+)\s*$")
_THREADS = re.compile(r"^(?:Num threads|#threads used for CPU inference):\s*\[(?P<v>-?\d+)\]\s*$")
_INIT_SESSION = re.compile(r"^Initialized session in\s*(?P<v>\S+?)\s*ms\.?\s*$")
_RUNNING = re.compile(r"^Running benchmark for ")
_RUN_START = re.compile(r"^(?:STARTING!|Log parameter values verbosely)")
_ERROR_STRICT = re.compile(
    r"^\s*(?:ERROR:|[EF]/|\S+\s+\S+\s+\d+\s+\d+\s+[EF]\s)|Segmentation fault|Aborted|Fatal signal"
    r"|^\w*Error\b"
)
_ERROR_LOOSE = re.compile(r"No such file|not found|cannot open|[Ee]rror")

# LiteRT result blocks, values in ms: the Python ``benchmark_litert_model`` of the ai-edge-litert
# wheel prints a bare "BENCHMARK RESULTS" between rules of '='; LiteRT's C++ ``benchmark_model``
# (litert/tools, CompiledModel API — the tool for NPU runs) prints "========== BENCHMARK RESULTS
# ==========" (format strings: BenchmarkLoggingListener in litert/tools/benchmark_litert_model.h).
_LITERT_BLOCK = re.compile(r"^\s*(?:=+\s*)?BENCHMARK RESULTS(?:\s*=+)?\s*$")
_LITERT_FIELDS = {
    "init": re.compile(r"^Model initialization:\s*(?P<v>\S+) ms\s*$"),
    "first": re.compile(r"^Warmup \(first\):\s*(?P<v>\S+) ms\s*$"),
    "warmup": re.compile(r"^Warmup \(avg\):\s*(?P<v>\S+) ms(?: \((?P<n>\d+) runs\))?\s*$"),
    "inf": re.compile(r"^Inference \(avg\):\s*(?P<v>\S+) ms(?: \((?P<n>\d+) runs\))?\s*$"),
    "min": re.compile(r"^Inference \(min\):\s*(?P<v>\S+) ms\s*$"),
    "max": re.compile(r"^Inference \(max\):\s*(?P<v>\S+) ms\s*$"),
    "median": re.compile(r"^Inference \(median\):\s*(?P<v>\S+) ms\s*$"),
    # the C++ tool prints the standard deviation without its unit (still ms)
    "std": re.compile(r"^Inference \(std\):\s*(?P<v>\S+)(?: ms)?\s*$"),
    "p5": re.compile(r"^Inference \(p5\):\s*(?P<v>\S+) ms\s*$"),
    "p95": re.compile(r"^Inference \(p95\):\s*(?P<v>\S+) ms\s*$"),
}
_LITERT_SIZE = re.compile(r"^Model size:\s*(?P<v>\S+) MB\s*$")
_LITERT_SIGNATURE = re.compile(r"^Signature name:\s*(?P<v>\S+)\s*$")
_LITERT_MEM = {
    "mem_init_mb": re.compile(r"^Init footprint:\s*(?P<v>\S+) MB\s*$"),
    "mem_overall_mb": re.compile(r"^Overall footprint:\s*(?P<v>\S+) MB\s*$"),
    "peak_mem_mb": re.compile(r"^Peak memory:\s*(?P<v>\S+) MB\s*$"),
}
_LITERT_THREADS = re.compile(r"^Num threads:\s*(?P<v>-?\d+)\s*$")

# op-profiling tables
_TABLE_TITLE = re.compile(r"^={10,} (?P<title>.+?) ={10,}\s*$")
_PROFILE_SECTION = {
    "Profiling Info for Benchmark Initialization:": "init",
    "Operator-wise Profiling Info for Regular Benchmark Runs:": "regular",
}
_COLUMN_NAMES = {
    "node type": "node_type",
    "start": "start_ms",
    "first": "first_ms",
    "avg ms": "avg_ms",
    "%": "percent",
    "avg %": "percent",
    "cdf%": "cdf_percent",
    "cdf %": "cdf_percent",
    "mem kb": "mem_kb",
    "times called": "times_called",
    "name": "name",
    "count": "count",
}
OPS_CSV_COLUMNS = (
    "section",
    "table",
    "node_type",
    "start_ms",
    "first_ms",
    "avg_ms",
    "percent",
    "cdf_percent",
    "mem_kb",
    "times_called",
    "count",
    "name",
)


class BenchmarkParseError(ValueError):
    """The text is not a complete benchmark_model run (garbled, truncated, crashed)."""


@dataclass
class _Line:
    number: int  # 1-based, in the original text
    message: str  # prefix-stripped


@dataclass
class _Stat:
    count: int
    fields: dict[str, float] = field(default_factory=dict)
    line: int = 0


def strip_prefix(line: str) -> str:
    """Remove logcat / logger / TFLITE_LOG prefixes so one set of patterns fits all builds."""
    text = line.rstrip("\r\n")
    for _ in range(3):  # e.g. logcat prefix followed by "INFO: "
        for pattern in _PREFIXES:
            stripped = pattern.sub("", text, count=1)
            if stripped != text:
                text = stripped
                break
        else:
            break
    return text.strip(" ")


def to_number(token: str, what: str, line_no: int) -> float:
    """Parse one printed number (plain, decimal or ``2.71985e+06``); reject garbage loudly."""
    token = token.strip().rstrip(",")
    if not re.fullmatch(_NUM, token, flags=re.I):
        raise BenchmarkParseError(f"line {line_no}: {what} is not a number: {token!r}")
    value = float(token)
    if not math.isfinite(value):
        raise BenchmarkParseError(f"line {line_no}: {what} is not finite: {token!r}")
    if value < 0:
        raise BenchmarkParseError(f"line {line_no}: {what} is negative: {token!r}")
    return value


def _lines(text: str) -> list[_Line]:
    return [_Line(i + 1, strip_prefix(raw)) for i, raw in enumerate(text.splitlines())]


def _parse_stat(line: _Line) -> _Stat | None:
    match = _STAT.match(line.message)
    if not match:
        return None
    stat = _Stat(count=int(match.group("count")), line=line.number)
    rest = match.group("rest")
    # "count=50 curr=123(all same)" → curr=123
    rest = rest.replace("(all same)", "")
    for item in _STAT_FIELD.finditer(rest):
        stat.fields[item.group("key")] = to_number(item.group("val"), item.group("key"), line.number)
    if stat.count > 0 and "curr" not in stat.fields:
        raise BenchmarkParseError(f"line {line.number}: truncated statistics line: {line.message!r}")
    if stat.count > 1 and "first" in stat.fields and "std" not in stat.fields:
        raise BenchmarkParseError(f"line {line.number}: truncated statistics line: {line.message!r}")
    return stat


def first_error(text: str) -> str | None:
    """The first line that looks like an error, to say *why* a run has no summary."""
    for pattern in (_ERROR_STRICT, _ERROR_LOOSE):
        for raw in text.splitlines():
            if pattern.search(raw):
                return strip_prefix(raw)[:200]
    return None


def _split_runs(lines: list[_Line]) -> list[list[_Line]]:
    """Split a log holding several benchmark runs (e.g. a long logcat) at run starts."""
    runs: list[list[_Line]] = [[]]
    for line in lines:
        if _RUN_START.match(line.message) and any(
            _SUMMARY_ANY.search(x.message) for x in runs[-1]
        ):
            runs.append([])
        runs[-1].append(line)
    return runs


def _parse_litert(lines: list[_Line]) -> dict:
    """The Python ``benchmark_litert_model`` result block (values in ms → µs)."""
    values: dict[str, float] = {}
    counts: dict[str, int] = {}
    memory: dict[str, float] = {}
    size = threads = signature = None
    cpp = False
    for line in lines:
        msg = line.message
        if _LITERT_BLOCK.match(msg) and msg.startswith("="):
            cpp = True
        if m := _LITERT_SIZE.match(msg):
            size = to_number(m.group("v"), "model size", line.number)
        if m := _MODEL_SIZE.search(msg):
            size = to_number(m.group("v"), "model size", line.number)
        if m := _LITERT_SIGNATURE.match(msg):
            signature = m.group("v")
        for key, pattern in _LITERT_MEM.items():
            if m := pattern.match(msg):
                memory[key] = to_number(m.group("v"), key, line.number)
        if m := _LITERT_THREADS.match(msg):
            threads = int(m.group("v"))
        for key, pattern in _LITERT_FIELDS.items():
            if m := pattern.match(msg):
                values[key] = to_number(m.group("v"), key, line.number) * 1000.0
                if m.groupdict().get("n"):
                    counts[key] = int(m.group("n"))
    if "inf" not in values:
        raise BenchmarkParseError("BENCHMARK RESULTS block without 'Inference (avg)': truncated output")
    result = _empty_result()
    result.update(
        init_us=values.get("init"),
        first_us=values.get("first"),
        warmup_avg_us=values.get("warmup"),
        inference_avg_us=values["inf"],
        model_size_mb=size,
        threads=threads,
        format="litert-cc" if cpp else "litert-python",
        **memory,
    )
    if signature:
        result["signature"] = signature
    if "min" in values and "max" in values:
        result.update(
            count=counts.get("inf"),
            min_us=values["min"],
            max_us=values["max"],
            std_us=values.get("std"),
        )
        for key in ("p5", "median", "p95"):
            if key in values:
                result[f"{key}_us"] = values[key]
    return result


def _empty_result() -> dict:
    return {key: None for key in CORE_KEYS}


def _parse_tflite_run(lines: list[_Line]) -> dict:
    result = _empty_result()
    summary_idx = None
    for idx, line in enumerate(lines):
        if _SUMMARY_ANY.search(line.message):
            summary_idx = idx
    if summary_idx is None:
        raise BenchmarkParseError("no summary line")  # caller adds context
    summary = lines[summary_idx]
    if m := _SUMMARY_NEW.search(summary.message):
        result["init_us"] = to_number(m.group("init"), "Init", summary.number)
        result["first_us"] = to_number(m.group("first"), "First inference", summary.number)
        result["warmup_avg_us"] = to_number(m.group("warmup"), "Warmup (avg)", summary.number)
        result["inference_avg_us"] = to_number(m.group("inf"), "Inference (avg)", summary.number)
        result["format"] = "tflite-2.x"
    elif m := _SUMMARY_OLD.search(summary.message):
        result["init_us"] = to_number(m.group("init"), "Init", summary.number)
        result["warmup_avg_us"] = to_number(m.group("warmup"), "Warmup", summary.number)
        result["inference_avg_us"] = to_number(m.group("inf"), "Inference", summary.number)
        result["format"] = "tflite-1.x"
    else:
        raise BenchmarkParseError(
            f"line {summary.number}: garbled or truncated summary line: {summary.message[:160]!r}"
        )

    stats: list[_Stat] = []
    running_after_last_stat = False
    for line in lines[:summary_idx]:
        msg = line.message
        if stat := _parse_stat(line):
            stats.append(stat)
            running_after_last_stat = False
        elif _RUNNING.match(msg):
            running_after_last_stat = True
        elif m := _INIT_SESSION.match(msg):
            if result["init_us"] is None:
                result["init_us"] = to_number(m.group("v"), "init", line.number) * 1000.0
    if running_after_last_stat and stats:
        raise BenchmarkParseError("a 'Running benchmark' phase has no statistics line: truncated output")

    for line in lines:
        msg = line.message
        if m := _MODEL_SIZE.search(msg):
            result["model_size_mb"] = to_number(m.group("v"), "model size", line.number)
        elif m := _THREADS.match(msg):
            if result["threads"] is None or msg.startswith("Num threads"):
                result["threads"] = int(m.group("v"))
        elif m := _MEM_PAIR.search(msg):
            result["mem_init_mb"] = to_number(m.group("init"), "memory init", line.number)
            result["mem_overall_mb"] = to_number(m.group("overall"), "memory overall", line.number)
        elif _MEM_PAIR_ANY.search(msg) and "init=" in msg:
            raise BenchmarkParseError(f"line {line.number}: garbled memory line: {msg[:160]!r}")
        elif m := _PEAK.search(msg):
            result["peak_mem_mb"] = to_number(m.group("v"), "peak memory", line.number)
        elif m := _VMRSS.match(msg):
            result["vm_rss_mb"] = to_number(m.group("v"), "VmRSS", line.number)

    regular = _pick_regular_stat(stats, result["inference_avg_us"])
    warmup = stats[-2] if regular is not None and len(stats) >= 2 else None
    if warmup is None and len(stats) == 1 and regular is None:
        warmup = stats[0]
    if result["first_us"] is None and warmup is not None:
        # TF 1.x prints no "First inference"; the warmup phase's first run is it.
        result["first_us"] = warmup.fields.get("first", warmup.fields.get("curr"))
    if regular is not None:
        if regular.count == 0:
            raise BenchmarkParseError(f"line {regular.line}: no timed runs (count=0)")
        f = regular.fields
        result["count"] = regular.count
        result["min_us"] = f.get("min", f.get("curr"))
        result["max_us"] = f.get("max", f.get("curr"))
        result["std_us"] = f.get("std", 0.0)
        for key in ("p5", "median", "p95"):
            if key in f:
                result[f"{key}_us"] = f[key]
    if result["mem_init_mb"] == 0 and result["mem_overall_mb"] == 0:
        log.warning("the tool printed 0 MB memory deltas: the build could not measure memory")
    return result


def _pick_regular_stat(stats: list[_Stat], inference_avg: float | None) -> _Stat | None:
    """The timed phase is the last statistics line before the summary (warm-up comes first).

    With a single line we only trust it as the timed phase when its average matches the
    summary's inference average; otherwise it is the warm-up line of an excerpt.
    """
    if not stats:
        return None
    if len(stats) >= 2:
        return stats[-1]
    only = stats[0]
    avg = only.fields.get("avg", only.fields.get("curr"))
    if inference_avg is not None and avg is not None and math.isclose(avg, inference_avg, rel_tol=1e-3, abs_tol=1.0):
        return only
    return None


def parse_all(text: str) -> list[dict]:
    """Every complete run in ``text`` (a long logcat can hold several)."""
    if not text or not text.strip():
        raise BenchmarkParseError("empty benchmark output")
    if "\x00" in text:
        raise BenchmarkParseError("binary data in benchmark output (garbled)")
    lines = _lines(text)
    if any(_LITERT_BLOCK.match(line.message) for line in lines):
        return [_parse_litert(lines)]
    results = []
    for run in _split_runs(lines):
        if not any(_SUMMARY_ANY.search(line.message) for line in run):
            continue
        results.append(_parse_tflite_run(run))
    if not results:
        hint = first_error(text)
        detail = f" (first error: {hint!r})" if hint else ""
        raise BenchmarkParseError(
            "no 'Inference timings in us' summary (nor a LiteRT 'BENCHMARK RESULTS' block): the run crashed, "
            f"was cut off, or this is not benchmark_model output{detail}"
        )
    return results


def parse_text(text: str) -> dict:
    """The last complete run in ``text`` — the normal case of one run per file."""
    return parse_all(text)[-1]


def parse_file(path: str) -> dict:
    """Read ``path`` (undecodable bytes are kept visible, not dropped) and parse it."""
    with open(path, "rb") as fh:
        data = fh.read()
    return parse_text(data.decode("utf-8", errors="replace"))


# --------------------------------------------------------------------------- op profiling


def _split_columns(line: str, csv_mode: bool = False) -> list[str]:
    """Columns are tab-separated in real output; docs often turn tabs into spaces."""
    if csv_mode:
        return [c.strip() for c in line.split(", ")]
    if "\t" in line:
        return [c.strip() for c in line.strip("\n").split("\t") if c.strip() != ""]
    return [c.strip() for c in re.split(r"\s{2,}", line.strip()) if c.strip()]


def _header_columns(message: str) -> list[str] | None:
    names = re.findall(r"\[([^\]]+)\]", message)
    if names:
        mapped = [_COLUMN_NAMES.get(n.strip().lower()) for n in names]
        if all(mapped):
            return mapped  # type: ignore[return-value]
    if message.strip().lower().startswith("node type,"):
        mapped = [_COLUMN_NAMES.get(n.strip().lower().replace("_", " ")) for n in message.split(",")]
        if all(mapped):
            return mapped  # type: ignore[return-value]
    return None


def parse_op_profile(text: str) -> list[dict]:
    """Rows of every op-profiling table (``--enable_op_profiling=true``) as dicts."""
    rows: list[dict] = []
    section = None
    table = None
    columns: list[str] | None = None
    csv_mode = False
    for raw in text.splitlines():
        line = re.sub(r"^(?:\s*(?:INFO|VERBOSE):\s)", "", raw)
        msg = strip_prefix(raw)
        if msg in _PROFILE_SECTION:
            section = _PROFILE_SECTION[msg]
            table, columns = None, None
            continue
        if m := _TABLE_TITLE.match(msg):
            table = m.group("title")
            columns = None
            continue
        if section is None or table is None:
            continue
        if columns is None:
            columns = _header_columns(line)
            csv_mode = "[" not in line
            continue
        if not msg.strip():
            table, columns = None, None
            continue
        cells = _split_columns(line, csv_mode)
        if len(cells) != len(columns):
            # a "Name" containing double spaces: glue the tail back together
            if len(cells) > len(columns) and columns[-1] == "name":
                cells = cells[: len(columns) - 1] + ["  ".join(cells[len(columns) - 1 :])]
            else:
                raise BenchmarkParseError(
                    f"op-profiling row has {len(cells)} columns, header has {len(columns)}: {raw[:120]!r}"
                )
        row = {"section": section, "table": table}
        for name, cell in zip(columns, cells):
            row[name] = cell.rstrip("%") if name in ("percent", "cdf_percent") else cell
        rows.append(row)
    return rows


def ops_to_csv(rows: list[dict]) -> str:
    """CSV text with a fixed column set, so tables of different builds line up."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=OPS_CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in OPS_CSV_COLUMNS})
    return buf.getvalue()


# --------------------------------------------------------------------------- which accelerator ran

# TFLite's delegation log line (tflite/core/subgraph.cc, printed on Android also in production builds).
_REPLACING = re.compile(r"Replacing (?P<n>\d+) out of (?P<total>\d+) node\(s\) with delegate \((?P<name>[^)]+)\)")
# delegate kernel names → the hardware they run on (DispatchDelegate: LiteRT's NPU dispatch of an
# AOT-compiled model; TfLiteXNNPackDelegate: the CPU)
_DELEGATE_HARDWARE = {"DispatchDelegate": "npu", "TfLiteXNNPackDelegate": "cpu"}
# a LiteRT NPU run that cannot use the NPU says so in one of these (litert/runtime/..., vendors/...)
_NPU_UNAVAILABLE = re.compile(
    r"NPU accelerator could not be loaded[^\n]*|Failed to initialize Dispatch API[^\n]*|"
    r"No usable Dispatch runtime found[^\n]*|Some ops are not accelerated[^\n]*|"
    r"You should provide the `DispatchLibraryDir` option to use NPU[^\n]*")
_XNNPACK_CREATED = re.compile(r"Created TensorFlow Lite XNNPACK delegate for CPU")
_DISPATCH_READY = re.compile(r"DispatchDelegate::Initialize|Loading shared library: \S*libLiteRtDispatch_\w+\.so")
_FULLY_ACCELERATED = re.compile(r"^Fully accelerated:\s*(?P<v>True|False)\s*$")
_UNCONSUMED = re.compile(r"Unconsumed cmdline flags:\s*(?P<v>.*)$")


def accelerator_evidence(text: str) -> dict:
    """What the log says ran where: node counts per delegate, NPU failures, CPU delegate creation.

    Why from the log: LiteRT's C++ ``benchmark_model`` prints no accelerator in its result block,
    and an NPU request that LiteRT could not honour still ends with a fast-looking summary when
    the CPU is allowed (LiteRT issue #7858: 470 of 476 nodes on XNNPACK, the app "on the NPU").
    Returns ``npu_nodes`` / ``cpu_nodes`` / ``gpu_nodes`` (None when no delegation line names
    them), ``total_nodes``, ``npu_unavailable`` (the first message saying the NPU was not usable),
    ``xnnpack_created``, ``dispatch_ready``, ``fully_accelerated`` (the Python tool's line),
    ``unconsumed_flags`` (flags the tool did not know) and ``lines``: the evidence, verbatim.
    """
    found: dict = {"npu_nodes": None, "cpu_nodes": None, "gpu_nodes": None, "total_nodes": None,
                   "npu_unavailable": None, "xnnpack_created": False, "dispatch_ready": False,
                   "fully_accelerated": None, "unconsumed_flags": None, "lines": []}
    for line in _lines(text):
        msg = line.message
        hit = False
        for m in _REPLACING.finditer(msg):
            hardware = _DELEGATE_HARDWARE.get(m.group("name").strip(), "gpu")
            key = f"{hardware}_nodes"
            found[key] = (found[key] or 0) + int(m.group("n"))
            found["total_nodes"] = max(found["total_nodes"] or 0, int(m.group("total")))
            hit = True
        if (m := _NPU_UNAVAILABLE.search(msg)) and found["npu_unavailable"] is None:
            found["npu_unavailable"] = m.group(0).strip()[:200]
            hit = True
        if _XNNPACK_CREATED.search(msg):
            found["xnnpack_created"] = hit = True
        if _DISPATCH_READY.search(msg):
            found["dispatch_ready"] = hit = True
        if m := _FULLY_ACCELERATED.match(msg):
            found["fully_accelerated"] = m.group("v") == "True"
            hit = True
        if m := _UNCONSUMED.search(msg):
            found["unconsumed_flags"] = m.group("v").strip()
            hit = True
        if hit:
            found["lines"].append(f"{line.number}: {msg[:200]}")
    return found


def npu_verdict(evidence: dict, require_positive: bool = False) -> tuple[str, str | None]:
    """(accelerator, problem): ``("npu", None)`` only when the log proves nothing ran on the CPU.

    The harness asks LiteRT for the NPU alone (``--use_npu=true --use_cpu=false
    --require_full_delegation=true``): LiteRT then refuses to compile a model with any op left
    for the CPU (``Some ops are not accelerated``, litert/runtime/compiled_model.cc). So a
    summary from a tool that understood those flags, with no CPU delegation and no NPU failure
    in the log, is an NPU run; anything else is a problem naming the line that shows it.
    ``require_positive`` (a log judged without its command, ``benchmark parse --require-npu``)
    also demands a line showing the NPU at work.
    """
    unconsumed = evidence.get("unconsumed_flags") or ""
    ignored = [f for f in ("use_npu", "use_cpu", "require_full_delegation", "dispatch_library_path") if f in unconsumed]
    if ignored:
        return "unknown", (f"the tool ignored --{', --'.join(ignored)} (Unconsumed cmdline flags): it is not "
                           "LiteRT's benchmark_model (litert/tools), so nothing ran on the NPU")
    if evidence.get("npu_unavailable"):
        return "cpu", f"the NPU was not used: {evidence['npu_unavailable']}"
    cpu, npu, total = evidence.get("cpu_nodes"), evidence.get("npu_nodes"), evidence.get("total_nodes")
    if cpu:
        return ("npu+cpu" if npu else "cpu"), f"fell back to the CPU: {cpu} of {total} node(s) on XNNPACK"
    if npu is not None and total is not None and npu < total:
        return "npu+cpu", f"only {npu} of {total} node(s) on the NPU (DispatchDelegate); the rest ran on the CPU"
    if evidence.get("xnnpack_created"):
        return "npu+cpu", "the XNNPACK CPU delegate was created although the CPU was not allowed"
    if evidence.get("fully_accelerated") is False:
        return "cpu", "the tool reports 'Fully accelerated: False'"
    if require_positive and not (npu or evidence.get("dispatch_ready")):
        # a log alone, without the command that made it: only a line naming the NPU proves it
        return "unknown", ("no line shows the NPU ran (no DispatchDelegate delegation, no libLiteRtDispatch_* "
                           "load); a GPU or CPU log looks the same")
    return "npu", None
