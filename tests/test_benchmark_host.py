"""host: real LiteRT measurement of a small multi-signature model with tokenized pairs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fake_adb"))
from tiny_model import build_tiny_tflite  # noqa: E402

from albert_edge.benchmark.host import HostBenchmarkError, HostConfig, measure, run_host, select_signatures  # noqa: E402
from albert_edge.benchmark.parse import CORE_KEYS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def multi_model() -> str:
    return str(build_tiny_tflite())


@pytest.fixture(scope="session")
def single_model() -> str:
    return str(build_tiny_tflite(single_signature=True))


def test_measure_one_signature_in_process(multi_model):
    r = measure(HostConfig(model=multi_model, seq_len=64, threads=1, runs=8, warmup=2))
    assert set(CORE_KEYS) <= set(r)
    assert r["signature"] == "L64" and r["seq_len"] == 64 and r["status"] == "ok"
    assert r["count"] == 8 and r["warmup"] == 2 and r["timing_scope"] == "invoke"
    assert 0 < r["min_us"] <= r["p50_us"] <= r["p90_us"] <= r["p99_us"] <= r["max_us"]
    assert r["inference_avg_us"] == pytest.approx(r["mean_us"]) and r["first_us"] > 0 and r["init_us"] > 0
    assert r["peak_mem_mb"] > 10 and r["mem_overall_mb"] >= r["mem_init_mb"] >= 0
    assert r["model_size_mb"] == pytest.approx(Path(multi_model).stat().st_size / 1e6)


def test_every_length_signature_by_default_and_errors_as_rows(multi_model):
    rows = run_host(multi_model, threads=[1, 2], runs=3, warmup=1, isolate=False)
    assert [(r["signature"], r["threads"]) for r in rows] == [
        ("L32", 1), ("L32", 2), ("L64", 1), ("L64", 2), ("L128", 1), ("L128", 2)]
    assert all(r["status"] == "ok" for r in rows)


def test_single_default_signature(single_model):
    (row,) = run_host(single_model, runs=3, warmup=1, isolate=False)
    assert row["signature"] == "serving_default" and row["seq_len"] == 32
    with pytest.raises(HostBenchmarkError, match="takes L=32"):
        measure(HostConfig(model=single_model, seq_len=128, runs=2))


def test_signature_selection_errors():
    assert select_signatures(["L32", "L128", "L64"], None, None) == ["L32", "L64", "L128"]
    assert select_signatures(["L32", "L64"], 64, None) == ["L64"]
    with pytest.raises(HostBenchmarkError, match="no signature L48"):
        select_signatures(["L32", "L64"], 48, None)
    with pytest.raises(HostBenchmarkError, match="'X' not in model"):
        select_signatures(["L32"], None, "X")


@pytest.mark.slow
def test_cli_isolated_json_and_bad_input(multi_model, tmp_path):
    out = tmp_path / "host.json"
    cmd = [sys.executable, "-m", "albert_edge.benchmark", "host", "--model", multi_model, "--seq-len", "32",
           "--threads", "1", "--runs", "4", "--warmup", "1", "--json", str(out), "--markdown", str(tmp_path / "t.md")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(out.read_text())
    assert row["signature"] == "L32" and row["count"] == 4
    assert "| host | " in (tmp_path / "t.md").read_text()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all")
    for model in (str(tmp_path / "missing.tflite"), str(bad)):
        proc = subprocess.run(cmd[:5] + [model, "--no-isolate"], capture_output=True, text=True, cwd=REPO)
        assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, proc.stderr
