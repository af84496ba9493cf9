"""compare (the regression gate) and farm (spec generation + artifact collection)."""

from __future__ import annotations

import json
import shutil
import zipfile
import subprocess
import sys
from pathlib import Path

import pytest

from albert_edge.benchmark.compare import compare_rows, parse_bound
from albert_edge.benchmark.farm import aws_test_spec, collect, firebase_config, read_devices

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "benchmark_outputs"


def _row(avg_ms: float, peak: float, threads: int = 4) -> dict:
    return {"status": "ok", "device_model": "Pixel 3", "model": "albert_tiny_int8.tflite", "signature": "L128",
            "threads": threads, "inference_avg_us": avg_ms * 1000, "peak_mem_mb": peak, "init_us": 1000.0}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "albert_edge.benchmark", *args], capture_output=True, text=True,
                          cwd=REPO)


def test_parse_bound():
    assert parse_bound("10%") == pytest.approx(0.10)
    assert parse_bound("0.25") == pytest.approx(0.25)
    assert parse_bound("5") == pytest.approx(0.05)


def test_duplicate_configurations_are_averaged():
    diffs, _ = compare_rows([_row(100, 60), _row(120, 60)], [_row(112, 60)], 0.10)
    latency = [d for d in diffs if d["metric"] == "inference_avg_us"][0]
    assert latency["baseline"] == pytest.approx(110_000) and not latency["regression"]


def test_latency_and_memory_regressions_are_flagged():
    diffs, unmatched = compare_rows([_row(100, 60), _row(50, 40, 1)], [_row(115, 60), _row(50, 48, 1)], 0.10)
    flagged = {(d["key"][-1], d["metric"]) for d in diffs if d["regression"]}
    assert flagged == {(4, "inference_avg_us"), (1, "peak_mem_mb")}
    assert unmatched == []
    ok, _ = compare_rows([_row(100, 60)], [_row(109, 65)], 0.10)
    assert not any(d["regression"] for d in ok)


def test_passing_verdict_names_what_was_compared_and_each_bound(tmp_path, capsys):
    from albert_edge.benchmark.__main__ import main

    counted = {"status": "ok", "variant": "int8", "signature": "L32", "threads": 1, "instructions": 1_000_000}
    base, same = tmp_path / "base.json", tmp_path / "same.json"
    base.write_text(json.dumps([counted]))
    same.write_text(json.dumps([counted]))
    assert main(["compare", str(base), str(same)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "no regression: instructions: no increase"          # no latency was compared
    assert main(["compare", str(base), str(same), "--max-instruction-regression", "0.5%"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "no regression: instructions: within +0.50%"
    base.write_text(json.dumps([_row(100, 60)]))
    same.write_text(json.dumps([_row(105, 60)]))
    assert main(["compare", str(base), str(same), "--max-regression", "10%"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "no regression: latency avg, peak memory: within +10%"


@pytest.mark.slow
def test_cli_exit_codes(tmp_path):
    base, new = tmp_path / "base.json", tmp_path / "new.jsonl"
    base.write_text(json.dumps([_row(100, 60)]))
    new.write_text(json.dumps(_row(130, 60)) + "\n")
    worse = _cli("compare", str(base), str(new), "--max-regression", "10%")
    assert worse.returncode == 1 and "REGRESSION" in worse.stdout and "+30.0%" in worse.stdout
    assert _cli("compare", str(base), str(new), "--max-regression", "50%").returncode == 0
    # two `parse` outputs of real runs (different phones) compare directly
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for src, dst in (("tflite-2.x_apk_logcat_threadtime_percentiles.txt", a),
                     ("tflite-2.x_x86_info_prefix_memory_delta.txt", b)):
        assert _cli("parse", str(DATA / src), "--json", str(dst)).returncode == 0
    assert _cli("compare", str(b), str(a)).returncode == 1   # 14.3 ms → 145.5 ms
    assert _cli("compare", str(a), str(b)).returncode == 0
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert _cli("compare", str(empty), str(a)).returncode == 2


def spec_commands(spec: str) -> list[str]:
    """The commands of a generated test spec, in order (each is a YAML double-quoted scalar)."""
    return [json.loads(line.split("- ", 1)[1]) if line.strip().startswith('- "') else line.split("- ", 1)[1]
            for line in spec.splitlines() if line.startswith("      - ")]


def test_device_lists_and_specs():
    devices = read_devices(str(REPO / "benchmark" / "devices" / "snapdragon845.txt"))
    assert devices[0] == {"model": "Google Pixel 3", "version": "9"}
    fb_devices = read_devices(str(REPO / "benchmark" / "devices" / "firebase_arm64.json"))
    spec = aws_test_spec(["exports/albert_tiny_mlm_fp32.tflite"], [1, 4],
                         signatures={"exports/albert_tiny_mlm_fp32.tflite": ["L128"]})
    assert any('> "$DEVICEFARM_LOG_DIR"/albert_tiny_mlm_fp32__L128__t4.log 2>&1' in c for c in spec_commands(spec))
    assert "--signature_to_run_for=L128" in spec
    assert "taskset f0 /data/local/tmp/albert_edge/benchmark_model" in spec and "artifacts:\n  - $DEVICEFARM_LOG_DIR" in spec
    cfg = firebase_config(["exports/m_fp32.tflite", "exports/m_int8.tflite"], [1, 4], fb_devices,
                          delegates=["cpu", "nnapi"])
    assert cfg["scenarios"] == [{"scenario": 1, "tag": "cpu_1thread"}, {"scenario": 3, "tag": "cpu_4threads"},
                                {"scenario": 10, "tag": "nnapi"}]
    first = cfg["runs"][0]["command"]
    assert cfg["runs"][1]["variant"] == "m_int8" and "--type=game-loop" in first
    assert "--scenario-numbers=1,3,10" in first and "--other-files=/data/local/tmp/graph=exports/m_fp32.tflite" in first
    assert "--directories-to-pull=/sdcard/benchmark_output" in first and "--device=model=blueline,version=28" in first
    with pytest.raises(ValueError, match="no scenario for cpu with 3 threads"):
        firebase_config(["m.tflite"], [3], fb_devices)


@pytest.mark.slow
def test_cli_spec_generation(tmp_path):
    out = tmp_path / "aws"
    proc = _cli("farm", "aws", "--model", "m.tflite", "--devices", str(REPO / "benchmark/devices/snapdragon845.txt"),
                "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "version: 0.1" in (out / "aws_testspec.yml").read_text()
    rules = json.loads((out / "aws_device_pool_rules.json").read_text())
    assert "Google Pixel 3" in rules[0]["value"]
    assert _cli("farm", "aws", "--model", "m", "--devices", str(tmp_path / "none.txt")).returncode == 2


def test_collect_firebase_game_loop_csv(tmp_path):
    # layout of `gsutil cp -r gs://bucket/$RESULTS_DIR/*`: <variant>/<device dir>/…/benchmark_result_<tag>;
    # columns in the order of the app's CsvExportingListener, values made up for the test
    pulled = tmp_path / "fb" / "albert_tiny_int8" / "blueline-28-en-portrait" / "artifacts" / "sdcard" / \
        "benchmark_output"
    pulled.mkdir(parents=True)
    (pulled / "benchmark_result_cpu_4threads").write_text(
        "config_key,model_size,init_time,warmup_avg,warmup_min,warmup_max,warmup_stddev,inference_avg,"
        "inference_min,inference_max,inference_stddev,init_max_rss,init_total_alloc,init_in_use_alloc,"
        "overall_max_rss,overall_total_alloc,overall_in_use_alloc\n"
        "cpu_4threads,4.40597,21034,52311.5,50112,60001,2001.2,48123.4,47001,53012,811.5,6.5,3.1,2.9,24.25,9.5,8.75\n")
    (pulled / "benchmark_result_nnapi").write_text("config_key,model_size\n")
    code, rows = collect(str(tmp_path / "fb"), str(tmp_path / "out"))
    assert code == 1
    ok = [r for r in rows if r["status"] == "ok"][0]
    assert (ok["variant"], ok["device_model"], ok["threads"], ok["delegate"]) == (
        "albert_tiny_int8", "blueline-28-en-portrait", 4, "cpu")
    assert ok["inference_avg_us"] == pytest.approx(48123.4) and ok["mem_overall_mb"] == pytest.approx(24.25)
    assert [r["status"] for r in rows if r is not ok] == ["error"]


def test_collect_artifacts(tmp_path):
    art = tmp_path / "artifacts"
    d1 = art / "Google Pixel 3" / "Customer_Artifacts"
    d2 = art / "Samsung Galaxy S9" / "Customer_Artifacts"
    d1.mkdir(parents=True)
    d2.mkdir(parents=True)
    shutil.copy(DATA / "tflite-2.x_apk_logcat_threadtime_percentiles.txt", d1 / "albert_tiny_int8__L128__t4.log")
    shutil.copy(DATA / "tflite-2.x_truncated_memory_only.txt", d2 / "albert_tiny_int8__t4.log")
    (d1 / "logcat.txt").write_text("unrelated")
    zipped = art / "OnePlus 6T" / "Customer Artifacts.zip"   # Device Farm ships artifacts zipped
    zipped.parent.mkdir()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(DATA / "tflite-2.x_apk_logcat_time_scientific.txt", "Host_Machine_Files/albert_tiny_fp32__t1.log")
        zf.writestr("../escape__t1.log", "must not be extracted outside")
    code, rows = collect(str(art), str(tmp_path / "out"))
    assert code == 1
    assert not (art / "escape__t1.log").exists() and not (tmp_path / "escape__t1.log").exists()
    by = {r["device_model"]: r for r in rows}
    assert by["Google Pixel 3"]["status"] == "ok" and by["Google Pixel 3"]["inference_avg_us"] == 145528
    assert by["Google Pixel 3"]["variant"] == "albert_tiny_int8" and by["Google Pixel 3"]["threads"] == 4
    assert by["Google Pixel 3"]["signature"] == "L128" and by["Samsung Galaxy S9"]["signature"] is None
    assert by["Samsung Galaxy S9"]["status"] == "error"
    assert by["OnePlus 6T"]["inference_avg_us"] == pytest.approx(2.71985e06)
    assert by["OnePlus 6T"]["variant"] == "albert_tiny_fp32"
    assert len(rows) == 3
    assert (tmp_path / "out" / "results.csv").exists() and (tmp_path / "out" / "results.md").exists()


def test_farm_and_compare_bad_values_exit_2(tmp_path, capsys):
    """Issue 24 §4, one rule: farm aws --threads 0 / --runs -1 / --devices '[1,2]' and a 100,000-deep JSON
    given to compare are exit 2 with a message, no traceback."""
    from albert_edge.benchmark.__main__ import main

    devices = REPO / "benchmark" / "devices" / "snapdragon845.txt"
    numbers = tmp_path / "numbers.json"
    numbers.write_text("[1,2]")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps([_row(100, 60)]))
    cases = {
        ("farm", "aws", "--model", "m.tflite", "--devices", str(devices), "--threads", "0"):
            "--threads: thread counts must be between 1 and 64",
        ("farm", "aws", "--model", "m.tflite", "--devices", str(devices), "--runs", "-1"):
            "argument --runs: must be a positive integer (≥ 1), got '-1'",
        ("farm", "aws", "--model", "m.tflite", "--devices", str(numbers)):
            "expected a JSON list of objects",
        ("farm", "aws", "--model", "m.tflite", "--devices", "[1,2]"): "--devices [1,2]: no such file",
        ("compare", str(deep), str(ok)): "nested too deeply",
        ("compare", str(ok), str(deep)): "nested too deeply",
    }
    for argv, message in cases.items():
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own exit 2
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert message in err and "Traceback" not in err, (argv, err)


def test_collect_npu_logs_apply_the_accelerator_rule(tmp_path):
    """A farm NPU log that shows the CPU ran is an error row without timings; a phone with no model
    for its SoC leaves an error log; a clean LiteRT result block is a row."""
    art = tmp_path / "artifacts"
    s24, s23, s25 = (art / name / "Customer_Artifacts" for name in
                     ("Samsung Galaxy S24 Ultra", "Samsung Galaxy S23", "Samsung Galaxy S25"))
    for folder in (s24, s23, s25):
        folder.mkdir(parents=True)
    # the spec asked for the NPU alone; this log is LiteRT's CPU run (NPU not loaded, XNNPACK)
    shutil.copy(DATA / "litert-2.3.0_benchmark_litert_model_cpu.txt", s23 / "albert_tiny_int8.sm8550__L128__npu.log")
    (s25 / "no_model_for_this_soc__npu.log").write_text(
        "ERROR: no model compiled for the SoC of this device: SM8750\n")
    # a LiteRT C++ result block with no line showing the CPU (the spec forbade it: --use_cpu=false)
    shutil.copy(DATA / "litert-2.1.5_benchmark_model_cc_gpu_full_delegation.txt",
                s24 / "albert_tiny_int8.sm8650__L32__npu.log")
    code, rows = collect(str(art), str(tmp_path / "out"))
    assert code == 1
    by = {r["device_model"]: r for r in rows}
    fell = by["Samsung Galaxy S23"]
    assert (fell["status"], fell["stage"], fell["delegate"], fell["accelerator"]) == ("error", "accelerator", "npu", "cpu")
    assert fell["inference_avg_us"] is None and "NPU accelerator could not be loaded" in fell["error"]
    none = by["Samsung Galaxy S25"]
    assert none["status"] == "error" and "no model compiled for the SoC of this device: SM8750" in none["error"]
    ok = by["Samsung Galaxy S24 Ultra"]
    assert ok["status"] == "ok" and ok["delegate"] == "npu" and ok["threads"] is None
    # the signature the tool says it ran wins over the file name's (this public log ran prefill_1024)
    assert (ok["variant"], ok["signature"]) == ("albert_tiny_int8.sm8650", "prefill_1024")
    assert ok["inference_avg_us"] == pytest.approx(7430200) and ok["mem_overall_mb"] == pytest.approx(6391.74)


def test_results_jsonl_symlink_is_replaced_not_followed(tmp_path):
    """A results.jsonl that is a link to another file: the rows go to a new regular file, the target stays."""
    from albert_edge.benchmark.results_io import append_jsonl, read_jsonl

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").symlink_to(victim)
    append_jsonl(out / "results.jsonl", {"status": "ok"})
    append_jsonl(out / "results.jsonl", {"status": "error"})
    assert victim.read_text() == "precious\n"
    assert not (out / "results.jsonl").is_symlink()
    assert [r["status"] for r in read_jsonl(out / "results.jsonl")] == ["ok", "error"]
