"""One way to get class logits for sentence pairs, from a .tflite or from a checkpoint.

`load_classifier(path)` returns a `.tflite`-backed classifier (length buckets through
`albert_edge.runtime`) or a TF-backed one (any checkpoint `albert_edge.model_dir.ModelDir` reads:
albert_zh TF1 or Hugging Face, with its config, labels and task), both with `.labels`, `.task` and
`.logits(pairs)` — a pair is (text, None) for a single-sentence task. `evaluate` and `similarity`
build on it.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple

import numpy as np

from albert_edge import tasks
from albert_edge.model_dir import ModelDir
from albert_edge.runtime import log_probabilities, mean_of_orders, softmax  # noqa: F401 — softmax re-exported for callers
from albert_edge.tokenization import needed_length, pick_seq_len

Pair = Tuple[str, Optional[str]]


class NonFiniteOutput(ValueError):
    """The model's outputs are NaN or infinite (weights broken by a diverged training): exit 2."""


def finite_logits(logits: np.ndarray, path) -> np.ndarray:
    """`logits`, or NonFiniteOutput: a model whose outputs are not numbers must never print a score."""
    bad = ~np.isfinite(logits)
    if bad.any():
        rows = int(bad.any(axis=-1).sum())
        raise NonFiniteOutput(f"{path}: the model's outputs are not finite (NaN or inf for {rows} of "
                              f"{len(logits)} inputs): its weights are broken, e.g. by a training whose "
                              f"loss diverged; retrain it (lower --learning-rate) or use another model")
    return logits


class TFLiteClassifier:
    def __init__(self, path: str | os.PathLike, num_threads: int = 1, seq_len: Optional[int] = None):
        from albert_edge.runtime import TFLiteModel
        self.model = TFLiteModel(path, num_threads=num_threads)
        self.path = path
        self.seq_len = seq_len
        meta = self.model.metadata
        self.task = tasks.get(meta["task"]) if meta.get("task") else tasks.infer(self.model.labels, meta.get("head", "classifier"))
        self.labels = self.model.labels or self.task.labels()
        self.tokenizer = self.model.tokenizer

    def logits(self, pairs: Sequence[Pair]) -> np.ndarray:
        """[N, num_labels]; for a symmetric task (pairs) the mean of both orders (the runtime's rule)."""
        return finite_logits(np.stack([self.model.logits(a, b, self.seq_len) for a, b in pairs]), self.path)

    def one_order_logits(self, pairs: Sequence[Pair]) -> np.ndarray:
        """[N, num_labels] of each pair in the order given: what the network alone computes."""
        return np.stack([self.model.one_order_logits(a, b, self.seq_len) for a, b in pairs])


class CheckpointClassifier:
    """TF inference of a checkpoint; pairs grouped by length bucket (32/64/128) and batched."""

    def __init__(self, path: str | os.PathLike, seq_len: Optional[int] = None, batch_size: int = 64,
                 config_file: Optional[str] = None):
        model_dir = ModelDir.load(path, config_file)
        self.task = model_dir.task
        self.labels = model_dir.labels
        self.model = model_dir.build_model(head="classifier")
        self.tokenizer = model_dir.tokenizer()
        max_len = model_dir.config.max_position_embeddings
        if seq_len is not None and seq_len > max_len:
            raise ValueError(f"--seq-len {seq_len} is beyond the model's {max_len} positions "
                             f"(max_position_embeddings of {path}): give at most {max_len}")
        self.path = path
        self.seq_lens = [seq_len] if seq_len else [L for L in (32, 64, 128) if L <= max_len]
        self.batch_size = batch_size

    def logits(self, pairs: Sequence[Pair]) -> np.ndarray:
        """[N, num_labels]; for a symmetric task (pairs) the mean of both orders, as the runtime gives."""
        if self.task.symmetric and pairs and all(b is not None for _, b in pairs):
            both = finite_logits(self.one_order_logits(list(pairs) + [(b, a) for a, b in pairs]), self.path)
            return log_probabilities(mean_of_orders(softmax(both[:len(pairs)]), softmax(both[len(pairs):])))
        return finite_logits(self.one_order_logits(pairs), self.path)

    def one_order_logits(self, pairs: Sequence[Pair]) -> np.ndarray:
        import tensorflow as tf
        buckets: dict = {}
        for i, (a, b) in enumerate(pairs):
            ta, tb = self.tokenizer.tokenize(a), (None if b is None else self.tokenizer.tokenize(b))
            buckets.setdefault(pick_seq_len(needed_length(ta, tb), self.seq_lens), []).append(i)
        out = np.zeros((len(pairs), len(self.labels)), np.float32)
        for L, indices in buckets.items():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                encs = [self.tokenizer.encode(pairs[i][0], pairs[i][1], max_seq_len=L) for i in chunk]
                feeds = {n: tf.constant([getattr(e, n) for e in encs], tf.int32)
                         for n in ("input_ids", "input_mask", "segment_ids")}
                out[chunk] = self.model(feeds, training=False).numpy()
        return out


def load_classifier(path: str | os.PathLike, num_threads: int = 1, seq_len: Optional[int] = None,
                    config_file: Optional[str] = None):
    """A classifier for a `.tflite` file or a checkpoint folder/prefix (`config_file` for a
    checkpoint without its albert_config.json beside it)."""
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"threads must be a positive integer, got {num_threads!r}")
    if seq_len is not None and (not isinstance(seq_len, int) or seq_len < 1):
        raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
    if str(path).endswith(".tflite"):
        return TFLiteClassifier(path, num_threads=num_threads, seq_len=seq_len)
    return CheckpointClassifier(path, seq_len=seq_len, config_file=config_file)

