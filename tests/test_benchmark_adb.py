"""adb harness against the fake adb: happy path, APK route, shell script, and every fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
