"""One way to get class logits for sentence pairs, from a .tflite or from a checkpoint.

`load_classifier(path)` returns a `.tflite`-backed classifier (length buckets through
`albert_edge.runtime`) or a TF-backed one (an albert_zh / albert_edge checkpoint folder with its
config and `labels.txt`), both with `.labels` and `.logits(pairs)`. `evaluate` and `similarity`
build on it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from albert_edge.runtime import softmax  # noqa: F401 — re-exported for callers of this module
from albert_edge.tokenization import FullTokenizer, needed_length, pick_seq_len

Pair = Tuple[str, Optional[str]]
DEFAULT_LABELS = ["0", "1"]


def read_labels(folder: Path) -> List[str]:
    path = folder / "labels.txt"
    if path.is_file():
        return [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    return list(DEFAULT_LABELS)


class TFLiteClassifier:
    def __init__(self, path: str | os.PathLike, num_threads: int = 1, seq_len: Optional[int] = None):
        from albert_edge.runtime import TFLiteModel
        self.model = TFLiteModel(path, num_threads=num_threads)
        self.seq_len = seq_len
        self.labels = self.model.labels or list(DEFAULT_LABELS)
        self.tokenizer = self.model.tokenizer

    def logits(self, pairs: Sequence[Pair]) -> np.ndarray:
        return np.stack([self.model.logits(a, b, self.seq_len) for a, b in pairs])


class CheckpointClassifier:
    """TF inference of a checkpoint; pairs grouped by length bucket (32/64/128) and batched."""

    def __init__(self, path: str | os.PathLike, seq_len: Optional[int] = None, batch_size: int = 64,
                 config_file: Optional[str] = None):
        from albert_edge import checkpoint as ck
        from albert_edge.config import AlbertConfig
        from albert_edge.modeling import AlbertClassifier
        folder = Path(path) if os.path.isdir(path) else Path(path).parent
        config = AlbertConfig.from_json_file(config_file) if config_file else ck.config_for_checkpoint(path)
        if config is None:
            raise ck.CheckpointError(f"no albert_config*.json beside {path}: put the model's config there, "
                                     "or pass --config path/to/albert_config.json")
        self.labels = read_labels(folder)
        self.model = AlbertClassifier(config, num_labels=len(self.labels), dropout_prob=0.0).build_weights()
        ck.load_weights(self.model, path, require_heads=("classifier/",))
        self.tokenizer = FullTokenizer()
        self.seq_lens = [seq_len] if seq_len else [L for L in (32, 64, 128) if L <= config.max_position_embeddings]
        self.batch_size = batch_size

    def logits(self, pairs: Sequence[Pair]) -> np.ndarray:
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

