"""parse: real benchmark_model outputs of several versions → the same JSON keys; bad output → error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from albert_edge.benchmark.host import render_benchmark_model_log
from albert_edge.benchmark.parse import (
    CORE_KEYS,
    BenchmarkParseError,
    accelerator_evidence,
    npu_verdict,
    ops_to_csv,
    parse_all,
    parse_file,
    parse_op_profile,
    parse_text,
)

DATA = Path(__file__).parent / "data" / "benchmark_outputs"
REPO = Path(__file__).resolve().parents[1]

EXPECTED = {
    "tflite-1.12_yocto_average_no_stats.txt": dict(
        init_us=4452, first_us=146161, warmup_avg_us=146161, inference_avg_us=137722, threads=1,
        count=50, min_us=137079, max_us=143416, std_us=896, model_size_mb=None, mem_init_mb=None),
    "tflite-1.13_linux_average_no_stats.txt": dict(
        init_us=21039, first_us=751932, inference_avg_us=747733, count=50, min_us=747331, threads=1),
    "tflite-1.14_apk_logcat_average_inference.txt": dict(
        init_us=4108, warmup_avg_us=91471, inference_avg_us=80660.1, first_us=None, threads=None),
    "tflite-2.3_android_gpu_peak_memory_op_profiling.txt": dict(
        init_us=1451507, first_us=11147, warmup_avg_us=8779.68, inference_avg_us=8680.33, model_size_mb=3.79893,
        mem_init_mb=63.4883, mem_overall_mb=63.4883, peak_mem_mb=None, threads=1, count=110, std_us=591),
    "tflite-2.x_x86_info_prefix_memory_delta.txt": dict(
        init_us=52687, inference_avg_us=14290.9, model_size_mb=4.56118, mem_init_mb=21.9492,
        mem_overall_mb=34.5234, count=70, min_us=13728, max_us=16145, std_us=452),
    "tflite-2.x_apk_logcat_threadtime_percentiles.txt": dict(
        init_us=92318, first_us=235158, inference_avg_us=145528, threads=4, count=25, min_us=140071,
        median_us=141253, p95_us=187533, mem_overall_mb=73.4102, model_size_mb=3.06409),
    "tflite-2.x_apk_logcat_time_scientific.txt": dict(
        warmup_avg_us=2.73215e06, inference_avg_us=2.71985e06, count=10, min_us=2640862, threads=4,
        mem_init_mb=286.73, mem_overall_mb=337.0),
    "tflite-2.x_imx_nnapi_all_same_scientific.txt": dict(
        first_us=11403859, warmup_avg_us=1.14039e07, inference_avg_us=3756.87, count=260,
        mem_init_mb=0.0, mem_overall_mb=15.3438),
    "tflite-2.x_chromeos_periodic_peak.txt": dict(
        init_us=3337, inference_avg_us=56265.8, peak_mem_mb=93.2383, count=1061, mem_init_mb=None),
    "litert-2.3.0_benchmark_litert_model_cpu.txt": dict(
        init_us=2560, first_us=380, warmup_avg_us=200, inference_avg_us=90, model_size_mb=0.08, threads=2,
        count=20, min_us=80, max_us=110, std_us=10),
    "litert-2.1.5_benchmark_model_cc_gpu_full_delegation.txt": dict(
        init_us=23744730, first_us=7441040, warmup_avg_us=7441040, inference_avg_us=7430200, count=10,
        min_us=7416400, max_us=7448860, std_us=9920, mem_init_mb=6391.74, mem_overall_mb=6391.74, peak_mem_mb=None,
        threads=None, signature="prefill_1024", format="litert-cc"),
}
BROKEN = {
    "tflite-2.x_truncated_memory_only.txt": "no 'Inference timings in us' summary",
    "litert-2.3.0_benchmark_litert_model_gather_failure.txt": "gather.cc",
    "litert-2.x_benchmark_model_cc_npu_qualcomm_start_only.txt": "no 'Inference timings in us' summary",
}
# Log excerpts that are no benchmark run but say which accelerator ran: (accelerator, problem text or None)
EVIDENCE = {
    "litert-2.1.5_compiled_model_npu_request_ran_on_xnnpack.txt": ("cpu", "470 of 476 node(s) on XNNPACK"),
    "litert-lm_npu_unavailable_cpu_backend.txt": ("cpu", "NPU accelerator could not be loaded"),
    "litert-lm_npu_sm8550_dispatch_loaded.txt": ("npu", None),
    "litert-2.x_benchmark_model_cc_npu_qualcomm_start_only.txt": ("npu", None),
    "litert-2.1.5_benchmark_model_cc_gpu_full_delegation.txt": ("npu", None),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_outputs(name):
    result = parse_file(str(DATA / name))
    for key in CORE_KEYS:
        assert key in result
    for key, value in EXPECTED[name].items():
        if value is None:
            assert result[key] is None, key
        elif isinstance(value, str):
            assert result[key] == value, key
        else:
            assert result[key] == pytest.approx(value), key


def test_every_fixture_is_covered_and_documented():
    files = {p.name for p in DATA.glob("*.txt")}
    assert files == set(EXPECTED) | set(BROKEN) | set(EVIDENCE)
    readme = (DATA / "README.md").read_text()
    for name in files:
        assert name in readme, f"{name} has no provenance in README.md"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_real_outputs_raise(name):
    with pytest.raises(BenchmarkParseError, match=BROKEN[name].replace("(", r"\(")):
        parse_file(str(DATA / name))


@pytest.mark.parametrize("name", sorted(EVIDENCE))
def test_accelerator_evidence_of_real_logs(name):
    """The NPU verdict of a log: a CPU fallback is named, the dispatch library load is seen.

    ("npu", None) on a log without a result block only means the log shows no fallback; the
    harness still needs a result block (see test_broken_real_outputs_raise) before a row is ok.
    """
    text = (DATA / name).read_text()
    evidence = accelerator_evidence(text)
    accelerator, problem = npu_verdict(evidence)
    want_accelerator, want_problem = EVIDENCE[name]
    assert accelerator == want_accelerator, evidence
    if want_problem is None:
        assert problem is None, problem
    else:
        assert want_problem in problem
    if "dispatch_loaded" in name:
        assert evidence["dispatch_ready"] and evidence["lines"]


def test_npu_verdict_rules():
    base = ("STARTING!\n", "========== BENCHMARK RESULTS ==========\n")
    ok = accelerator_evidence("".join(base) + "INFO: Replacing 1 out of 1 node(s) with delegate (DispatchDelegate) "
                              "node, yielding 1 partitions for subgraph 0 (L32).\n")
    assert npu_verdict(ok) == ("npu", None) and ok["npu_nodes"] == 1 and ok["total_nodes"] == 1
    part = accelerator_evidence("Replacing 3 out of 5 node(s) with delegate (DispatchDelegate) node\n")
    assert npu_verdict(part)[0] == "npu+cpu" and "3 of 5" in npu_verdict(part)[1]
    xnn = accelerator_evidence("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    assert npu_verdict(xnn)[0] == "npu+cpu"
    tflite_tool = accelerator_evidence("WARN: Unconsumed cmdline flags: --use_npu=true --use_cpu=false\n")
    assert npu_verdict(tflite_tool)[0] == "unknown" and "use_npu" in npu_verdict(tflite_tool)[1]
    refused = accelerator_evidence("ERROR: [compiled_model.cc:1090] Some ops are not accelerated. Add "
                                   "kLiteRtHwAcceleratorCpu to the compilation accelerator set\n")
    assert npu_verdict(refused)[0] == "cpu"
    python_tool = (DATA / "litert-2.3.0_benchmark_litert_model_cpu.txt").read_text()
    assert npu_verdict(accelerator_evidence(python_tool))[0] == "cpu"


GOOD = (DATA / "tflite-2.x_x86_info_prefix_memory_delta.txt").read_text()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.replace("Inference (avg): 14290.9", "Inference (avg): 14x90.9"), "not a number"),
        (lambda t: t.replace(", Inference (avg): 14290.9", ""), "garbled or truncated summary"),
        (lambda t: t.replace("Inference (avg): 14290.9", "Inference (avg): nan"), "not finite"),
        (lambda t: t.replace("min=13728 max=16145 avg=14290.9 std=452", "min=13728 max=16"), "truncated statistics"),
        (lambda t: t.replace("init=21.9492 overall=34.5234", "init=21.9492 overall="), "garbled memory"),
        (lambda t: t[: t.index("INFO: Inference timings")], "no 'Inference timings in us' summary"),
        (lambda t: t.split("INFO: count=70")[0] + "INFO: Inference timings" + t.split("INFO: Inference timings")[1],
         "no statistics line"),
        (lambda t: "", "empty"),
        (lambda t: t.replace("STARTING!", "STA\x00RTING"), "binary"),
    ],
)
def test_garbled_or_truncated_is_an_error_not_zero(mutate, message):
    with pytest.raises(BenchmarkParseError, match=message):
        parse_text(mutate(GOOD))


def test_all_same_and_count_zero_lines():
    text = ("count=1 curr=500\n\ncount=3 curr=100(all same)\n"
            "Inference timings in us: Init: 9, First inference: 500, Warmup (avg): 500, Inference (avg): 100\n")
    result = parse_text(text)
    assert (result["count"], result["min_us"], result["max_us"], result["std_us"]) == (3, 100, 100, 0)
    with pytest.raises(BenchmarkParseError, match="count=0"):
        parse_text("count=1 curr=5\ncount=0\nInference timings in us: Init: 1, First inference: 5, "
                   "Warmup (avg): 5, Inference (avg): 0\n")


def test_several_runs_in_one_log():
    one = (DATA / "tflite-2.x_apk_logcat_threadtime_percentiles.txt").read_text()
    two = (DATA / "tflite-2.x_apk_logcat_time_scientific.txt").read_text()
    runs = parse_all(one + two)
    assert [r["inference_avg_us"] for r in runs] == pytest.approx([145528, 2.71985e06])
    assert parse_text(one + two)["inference_avg_us"] == pytest.approx(2.71985e06)


def test_op_profiling_tables_to_csv():
    rows = parse_op_profile((DATA / "tflite-2.3_android_gpu_peak_memory_op_profiling.txt").read_text())
    assert len(rows) == 9
    regular = [r for r in rows if r["section"] == "regular" and r["table"] == "Run Order"]
    assert regular == [{"section": "regular", "table": "Run Order", "node_type": "TfLiteGpuDelegateV2",
                        "start_ms": "0.000", "first_ms": "8.317", "avg_ms": "8.671", "percent": "100.000",
                        "cdf_percent": "100.000", "mem_kb": "0.000", "times_called": "1", "name": "[Identity]:77"}]
    summary = [r for r in rows if r["table"] == "Summary by node type" and r["section"] == "init"]
    assert [r["count"] for r in summary] == ["1", "1"]
    csv_text = ops_to_csv(rows)
    assert csv_text.splitlines()[0].startswith("section,table,node_type,start_ms")
    assert len(csv_text.splitlines()) == 10


def test_op_profiling_with_spaces_and_info_prefix():
    text = (
        "INFO: Operator-wise Profiling Info for Regular Benchmark Runs:\n"
        "============================== Run Order ==============================\n"
        "                     [node type]          [first]        [avg ms]            [%]          [cdf%]"
        "          [mem KB]        [times called]  [Name]\n"
        "   Convolution (NHWC, QC8) IGEMM            0.398           0.407         2.658%          3.986%"
        "             0.000                1       Delegate/Convolution (NHWC, QC8) IGEMM:0\n\n"
    )
    (row,) = parse_op_profile(text)
    assert row["node_type"] == "Convolution (NHWC, QC8) IGEMM"
    assert row["name"] == "Delegate/Convolution (NHWC, QC8) IGEMM:0"
    assert row["avg_ms"] == "0.407" and "start_ms" not in row


def test_render_then_parse_round_trip_with_vmrss():
    result = {key: None for key in CORE_KEYS}
    result.update(init_us=1234.5, first_us=2.5e6, warmup_avg_us=2.5e6, inference_avg_us=1.23456e6,
                  model_size_mb=16.5, mem_init_mb=3.25, mem_overall_mb=40.5, peak_mem_mb=61.75, threads=4,
                  count=7, min_us=1.2e6, max_us=1.3e6, std_us=1000.0, vm_rss_mb=60.2, warmup=2)
    text = render_benchmark_model_log(result, "/data/local/tmp/m.tflite")
    assert "Inference (avg): 1.23456e+06" in text
    back = parse_text(text)
    for key in ("inference_avg_us", "warmup_avg_us", "model_size_mb", "mem_overall_mb", "peak_mem_mb", "threads",
                "count", "min_us", "max_us"):
        assert back[key] == pytest.approx(result[key], rel=1e-5), key
    assert back["vm_rss_mb"] == 60


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "albert_edge.benchmark", *args], capture_output=True, text=True,
                          cwd=REPO, input=stdin)


def test_cli_require_npu_gate_on_real_logs(tmp_path, capsys):
    """--require-npu: a GPU run and a CPU run are exit 1 naming why; the numbers are still printed."""
    from albert_edge.benchmark.__main__ import main

    gpu = DATA / "litert-2.1.5_benchmark_model_cc_gpu_full_delegation.txt"
    assert main(["parse", str(gpu)]) == 0
    capsys.readouterr()
    assert main(["parse", str(gpu), "--require-npu"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["accelerator"] == "unknown" and "no line shows the NPU ran" in captured.err
    cpu = DATA / "litert-2.3.0_benchmark_litert_model_cpu.txt"
    assert main(["parse", str(cpu), "--require-npu"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["accelerator"] == "cpu" and "gate npu failed" in captured.err
    copy = tmp_path / "run.txt"
    copy.write_text(gpu.read_text())
    assert main(["parse", str(copy), "--json", str(copy)]) == 2
    assert "is the input file" in capsys.readouterr().err and copy.read_text() == gpu.read_text()


@pytest.mark.slow
def test_cli_json_stdin_and_exit_codes(tmp_path):
    proc = _cli("parse", "-", "--json", str(tmp_path / "r.json"), stdin=GOOD)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["inference_avg_us"] == 14290.9
    assert json.loads((tmp_path / "r.json").read_text())["count"] == 70
    bad = _cli("parse", str(DATA / "tflite-2.x_truncated_memory_only.txt"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "summary" in bad.stderr
    ops = tmp_path / "ops.csv"
    assert _cli("parse", str(DATA / "tflite-2.3_android_gpu_peak_memory_op_profiling.txt"), "--ops-csv",
                str(ops)).returncode == 0
    assert "TfLiteGpuDelegateV2" in ops.read_text()
    assert _cli("parse", str(tmp_path / "missing.txt")).returncode == 2


def test_op_profiling_csv_mode_tables():
    text = (
        "Operator-wise Profiling Info for Regular Benchmark Runs:\n"
        "============================== Run Order ==============================\n"
        "node type, first, avg_ms, %, cdf%, mem KB, times called, name\n"
        "FULLY_CONNECTED, 1.5, 1.25, 62.5%, 62.5%, 0, 1, [bert/dense]:3\n"
        "\n"
        "============================== Summary by node type ==============================\n"
        "node type, count, avg_ms, avg %, cdf %, mem KB, times called\n"
        "FULLY_CONNECTED, 12, 7.5, 80%, 80%, 0, 12\n"
    )
    rows = parse_op_profile(text)
    assert [(r["table"], r["node_type"], r["avg_ms"], r["percent"]) for r in rows] == [
        ("Run Order", "FULLY_CONNECTED", "1.25", "62.5"), ("Summary by node type", "FULLY_CONNECTED", "7.5", "80")]
    assert rows[0]["name"] == "[bert/dense]:3" and rows[1]["count"] == "12"
