"""The runtime reads a model's outputs by name, never by position (issue 25).

A model that serves only `probabilities` once got a second softmax ([0.34, 0.66] for [0.17, 0.83]):
the first output in name order was taken for logits. Here models with logits only, probabilities
only, and both must score alike — as plain output dicts, and as real .tflite files.
"""
import numpy as np
import pytest

from albert_edge.runtime import ModelError, logits_of, probabilities_of, softmax

P = np.array([[0.17, 0.83]], np.float32)
LOGITS = np.log(P) + 3.0          # any logits whose softmax is P


def test_probabilities_are_taken_as_they_are():
    np.testing.assert_allclose(probabilities_of({"probabilities": P}), P[0], atol=1e-7)
    assert not np.allclose(softmax(P[0]), P[0], atol=0.1)       # what a second softmax would give: [0.34, 0.66]


@pytest.mark.parametrize("outputs", [{"logits": LOGITS}, {"probabilities": P}, {"logits": LOGITS, "probabilities": P},
                                     {"probabilities": P, "logits": LOGITS},
                                     {"serving_L16_probabilities:0": P}, {"StatefulPartitionedCall:0": LOGITS}])
def test_every_output_layout_scores_the_same(outputs):
    np.testing.assert_allclose(probabilities_of(outputs), P[0], atol=1e-6)
    np.testing.assert_allclose(softmax(logits_of(outputs)), P[0], atol=1e-6)   # similarity / evaluate's path


def test_a_model_without_either_output_is_refused():
    with pytest.raises(ModelError, match="no 'logits' or 'probabilities'"):
        logits_of({"a": LOGITS, "b": P}, "m.tflite")


@pytest.mark.slow
def test_real_models_with_one_or_both_outputs_score_the_same(tmp_path):
    """Three .tflite files of one tiny classifier: logits only, probabilities only, both."""
    import tensorflow as tf
    from albert_edge.runtime import TFLiteModel
    L = 16
    weights = tf.constant(np.random.default_rng(0).normal(size=(L, 3)).astype(np.float32))
    spec = [tf.TensorSpec([1, L], tf.int32, name=n) for n in ("input_ids", "input_mask", "segment_ids")]
    files = {}
    for served in (("logits",), ("probabilities",), ("logits", "probabilities")):
        class Classifier(tf.Module):
            @tf.function(input_signature=spec)
            def serve(self, input_ids, input_mask, segment_ids):
                x = tf.cast(input_ids % 97, tf.float32) / 97.0 * tf.cast(input_mask, tf.float32)
                logits = tf.matmul(x, weights) + tf.cast(tf.reduce_sum(segment_ids), tf.float32)
                both = {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}
                return {k: both[k] for k in served}
        module = Classifier()
        folder = tmp_path / "_".join(served)
        tf.saved_model.save(module, str(folder), signatures={f"L{L}": module.serve})
        converter = tf.lite.TFLiteConverter.from_saved_model(str(folder), signature_keys=[f"L{L}"])
        files[served] = tmp_path / f"{'_'.join(served)}.tflite"
        files[served].write_bytes(converter.convert())
    pairs = [("今天天气怎么样", None), ("花呗怎么还款", "花呗如何还钱"), ("房间很干净", None)]
    scores = {served: TFLiteModel(path).predict_pairs(pairs) for served, path in files.items()}
    logits = {served: np.stack([TFLiteModel(path).logits(a, b) for a, b in pairs]) for served, path in files.items()}
    reference = scores[("logits", "probabilities")]
    assert reference.shape == (3, 3) and not np.allclose(reference, reference[0])
    for served in files:
        np.testing.assert_allclose(scores[served], reference, atol=1e-6, err_msg=str(served))
        np.testing.assert_allclose(softmax(logits[served]), reference, atol=1e-6, err_msg=str(served))
