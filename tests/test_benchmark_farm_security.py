"""Generated device-farm files are inert against hostile values (issue 24 §3).

Two layers, each proven on its own:
1. the CLI refuses any value that is not a plain name (exit 2, what / where / how, nothing written);
2. what it writes is quoted for every shell it passes: with the name checks switched off *in this
   test*, the generated spec and script still hand a hostile value over as one literal word.
Every generated command really runs, in a sandbox folder, against stand-ins for adb (which, like
adb, hands `shell` arguments to `sh -c` — with only stand-in device programs on PATH), gcloud and
sleep. A successful injection would create the sentinel file; none may exist afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fake_adb"))
from tiny_model import build_tiny_tflite, stamp_soc  # noqa: E402

from albert_edge.benchmark import farm  # noqa: E402
from albert_edge.benchmark.__main__ import main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STUBS = REPO / "tests" / "fake_farm"
SENTINEL = "PWNED"
# shell payloads that create the sentinel in the working folder with shell builtins only
PAYLOADS = ["$(echo x>PWNED)", "`echo x>PWNED`", ";echo x>PWNED;", "'\"$(echo x>PWNED)\"'"]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A folder with stand-in adb / gcloud / sleep and stand-in device programs; run(cmd) runs bash there."""
    box = tmp_path / "box"
    host_bin, device_bin = box / "host_bin", box / "device_bin"
    for folder in (host_bin, device_bin, box / "pkg", box / "logs"):
        folder.mkdir(parents=True)
    shutil.copy(STUBS / "adb", host_bin / "adb")
    for name in ("gcloud", "sleep", "date"):
        shutil.copy(STUBS / "host_program", host_bin / name)
    for name in ("taskset", "getprop", "mkdir", "chmod", "rm", "sha256sum", "md5sum", "logcat", "echo"):
        shutil.copy(STUBS / "device_program", device_bin / name)
    log = box / "calls.log"
    env = {"PATH": f"{host_bin}:/usr/bin:/bin", "STUB_LOG": str(log), "STUB_SANDBOX": str(box),
           "STUB_DEVICE_BIN": str(device_bin), "DEVICEFARM_DEVICE_UDID": "emu-1",
           "DEVICEFARM_TEST_PACKAGE_PATH": str(box / "pkg"), "DEVICEFARM_LOG_DIR": str(box / "logs"),
           "ANDROID_HOME": str(box), "RESULTS_DIR": "results", "HOME": str(box)}

    def run(command: list[str] | str) -> subprocess.CompletedProcess:
        args = ["bash", "-c", command] if isinstance(command, str) else command
        return subprocess.run(args, cwd=box, env=env, capture_output=True, text=True, timeout=60)

    run.box, run.log, run.env = box, log, env
    return run


def spec_commands(spec: str) -> list[str]:
    return [json.loads(line.split("- ", 1)[1]) if line.strip().startswith('- "') else line.split("- ", 1)[1]
            for line in spec.splitlines() if line.startswith("      - ")]


def calls(log: Path) -> list[list[str]]:
    text = log.read_text() if log.exists() else ""
    return [block.strip("\n").split("\n") for block in text.split("----\n") if block.strip()]


def no_sentinel(box: Path) -> bool:
    return not any(p.name.startswith(SENTINEL) for p in box.rglob("*"))


def _hostile_signature_model(tmp_path: Path, name: str) -> Path:
    """The test model with its first signature renamed: the flatbuffer allows any string there."""
    from ai_edge_litert import schema_py_generated as schema
    import flatbuffers

    obj = schema.ModelT.InitFromPackedBuf(build_tiny_tflite().read_bytes(), 0)
    obj.signatureDefs[0].signatureKey = name
    builder = flatbuffers.Builder(1024)
    builder.Finish(obj.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "albert_tiny_int8.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


def test_hostile_values_are_refused_with_what_where_how(tmp_path, capsys):
    """Layer 1: every hostile value is exit 2 naming it and where it came from; no file is written."""
    devices = tmp_path / "devices.txt"
    devices.write_text("Google Pixel 3,9\n")
    hostile_devices = tmp_path / "hostile.json"
    hostile_devices.write_text(json.dumps({"devices": [{"model": "Pixel$(echo x>PWNED)", "version": "9"}]}))
    model = tmp_path / "m.tflite"
    model.write_bytes(build_tiny_tflite().read_bytes())
    evil_model = tmp_path / "m$(echo x>PWNED).tflite"
    evil_model.write_bytes(model.read_bytes())
    signed = _hostile_signature_model(tmp_path, "L32$(echo x>PWNED)")
    out = tmp_path / "out"
    common = ["--devices", str(devices), "--out", str(out)]
    cases = {
        "--signatures": (["farm", "aws", "--model", str(model), "--signatures", "L128,L$(echo x>PWNED)", *common],
                         ["--signatures", "'L$(echo x>PWNED)'", "signature"]),
        "--signatures auto": (["farm", "aws", "--model", str(signed), *common],
                              ["--signatures auto: signature", "'L32$(echo x>PWNED)'", str(signed)]),
        "aws model file name": (["farm", "aws", "--model", str(evil_model), "--signatures", "L32", *common],
                                ["--model", "'m$(echo x>PWNED).tflite'", "file name"]),
        "firebase model file name": (["farm", "firebase", "--model", str(evil_model), "--threads", "1", *common],
                                     ["--model", "m$(echo x>PWNED)", "rename it"]),
        "aws device": (["farm", "aws", "--model", str(model), "--devices", str(hostile_devices), "--out", str(out)],
                       ["device 1", "'Pixel$(echo x>PWNED)'", "device model"]),
        "firebase device": (["farm", "firebase", "--model", str(model), "--threads", "1", "--devices",
                             str(hostile_devices), "--out", str(out)], ["device 1", "Pixel$(echo x>PWNED)"]),
        "firebase bucket": (["farm", "firebase", "--model", str(model), "--threads", "1", "--results-bucket",
                             "gs://b;echo x>PWNED", *common], ["--results-bucket", "a bucket name"]),
        "firebase apk": (["farm", "firebase", "--model", str(model), "--threads", "1", "--apk",
                          "a`echo x>PWNED`.apk", *common], ["--apk"]),
        "cpu mask": (["farm", "aws", "--model", str(model), "--signatures", "L32", "--cpu-mask", "f0;echo", *common],
                     ["--cpu-mask", "hex CPU mask"]),
    }
    for what, (argv, messages) in cases.items():
        assert main(argv) == 2, what
        err = capsys.readouterr().err
        for message in messages:
            assert message in err, (what, message, err)
        assert not out.exists() or not any(out.iterdir()), (what, list(out.iterdir()))
    assert no_sentinel(tmp_path)


@pytest.mark.slow
def test_generated_aws_spec_runs_and_keeps_hostile_values_literal(sandbox, monkeypatch):
    """Layer 2: with the name checks off, every spec command runs and hostile values stay one word."""
    monkeypatch.setattr(farm, "check_name", lambda kind, value, where: value)
    for payload in PAYLOADS:
        sandbox.log.unlink(missing_ok=True)
        model = f"exports/albert{payload}.sm8650.tflite"
        spec = farm.aws_test_spec([model], [2], runs=3, warmup=1, signatures={model: [f"L32{payload}"]},
                                  delegates=["cpu", "npu"], model_socs={model: "SM8650"},
                                  qnn_libs=[f"libQnnHtp{payload}.so"], binary=f"bm{payload}")
        for command in spec_commands(spec):
            proc = sandbox(command)
            assert proc.returncode == 0, (command, proc.stderr)
        assert no_sentinel(sandbox.box), payload
        recorded = calls(sandbox.log)
        runs = [c for c in recorded if c[0] == "device:taskset"]
        assert len(runs) == 2, recorded  # the CPU run and the NPU run (the stand-in phone is an SM8650)
        cpu, npu = runs
        assert f"--signature_to_run_for=L32{payload}" in cpu and f"/data/local/tmp/albert_edge/bm{payload}" in cpu
        assert f"--graph=/data/local/tmp/albert_edge/albert{payload}.sm8650.tflite" in npu
        assert npu[1] == "LD_LIBRARY_PATH=/data/local/tmp/albert_edge/qnn" and "--require_full_delegation=true" in npu
        pushes = [c for c in recorded if "push" in c]
        assert [f"{sandbox.box}/pkg/qnn/libQnnHtp{payload}.so"] == [c[3] for c in pushes if "qnn" in c[3]]


@pytest.mark.slow
def test_generated_firebase_script_runs_and_keeps_hostile_values_literal(sandbox, monkeypatch, tmp_path):
    monkeypatch.setattr(farm, "check_name", lambda kind, value, where: value)
    for payload in PAYLOADS:
        sandbox.log.unlink(missing_ok=True)
        model = f"exports/m{payload}.tflite"
        cfg = farm.firebase_config([model], [1], [{"model": f"blueline{payload}", "version": "28"}],
                                   apk=f"app{payload}.apk", results_bucket=f"gs://b{payload}")
        script = tmp_path / "firebase_command.sh"
        script.write_text(farm.firebase_script(cfg))
        proc = sandbox(["bash", str(script)])
        assert proc.returncode == 0, proc.stderr
        assert no_sentinel(sandbox.box), payload
        (gcloud,) = [c for c in calls(sandbox.log) if c[0] == "host:gcloud"]
        assert f"--other-files=/data/local/tmp/graph={model}" in gcloud
        assert f"--results-dir=results/m{payload}" in gcloud and f"--app=app{payload}.apk" in gcloud
        assert f"--device=model=blueline{payload},version=28" in gcloud


@pytest.mark.slow
def test_valid_cli_output_runs_in_the_sandbox(sandbox, tmp_path, capsys):
    """The files the CLI writes for plain names are runnable as written (NPU line included)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    compiled = stamp_soc(build_tiny_tflite(), folder / "albert_tiny_int8.sm8650.tflite", "SM8650")
    out = tmp_path / "spec"
    argv = ["farm", "aws", "--model", str(compiled), "--devices", str(REPO / "benchmark/devices/snapdragon_npu.json"),
            "--delegates", "npu", "--threads", "1", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    commands = spec_commands((out / "aws_testspec.yml").read_text())
    if shutil.which("shellcheck"):  # the NPU lines as the host shell reads them
        check = subprocess.run(["shellcheck", "--shell=bash", "-"], input="\n".join(commands) + "\n",
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    for command in commands:
        assert sandbox(command).returncode == 0, command
    runs = [c for c in calls(sandbox.log) if c[0] == "device:taskset"]
    assert len(runs) == 3  # L32, L64, L128 on the SM8650 stand-in
    assert not (sandbox.box / "logs" / "no_model_for_this_soc__npu.log").exists()
    sandbox.env["STUB_SOC"] = "SM8550"  # a phone of another SoC: no run, an error log
    sandbox.log.unlink()
    for command in spec_commands((out / "aws_testspec.yml").read_text()):
        assert sandbox(command).returncode == 0, command
    assert not [c for c in calls(sandbox.log) if c[0] == "device:taskset"]
    assert "ERROR: no model compiled" in (sandbox.box / "logs" / "no_model_for_this_soc__npu.log").read_text()
    rules = json.loads((out / "aws_device_pool_rules.json").read_text())
    assert json.loads(rules[0]["value"]) == ["Samsung Galaxy S23", "Samsung Galaxy S24 Ultra", "Samsung Galaxy S25"]


@pytest.mark.slow
def test_adb_benchmark_script_refuses_hostile_values(sandbox, tmp_path):
    """benchmark/adb_benchmark.sh hands SIGNATURE, CPU_MASK and the model name to the phone's shell."""
    binary = tmp_path / "benchmark_model"
    binary.write_text("stand-in\n")
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    evil = tmp_path / "m$(echo x>PWNED).tflite"
    evil.write_bytes(b"TFL3")
    script = str(REPO / "benchmark" / "adb_benchmark.sh")
    cases = {"SIGNATURE": ({"SIGNATURE": "L32$(echo x>PWNED)"}, str(model)),
             "CPU_MASK": ({"CPU_MASK": "f0;echo x>PWNED"}, str(model)),
             "NUM_RUNS": ({"NUM_RUNS": "3$(echo x>PWNED)"}, str(model)),
             "model name": ({}, str(evil))}
    for what, (extra, path) in cases.items():
        sandbox.env.update({"ADB": "adb", "COOLDOWN_S": "0", "OUT": str(sandbox.box / "out"), **extra})
        proc = sandbox(["bash", script, str(binary), path, "1"])
        for key in extra:
            sandbox.env.pop(key)
        assert proc.returncode == 2, (what, proc.stdout, proc.stderr)
        assert "error:" in proc.stderr and no_sentinel(sandbox.box), what
    assert no_sentinel(tmp_path)
