"""ALBERT in TF2 with tf_keras (Keras 2) layers, exactly as albert_zh defines it.

Layers, networks and models are kept apart (TF Model Garden style):

* layers:   `AlbertEmbeddings`, `AlbertAttention`, `AlbertTransformerLayer`
* network:  `AlbertEncoder` — embeddings + shared transformer layers + pooler
* heads:    `MaskedLMHead`, `SentenceOrderHead`, `ClassifierHead`
* models:   `AlbertForPretraining`, `AlbertClassifier`, `AlbertForMaskedLM`

Every layer knows the *canonical* name of each of its variables (`weight_map()`), e.g.
`encoder/group_0/inner_0/attention/query/kernel`. `albert_edge.checkpoint` translates canonical
names to the brightmart, Google and Hugging Face layouts through one table per layout, so the
model never knows file formats.

Two structures, chosen by `AlbertConfig.layout`:

brightmart (albert_zh `modeling.py`)::

    x = LayerNorm_H(gather(W_word[V,E], ids) @ W_word_2[E,H] + pos[H] + type[H])
    for _ in range(L): x = layer_shared(x)

google (albert_zh `modeling_google.py`, Hugging Face `AlbertModel`)::

    x = LayerNorm_E(gather(W_word[V,E], ids) + pos[E] + type[E]) @ W_in[E,H] + b_in
    for i in range(L): for j in range(inner_group_num): x = group[i * G // L].inner[j](x)

GELU is the tanh approximation, as in google-research/bert and albert_zh ("gelu" in their json);
Hugging Face calls that one "gelu_new". It lowers to TFLite's builtin GELU op.
"""
from __future__ import annotations

import math
from typing import Dict, Mapping

import tensorflow as tf
import tf_keras as keras

from albert_edge.config import AlbertConfig

INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")
WeightMap = Dict[str, tf.Variable]


def get_activation(name: str):
    """Activation by albert_zh json name. `gelu` is BERT's tanh approximation."""
    if name in ("gelu", "gelu_new"):
        return lambda x: tf.nn.gelu(x, approximate=True)
    if name == "gelu_exact":
        return lambda x: tf.nn.gelu(x, approximate=False)
    if name == "swish":
        return tf.nn.swish
    if name == "linear":
        return lambda x: x
    return getattr(tf.nn, name)


def _initializer(config: AlbertConfig) -> keras.initializers.Initializer:
    return keras.initializers.TruncatedNormal(stddev=config.initializer_range)


def _dense(units: int, config: AlbertConfig, name: str, activation=None) -> keras.layers.Dense:
    return keras.layers.Dense(units, activation=activation, kernel_initializer=_initializer(config), name=name)


def _layer_norm(config: AlbertConfig, name: str) -> keras.layers.LayerNormalization:
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


def _dense_map(prefix: str, layer: keras.layers.Dense) -> WeightMap:
    return {f"{prefix}/kernel": layer.kernel, f"{prefix}/bias": layer.bias}


def _ln_map(prefix: str, layer: keras.layers.LayerNormalization) -> WeightMap:
    return {f"{prefix}/gamma": layer.gamma, f"{prefix}/beta": layer.beta}


class _ConfigLayer(keras.layers.Layer):
    """Base: a layer built from an AlbertConfig, serialisable through get_config()."""

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config

    def get_config(self) -> dict:
        base = super().get_config()
        base["config"] = self.config.to_dict()
        return base

    @classmethod
    def from_config(cls, cfg: dict):
        cfg = dict(cfg)
        cfg["config"] = AlbertConfig.from_dict(cfg["config"])
        return cls(**cfg)


# --------------------------------------------------------------------------- layers
class AlbertEmbeddings(_ConfigLayer):
    """Word + position + token-type embeddings, factorized V×E (then E×H for brightmart)."""

    def build(self, input_shape=None) -> None:
        c = self.config
        width = c.hidden_size if c.layout == "brightmart" else c.embedding_size
        init = lambda: _initializer(c)  # noqa: E731 — a fresh initializer per weight (keras warns on reuse)
        self.word_embeddings = self.add_weight(
            name="word_embeddings", shape=[c.vocab_size, c.embedding_size], initializer=init())
        if c.layout == "brightmart":
            self.word_projection = self.add_weight(
                name="word_embeddings_2", shape=[c.embedding_size, c.hidden_size], initializer=init())
        self.position_embeddings = self.add_weight(
            name="position_embeddings", shape=[c.max_position_embeddings, width], initializer=init())
        self.token_type_embeddings = self.add_weight(
            name="token_type_embeddings", shape=[c.type_vocab_size, width], initializer=init())
        self.layer_norm = _layer_norm(c, "LayerNorm")
        self.layer_norm.build([None, None, width])
        self.dropout = keras.layers.Dropout(c.hidden_dropout_prob)
        super().build(input_shape)

    def call(self, input_ids: tf.Tensor, segment_ids: tf.Tensor, training: bool = False) -> tf.Tensor:
        # input_ids, segment_ids: [batch, seq] int32
        seq_len = tf.shape(input_ids)[1]
        x = tf.gather(self.word_embeddings, input_ids)                     # [batch, seq, E]
        if self.config.layout == "brightmart":
            x = tf.matmul(x, self.word_projection)                        # [batch, seq, H]
        x = x + tf.gather(self.token_type_embeddings, segment_ids)        # [batch, seq, W]
        x = x + self.position_embeddings[tf.newaxis, :seq_len, :]         # [1, seq, W]
        x = self.layer_norm(x)
        return self.dropout(x, training=training)

    def weight_map(self) -> WeightMap:
        m = {
            "embeddings/word_embeddings": self.word_embeddings,
            "embeddings/position_embeddings": self.position_embeddings,
            "embeddings/token_type_embeddings": self.token_type_embeddings,
            **_ln_map("embeddings/LayerNorm", self.layer_norm),
        }
        if self.config.layout == "brightmart":
            m["embeddings/word_projection"] = self.word_projection
        return m


class AlbertAttention(_ConfigLayer):
    """Multi-head self-attention with BERT's additive mask (-10000 on padded keys)."""

    def build(self, input_shape=None) -> None:
        c = self.config
        H = c.hidden_size
        self.query = _dense(H, c, "query")
        self.key = _dense(H, c, "key")
        self.value = _dense(H, c, "value")
        self.output_dense = _dense(H, c, "output")
        for d in (self.query, self.key, self.value, self.output_dense):
            d.build([None, None, H])
        self.dropout = keras.layers.Dropout(c.attention_probs_dropout_prob)
        super().build(input_shape)

    def _split_heads(self, x: tf.Tensor) -> tf.Tensor:
        # [batch, seq, H] -> [batch, heads, seq, head_size]
        c = self.config
        x = tf.reshape(x, [tf.shape(x)[0], -1, c.num_attention_heads, c.head_size])
        return tf.transpose(x, [0, 2, 1, 3])

    def call(self, x: tf.Tensor, attention_bias: tf.Tensor, training: bool = False) -> tf.Tensor:
        # x: [batch, seq, H]; attention_bias: [batch, 1, 1, seq] (0 keep, -10000 masked)
        c = self.config
        q = self._split_heads(self.query(x))                               # [batch, N, seq, D]
        k = self._split_heads(self.key(x))                                 # [batch, N, seq, D]
        v = self._split_heads(self.value(x))                               # [batch, N, seq, D]
        scores = tf.matmul(q, k, transpose_b=True) * (1.0 / math.sqrt(c.head_size))  # [batch, N, seq, seq]
        # the bias is float32; under a mixed-precision policy the scores are bf16/fp16
        probs = tf.nn.softmax(scores + tf.cast(attention_bias, scores.dtype), axis=-1)
        probs = self.dropout(probs, training=training)
        context = tf.matmul(probs, v)                                      # [batch, N, seq, D]
        context = tf.transpose(context, [0, 2, 1, 3])                      # [batch, seq, N, D]
        context = tf.reshape(context, [tf.shape(x)[0], -1, c.hidden_size])  # [batch, seq, H]
        return self.output_dense(context)

    def weight_map(self, prefix: str) -> WeightMap:
        return {**_dense_map(f"{prefix}/query", self.query), **_dense_map(f"{prefix}/key", self.key),
                **_dense_map(f"{prefix}/value", self.value),
                **_dense_map(f"{prefix}/output", self.output_dense)}


class AlbertTransformerLayer(_ConfigLayer):
    """Attention + feed-forward, post-LN (BERT) or pre-LN (albert_zh `ln_type: preln`)."""

    def build(self, input_shape=None) -> None:
        c = self.config
        H = c.hidden_size
        self.attention = AlbertAttention(c, name="attention")
        self.attention.build([None, None, H])
        self.attention_norm = _layer_norm(c, "attention_LayerNorm")
        self.attention_norm.build([None, None, H])
        self.intermediate = _dense(c.intermediate_size, c, "intermediate", activation=get_activation(c.hidden_act))
        self.intermediate.build([None, None, H])
        self.ffn_output = _dense(H, c, "ffn_output")
        self.ffn_output.build([None, None, c.intermediate_size])
        self.output_norm = _layer_norm(c, "output_LayerNorm")
        self.output_norm.build([None, None, H])
        self.dropout = keras.layers.Dropout(c.hidden_dropout_prob)
        super().build(input_shape)

    def call(self, x: tf.Tensor, attention_bias: tf.Tensor, training: bool = False) -> tf.Tensor:
        # x: [batch, seq, H]
        if self.config.ln_type == "preln":
            h = x + self.dropout(self.attention(self.attention_norm(x), attention_bias, training), training=training)
            return h + self.dropout(self.ffn_output(self.intermediate(self.output_norm(h))), training=training)
        attn = self.dropout(self.attention(x, attention_bias, training), training=training)
        h = self.attention_norm(x + attn)                                   # [batch, seq, H]
        ffn = self.dropout(self.ffn_output(self.intermediate(h)), training=training)
        return self.output_norm(h + ffn)                                    # [batch, seq, H]

    def weight_map(self, prefix: str) -> WeightMap:
        return {**self.attention.weight_map(f"{prefix}/attention"),
                **_ln_map(f"{prefix}/attention/LayerNorm", self.attention_norm),
                **_dense_map(f"{prefix}/ffn/intermediate", self.intermediate),
                **_dense_map(f"{prefix}/ffn/output", self.ffn_output),
                **_ln_map(f"{prefix}/ffn/LayerNorm", self.output_norm)}


def attention_bias_from_mask(input_mask: tf.Tensor) -> tf.Tensor:
    """[batch, seq] 1/0 mask -> [batch, 1, 1, seq] additive bias, 0 to keep and -10000 to drop."""
    mask = tf.cast(input_mask, tf.float32)[:, tf.newaxis, tf.newaxis, :]
    return (1.0 - mask) * -10000.0


# --------------------------------------------------------------------------- network
class AlbertEncoder(_ConfigLayer):
    """Embeddings → shared transformer layer(s) → (sequence_output, pooled_output)."""

    def build(self, input_shape=None) -> None:
        c = self.config
        self.embeddings = AlbertEmbeddings(c, name="embeddings")
        self.embeddings.build(None)
        if c.layout == "google":
            self.embedding_projection = _dense(c.hidden_size, c, "embedding_hidden_mapping_in")
            self.embedding_projection.build([None, None, c.embedding_size])
        self.groups = [[AlbertTransformerLayer(c, name=f"group_{g}_inner_{i}")
                        for i in range(c.inner_group_num)] for g in range(c.num_hidden_groups)]
        for group in self.groups:
            for layer in group:
                layer.build([None, None, c.hidden_size])
        self.pooler = _dense(c.hidden_size, c, "pooler", activation="tanh")
        self.pooler.build([None, c.hidden_size])
        super().build(input_shape)

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool = False):
        c = self.config
        input_ids = tf.cast(inputs["input_ids"], tf.int32)                 # [batch, seq]
        segment_ids = tf.cast(inputs["segment_ids"], tf.int32)             # [batch, seq]
        bias = attention_bias_from_mask(inputs["input_mask"])               # [batch, 1, 1, seq]
        x = self.embeddings(input_ids, segment_ids, training=training)     # [batch, seq, E or H]
        if c.layout == "google":
            x = self.embedding_projection(x)                               # [batch, seq, H]
        for layer_index in range(c.num_hidden_layers):
            group = self.groups[layer_index * c.num_hidden_groups // c.num_hidden_layers]
            for layer in group:
                x = layer(x, bias, training=training)
        pooled = self.pooler(x[:, 0])                                      # [batch, H]
        return x, pooled

    def weight_map(self) -> WeightMap:
        m = dict(self.embeddings.weight_map())
        if self.config.layout == "google":
            m.update(_dense_map("encoder/embedding_projection", self.embedding_projection))
        for g, group in enumerate(self.groups):
            for i, layer in enumerate(group):
                m.update(layer.weight_map(f"encoder/group_{g}/inner_{i}"))
        m.update(_dense_map("pooler", self.pooler))
        return m


# --------------------------------------------------------------------------- heads
class MaskedLMHead(_ConfigLayer):
    """Transform + LayerNorm, then logits against the (tied) word-embedding table + output bias.

    brightmart: transform H→H, LayerNorm(H), back to E through word_embeddings_2ᵀ (albert_zh reuses
    the projection; the reference checkpoint has no separate variable for it).
    google: transform H→E, LayerNorm(E).
    """

    def __init__(self, config: AlbertConfig, embeddings: AlbertEmbeddings, **kwargs):
        super().__init__(config, **kwargs)
        self.embeddings = embeddings

    def build(self, input_shape=None) -> None:
        c = self.config
        width = c.hidden_size if c.layout == "brightmart" else c.embedding_size
        self.transform = _dense(width, c, "transform", activation=get_activation(c.hidden_act))
        self.transform.build([None, c.hidden_size])
        self.layer_norm = _layer_norm(c, "transform_LayerNorm")
        self.layer_norm.build([None, None, width])
        self.output_bias = self.add_weight(name="output_bias", shape=[c.vocab_size], initializer="zeros")
        super().build(input_shape)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        # x: [..., H] -> logits [..., V]
        h = self.layer_norm(self.transform(x))
        if self.config.layout == "brightmart":
            h = tf.matmul(h, self.embeddings.word_projection, transpose_b=True)   # [..., E]
        return tf.matmul(h, self.embeddings.word_embeddings, transpose_b=True) + self.output_bias

    def weight_map(self) -> WeightMap:
        return {**_dense_map("mlm/transform", self.transform),
                **_ln_map("mlm/transform/LayerNorm", self.layer_norm), "mlm/output_bias": self.output_bias}


class _LogitsHead(_ConfigLayer):
    """logits = x @ Wᵀ + b with W stored [num_classes, H], as albert_zh / BERT store it."""

    prefix = "head"

    def __init__(self, config: AlbertConfig, num_classes: int, dropout_prob: float = 0.0, **kwargs):
        super().__init__(config, **kwargs)
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob

    def build(self, input_shape=None) -> None:
        self.output_weights = self.add_weight(
            name="output_weights", shape=[self.num_classes, self.config.hidden_size],
            initializer=_initializer(self.config))
        self.output_bias = self.add_weight(name="output_bias", shape=[self.num_classes], initializer="zeros")
        self.dropout = keras.layers.Dropout(self.dropout_prob)
        super().build(input_shape)

    def call(self, pooled: tf.Tensor, training: bool = False) -> tf.Tensor:
        # pooled: [batch, H] -> [batch, num_classes]
        pooled = self.dropout(pooled, training=training)
        return tf.matmul(pooled, self.output_weights, transpose_b=True) + self.output_bias

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(num_classes=self.num_classes, dropout_prob=self.dropout_prob)
        return cfg

    def weight_map(self) -> WeightMap:
        return {f"{self.prefix}/output_weights": self.output_weights,
                f"{self.prefix}/output_bias": self.output_bias}


class SentenceOrderHead(_LogitsHead):
    """Sentence-order prediction (SOP): 2 classes, 0 = in order, 1 = swapped."""

    prefix = "sop"

    def __init__(self, config: AlbertConfig, **kwargs):
        kwargs.pop("num_classes", None)
        super().__init__(config, num_classes=2, **kwargs)


class ClassifierHead(_LogitsHead):
    """Classifier on the pooled [CLS] vector (albert_zh run_classifier's output_weights/bias)."""

    prefix = "classifier"


# --------------------------------------------------------------------------- models
class _AlbertModel(keras.Model):
    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.encoder = AlbertEncoder(config, name="encoder")

    def build_weights(self, seq_len: int = 8) -> "_AlbertModel":
        """Create every variable by running one dummy batch (Keras builds lazily)."""
        self(dummy_inputs(seq_len, with_masked_positions=isinstance(self, AlbertForPretraining)))
        return self

    def weight_map(self) -> WeightMap:
        m = dict(self.encoder.weight_map())
        for head in self._heads():
            m.update(head.weight_map())
        return m

    def _heads(self):
        return []


class AlbertClassifier(_AlbertModel):
    """Sentence(-pair) classifier: encoder → pooled [CLS] → logits [batch, num_labels]."""

    def __init__(self, config: AlbertConfig, num_labels: int = 2, dropout_prob: float = 0.1, **kwargs):
        super().__init__(config, **kwargs)
        self.num_labels = num_labels
        self.classifier = ClassifierHead(config, num_labels, dropout_prob, name="classifier")

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        _, pooled = self.encoder(inputs, training=training)
        return self.classifier(pooled, training=training)

    def _heads(self):
        return [self.classifier]


def gather_positions(sequence: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
    """sequence [batch, seq, H], positions [batch, P] -> [batch, P, H]."""
    return tf.gather(sequence, tf.cast(positions, tf.int32), batch_dims=1)


class AlbertForPretraining(_AlbertModel):
    """Encoder + masked-LM head (at `masked_lm_positions`) + sentence-order head."""

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.encoder.build(None)
        self.mlm = MaskedLMHead(config, self.encoder.embeddings, name="mlm")
        self.sop = SentenceOrderHead(config, name="sop")

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> Dict[str, tf.Tensor]:
        sequence, pooled = self.encoder(inputs, training=training)        # [batch, seq, H], [batch, H]
        masked = gather_positions(sequence, inputs["masked_lm_positions"])  # [batch, P, H]
        return {"mlm_logits": self.mlm(masked), "sop_logits": self.sop(pooled, training=training)}

    def _heads(self):
        return [self.mlm, self.sop]


class AlbertForMaskedLM(_AlbertModel):
    """Encoder + masked-LM head over every position: the graph albert_zh documents for TFLite
    (`cls/predictions/...` probabilities, [batch, seq, V])."""

    def __init__(self, config: AlbertConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.encoder.build(None)
        self.mlm = MaskedLMHead(config, self.encoder.embeddings, name="mlm")
        self.sop = SentenceOrderHead(config, name="sop")   # kept so pretraining checkpoints load whole

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        sequence, pooled = self.encoder(inputs, training=training)
        self.sop(pooled)  # builds the SOP weights; the MLM graph does not use them
        return self.mlm(sequence)                                          # [batch, seq, V]

    def _heads(self):
        return [self.mlm, self.sop]


def dummy_inputs(seq_len: int = 8, batch: int = 1, with_masked_positions: bool = False) -> Dict[str, tf.Tensor]:
    inputs = {
        "input_ids": tf.ones([batch, seq_len], tf.int32),
        "input_mask": tf.ones([batch, seq_len], tf.int32),
        "segment_ids": tf.zeros([batch, seq_len], tf.int32),
    }
    if with_masked_positions:
        inputs["masked_lm_positions"] = tf.zeros([batch, 2], tf.int32)
    return inputs
