"""benchmark arm: the numerics rule, CPU-model handling, instruction-count gating, and real runs
of exported models on aarch64 LiteRT kernels under qemu-user.

The slow tests run the small check of issue 18 on the shared mini export (conftest `exported`):
int8 + dynamic_int8 at L32 on cortex-a76 with 50 pairs, fp32 with 5. They need qemu-user and a C
compiler (`make test` installs both as root) and, once per cache, ~90 MB of downloads; outside CI
they are skipped when qemu-aarch64 is missing, in CI (CI=true) they fail instead.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import missing_tool  # noqa: E402  (tests/ is on sys.path under pytest)

from albert_edge import resources
from albert_edge.emulation import numerics, qemu_cpus, qemu_env, qemu_run
from albert_edge.emulation.errors import ArmEnvironmentError, ArmRunError
from albert_edge.benchmark.compare import compare_rows

REPO = Path(__file__).resolve().parents[1]


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "albert_edge.benchmark", *args], capture_output=True, text=True,
                          cwd=REPO, env=env)


# ------------------------------------------------------------------------------------ CPU models
def test_cpu_list_keeps_qemu_options_with_their_model():
    assert qemu_cpus.parse_cpu_list("cortex-a76,cortex-a72,max,sme=off") == ["cortex-a76", "cortex-a72", "max,sme=off"]
    assert qemu_cpus.parse_cpu_list("max,sme=off,sve=off") == ["max,sme=off,sve=off"]
    assert qemu_cpus.device_name("max,sme=off") == "qemu-max-sme-off"
    with pytest.raises(ValueError, match="no CPU model before it"):
        qemu_cpus.parse_cpu_list("sme=off")


def test_bare_max_is_refused_and_warned_about_with_allow_sme(caplog):
    with pytest.raises(ArmEnvironmentError, match="SME.*garbage"):
        qemu_cpus.check_cpu_allowed("max", None, allow_sme=False)
    with caplog.at_level(logging.WARNING, logger="albert_edge.emulation.qemu_cpus"):
        qemu_cpus.check_cpu_allowed("max", None, allow_sme=True)
    assert "SME" in caplog.text
    qemu_cpus.check_cpu_allowed("max,sme=off", None, allow_sme=False)
    qemu_cpus.check_cpu_allowed("cortex-a76", {"hwcap": 0x119FFB, "hwcap2": 0, "midr": 0x414FD0B1}, allow_sme=False)
    # any CPU whose hwcaps say SME (HWCAP2 bit 23) is refused, whatever its name
    with pytest.raises(ArmEnvironmentError, match="SME"):
        qemu_cpus.check_cpu_allowed("neoverse-x", {"hwcap": 0x3, "hwcap2": 1 << 23, "midr": 0}, allow_sme=False)


@pytest.mark.slow
def test_cli_refuses_bare_cpu_max_before_touching_anything(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"0000TFL3")
    proc = _cli("arm", "--model", str(model), "--cpu", "max", "--cache-dir", str(tmp_path / "cache"))
    assert proc.returncode == 2, proc.stderr
    assert "SME" in proc.stderr and "--allow-sme" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_missing_qemu_is_exit_2_naming_the_package(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"0000TFL3")
    env = dict(os.environ, PATH=str(tmp_path))  # no qemu-aarch64 on this PATH
    proc = _cli("arm", "--model", str(model), "--cache-dir", str(tmp_path / "cache"), env=env)
    assert proc.returncode == 2
    assert "qemu-aarch64 not found" in proc.stderr and "apt-get install qemu-user" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cpuinfo_matches_the_probed_cpu():
    a76 = {"hwcap": 0x119FFB, "hwcap2": 0, "midr": 0x414FD0B1}  # what qemu 7.2 -cpu cortex-a76 reports
    text = qemu_cpus.cpuinfo_text(a76, processors=2)
    assert text.count("processor\t:") == 2
    assert "CPU implementer\t: 0x41" in text and "CPU part\t: 0xd0b" in text and "CPU variant\t: 0x4" in text
    features = text.split("Features\t: ")[1].splitlines()[0].split()
    assert {"asimd", "asimddp", "atomics"} <= set(features) and "i8mm" not in features and "sve" not in features


# ------------------------------------------------------------------------------------ numerics rule
def test_float_variants_are_held_to_1e_4():
    host = np.array([[0.5, -0.5], [1.0, 2.0]])
    assert numerics.check_numerics(host, host + 9e-5, "fp32").ok
    bad = numerics.check_numerics(host, host + 2e-4, "fp32")
    assert not bad.ok and "max |Δ|" in bad.failures[0]
    assert numerics.check_numerics(host, host + 9e-5, "fp16").tolerance == pytest.approx(1e-4)


def test_quantized_output_within_two_steps():
    step = 0.034
    host = np.array([[2.0, -2.0], [-1.0, 1.5]])
    assert numerics.check_numerics(host, host + 2 * step - 1e-6, "int8", output_step=step).ok
    result = numerics.check_numerics(host, host + 3 * step, "int8", output_step=step)
    assert not result.ok and result.tolerance == pytest.approx(2 * step)


def test_the_quantized_bound_grows_with_the_length_it_sums_over():
    """k(L) = 2 + ⌈L/16⌉: 4 steps at L32, 6 at L64, 10 at L128 (emulation/numerics.py says why)."""
    assert [numerics.quant_steps(L) for L in (None, 16, 32, 64, 128)] == [2, 3, 4, 6, 10]
    step = 0.028
    ref = np.array([[2.0, -2.0], [-1.0, 1.5]])
    assert numerics.check_numerics(ref, ref + 4 * step, "int8", output_step=step, seq_len=32).ok
    at_32 = numerics.check_numerics(ref, ref + 5 * step, "int8", output_step=step, seq_len=32)
    assert not at_32.ok and at_32.max_steps == pytest.approx(5)
    assert numerics.check_numerics(ref, ref + 5 * step, "int8", output_step=step, seq_len=128).ok
    assert not numerics.check_numerics(ref, ref + 11 * step, "int8", output_step=step, seq_len=128).ok


def test_exact_ties_are_never_disagreements_and_real_flips_fail():
    host = np.array([[1.0, 1.0], [3.0, -3.0]])
    arm_out = np.array([[1.0, 0.99], [3.0, -3.0]])        # host tie: either class agrees
    assert numerics.check_numerics(host, arm_out, "dynamic_int8").argmax_agreement == 1.0
    arm_tie = np.array([[1.0, 1.0], [0.5, 0.5]])           # ARM tie on row 1 intersects host's top class
    assert numerics.check_numerics(host, arm_tie, "dynamic_int8").disagreements == 0
    flipped = np.array([[1.0, 1.0], [-3.0, 3.0]])
    result = numerics.check_numerics(host, flipped, "dynamic_int8")
    assert result.disagreements == 1 and not result.ok and "argmax" in result.failures[0]


def test_a_flip_inside_the_bound_is_a_near_tie_not_a_failure():
    step = 0.034
    host = np.array([[0.50, 0.52], [4.0, -4.0]])           # margin 0.02 < 2 × (2 steps)
    arm_out = np.array([[0.53, 0.51], [4.0, -4.0]])
    result = numerics.check_numerics(host, arm_out, "int8", output_step=step)
    assert result.ok and result.near_tie_flips == 1 and result.argmax_agreement == 0.5


def test_nan_outputs_fail():
    host = np.zeros((2, 2))
    assert not numerics.check_numerics(host, np.full((2, 2), np.nan), "dynamic_int8").ok


# ------------------------------------------------------------------------------------ counts and compare
def test_plugin_counts_file_is_parsed_per_tag(tmp_path):
    path = tmp_path / "counts.txt"
    path.write_text("# insn_count 1 tag total dot mmla vcpus\n0 100 7 0 1\n1000000 120 9 0 1\n")
    names, rows = qemu_run.parse_counts(path)
    assert names == ["total", "dot", "mmla", "vcpus"]
    assert rows[1_000_000] == {"total": 120, "dot": 9, "mmla": 0, "vcpus": 1}
    with pytest.raises(ArmRunError):
        qemu_run.parse_counts(tmp_path / "missing.txt")


def _count_row(instructions: int, variant: str = "int8") -> dict:
    return {"device": "qemu-cortex-a76", "device_model": "qemu-cortex-a76", "variant": variant, "signature": "L32",
            "delegate": "cpu", "threads": 1, "status": "ok", "instructions": instructions}


def test_compare_gates_instruction_counts_exactly(tmp_path):
    diffs, _ = compare_rows([_count_row(13_193_170)], [_count_row(13_193_171)], bound=0.10)
    assert [d["regression"] for d in diffs] == [True]     # one instruction more is a regression
    diffs, _ = compare_rows([_count_row(13_193_170)], [_count_row(13_193_170)], bound=0.10)
    assert [d["regression"] for d in diffs] == [False]
    diffs, _ = compare_rows([_count_row(13_193_170)], [_count_row(13_193_171)], bound=0.10, exact_bound=0.0001)
    assert [d["regression"] for d in diffs] == [False]
    diffs, _ = compare_rows([_count_row(13_193_170)], [_count_row(13_000_000)], bound=0.10)
    assert [d["regression"] for d in diffs] == [False]    # fewer instructions is an improvement


# ------------------------------------------------------------------------------------ real emulation
def _emulation_or_skip() -> None:
    if shutil.which("qemu-aarch64") and (shutil.which("cc") or shutil.which("gcc")):
        return
    missing_tool("qemu-aarch64 or a C compiler missing (make arm-deps; apt-get install qemu-user gcc libc6-dev)")


@pytest.fixture(scope="module")
def arm_env():
    _emulation_or_skip()
    return qemu_env.prepare(["cortex-a76"])


@pytest.fixture(scope="module")
def small_check(arm_env, exported):
    """Issue 18's small check through the export's own --verify-arm stage (mini model, L32)."""
    from albert_edge.export import pipeline
    result, opts = exported
    artifacts = {v: result.out_dir / f"albert_tiny_{v}.tflite" for v in ("int8", "dynamic_int8", "fp32")}
    return pipeline._verify_arm(arm_env, opts, artifacts, [32], resources.LCQMC_DEV), artifacts


@pytest.mark.slow
def test_small_check_passes_the_numerics_rule_with_counts(small_check):
    section, _ = small_check
    rows = {r["variant"]: r for r in section["rows"]}
    assert section["failures"] == [], section["failures"]
    assert set(rows) == {"int8", "dynamic_int8", "fp32"}
    assert rows["int8"]["n_pairs"] == 50 and rows["dynamic_int8"]["n_pairs"] == 50 and rows["fp32"]["n_pairs"] == 5
    for row in rows.values():
        assert row["device"] == "qemu-cortex-a76" and row["signature"] == "L32" and row["numerics_ok"]
        assert row["instructions_min"] <= row["instructions"] <= row["instructions_max"]
        assert row["instructions"] > 10_000
    # k(L) = 2 + ⌈L/16⌉ output steps: 4 at L32, against LiteRT's reference kernels
    assert rows["int8"]["output_step"] and rows["int8"]["tolerance"] == pytest.approx(4 * rows["int8"]["output_step"])
    assert all("reference kernels" in row["reference"] for row in rows.values())
    assert rows["fp32"]["tolerance"] == pytest.approx(1e-4) and rows["dynamic_int8"]["tolerance"] is None
    # the phone's kernels: SDOT for int8 on a dotprod core, FMLA for fp32
    assert rows["int8"]["instruction_classes"]["dot"] > 0
    assert rows["fp32"]["instruction_classes"]["fmla"] > 0 and rows["fp32"]["instruction_classes"]["dot"] == 0
    assert rows["fp32"]["instructions"] > rows["int8"]["instructions"]
    text = "\n".join(pipeline_markdown(section))
    assert "aarch64 kernels" in text and "qemu-cortex-a76" in text


def pipeline_markdown(section: dict) -> list[str]:
    from albert_edge.export import pipeline
    return pipeline._arm_markdown(section)


@pytest.mark.slow
def test_two_runs_count_identical_instructions(arm_env, small_check):
    _, artifacts = small_check
    runs = []
    for _ in range(2):
        plan = qemu_run.plan_model(artifacts["int8"], [32], qemu_run.load_pairs_file(None, 5))
        runs.append(qemu_run.run_guest(arm_env, "cortex-a76", plan, timeout_s=900).counts["L32"])
    assert runs[0] == runs[1]
    assert len({c["dot"] for c in runs[0]}) == 1   # the matmul work does not depend on the tokens


@pytest.mark.slow
def test_compare_catches_a_slower_model_on_instruction_counts(small_check, tmp_path):
    """A release whose int8 file is really the float model: latency noise could hide it, counts cannot."""
    section, _ = small_check
    rows = {r["variant"]: r for r in section["rows"]}
    baseline, new = tmp_path / "base.json", tmp_path / "new.json"
    baseline.write_text(json.dumps([rows["int8"]]))
    slower = dict(rows["fp32"], variant="int8", model=rows["int8"]["model"])
    new.write_text(json.dumps([slower]))
    proc = _cli("compare", str(baseline), str(new))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "instructions" in proc.stdout and "REGRESSION" in proc.stdout
    same = _cli("compare", str(baseline), str(baseline))
    assert same.returncode == 0, same.stdout + same.stderr


def test_exactly_two_steps_in_float32_passes():
    """Dequantized outputs two steps apart, computed in float32 as LiteRT does, are within the rule."""
    step = np.float32(0.03373953)
    host = (np.array([[10, -12]], np.float32) * step).astype(np.float32)
    arm_out = (np.array([[12, -14]], np.float32) * step).astype(np.float32)
    assert numerics.check_numerics(host, arm_out, "int8", output_step=float(step)).ok
    assert not numerics.check_numerics(host, arm_out + step, "int8", output_step=float(step)).ok


@pytest.mark.slow
def test_export_verify_arm_records_rows_in_report(arm_env, exported, tmp_path):
    """`export --verify-arm` over up-to-date artifacts: only verify runs, and the report carries the ARM rows."""
    import dataclasses
    from albert_edge.export.pipeline import export
    result, opts = exported
    out = tmp_path / "export"
    shutil.copytree(result.out_dir, out)
    again = export(dataclasses.replace(opts, out=str(out), variants=("int8", "fp32"), verify_arm=True))
    section = json.loads((out / "report.json").read_text(encoding="utf-8"))["arm"]
    assert {r["variant"] for r in section["rows"]} == {"int8", "fp32"}
    assert all(r["numerics_ok"] and r["signature"] == "L16" for r in section["rows"])
    assert section["failures"] == [] and again.failures == []
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "On aarch64 kernels" in markdown and "qemu-cortex-a76" in markdown


@pytest.mark.slow
def test_export_verify_arm_without_qemu_is_exit_2_before_any_work(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "albert_edge.export", "tiny", "--out", str(tmp_path / "out"),
                           "--verify-arm", "--no-progress"], capture_output=True, text=True, cwd=REPO, env=env)
    assert proc.returncode == 2
    assert "--verify-arm" in proc.stderr and "qemu-aarch64 not found" in proc.stderr
    assert not list((tmp_path / "out").glob("*.tflite"))
