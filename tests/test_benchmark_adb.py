"""adb harness against the fake adb: happy path, APK route, shell script, and every fault."""

from __future__ import annotations

import json
import os
import subprocess
import shutil
import sys
from pathlib import Path

import pytest

from conftest import missing_tool  # noqa: E402  (tests/ is on sys.path under pytest)

sys.path.insert(0, str(Path(__file__).parent / "fake_adb"))
from tiny_model import build_tiny_tflite  # noqa: E402

from albert_edge.benchmark.results_io import read_jsonl  # noqa: E402
from albert_edge.benchmark.adb import (  # noqa: E402
    Adb,
    AdbConfig,
    binary_command,
    build_matrix,
    parse_devices,
    push_if_changed,
    run_adb,
)

REPO = Path(__file__).resolve().parents[1]
FAKE_ADB = str(REPO / "tests" / "fake_adb" / "adb")
PROPS = {"ro.product.model": "Pixel 3", "ro.board.platform": "sdm845", "ro.product.cpu.abi": "arm64-v8a",
         "ro.build.version.release": "11", "ro.build.version.sdk": "30"}


@pytest.fixture(scope="session")
def model(tmp_path_factory) -> str:
    return str(build_tiny_tflite(tmp_path_factory.mktemp("m") / "albert_tiny_fp32.tflite"))


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Write a fake-adb config for the given devices and point $FAKE_ADB_CONFIG at it."""

    def make(devices: list[dict]) -> Path:
        cfg = {"root": str(tmp_path / "devices"), "host_runs": 3, "python": sys.executable, "devices": devices}
        path = tmp_path / "fake_adb.json"
        path.write_text(json.dumps(cfg))
        monkeypatch.setenv("FAKE_ADB_CONFIG", str(path))
        return tmp_path

    # one interpreter start per adb call: run the fake with this test's Python directly
    wrapper = tmp_path / "adb"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_ADB}" "$@"\n')
    wrapper.chmod(0o755)
    make.adb = str(wrapper)

    binary = tmp_path / "benchmark_model"
    binary.write_text("#!/system/bin/sh\n# stand-in: the fake adb runs the host benchmark\n")
    apk = tmp_path / "benchmark_model.apk"
    apk.write_bytes(b"PK\x03\x04 fake apk")
    make.binary, make.apk = str(binary), str(apk)
    return make


def _config(tmp_path: Path, model: str, binary: str, **kw) -> AdbConfig:
    base = dict(models=[model], threads=[1, 2], benchmark_binary=binary, cooldown_s=0.0, runs=3, warmup=1,
                run_timeout_s=20.0, adb_timeout_s=20.0, out_dir=str(tmp_path / "out"),
                adb_path=str(tmp_path / "adb"),
                signatures=["L32"])
    base.update(kw)
    return AdbConfig(**base)


def test_parse_devices_states():
    text = ("List of devices attached\nemulator-5554          device product:sdk model:Pixel_3 device:x transport_id:1\n"
            "R58M123 unauthorized usb:1-1 transport_id:2\n0123 offline transport_id:3\n\n")
    entries = parse_devices(text)
    assert [(e.serial, e.state) for e in entries] == [("emulator-5554", "device"), ("R58M123", "unauthorized"),
                                                      ("0123", "offline")]
    assert entries[0].info["model"] == "Pixel_3"


def test_matrix_and_command_are_pinned():
    specs = build_matrix(["a.tflite", "b.tflite"], [1, 4], ["cpu", "xnnpack"], {"a.tflite": ["L32", "L128"]})
    assert len(specs) == 12 and len({s.run_id for s in specs}) == 12
    assert [s.signature for s in specs[:5]] == ["L32"] * 4 + ["L128"] and specs[-1].signature is None
    cmd = binary_command("/data/local/tmp/bm", ["--graph=/x", "--num_threads=4"], "f0")
    assert cmd.startswith("echo BENCH_PID=$$; exec taskset f0 /data/local/tmp/bm --graph=/x")
    with pytest.raises(ValueError, match="unknown delegate"):
        build_matrix(["a"], [1], ["tpu"])


@pytest.mark.slow
def test_happy_path_writes_every_report_and_skips_identical_push(fake, model, tmp_path):
    fake([{"serial": "emu-1", "props": PROPS, "faults": {"no_sha256sum": True}}])
    code, rows = run_adb(_config(tmp_path, model, fake.binary, keep_remote=True))
    assert code == 0, rows
    assert [(r["status"], r["threads"], r["signature"]) for r in rows] == [("ok", 1, "L32"), ("ok", 2, "L32")]
    row = rows[0]
    assert row["device_model"] == "Pixel 3" and row["soc"] == "sdm845" and row["abi"] == "arm64-v8a"
    assert row["inference_avg_us"] > 0 and row["count"] == 3 and row["peak_mem_mb"] > 0 and row["cpu_mask"] == "f0"
    out = tmp_path / "out"
    assert len(read_jsonl(out / "results.jsonl")) == 2
    for name in ("results.csv", "results.md", "results.png", "devices.json", "devices/emu-1.json"):
        assert (out / name).stat().st_size > 0, name
    assert (out / row["raw_log"]).read_text().count("Inference timings in us") == 1
    # md5 fallback was used (no sha256sum on this device) and the second push is skipped
    adb = Adb(fake.adb, "emu-1", 20)
    pulled = tmp_path / "pulled.tflite"
    adb.run(["pull", "/data/local/tmp/albert_edge/albert_tiny_fp32.tflite", str(pulled)])
    assert pulled.read_bytes() == Path(model).read_bytes()
    assert push_if_changed(adb, model, "/data/local/tmp/albert_edge/albert_tiny_fp32.tflite") == "skipped"


@pytest.mark.slow
def test_faults_become_error_rows_and_the_rest_goes_on(fake, model, tmp_path):
    fake([
        {"serial": "good", "props": PROPS},
        {"serial": "crash", "props": PROPS, "faults": {"crash_match": "--num_threads=2"}},
        {"serial": "garble", "props": PROPS, "faults": {"garble_match": "--num_threads=1"}},
        {"serial": "hang", "props": PROPS, "faults": {"hang_match": "--num_threads=1"}},
        {"serial": "full", "props": PROPS, "faults": {"push_error": "no_space", "push_error_match": ".tflite"}},
        {"serial": "drops", "props": PROPS, "faults": {"offline_after_calls": 12}},
        {"serial": "locked", "state": "unauthorized"},
    ])
    code, rows = run_adb(_config(tmp_path, model, fake.binary, all_devices=True, run_timeout_s=6.0))
    assert code == 1
    by = {}
    for r in rows:
        by.setdefault(r["serial"], []).append(r)
    status = {s: [(r.get("threads"), r["status"], r.get("stage")) for r in rs] for s, rs in by.items()}
    assert status["good"] == [(1, "ok", None), (2, "ok", None)]
    assert sorted(status["crash"]) == [(1, "ok", None), (2, "error", "run")]
    assert "exit 139 (SIGSEGV)" in [r for r in by["crash"] if r["status"] == "error"][0]["error"]
    assert sorted(status["garble"]) == [(1, "error", "parse"), (2, "ok", None)]
    assert sorted(status["hang"]) == [(1, "error", "timeout"), (2, "ok", None)]
    assert status["full"] == [(1, "error", "push"), (2, "error", "push")]
    assert "No space left on device" in by["full"][0]["error"]
    assert status["drops"][0] == (1, "ok", None) and status["drops"][1][1:] == ("error", "adb")
    assert status["locked"] == [(None, "error", "device")] and "unauthorized" in by["locked"][0]["error"]
    # nothing lost: every row is in the JSONL, every failed run left its raw output
    out = tmp_path / "out"
    assert len(read_jsonl(out / "results.jsonl")) == len(rows) == 13
    for r in rows:
        if r.get("stage") in ("run", "parse", "timeout"):
            assert (out / r["raw_log"]).exists()
    garbled = [r for r in by["garble"] if r["status"] == "error"][0]
    assert "garbled" in garbled["error"] and garbled["inference_avg_us"] is None
    md = (out / "results.md").read_text()
    assert "7 device(s)" in md and "## Failures" in md


@pytest.mark.slow
def test_apk_route_reads_logcat(fake, model, tmp_path):
    fake([{"serial": "emu-1", "props": PROPS}])
    code, rows = run_adb(_config(tmp_path, model, None, benchmark_apk=fake.apk, threads=[2]))
    assert code == 0, rows
    (row,) = rows
    assert row["source"] == "apk" and row["threads"] == 2 and row["inference_avg_us"] > 0
    assert "I tflite  :" in (tmp_path / "out" / row["raw_log"]).read_text()


def test_auto_signatures_read_from_the_model(model):
    from albert_edge.benchmark.adb import model_signatures

    assert model_signatures(model) == ["L32", "L64", "L128"]


@pytest.mark.slow
def test_cli_usage_errors_and_no_device(fake, model, tmp_path):
    fake([{"serial": "a", "props": PROPS}, {"serial": "b", "props": PROPS}])
    base = [sys.executable, "-m", "albert_edge.benchmark", "adb", "--adb", fake.adb, "--out", str(tmp_path / "o")]
    run = lambda *a: subprocess.run(base + list(a), capture_output=True, text=True, cwd=REPO, env=os.environ)  # noqa: E731
    two = run("--model", model, "--benchmark-binary", fake.binary)
    assert two.returncode == 2 and "--serial S or --all" in two.stderr and "Traceback" not in two.stderr
    missing = run("--model", str(tmp_path / "nope.tflite"), "--benchmark-binary", fake.binary)
    assert missing.returncode == 2 and "model not found" in missing.stderr
    bad_mask = run("--model", model, "--benchmark-binary", fake.binary, "--serial", "a", "--cpu-mask", "big")
    assert bad_mask.returncode == 2 and "hex CPU mask" in bad_mask.stderr
    fake([{"serial": "x", "state": "offline"}])
    gone = run("--model", model, "--benchmark-binary", fake.binary, "--all")
    assert gone.returncode == 3 and "0/1 rows ok" in gone.stdout
    no_adb = subprocess.run(base[:4] + ["--adb", str(tmp_path / "no-adb"), "--model", model, "--benchmark-binary",
                                        fake.binary], capture_output=True, text=True, cwd=REPO)
    assert no_adb.returncode == 3 and "adb executable not found" in no_adb.stderr


@pytest.mark.slow
def test_shell_script_single_device(fake, model, tmp_path):
    fake([{"serial": "emu-1", "props": PROPS}])
    env = dict(os.environ, ADB=fake.adb, COOLDOWN_S="0", NUM_RUNS="3", OUT=str(tmp_path / "sh"), SIGNATURE="L64",
               CLEANUP="0")
    script = str(REPO / "benchmark" / "adb_benchmark.sh")
    proc = subprocess.run(["bash", script, fake.binary, model, "1", "2"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "push  benchmark_model" and lines[1].startswith("push  albert_tiny_fp32")
    table = [line.split() for line in lines if line[:1].isdigit()]
    assert [row[0] for row in table] == ["1", "2"] and all(float(row[1]) > 0 for row in table)
    log = (tmp_path / "sh" / "albert_tiny_fp32__t2.log").read_text()
    assert "Signature to run: [L64]" in log
    # second invocation: hashes match, nothing is pushed again
    again = subprocess.run(["bash", script, fake.binary, model, "1"], capture_output=True, text=True, env=env)
    assert again.returncode == 0 and again.stdout.startswith("skip  benchmark_model")


# --------------------------------------------------------------------------- NPU (Snapdragon HTP)

GALAXY = {  # the device-farm names of the three NPU phones, with the SoC getprop reports
    "s23": {"ro.product.model": "SM-S911B", "ro.soc.model": "SM8550", "ro.board.platform": "kalama"},
    "s24u": {"ro.product.model": "SM-S928B", "ro.soc.model": "SM8650", "ro.board.platform": "pineapple"},
    "s25": {"ro.product.model": "SM-S931B", "ro.soc.model": "SM8750", "ro.board.platform": "sun"},
}


@pytest.fixture(scope="session")
def npu_models(tmp_path_factory) -> dict[str, str]:
    """The tiny model "compiled" for three SoCs: the CPU graph with LiteRT's LiteRtStamp naming each."""
    from tiny_model import stamp_soc

    folder = tmp_path_factory.mktemp("npu")
    return {soc: str(stamp_soc(build_tiny_tflite(), folder / f"albert_tiny_int8.{soc.lower()}.tflite", soc))
            for soc in ("SM8550", "SM8650", "SM8750")}


@pytest.fixture
def qairt(tmp_path) -> Path:
    """A QAIRT-shaped folder (lib/aarch64-android, lib/hexagon-v<N>/unsigned) plus LiteRT's dispatch library.

    The files are placeholders: the fake phone checks that each reached the folder the command
    names, which is what the harness is responsible for."""
    root = tmp_path / "qairt"
    android = root / "lib" / "aarch64-android"
    android.mkdir(parents=True)
    for name in ("libQnnHtp.so", "libQnnSystem.so", "libQnnHtpV73Stub.so", "libQnnHtpV75Stub.so",
                 "libQnnHtpV79Stub.so"):
        (android / name).write_bytes(b"\x7fELF placeholder " + name.encode())
    for arch in (73, 75, 79):
        skel = root / "lib" / f"hexagon-v{arch}" / "unsigned"
        skel.mkdir(parents=True)
        (skel / f"libQnnHtpV{arch}Skel.so").write_bytes(b"\x7fELF placeholder skel")
    (root / "libLiteRtDispatch_Qualcomm.so").write_bytes(b"\x7fELF placeholder dispatch")
    return root


@pytest.fixture
def litert_binary(tmp_path) -> str:
    path = tmp_path / "litert_bin" / "benchmark_model"
    path.parent.mkdir()
    path.write_bytes(b"\x7fELF stand-in for LiteRT's benchmark_model: --dispatch_library_path "
                     b"--require_full_delegation --use_npu (the fake adb runs the host's LiteRT)\n")
    return str(path)


def _npu_config(tmp_path, models, binary, qairt_dir, **kw) -> AdbConfig:
    models = list(models)
    return _config(tmp_path, models[0], binary, models=models, delegates=["npu"], qnn_device_libs=str(qairt_dir),
                   all_devices=True, **kw)


@pytest.mark.slow
def test_npu_runs_the_model_of_each_phones_soc_and_reports_the_npu(fake, npu_models, qairt, litert_binary, tmp_path):
    fake([{"serial": s, "props": {**PROPS, **props}} for s, props in GALAXY.items()]
         + [{"serial": "pixel", "props": PROPS}])  # Pixel 3 (sdm845): no ro.soc.model, no model for it
    code, rows = run_adb(_npu_config(tmp_path, npu_models.values(), litert_binary, qairt, keep_remote=True))
    assert code == 1  # the Pixel's row
    by = {r["serial"]: r for r in rows}
    assert len(rows) == 4
    for serial, props in GALAXY.items():
        row = by[serial]
        assert row["status"] == "ok", row
        assert row["model"] == f"albert_tiny_int8.{props['ro.soc.model'].lower()}.tflite"
        assert row["soc"] == props["ro.soc.model"] and row["delegate"] == "npu" and row["threads"] is None
        assert row["accelerator"] == "npu" and row["npu_nodes"] == row["total_nodes"] > 0
        assert row["format"] == "litert-cc" and row["signature"] == "L32"
        for key in ("init_us", "peak_mem_mb", "mem_init_mb", "mem_overall_mb"):
            assert row[key] > 0, key
        # milliseconds with 2 decimals (the C++ tool's format): a tiny model may print 0.00
        assert row["first_us"] >= 0 and row["inference_avg_us"] >= 0 and row["count"] == 3
        arch = {"SM8550": 73, "SM8650": 75, "SM8750": 79}[props["ro.soc.model"]]
        pushed = tmp_path / "devices" / serial / "fs" / "data/local/tmp/albert_edge/qnn"
        assert sorted(p.name for p in pushed.iterdir()) == sorted(
            ["libLiteRtDispatch_Qualcomm.so", "libQnnHtp.so", "libQnnSystem.so", f"libQnnHtpV{arch}Stub.so",
             f"libQnnHtpV{arch}Skel.so"])
        log = (tmp_path / "out" / row["raw_log"]).read_text()
        assert "delegate (DispatchDelegate)" in log
        from albert_edge.benchmark.__main__ import main as benchmark_main

        assert benchmark_main(["parse", str(tmp_path / "out" / row["raw_log"]), "--require-npu"]) == 0
    pixel = by["pixel"]
    assert pixel["status"] == "error" and pixel["stage"] == "soc" and pixel["inference_avg_us"] is None
    assert "no model compiled for this device's SoC unknown" in pixel["error"]
    assert "albert_tiny_int8.sm8650.tflite (SM8650)" in pixel["error"]
    md = (tmp_path / "out" / "results.md").read_text()
    assert "npu" in md


@pytest.mark.slow
def test_npu_fallback_and_a_missing_device_library_are_error_rows(fake, npu_models, qairt, litert_binary, tmp_path):
    fake([
        {"serial": "fallback", "props": {**PROPS, **GALAXY["s24u"]}, "faults": {"npu_fallback": True}},
        {"serial": "noskel", "props": {**PROPS, **GALAXY["s24u"]},
         "faults": {"push_error": "no_space", "push_error_match": "Skel"}},
        {"serial": "good", "props": {**PROPS, **GALAXY["s24u"]}},
    ])
    code, rows = run_adb(_npu_config(tmp_path, [npu_models["SM8650"]], litert_binary, qairt))
    assert code == 1
    by = {r["serial"]: r for r in rows}
    fell = by["fallback"]
    # an NPU request that ran on XNNPACK: an error row, and no CPU number passed off as the NPU's
    assert fell["status"] == "error" and fell["stage"] == "accelerator", fell
    assert fell["accelerator"] == "cpu" and "NPU accelerator could not be loaded" in fell["error"]
    assert fell["inference_avg_us"] is None and fell["init_us"] is None
    assert (tmp_path / "out" / fell["raw_log"]).read_text().count("TfLiteXNNPackDelegate") == 1
    assert "| npu→cpu |" in (tmp_path / "out" / "results.md").read_text()
    noskel = by["noskel"]
    assert noskel["status"] == "error" and noskel["stage"] == "setup" and "libQnnHtpV75Skel.so" in noskel["error"]
    assert by["good"]["status"] == "ok" and by["good"]["accelerator"] == "npu"
    # nothing left on the phone after the run (default cleanup): libraries included
    assert not list((tmp_path / "devices" / "good" / "fs" / "data/local/tmp/albert_edge/qnn").iterdir())


@pytest.mark.slow
def test_npu_without_full_delegation_on_the_phone_fails_the_run(fake, npu_models, qairt, litert_binary, tmp_path):
    """The phone itself refuses: with its SoC's Skel library absent, LiteRT (CPU disallowed) cannot compile."""
    fake([{"serial": "s24u", "props": {**PROPS, **GALAXY["s24u"]}}])
    cfg = _npu_config(tmp_path, [npu_models["SM8650"]], litert_binary, qairt, keep_remote=True)
    code, rows = run_adb(cfg)
    assert code == 0 and rows[0]["status"] == "ok"
    (tmp_path / "devices" / "s24u" / "fs" / "data/local/tmp/albert_edge/qnn" / "libQnnHtpV75Skel.so").unlink()
    cfg.out_dir = str(tmp_path / "out2")
    (tmp_path / "qairt" / "lib" / "hexagon-v75" / "unsigned" / "libQnnHtpV75Skel.so").write_bytes(b"changed")
    from albert_edge.benchmark import adb as adb_module

    original = adb_module.push_if_changed
    try:  # the phone lost the library after the push (a wiped /data/local/tmp, a vendor cleaner)
        adb_module.push_if_changed = lambda a, local, remote, mode=None: (
            "skipped" if "Skel" in str(local) else original(a, local, remote, mode))
        code, rows = run_adb(cfg)
    finally:
        adb_module.push_if_changed = original
    (row,) = rows
    assert code == 1 and row["status"] == "error" and row["stage"] == "run"
    assert "Some ops are not accelerated" in row["error"] or "NPU accelerator could not be loaded" in row["error"]
    assert row["inference_avg_us"] is None


@pytest.mark.slow
def test_npu_usage_errors_exit_2_naming_what_is_missing(fake, npu_models, model, qairt, litert_binary, tmp_path):
    fake([{"serial": "s24u", "props": {**PROPS, **GALAXY["s24u"]}}])
    base = [sys.executable, "-m", "albert_edge.benchmark", "adb", "--adb", fake.adb, "--out", str(tmp_path / "o"),
            "--delegates", "npu"]
    run = lambda *a: subprocess.run(base + list(a), capture_output=True, text=True, cwd=REPO, env=os.environ)  # noqa: E731
    (qairt / "lib" / "hexagon-v75" / "unsigned" / "libQnnHtpV75Skel.so").unlink()
    cases = {
        "missing library": (["--model", npu_models["SM8650"], "--benchmark-binary", litert_binary,
                             "--qnn-device-libs", str(qairt)], "libQnnHtpV75Skel.so (for SM8650)"),
        "no --qnn-device-libs": (["--model", npu_models["SM8650"], "--benchmark-binary", litert_binary],
                                 "needs --qnn-device-libs DIR"),
        "TFLite's tool": (["--model", npu_models["SM8650"], "--benchmark-binary", fake.binary, "--qnn-device-libs",
                           str(qairt)], "is not LiteRT's benchmark_model"),
        "a CPU model": (["--model", model, "--benchmark-binary", litert_binary, "--qnn-device-libs", str(qairt)],
                        "not compiled for an NPU"),
        "the APK route": (["--model", npu_models["SM8650"], "--benchmark-apk", fake.apk, "--qnn-device-libs",
                           str(qairt)], "has no NPU accelerator"),
    }
    for what, (args, message) in cases.items():
        proc = run(*args)
        assert proc.returncode == 2, (what, proc.stdout, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, (what, proc.stderr)
    assert not (tmp_path / "devices" / "s24u" / "fs").exists()  # refused before any device was touched


def test_model_soc_from_stamp_and_name(npu_models, model, tmp_path):
    from albert_edge.benchmark.adb import find_qnn_libs, model_soc, required_qnn_libs

    assert model_soc(npu_models["SM8550"]) == "SM8550" and model_soc(model) is None
    renamed = tmp_path / "albert_tiny_int8.sm8750.tflite"
    renamed.write_bytes(Path(npu_models["SM8550"]).read_bytes())
    with pytest.raises(ValueError, match="its name says SM8750 but its LiteRtStamp says SM8550"):
        model_soc(renamed)
    assert required_qnn_libs("SM8750")[-2:] == ["libQnnHtpV79Stub.so", "libQnnHtpV79Skel.so"]
    with pytest.raises(ValueError, match="libQnnHtp.so"):
        find_qnn_libs(tmp_path, ["SM8650"])


@pytest.mark.slow
def test_bad_numbers_and_an_out_file_exit_2_before_any_device(fake, model, tmp_path):
    """Issue 24 §4, one rule: nan / negative / zero limits and an --out that is a file are exit 2, no traceback."""
    fake([{"serial": "a", "props": PROPS}])
    a_file = tmp_path / "results_here"
    a_file.write_text("not a folder")
    base = [sys.executable, "-m", "albert_edge.benchmark", "adb", "--adb", fake.adb, "--model", model,
            "--benchmark-binary", fake.binary, "--serial", "a"]
    cases = {
        ("--cooldown-s", "nan"): "argument --cooldown-s: must be a finite number ≥ 0, got 'nan'",
        ("--cooldown-s", "-1"): "argument --cooldown-s: must be a finite number ≥ 0, got '-1'",
        ("--runs", "-1"): "argument --runs: must be a positive integer (≥ 1), got '-1'",
        ("--run-timeout-s", "0"): "argument --run-timeout-s: must be a finite number of seconds > 0, got '0'",
        ("--threads", "0"): "--threads: thread counts must be between 1 and 64",
        ("--threads", "1,x"): "--threads must be comma-separated integers",
        ("--out", str(a_file)): f"--out {a_file} is a file, not a folder",
        ("--signatures", "L32,L$(echo x>PWNED)"): "--signatures: 'L$(echo x>PWNED)' is not a signature name",
    }
    for args, message in cases.items():
        extra = list(args) if args[0] == "--out" else [*args, "--out", str(tmp_path / "o")]
        proc = subprocess.run(base + extra, capture_output=True, text=True, cwd=REPO, env=os.environ)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    assert a_file.read_text() == "not a folder"
    assert not (tmp_path / "devices" / "a" / "fs").exists() and not (REPO / "PWNED").exists()


def _aot_compile_or_skip(source: Path, soc: str, out_dir: Path) -> Path:
    """AOT-compile ``source`` for ``soc`` with LiteRT's Qualcomm plugin (the npu extra), or skip."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime_qnn") is None or shutil.which("cc") is None:
        missing_tool("needs the npu extra (onnxruntime-qnn: QNN's x86 libraries) and a C compiler")
    import ai_edge_litert
    import onnxruntime_qnn

    plugin = next(Path(ai_edge_litert.__file__).parent.glob("vendors/qualcomm/compiler/libLiteRtCompilerPlugin_*.so"),
                  None)
    if plugin is None:
        missing_tool("ai-edge-litert without the Qualcomm compiler plugin")
    stub = out_dir / "libQnnLpai.so"  # linked by the plugin, absent from onnxruntime-qnn, no symbol used
    (out_dir / "empty.c").write_text("")
    subprocess.run(["cc", "-shared", "-o", str(stub), str(out_dir / "empty.c")], check=True)
    libs = [str(Path(onnxruntime_qnn.__file__).parent), str(plugin.parent), str(out_dir)]
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(libs), TMPDIR=str(out_dir))
    code = ("import sys; from ai_edge_litert.aot import aot_compile as a; "
            "from ai_edge_litert.aot.vendors.qualcomm import target as t; "
            f"a.aot_compile(sys.argv[1], output_dir=sys.argv[2], target=t.Target(t.SocModel.{soc}), keep_going=True)")
    subprocess.run([sys.executable, "-c", code, str(source), str(out_dir / "out")], check=True, env=env,
                   capture_output=True, timeout=600)
    (compiled,) = (out_dir / "out").glob("*.tflite")
    return compiled


@pytest.mark.slow
def test_a_real_aot_compiled_model_is_recognised(tmp_path, qairt, litert_binary):
    """LiteRT's own AOT output: its LiteRtStamp names the SoC, its signatures read without an interpreter,
    and the NPU preparation takes it (it is what `export --npu` writes)."""
    from albert_edge.benchmark.adb import _prepare_npu, flatbuffer_signatures, model_soc

    compiled = _aot_compile_or_skip(build_tiny_tflite(), "SM8650", tmp_path)
    plain = tmp_path / "compiled_without_soc_in_name.tflite"
    plain.write_bytes(compiled.read_bytes())
    assert model_soc(plain) == "SM8650" and model_soc(compiled) == "SM8650"
    assert sorted(flatbuffer_signatures(plain)) == ["L128", "L32", "L64"]
    cfg = AdbConfig(models=[str(plain)], delegates=["npu"], benchmark_binary=litert_binary,
                    qnn_device_libs=str(qairt))
    _prepare_npu(cfg)
    assert cfg.model_socs == {str(plain): "SM8650"}
    assert sorted(Path(p).name for p in cfg.qnn_libs["SM8650"]) == sorted(
        ["libLiteRtDispatch_Qualcomm.so", "libQnnHtp.so", "libQnnSystem.so", "libQnnHtpV75Stub.so",
         "libQnnHtpV75Skel.so"])
