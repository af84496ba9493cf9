"""Inference-only ALBERT classifier graph, shaped for TFLite / XNNPACK.

Why a second forward pass: the Keras model (`albert_edge.modeling`) is the training and checkpoint
contract — canonical weight names, albert_zh parity — and must not change for the runtime's sake.
The export only needs `logits = f(input_ids, input_mask, segment_ids)`, so `freeze` traces this
graph instead, from *copies* of the same weights, re-laid-out once at freeze time:

* **[CLS]-only last layer** — the classifier reads only position 0 of the last layer. Its K and V
  are needed for every token, but its query, attention output, LayerNorms and feed-forward only for
  [CLS]: ≈ 19% fewer matmul FLOPs at every length for ALBERT-tiny (4 layers; `executed_flops`).
  Exact: the same arithmetic, minus rows nobody reads.
* **fused QKV** — one FULLY_CONNECTED [H → 3H] instead of three [H → H] (bigger N runs XNNPACK's
  faster 6×16 GEMM tile), one Reshape + one Transpose instead of three of each.
* **1/√d folded into the query weights** — no MUL over the [heads, L, L] scores.
* **2-D token stream** — activations are [B·L, H] between attention blocks, so every dense layer is a
  plain 2-D FULLY_CONNECTED and LayerNorm runs on rows; 4-D shapes exist only inside attention.
* **LayerNorm** as mean / centred square / rsqrt (9 elementwise builtins XNNPACK runs, fp32 and in the
  float islands of the int8 variant); GELU stays TFLite's builtin GELU.

Parity with the Keras model is checked by the export's fp32 gate (≤ 1e-4) and by tests.
"""
from __future__ import annotations

import math
from typing import Dict, List

import numpy as np
import tensorflow as tf

from albert_edge.modeling import AlbertClassifier, get_activation


def supports(model) -> bool:
    """True for plain `AlbertClassifier` models (not QAT-wrapped Functional copies, not MLM)."""
    return isinstance(model, AlbertClassifier)


class FusedAlbertClassifier(tf.Module):
    """Frozen-at-export inference copy of an `AlbertClassifier` (batch ≥ 1, any fixed length)."""

    def __init__(self, model: AlbertClassifier, name: str = "fused_classifier"):
        super().__init__(name=name)
        c = model.config
        self.config = c
        w = {k: v.numpy() for k, v in model.weight_map().items()}
        var = lambda value, n: tf.Variable(np.asarray(value, np.float32), trainable=False, name=n)  # noqa: E731
        self.word_embeddings = var(w["embeddings/word_embeddings"], "word_embeddings")            # [V, E]
        self.brightmart = c.layout == "brightmart"
        if self.brightmart:
            self.embedding_kernel = var(w["embeddings/word_projection"], "word_projection")        # [E, H]
        else:
            self.embedding_kernel = var(w["encoder/embedding_projection/kernel"], "embedding_projection")
            self.embedding_bias = var(w["encoder/embedding_projection/bias"], "embedding_projection_bias")
        self.position_embeddings = var(w["embeddings/position_embeddings"], "position_embeddings")  # [P, W]
        self.token_type_embeddings = var(w["embeddings/token_type_embeddings"], "token_type_embeddings")
        self.embedding_ln = (var(w["embeddings/LayerNorm/gamma"], "emb_ln_gamma"),
                             var(w["embeddings/LayerNorm/beta"], "emb_ln_beta"))
        scale = 1.0 / math.sqrt(c.head_size)
        self.layers: List[Dict[str, tf.Variable]] = []
        for g in range(c.num_hidden_groups):
            for i in range(c.inner_group_num):
                p = f"encoder/group_{g}/inner_{i}"
                a = f"{p}/attention"
                qkv_kernel = np.concatenate([w[f"{a}/query/kernel"] * scale, w[f"{a}/key/kernel"],
                                             w[f"{a}/value/kernel"]], axis=1)                     # [H, 3H]
                qkv_bias = np.concatenate([w[f"{a}/query/bias"] * scale, w[f"{a}/key/bias"], w[f"{a}/value/bias"]])
                n = f"g{g}_i{i}"
                self.layers.append({
                    "qkv_kernel": var(qkv_kernel, f"{n}_qkv_kernel"), "qkv_bias": var(qkv_bias, f"{n}_qkv_bias"),
                    "out_kernel": var(w[f"{a}/output/kernel"], f"{n}_out_kernel"),
                    "out_bias": var(w[f"{a}/output/bias"], f"{n}_out_bias"),
                    "attn_gamma": var(w[f"{a}/LayerNorm/gamma"], f"{n}_attn_gamma"),
                    "attn_beta": var(w[f"{a}/LayerNorm/beta"], f"{n}_attn_beta"),
                    "ffn_in_kernel": var(w[f"{p}/ffn/intermediate/kernel"], f"{n}_ffn_in_kernel"),
                    "ffn_in_bias": var(w[f"{p}/ffn/intermediate/bias"], f"{n}_ffn_in_bias"),
                    "ffn_out_kernel": var(w[f"{p}/ffn/output/kernel"], f"{n}_ffn_out_kernel"),
                    "ffn_out_bias": var(w[f"{p}/ffn/output/bias"], f"{n}_ffn_out_bias"),
                    "ffn_gamma": var(w[f"{p}/ffn/LayerNorm/gamma"], f"{n}_ffn_gamma"),
                    "ffn_beta": var(w[f"{p}/ffn/LayerNorm/beta"], f"{n}_ffn_beta"),
                })
        self.pooler_kernel = var(w["pooler/kernel"], "pooler_kernel")                               # [H, H]
        self.pooler_bias = var(w["pooler/bias"], "pooler_bias")
        self.classifier_kernel = var(w["classifier/output_weights"].T, "classifier_kernel")         # [H, C]
        self.classifier_bias = var(w["classifier/output_bias"], "classifier_bias")
        self._act = get_activation(c.hidden_act)

    # ------------------------------------------------------------------ pieces
    def _ln(self, x: tf.Tensor, gamma: tf.Variable, beta: tf.Variable) -> tf.Tensor:
        # x: [rows, W] → [rows, W]
        mean = tf.reduce_mean(x, axis=-1, keepdims=True)                    # [rows, 1]
        centred = x - mean
        var = tf.reduce_mean(centred * centred, axis=-1, keepdims=True)    # [rows, 1]
        # γ multiplies the [rows, 1] inverse deviation first: written as (x̂·γ)+β, the converter would
        # fold γ and β into the next FULLY_CONNECTED and store one more copy of its weights per LayerNorm.
        return centred * (tf.math.rsqrt(var + self.config.layer_norm_eps) * gamma) + beta

    def _heads(self, x: tf.Tensor, batch: tf.Tensor, seq_len: int, parts: int) -> List[tf.Tensor]:
        # x: [B·L, parts·H] → `parts` tensors [B, N, L, D] (one Reshape, one Transpose, one Split)
        c = self.config
        x = tf.reshape(x, [batch, seq_len, parts * c.num_attention_heads, c.head_size])   # [B, L, P·N, D]
        x = tf.transpose(x, [0, 2, 1, 3])                                                 # [B, P·N, L, D]
        return tf.split(x, parts, axis=1) if parts > 1 else [x]

    def _attention(self, x: tf.Tensor, layer, bias, batch, seq_len: int, cls_only: bool) -> tf.Tensor:
        """x: [B·L, H] → attention output [B·L, H], or [B, H] for [CLS] only."""
        c = self.config
        qkv = tf.matmul(x, layer["qkv_kernel"]) + layer["qkv_bias"]                       # [B·L, 3H]
        q, k, v = self._heads(qkv, batch, seq_len, 3)                                     # [B, N, L, D] each
        if cls_only:
            q = q[:, :, :1, :]                                                            # [B, N, 1, D]
        scores = tf.matmul(q, k, transpose_b=True) + bias                                 # [B, N, L|1, L]
        probs = tf.nn.softmax(scores, axis=-1)
        context = tf.matmul(probs, v)                                                     # [B, N, L|1, D]
        if cls_only:
            context = tf.reshape(context, [batch, c.hidden_size])                         # [B, H]
        else:
            context = tf.transpose(context, [0, 2, 1, 3])                                 # [B, L, N, D]
            context = tf.reshape(context, [-1, c.hidden_size])                            # [B·L, H]
        return tf.matmul(context, layer["out_kernel"]) + layer["out_bias"]

    def _ffn(self, h: tf.Tensor, layer) -> tf.Tensor:
        inner = self._act(tf.matmul(h, layer["ffn_in_kernel"]) + layer["ffn_in_bias"])    # [rows, I]
        return tf.matmul(inner, layer["ffn_out_kernel"]) + layer["ffn_out_bias"]          # [rows, H]

    def _layer(self, x, layer, bias, batch, seq_len: int, cls_only: bool) -> tf.Tensor:
        """One transformer layer on [B·L, H]; returns [B·L, H], or [B, H] ([CLS] rows) if cls_only."""
        if self.config.ln_type == "preln":
            normed = self._ln(x, layer["attn_gamma"], layer["attn_beta"])
            residual = self._cls_rows(x, batch, seq_len) if cls_only else x
            h = residual + self._attention(normed, layer, bias, batch, seq_len, cls_only)
            return h + self._ffn(self._ln(h, layer["ffn_gamma"], layer["ffn_beta"]), layer)
        attn = self._attention(x, layer, bias, batch, seq_len, cls_only)
        residual = self._cls_rows(x, batch, seq_len) if cls_only else x
        h = self._ln(residual + attn, layer["attn_gamma"], layer["attn_beta"])
        return self._ln(h + self._ffn(h, layer), layer["ffn_gamma"], layer["ffn_beta"])

    def _cls_rows(self, x: tf.Tensor, batch, seq_len: int) -> tf.Tensor:
        # [B·L, H] → [B, H] (position 0 of each sequence)
        return tf.reshape(x, [batch, seq_len, self.config.hidden_size])[:, 0, :]

    def _schedule(self) -> List[int]:
        """Index into self.layers of each layer application, in order (groups shared as in AlbertEncoder)."""
        c = self.config
        order = []
        for layer_index in range(c.num_hidden_layers):
            g = layer_index * c.num_hidden_groups // c.num_hidden_layers
            order.extend(g * c.inner_group_num + i for i in range(c.inner_group_num))
        return order

    # ------------------------------------------------------------------ forward
    def __call__(self, input_ids: tf.Tensor, input_mask: tf.Tensor, segment_ids: tf.Tensor) -> tf.Tensor:
        """int32 [B, L] ×3 → logits [B, C]; L must be static (it is: one signature per length)."""
        seq_len = int(input_ids.shape[1])
        batch = input_ids.shape[0] or tf.shape(input_ids)[0]                             # static 1 when served
        ids = tf.reshape(tf.cast(input_ids, tf.int32), [-1])                             # [B·L]
        seg = tf.reshape(tf.cast(segment_ids, tf.int32), [-1])                           # [B·L]
        x = tf.gather(self.word_embeddings, ids)                                         # [B·L, E]
        if self.brightmart:
            x = tf.matmul(x, self.embedding_kernel)                                      # [B·L, H]
        width = int(self.position_embeddings.shape[1])
        x = x + tf.gather(self.token_type_embeddings, seg)                               # [B·L, W]
        position = self.position_embeddings[:seq_len]                                    # [L, W]
        if batch == 1:
            x = x + position
        else:
            x = tf.reshape(tf.reshape(x, [batch, seq_len, width]) + position, [-1, width])
        x = self._ln(x, *self.embedding_ln)
        if not self.brightmart:
            x = tf.matmul(x, self.embedding_kernel) + self.embedding_bias                # [B·L, H]
        mask = tf.cast(input_mask, tf.float32)[:, tf.newaxis, tf.newaxis, :]             # [B, 1, 1, L]
        bias = (1.0 - mask) * -10000.0
        schedule = self._schedule()
        for step, index in enumerate(schedule):
            x = self._layer(x, self.layers[index], bias, batch, seq_len, cls_only=step == len(schedule) - 1)
        pooled = tf.tanh(tf.matmul(x, self.pooler_kernel) + self.pooler_bias)            # [B, H]
        return tf.matmul(pooled, self.classifier_kernel) + self.classifier_bias          # [B, C]


def executed_flops(config, seq_len: int, num_labels: int = 2) -> Dict[str, int]:
    """Matmul FLOPs this graph actually runs (the [CLS]-only last layer skips most of one layer)."""
    L, E, H, I = seq_len, config.embedding_size, config.hidden_size, config.intermediate_size
    layers = config.num_hidden_layers * config.inner_group_num
    full = layers - 1
    macs = {
        "embedding_projection": L * E * H,
        "qkv_output": full * 4 * L * H * H + (3 * L * H * H + H * H),   # last: QKV for all rows, output for [CLS]
        "attention_scores": full * L * L * H + L * H,
        "attention_context": full * L * L * H + L * H,
        "ffn": full * 2 * L * H * I + 2 * H * I,
        "pooler_classifier": H * H + H * num_labels,
    }
    flops = {k: 2 * v for k, v in macs.items()}
    flops["total"] = sum(flops.values())
    return flops
