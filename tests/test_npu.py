"""Snapdragon NPU: the SoC registry, the Qualcomm libraries, AOT compilation of the mini export
(``export --npu``), and the compiled code on Qualcomm's HTP emulator (``benchmark npu-check``),
including a wrong SoC's binary swapped in and a corrupted context.

The slow tests compile the shared mini export (conftest ``exported``: hidden 32, L16/L32) for
SM8650 and SM8550 and run a handful of L32 inferences on the emulator. They need the npu extra
(onnxruntime-qnn) and the empty libQnnLpai.so (``make npu-deps``; ``make test`` installs both);
outside CI they are skipped when those are missing, in CI (CI=true) they fail instead.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from albert_edge.emulation import numerics, qemu_run, qnn_libs, socs
from albert_edge.emulation.errors import NpuEnvironmentError
from albert_edge.export import npu as export_npu

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "albert_edge" / "resources" / "samples" / "lcqmc_dev.tsv"


def _cli(module: str, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=REPO,
                          env=env or dict(os.environ))


# ------------------------------------------------------------------------------------ registry, libraries
def test_soc_registry_names_every_chip_three_ways():
    chip = socs.get("SM8650")
    assert (chip.model, chip.marketing, chip.hexagon, chip.qnn_soc_model, chip.htp_arch) == \
        ("SM8650", "Snapdragon 8 Gen 3", "v75", 57, "75")
    assert [c.name for c in socs.parse_list("sm8550, sm8650,sm8550,sm8750")] == ["sm8550", "sm8650", "sm8750"]
    with pytest.raises(socs.UnknownSocError, match="choose one of sm8450"):
        socs.parse_list("sm8550,sm9999")
    table = socs.list_table()
    for name in ("sm8550", "Snapdragon 8 Gen 2", "v73", "Galaxy S23", "sm8750", "Snapdragon 8 Elite", "v79"):
        assert name in table


def test_readme_soc_table_is_the_registry():
    """README's table of target chips is what `export --npu list` prints, row for row."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| SoC | marketing name | Hexagon | QNN soc_model | phones |"):].split("\n\n")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    assert rows == [[c.name, c.marketing, c.hexagon, str(c.qnn_soc_model), c.phones]
                    for c in map(socs.get, socs.names())]


def test_missing_lpai_stub_is_an_environment_error_saying_how_to_install(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime_qnn")
    monkeypatch.setenv(qnn_libs.STUB_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.delenv(qnn_libs.SDK_ENV, raising=False)
    with pytest.raises(NpuEnvironmentError, match="make npu-deps"):
        qnn_libs.find()
    with pytest.raises(NpuEnvironmentError, match="no libQnnHtp.so"):
        qnn_libs.find(tmp_path)          # a --qnn-sdk folder without QAIRT's libraries


def test_the_arm_and_npu_checks_share_one_rule():
    """One definition: both emulators import the same function (and so the same k(L))."""
    from albert_edge.emulation import htp_check
    assert qemu_run.check_numerics is numerics.check_numerics is htp_check.numerics.check_numerics


def test_a_float16_device_gets_a_second_rounding_source():
    assert numerics.quant_steps(32, numerics.rounding_sources(float16_device=True)) == 6
    assert numerics.quant_steps(128, numerics.rounding_sources(float16_device=True)) == 18
    assert numerics.quant_steps(32, numerics.rounding_sources(float16_device=False)) == 4
    step, ref = 0.028, np.array([[1.0, -1.0]])
    assert numerics.check_numerics(ref, ref + 5 * step, "int8", step, 32, float16_device=True).ok
    assert not numerics.check_numerics(ref, ref + 5 * step, "int8", step, 32).ok
    assert not numerics.check_numerics(ref, ref + 7 * step, "int8_full", step, 32, float16_device=True).ok


def test_cpu_fallback_lines_name_soc_signature_and_ops():
    sigs = [{"signature": "L32", "ops_on_npu": 202, "ops_total": 202, "partitions": 1, "cpu_ops": []},
            {"signature": "L64", "ops_on_npu": 200, "ops_total": 202, "partitions": 2,
             "cpu_ops": ["GELU", "SOFTMAX", "GELU"]}]
    assert export_npu.cpu_fallback_lines("sm8650", "int8", sigs) == [
        "npu sm8650 int8 L64: 2 of 202 ops left on the CPU: GELU, SOFTMAX"]


def test_a_failed_compile_is_a_gate_failure_naming_soc_and_variant(tmp_path):
    _npu_or_skip()
    broken = tmp_path / "albert_tiny_int8.tflite"
    broken.write_bytes(b"\x00" * 64)
    section = export_npu.compile_all([socs.get("sm8650")], qnn_libs.find(), {"int8": broken}, ["int8"],
                                     fresh=lambda name, digest: False, record=lambda name, digest: None)
    assert section["rows"] == [] and len(section["failures"]) == 1
    assert section["failures"][0].startswith("npu sm8650 int8: compile failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["albert_tiny_int8.tflite"]   # nothing half-written


# ------------------------------------------------------------------------------------ CLI input checks
@pytest.mark.slow
def test_npu_list_and_unknown_soc_answer_without_tensorflow():
    listing = _cli("albert_edge.export", "--npu", "list")
    assert listing.returncode == 0 and "Snapdragon 8 Gen 3" in listing.stdout and "v75" in listing.stdout
    unknown = _cli("albert_edge.export", "tiny", "--npu", "sm8550,sm9999")
    assert unknown.returncode == 2 and "unknown SoC 'sm9999'" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.slow
def test_export_npu_without_qualcomm_libraries_is_exit_2_before_any_work(tmp_path):
    env = dict(os.environ, **{qnn_libs.STUB_DIR_ENV: str(tmp_path / "no-stub")})
    env.pop(qnn_libs.SDK_ENV, None)
    proc = _cli("albert_edge.export", "tiny", "--out", str(tmp_path / "out"), "--npu", "sm8650", "--no-progress",
                env=env)
    assert proc.returncode == 2, proc.stderr
    assert "make npu-deps" in proc.stderr and "Traceback" not in proc.stderr
    assert not list((tmp_path / "out").glob("*.tflite"))


# ------------------------------------------------------------------------------------ compile + emulate
def _npu_or_skip() -> None:
    try:
        qnn_libs.find()
        import onnx  # noqa: F401
        import onnxruntime_qnn  # noqa: F401
    except (NpuEnvironmentError, ImportError) as err:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the NPU check: {err}")
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def compiled(exported, tmp_path_factory):
    """The mini export's int8 compiled for SM8650 and SM8550 through export --npu (convert is up to date)."""
    _npu_or_skip()
    from albert_edge.export.pipeline import export
    result, opts = exported
    out = tmp_path_factory.mktemp("npu") / "export"
    shutil.copytree(result.out_dir, out)
    npu_opts = dataclasses.replace(opts, out=str(out), stages=("convert",), npu=("sm8650", "sm8550"))
    return export(npu_opts), npu_opts, out


@pytest.mark.slow
def test_export_npu_compiles_every_signature_fully_onto_the_npu(compiled):
    result, _, out = compiled
    assert result.failures == [], result.failures
    section = json.loads((out / "npu_report.json").read_text(encoding="utf-8"))
    assert {(r["soc"], r["signature"]) for r in section["rows"]} == {
        (soc, sig) for soc in ("sm8650", "sm8550") for sig in ("L16", "L32")}
    for row in section["rows"]:
        assert row["ops_on_npu"] == row["ops_total"] > 10 and row["partitions"] == 1 and row["cpu_ops"] == []
    record = json.loads((out / "albert_tiny_int8.sm8650.json").read_text(encoding="utf-8"))["npu"]
    assert record["soc"] == "sm8650" and record["hexagon"] == "v75" and record["source"] == "albert_tiny_int8.tflite"
    markdown = (out / "npu_report.md").read_text(encoding="utf-8")
    assert "| sm8650 | Snapdragon 8 Gen 3 | v75 | int8 | L32 |" in markdown
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


@pytest.mark.slow
def test_export_npu_reuses_an_up_to_date_compile(compiled):
    _, opts, out = compiled
    from albert_edge.export.pipeline import export
    target = out / "albert_tiny_int8.sm8650.tflite"
    before = target.stat().st_mtime_ns
    again = export(dataclasses.replace(opts, npu=("sm8650",)))
    assert again.failures == [] and target.stat().st_mtime_ns == before


@pytest.mark.slow
def test_npu_check_passes_on_the_emulator_with_the_shared_rule(compiled, tmp_path):
    _, _, out = compiled
    rows_path = tmp_path / "rows.json"
    proc = _cli("albert_edge.benchmark", "npu-check", "--model", str(out / "albert_tiny_int8.sm8650.tflite"),
                "--data", str(PAIRS), "--pairs", "3", "--seq-len", "32", "--no-progress", "--json", str(rows_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (row,) = json.loads(rows_path.read_text(encoding="utf-8"))
    assert row["device"] == "htp-emulator-sm8650" and row["signature"] == "L32" and row["n_pairs"] == 3
    assert row["numerics_ok"] and row["argmax_agreement"] == 1.0 and "reference kernels" in row["reference"]
    # the HTP is a float16 device: k = 2 + 2 · ⌈32/16⌉ = 6 steps
    assert row["tolerance"] == pytest.approx(6 * row["output_step"])
    assert 0 <= row["max_abs_diff_vs_reference"] <= row["tolerance"] * (1 + numerics.BOUND_SLACK)
    assert "| sm8650 | v75 | int8 | L32 | 3 |" in proc.stdout


@pytest.mark.slow
def test_another_socs_binary_swapped_in_is_caught(compiled, tmp_path):
    """The emulator runs an SM8550 binary with SM8650 settings without a word: the compile record catches it."""
    _, _, out = compiled
    folder = tmp_path / "swapped"
    folder.mkdir()
    for name in ("albert_tiny_int8.tflite", "albert_tiny_int8.sm8650.json"):
        shutil.copy(out / name, folder / name)
    shutil.copy(out / "albert_tiny_int8.sm8550.tflite", folder / "albert_tiny_int8.sm8650.tflite")
    proc = _cli("albert_edge.benchmark", "npu-check", "--model", str(folder / "albert_tiny_int8.sm8650.tflite"),
                "--data", str(PAIRS), "--pairs", "2", "--seq-len", "32", "--no-progress")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not the one compiled for sm8650" in proc.stderr and "Traceback" not in proc.stderr


def _corrupt_context(path: Path) -> None:
    """Overwrite the middle half of the L32 graph's context binary with random bytes."""
    from albert_edge.emulation.htp_run import read_context_graphs
    graph = read_context_graphs(path)["L32"]
    data = bytearray(path.read_bytes())
    start = graph.offset + graph.size // 4
    data[start:start + graph.size // 2] = np.random.default_rng(0).integers(0, 256, graph.size // 2,
                                                                            dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.slow
def test_a_corrupted_context_is_caught_with_and_without_its_record(compiled, tmp_path):
    _, _, out = compiled
    folder = tmp_path / "corrupt"
    folder.mkdir()
    for name in ("albert_tiny_int8.tflite", "albert_tiny_int8.sm8650.tflite", "albert_tiny_int8.sm8650.json"):
        shutil.copy(out / name, folder / name)
    model = folder / "albert_tiny_int8.sm8650.tflite"
    _corrupt_context(model)
    args = ("npu-check", "--model", str(model), "--data", str(PAIRS), "--pairs", "2", "--seq-len", "32",
            "--no-progress")
    with_record = _cli("albert_edge.benchmark", *args)
    assert with_record.returncode == 1 and "corrupted or edited" in with_record.stderr
    (folder / "albert_tiny_int8.sm8650.json").unlink()       # no record: the emulator or the numbers must say so
    without = _cli("albert_edge.benchmark", *args)
    assert without.returncode == 1, without.stdout + without.stderr
    assert "FAILED: npu sm8650 int8 L32" in without.stderr and "Traceback" not in without.stderr
