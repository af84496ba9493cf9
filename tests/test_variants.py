"""The export variant registry: consistent entries, clear errors, and a new variant is one entry."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from albert_edge.export import variants

ROOT = Path(__file__).parents[1]
BUILTIN = ("fp32", "fp16", "dynamic_int8", "int8", "int8_full", "int16x8", "qat")


@pytest.fixture
def extra_variant():
    """An fp16 clone under a new name, with a post-processing step that records its calls; removed after."""
    calls = []

    def record(model: bytes) -> bytes:
        calls.append(len(model))
        return model

    spec = dataclasses.replace(variants.get("fp16"), name="fp16_copy", default=False, postprocess=(record,),
                               max_logit_delta=0.05)
    variants.register(spec)
    yield spec, calls
    variants.unregister(spec.name)


def test_registry_holds_the_builtin_variants_consistently():
    assert variants.names() == BUILTIN
    assert set(variants.default_names()) <= set(variants.names())
    assert variants.default_names() == ("fp32", "fp16", "dynamic_int8", "int8")
    reference = variants.get(variants.REFERENCE)
    assert reference.max_logit_delta == 1e-4 and not reference.accuracy_gated and not reference.calibrated
    for spec in variants.REGISTRY.values():
        assert spec.description and ";" not in spec.description, spec.name
        # albert_zh's raw graph has no calibration feeds: a calibrated variant cannot come from it
        assert not (spec.from_tf1_graph and spec.calibrated), spec.name
    assert [n for n, v in variants.REGISTRY.items() if v.model_transform] == ["qat"]


def test_register_rejects_duplicates_and_names_unfit_for_files():
    with pytest.raises(ValueError, match="already registered"):
        variants.register(variants.get("int8"))
    for bad in ("", "Int8", "int8/full", "_x"):
        with pytest.raises(ValueError, match="lower-case"):
            variants.register(dataclasses.replace(variants.get("fp32"), name=bad))
    assert variants.names() == BUILTIN
    with pytest.raises(TypeError):
        variants.REGISTRY["x"] = variants.get("fp32")   # read-only: register() is the one way in


def test_unknown_variant_lists_the_choices():
    with pytest.raises(variants.UnknownVariant) as err:
        variants.get("int4")
    assert isinstance(err.value, ValueError)
    assert "int4" in str(err.value) and all(name in str(err.value) for name in BUILTIN)
    from albert_edge.export import convert
    with pytest.raises(convert.ConvertError, match="unknown variant 'int4'; choose one of fp32, fp16"):
        convert.lookup("int4")


def test_every_calibrated_variant_refuses_to_convert_without_calibration(tmp_path):
    import tensorflow as tf
    from albert_edge.export import convert

    module = tf.Module()
    module.f = tf.function(lambda x: {"y": tf.cast(x, tf.float32) * 2.0},
                           input_signature=[tf.TensorSpec([1, 4], tf.int32, name="x")])
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"L4": module.f})
    calibrated = [n for n, v in variants.REGISTRY.items() if v.calibrated]
    assert calibrated == ["int8", "int8_full", "int16x8", "qat"]
    for name in calibrated:
        with pytest.raises(convert.ConvertError, match=f"variant {name} needs calibration"):
            convert.convert_saved_model(tmp_path / "sm", name, ["L4"], calibration=None)


def test_help_lists_every_variant_with_its_description(extra_variant, monkeypatch):
    from albert_edge.export.__main__ import build_parser
    monkeypatch.setenv("COLUMNS", "100000")   # no line wrapping (argparse breaks lines at hyphens too)
    text = build_parser().format_help()
    for spec in variants.REGISTRY.values():
        assert f"{spec.name}: {spec.description}" in text
    assert "default fp32,fp16,dynamic_int8,int8" in text


def test_gates_use_each_variants_tolerance(extra_variant):
    from albert_edge.export.verify import check_gates
    records = [{"variant": "fp32", "max_abs_logit_delta": 5e-5, "accuracy": 0.80},
               {"variant": "fp16_copy", "max_abs_logit_delta": 0.08, "accuracy": 0.80},
               {"variant": "dynamic_int8", "max_abs_logit_delta": 0.08, "accuracy": 0.80}]
    assert check_gates(records, None, 1.0) == ["fp16_copy parity: max |Δlogit| 8.00e-02 > 5e-02"]
    records[1]["max_abs_logit_delta"] = 0.01
    records[2]["accuracy"] = 0.70
    assert check_gates(records, None, 1.0) == [
        "dynamic_int8: accuracy 0.7000 is 10.00 points below fp32 0.8000 (allowed 1.0); try --variants qat or int16x8"]


@pytest.mark.slow
def test_registry_import_costs_no_tensorflow():
    code = ("import sys; from albert_edge.export import variants; from albert_edge.export.__main__ import "
            "build_parser; build_parser(); print('tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.slow
def test_a_new_variant_is_one_registry_entry(extra_variant, mini_checkpoint, tmp_path):
    """Registered here only: the pipeline converts, post-processes, verifies and reports it."""
    from albert_edge.export.pipeline import ExportOptions, export
    from albert_edge.runtime import read_metadata

    spec, calls = extra_variant
    out = tmp_path / "o"
    result = export(ExportOptions(checkpoint=str(mini_checkpoint), out=str(out), variants=("fp32", spec.name),
                                  seq_lens=(16,), eval_limit=20, threads=(1,), latency_runs=1,
                                  max_accuracy_drop=100.0, progress=False))
    lite = out / "albert_tiny_fp16_copy.tflite"
    assert lite.is_file() and calls, "the variant's post-processing step ran on its converted bytes"
    assert read_metadata(lite)["variant"] == "fp16_copy"
    record = next(r for r in result.report["variants"] if r["variant"] == "fp16_copy")
    fp32 = next(r for r in result.report["variants"] if r["variant"] == "fp32")
    assert 0 < record["max_abs_logit_delta"] < spec.max_logit_delta
    assert "accuracy" in record and "accuracy_drop_points" in record and record["latency_ms"]["t1"]["L16"]
    assert record["size_mb"] < 0.75 * fp32["size_mb"]    # float16 weights, as the fp16 entry it copies
    assert result.failures == []
    assert "fp16_copy" in (out / "report.md").read_text(encoding="utf-8")
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["variants"][1]["variant"] == "fp16_copy"
