"""Quantization-aware fine-tuning (QAT) with tensorflow-model-optimization, then full-int8 TFLite.

For when post-training full-integer quantization loses accuracy: the float classifier is
re-expressed as a Functional Keras graph over its *own* layers (tfmot only rewrites Functional /
Sequential models), each layer is annotated with a `QuantizeConfig` that fake-quantizes its weights
and output, and a copy of the model is fine-tuned briefly so its weights learn to live with int8
rounding while moving-average ranges settle. The converter reads those ranges from the
FakeQuant ops (checked: the LayerNorm-output and logits scales in the .tflite are the trained
ones) and calibrates only the tensors inside our layers that carry none.

What is fake-quantized (tfmot `QuantizeWrapperV2`, 8 bit, per tensor):

| layer                    | weights (LastValue, symmetric)                   | output (MovingAverage) |
|--------------------------|--------------------------------------------------|------------------------|
| `AlbertEmbeddings`       | word table, word_embeddings_2, position, type    | after LayerNorm        |
| `AlbertTransformerLayer` | query, key, value, output, intermediate, ffn_out | after LayerNorm        |
| pooler, projection Dense | tfmot's default Dense config                     | tfmot default          |
| `ClassifierHead`         | output_weights                                   | logits                 |

Tensors inside a layer (attention scores, softmax, GELU, the LayerNorm pieces) carry no FakeQuant;
the converter calibrates those on the same real sentence pairs as the post-training variants.

The result is full-integer, like `int8_full` (every op int8; int32 ids in, float logits out):
QAT's use is the integer-only target, where post-training quantization hurts most. On CPUs the
mixed `int8` variant (float LayerNorm / softmax, see `variants.py`) is faster. The `qat` entry in
`variants.py` runs `finetune_for_export` before freezing and converts the result full-integer.

The shared ALBERT transformer layer is one wrapped layer called `num_hidden_layers` times, so its
weights (and its output range) stay shared — one copy in the .tflite, as in the float model.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tf_keras as keras

from albert_edge.modeling import (INPUT_NAMES, AlbertClassifier, AlbertEmbeddings, AlbertTransformerLayer,
                                  ClassifierHead, attention_bias_from_mask)

logger = logging.getLogger(__name__)

DEFAULT_STEPS = 300
DEFAULT_LEARNING_RATE = 1e-5
DEFAULT_BATCH_SIZE = 16
DEFAULT_SEQ_LEN = 64


class QatError(RuntimeError):
    """QAT cannot run on these inputs; the message says why and what to do."""


def _tfmot():
    try:
        import tensorflow_model_optimization as tfmot
    except ImportError as err:  # pragma: no cover - installed with the package's [export] extra
        raise QatError("the qat variant needs tensorflow-model-optimization "
                       "(pip install tensorflow-model-optimization)") from err
    return tfmot


# ------------------------------------------------------------------------------ quantize configs
def _get_path(layer, path: str):
    for part in path.split("."):
        layer = getattr(layer, part)
    return layer


def _set_path(layer, path: str, value) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        layer = getattr(layer, part)
    setattr(layer, leaf, value)


_CLASSES: Dict[str, type] = {}


def _make_config_class():
    """QuantizeConfig for our custom layers: weights named by attribute path, one output quantizer.

    Built lazily (once) so that importing this module does not import tfmot: the other variants
    do not need it.
    """
    if "config" not in _CLASSES:
        _CLASSES["config"] = _define_config_class()
    return _CLASSES["config"]


def _scheme():
    """tfmot's default 8-bit scheme without its layout transforms.

    Those transforms fold Conv/BatchNorm patterns (none here) and put a QuantizeLayer after every
    InputLayer; their graph rewriter also cannot rebuild layers called with a tensor keyword
    argument (`segment_ids=`, `attention_bias=`). The registry — tfmot's Dense rules — is kept.
    """
    tfmot = _tfmot()
    keras_q = tfmot.quantization.keras

    class _KeepLayout(keras_q.QuantizeLayoutTransform):
        def apply(self, model, layer_quantize_map):
            return model, layer_quantize_map

    class _AlbertScheme(keras_q.default_8bit.Default8BitQuantizeScheme):
        def get_layout_transformer(self):
            return _KeepLayout()

    return _AlbertScheme()


def _define_config_class():
    tfmot = _tfmot()
    quantizers = tfmot.quantization.keras.quantizers

    class NamedLastValueQuantizer(quantizers.LastValueQuantizer):
        """LastValue quantizer whose range variables are named after the weight's attribute path.

        tfmot names them after the variable's last name component, and the six dense kernels of
        a transformer layer are all `kernel`: same-named variables would overwrite each other in
        the SavedModel's checkpoint.
        """

        def __init__(self, name_prefix: str = "", **kwargs):
            super().__init__(**kwargs)
            self.name_prefix = name_prefix

        def build(self, tensor_shape, name, layer):
            return super().build(tensor_shape, self.name_prefix or name, layer)

        def get_config(self):
            return {**super().get_config(), "name_prefix": self.name_prefix}

    class AlbertQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        """Fake-quantize the weights at `weight_paths` (e.g. `attention.query.kernel`) and the output.

        Weights use LastValue symmetric narrow-range quantizers (TFLite's int8 weight scheme);
        the output a MovingAverage asymmetric one (TFLite's int8 activation scheme).
        """

        def __init__(self, weight_paths: Sequence[str] = (), quantize_output: bool = True):
            self.weight_paths = tuple(weight_paths)
            self.quantize_output = quantize_output

        def get_weights_and_quantizers(self, layer):
            return [(_get_path(layer, p),
                     NamedLastValueQuantizer(name_prefix=p.replace(".", "_"), num_bits=8, symmetric=True,
                                             narrow_range=True, per_axis=False))
                    for p in self.weight_paths]

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            # The wrapper hands fake-quantized tensors; the layer's call reads them in place of the
            # variables (tfmot's Default8BitQuantizeConfig does the same for `Dense.kernel`).
            for path, weight in zip(self.weight_paths, quantize_weights):
                _set_path(layer, path, weight)

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            if not self.quantize_output:
                return []
            return [quantizers.MovingAverageQuantizer(num_bits=8, symmetric=False, narrow_range=False,
                                                      per_axis=False)]

        def get_config(self):
            return {"weight_paths": list(self.weight_paths), "quantize_output": self.quantize_output}

    AlbertQuantizeConfig.quantizer_class = NamedLastValueQuantizer
    return AlbertQuantizeConfig


def _weight_paths(layer) -> List[str]:
    """Attribute paths of the matmul weights / embedding tables each custom layer owns."""
    if isinstance(layer, AlbertEmbeddings):
        paths = ["word_embeddings", "position_embeddings", "token_type_embeddings"]
        if layer.config.layout == "brightmart":
            paths.append("word_projection")
        return paths
    if isinstance(layer, AlbertTransformerLayer):
        dense = [f"attention.{d}" for d in ("query", "key", "value", "output_dense")] + ["intermediate", "ffn_output"]
        return [f"{d}.kernel" for d in dense]
    if isinstance(layer, ClassifierHead):
        return ["output_weights"]
    raise QatError(f"no QAT quantize config for layer {type(layer).__name__}")


# tfmot's wrapper sizes a layer's output quantizer with `compute_output_shape(input_shape)`, which
# Keras cannot infer for layers taking a second tensor (segment ids, attention bias). These
# subclasses add only that shape rule; `quantize_apply` rebuilds the graph through them (see
# `custom_objects`), so the float model's classes stay untouched.
class _QatEmbeddings(AlbertEmbeddings):
    def compute_output_shape(self, input_shape):
        # input_ids [batch, seq] -> [batch, seq, width]
        c = self.config
        width = c.hidden_size if c.layout == "brightmart" else c.embedding_size
        return tf.TensorShape(input_shape).concatenate([width])


class _QatTransformerLayer(AlbertTransformerLayer):
    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)                                  # [batch, seq, H]


class _QatClassifierHead(ClassifierHead):
    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)[:-1].concatenate([self.num_classes])   # [batch, labels]


def custom_objects() -> Dict[str, type]:
    """What `quantize_apply` needs to rebuild the annotated graph from its config."""
    config_cls = _make_config_class()
    return {"AlbertEmbeddings": _QatEmbeddings, "AlbertTransformerLayer": _QatTransformerLayer,
            "ClassifierHead": _QatClassifierHead, "AlbertQuantizeConfig": config_cls,
            "NamedLastValueQuantizer": config_cls.quantizer_class}


# ------------------------------------------------------------------------------ functional graph
def functional_classifier(model: AlbertClassifier, annotate: bool = True) -> keras.Model:
    """The classifier as a Functional graph over its own (weight-sharing) layers.

    Mirrors `AlbertEncoder.call` + `AlbertClassifier.call`; `test_qat` checks the logits match.
    Inputs are a dict of int32 [batch, seq] tensors (any seq), output logits [batch, num_labels].
    """
    if not isinstance(model, AlbertClassifier):
        raise QatError(f"QAT supports the classifier head only, got {type(model).__name__}")
    tfmot = _tfmot()
    config_cls = _make_config_class()
    c = model.config
    encoder = model.encoder

    def wrap(layer, custom: bool = True):
        if not annotate:
            return layer
        cfg = config_cls(_weight_paths(layer)) if custom else None
        return tfmot.quantization.keras.quantize_annotate_layer(layer, quantize_config=cfg)

    inputs = {name: keras.Input([None], dtype=tf.int32, name=name) for name in INPUT_NAMES}
    bias = attention_bias_from_mask(inputs["input_mask"])                    # [batch, 1, 1, seq]
    x = wrap(encoder.embeddings)(inputs["input_ids"], segment_ids=inputs["segment_ids"])  # [batch, seq, E|H]
    if c.layout == "google":
        x = wrap(encoder.embedding_projection, custom=False)(x)              # [batch, seq, H]
    wrapped_groups = [[wrap(layer) for layer in group] for group in encoder.groups]
    for layer_index in range(c.num_hidden_layers):
        for layer in wrapped_groups[layer_index * c.num_hidden_groups // c.num_hidden_layers]:
            x = layer(x, attention_bias=bias)                                # [batch, seq, H]
    pooled = wrap(encoder.pooler, custom=False)(x[:, 0])                    # [batch, H]
    logits = wrap(model.classifier)(pooled)                                 # [batch, num_labels]
    return keras.Model(inputs=inputs, outputs=logits, name="albert_classifier_qat")


def quantize_model(model: AlbertClassifier) -> keras.Model:
    """Float classifier → tfmot QAT model (FakeQuant on weights and layer outputs), same weights."""
    tfmot = _tfmot()
    annotated = functional_classifier(model, annotate=True)
    with tfmot.quantization.keras.quantize_scope(custom_objects()):
        try:
            return tfmot.quantization.keras.quantize_apply(annotated, scheme=_scheme())
        except (ValueError, TypeError, RuntimeError) as err:
            raise QatError(f"tensorflow-model-optimization could not quantize the model: {err}") from err


# ------------------------------------------------------------------------------ fine-tuning
def encode_examples(examples, tokenizer, seq_len: int, labels: Sequence[str]) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """Labelled pairs → ({input: int32 [N, seq_len]}, int32 label ids [N])."""
    from albert_edge.data.tasks import label_ids
    label_index = np.asarray(label_ids(examples, labels), np.int32)
    encodings = [tokenizer.encode(e.text_a, e.text_b, max_seq_len=seq_len) for e in examples]
    features = {name: np.asarray([getattr(e, name) for e in encodings], np.int32) for name in INPUT_NAMES}
    return features, label_index


def quantize_aware_finetune(model: AlbertClassifier, examples, tokenizer, seq_len: int = DEFAULT_SEQ_LEN,
                            steps: int = DEFAULT_STEPS, learning_rate: float = DEFAULT_LEARNING_RATE,
                            labels: Sequence[str] = ("0", "1"), batch_size: int = DEFAULT_BATCH_SIZE,
                            seed: int = 0) -> keras.Model:
    """Wrap `model` for QAT and fine-tune it for `steps` steps on labelled pairs.

    A small learning rate (1e-5) only nudges the weights onto the int8 grid while the moving-average
    ranges settle; it is not meant to change what the model has learned. `steps=0` updates no
    weight: one training-mode pass over the pairs only sets the activation ranges.
    `model` itself is left untouched (tfmot works on a copy). Returns the QAT Keras model
    (Functional; dict of int32 [batch, seq] inputs → logits [batch, num_labels]).
    """
    if steps < 0:
        raise QatError(f"--qat-steps must be ≥ 0, got {steps}")
    if not examples:
        raise QatError("QAT needs labelled training pairs (--qat-train FILE); the file has none")
    features, y = encode_examples(examples, tokenizer, seq_len, labels)   # [N, seq_len] each, [N]
    qat_model = quantize_model(model)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    n = len(y)
    batch_size = min(batch_size, n)

    @tf.function(reduce_retracing=True)
    def train_step(batch, labels_batch):
        with tf.GradientTape() as tape:
            logits = qat_model(batch, training=True)                          # [B, num_labels]
            loss = loss_fn(labels_batch, logits)
        grads = tape.gradient(loss, qat_model.trainable_variables)
        optimizer.apply_gradients(zip(grads, qat_model.trainable_variables))
        return loss

    @tf.function(reduce_retracing=True)
    def observe_step(batch):
        qat_model(batch, training=True)   # updates the moving-average ranges only

    rng = np.random.default_rng(seed)
    tf.random.set_seed(seed)
    order, position, losses = rng.permutation(n), 0, []
    total = steps if steps > 0 else (n + batch_size - 1) // batch_size
    for step in range(total):
        if position + batch_size > n:
            order, position = rng.permutation(n), 0
        index = order[position:position + batch_size]
        position += batch_size
        batch = {k: tf.constant(v[index]) for k, v in features.items()}   # [B, seq_len] each
        if steps == 0:
            observe_step(batch)
            continue
        losses.append(float(train_step(batch, tf.constant(y[index]))))
        if (step + 1) % 50 == 0 or step + 1 == total:
            logger.info("qat step %d/%d loss %.4f", step + 1, total, float(np.mean(losses[-50:])))
    return qat_model


# ------------------------------------------------------------------------------ export
def finetune_for_export(model: AlbertClassifier, inputs, train_path: Path) -> keras.Model:
    """The `qat` variant's model transform (`variants.py`): fake-quant fine-tune a copy of `model` on
    the labelled examples in `train_path`. The export freezes the result as its own SavedModel and
    converts it full-integer; calibration fills the ranges of tensors that carry no FakeQuant.

    `inputs` is a `variants.TransformInputs`. Bad training data or a model tfmot cannot wrap is a
    `VariantInputError` (the export's exit 2).
    """
    from albert_edge.data.tasks import DataError
    from albert_edge.export.variants import VariantInputError
    examples = inputs.read_examples(train_path)
    try:
        inputs.task.label_ids(examples, inputs.labels)
    except DataError as err:
        raise VariantInputError(f"--qat-train {train_path}: {err}") from None
    # Pairs are ~20–40 tokens: fine-tuning at ≤ 64 tokens sees them whole at half the cost of 128.
    train_len = min(max(inputs.seq_lens), DEFAULT_SEQ_LEN)
    options = inputs.options
    try:
        return quantize_aware_finetune(model, examples, inputs.tokenizer, seq_len=train_len, steps=options.qat_steps,
                                       learning_rate=options.qat_learning_rate, labels=inputs.labels)
    except QatError as err:
        raise VariantInputError(str(err)) from None
