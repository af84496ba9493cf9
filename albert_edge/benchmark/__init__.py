"""Benchmark harness: parse benchmark_model output, measure on host, drive devices over adb,
generate device-farm specs, report and gate regressions (see ``benchmark/README.md``)."""

from albert_edge.benchmark.parse import (  # noqa: F401
    CORE_KEYS,
    STAT_KEYS,
    BenchmarkParseError,
    parse_all,
    parse_file,
    parse_op_profile,
    parse_text,
)
