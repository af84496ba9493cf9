"""The `qat` variant: tfmot fake-quant fine-tuning → full-int8 .tflite, on a small ALBERT."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from albert_edge.config import AlbertConfig
from albert_edge.export import convert as conv
from albert_edge.export import qat
from albert_edge.export.pipeline import ExportError, ExportOptions, export
from albert_edge.modeling import AlbertClassifier, dummy_inputs
from albert_edge.runtime import TFLiteModel, load_interpreter, read_metadata
from conftest import mini_config  # noqa: E402  (tests/ is on sys.path under pytest)

SEQ_LENS = (16, 32)


@pytest.fixture(scope="module")
def qat_export(mini_checkpoint, tmp_path_factory):
    """One export with only the qat variant (20 steps is enough to exercise training).

    No freeze stage: the qat variant freezes its own SavedModel from the QAT model."""
    out = tmp_path_factory.mktemp("qat_export")
    opts = ExportOptions(checkpoint=str(mini_checkpoint), out=str(out), variants=("qat",), seq_lens=SEQ_LENS,
                         stages=("convert", "verify"), qat_steps=20, eval_limit=32, threads=(1,), latency_runs=1, max_accuracy_drop=100.0,
                         progress=False)
    return export(opts)


@pytest.mark.parametrize("layout", ["brightmart", "google"])
def test_functional_graph_is_the_float_model(layout):
    """tfmot needs a Functional model; ours must compute exactly what AlbertClassifier computes."""
    config = AlbertConfig.from_dict({**mini_config().to_dict(), "layout": layout})
    model = AlbertClassifier(config, num_labels=2, dropout_prob=0.0).build_weights()
    inputs = dummy_inputs(seq_len=12, batch=2)
    inputs["input_mask"] = tf.constant([[1] * 12, [1] * 7 + [0] * 5], tf.int32)
    functional = qat.functional_classifier(model, annotate=False)
    np.testing.assert_array_equal(functional(inputs).numpy(), model(inputs).numpy())


@pytest.mark.slow
def test_qat_variant_is_full_int8_builtin_with_every_signature(qat_export):
    path = qat_export.out_dir / "albert_tiny_qat.tflite"
    assert path.is_file() and (qat_export.out_dir / "saved_model_qat" / "saved_model.pb").is_file()
    data = path.read_bytes()
    conv.assert_builtin_only(data, "qat")
    # the QAT SavedModel carries tfmot's FakeQuant ops (what makes the converter take the QAT route)
    saved = (qat_export.out_dir / "saved_model_qat" / "saved_model.pb").read_bytes()
    assert b"FakeQuantWithMinMaxVars" in saved
    # Constants (weights) take well under ⅓ of their float32 bytes: int8, one copy across signatures.
    # (The file also carries vocab.txt, ~110 kB, which would dominate a ratio on this tiny model.)
    float_bytes = 4 * sum(int(np.prod(v.shape)) for v in AlbertClassifier(mini_config()).build_weights().weights)
    flat = conv._read(data)
    constant_bytes = sum(len(b.data) for b in flat.buffers if b.data is not None)
    print(f"qat constants {constant_bytes} B vs float32 weights {float_bytes} B "
          f"({constant_bytes / float_bytes:.3f}); file {len(data)} B")
    assert constant_bytes < 0.35 * float_bytes
    interpreter = load_interpreter(path)
    assert set(interpreter.get_signature_list()) == {"L16", "L32"}
    for key, L in (("L16", 16), ("L32", 32)):
        runner = interpreter.get_signature_runner(key)
        for detail in runner.get_input_details().values():
            assert detail["dtype"] == np.int32 and list(detail["shape"]) == [1, L]
        assert {n: d["dtype"] for n, d in runner.get_output_details().items()} == {
            "logits": np.float32, "probabilities": np.float32}
    # weights and activations really are int8: every FULLY_CONNECTED, in every signature
    from tensorflow.lite.python import schema_py_generated as schema
    fc = [(sg, op) for sg in flat.subgraphs for op in sg.operators if conv._op_name(flat, op) == "FULLY_CONNECTED"]
    assert fc and all(sg.tensors[op.inputs[i]].type == schema.TensorType.INT8 for sg, op in fc for i in (0, 1))
    meta = read_metadata(path)
    assert meta["variant"] == "qat" and meta["seq_lens"] == list(SEQ_LENS)


@pytest.mark.slow
def test_qat_logits_stay_close_to_the_float_model(qat_export):
    report = json.loads((qat_export.out_dir / "report.json").read_text())
    record = next(r for r in report["variants"] if r["variant"] == "qat")
    print(f"qat max |Δlogit| vs TF float: {record['max_abs_logit_delta']:.4f}; "
          f"agreement {record['agreement_with_tf']:.3f}")
    assert record["max_abs_logit_delta"] < 0.25
    assert record["agreement_with_tf"] >= 0.9
    model = TFLiteModel(qat_export.out_dir / "albert_tiny_qat.tflite")
    probabilities = model.predict_pairs([("今天天气好", "天气不错")])
    assert probabilities.shape == (1, 2) and np.allclose(probabilities.sum(-1), 1.0, atol=1e-2)


@pytest.mark.slow
def test_qat_finetune_nudged_the_weights_a_little(qat_export, mini_checkpoint):
    """20 Adam steps at lr 1e-5: the weights moved (training ran) but stayed close (≈ steps × lr)."""
    from albert_edge.model_dir import ModelDir
    before = ModelDir.load(mini_checkpoint).build_model().classifier.output_weights.numpy()
    saved = tf.saved_model.load(str(qat_export.out_dir / "saved_model_qat"))
    after = next(v for v in saved.model.variables if v.name == "output_weights:0").numpy()
    change = float(np.max(np.abs(after - before)))
    assert 0.0 < change < 1e-3, change


def test_qat_input_errors_are_clear_and_early(tmp_path):
    with pytest.raises(ExportError, match="qat-train .*not found"):
        export(ExportOptions(out=str(tmp_path), variants=("qat",), qat_train=str(tmp_path / "missing.tsv"),
                             progress=False))
    with pytest.raises(ExportError, match="qat-steps"):
        export(ExportOptions(out=str(tmp_path), variants=("qat",), qat_steps=-1, progress=False))
    with pytest.raises(ExportError, match="head classifier"):
        export(ExportOptions(out=str(tmp_path), variants=("qat",), head="mlm", progress=False))
