"""Verify: the evidence beside each exported variant.

Per variant: file size, max |Δlogit| against the TF model on real pairs at every exported length,
accuracy and agreement with TF on an evaluation file (each pair run at its length bucket, as the
app runs it), and host latency p50/p90 at 1 and 2 threads through LiteRT.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from albert_edge.export import variants
from albert_edge.runtime import TFLiteModel
from albert_edge.tokenization import Encoding, needed_length, pick_seq_len

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class EvalSet:
    """Evaluation pairs encoded at their length bucket; `labels` may be None (parity only)."""
    encodings: List[Encoding]
    seq_lens: List[int]
    labels: Optional[np.ndarray]


def bucket_encodings(tokenizer, pairs: Sequence[tuple], seq_lens: Sequence[int]) -> tuple[List[Encoding], List[int]]:
    encodings, lengths = [], []
    for a, b in pairs:
        ta, tb = tokenizer.tokenize(a), (None if b is None else tokenizer.tokenize(b))
        L = pick_seq_len(needed_length(ta, tb), seq_lens)
        encodings.append(tokenizer.encode(a, b, max_seq_len=L))
        lengths.append(L)
    return encodings, lengths


def tf_logits(model, encodings: Sequence[Encoding], batch_size: int = 64) -> np.ndarray:
    """Logits of the TF model for encodings of one common length."""
    out = []
    for start in range(0, len(encodings), batch_size):
        chunk = encodings[start:start + batch_size]
        feeds = {name: tf.constant([getattr(e, name) for e in chunk], tf.int32)
                 for name in ("input_ids", "input_mask", "segment_ids")}
        out.append(model(feeds, training=False).numpy())
    return np.concatenate(out, axis=0)


def tf_logits_bucketed(model, eval_set: EvalSet) -> np.ndarray:
    logits = np.zeros((len(eval_set.encodings), model.num_labels), np.float32)
    for L in sorted(set(eval_set.seq_lens)):
        idx = [i for i, n in enumerate(eval_set.seq_lens) if n == L]
        logits[idx] = tf_logits(model, [eval_set.encodings[i] for i in idx])
    return logits


def tflite_logits(runtime: TFLiteModel, encodings: Sequence[Encoding], seq_lens: Sequence[int]) -> np.ndarray:
    rows = []
    for enc, L in zip(encodings, seq_lens):
        outputs = runtime.run(enc, L)
        rows.append(np.asarray(outputs["logits"], np.float32)[0])
    return np.stack(rows)


def measure_latency(path: Path, seq_lens: Sequence[int], encodings_by_len: Dict[int, Encoding],
                    threads: Sequence[int], runs: int, warmup: int = 3) -> Dict[str, dict]:
    """{"t1": {"L32": {"p50_ms", "p90_ms"}, …}, …} through LiteRT with real inputs."""
    result: Dict[str, dict] = {}
    for n in threads:
        runtime = TFLiteModel(path, num_threads=n)
        per_len = {}
        for L in seq_lens:
            enc = encodings_by_len[L]
            for _ in range(warmup):
                runtime.run(enc, L)
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                runtime.run(enc, L)
                times.append((time.perf_counter() - start) * 1000.0)
            per_len[f"L{L}"] = {"p50_ms": round(float(np.percentile(times, 50)), 3),
                                "p90_ms": round(float(np.percentile(times, 90)), 3)}
        result[f"t{n}"] = per_len
    return result


def verify_variant(path: Path, variant: str, *, parity_sets: Dict[int, List[Encoding]],
                   parity_reference: Dict[int, np.ndarray], eval_set: Optional[EvalSet],
                   eval_reference: Optional[np.ndarray], threads: Sequence[int], latency_runs: int) -> dict:
    runtime = TFLiteModel(path, num_threads=1)
    max_delta, finite = 0.0, True
    for L, encodings in parity_sets.items():
        lite = tflite_logits(runtime, encodings, [L] * len(encodings))
        finite = finite and all_finite(lite, parity_reference[L])
        max_delta = max(max_delta, float(np.max(np.abs(lite - parity_reference[L]))))
    record = {"variant": variant, "file": path.name, "size_mb": round(path.stat().st_size / 1e6, 3),
              "max_abs_logit_delta": max_delta}
    if eval_set is not None:
        lite = tflite_logits(runtime, eval_set.encodings, eval_set.seq_lens)
        finite = finite and all_finite(lite, eval_reference)
        pred = lite.argmax(-1)
        record["agreement_with_tf"] = round(float(np.mean(pred == eval_reference.argmax(-1))), 4)
        record["n_eval"] = len(pred)
        if eval_set.labels is not None:
            record["accuracy"] = round(float(np.mean(pred == eval_set.labels)), 4)
    record["finite_outputs"] = finite
    examples = {L: encs[0] for L, encs in parity_sets.items()}
    record["latency_ms"] = measure_latency(path, sorted(parity_sets), examples, threads, latency_runs)
    return record


def all_finite(*arrays) -> bool:
    """No NaN or inf in any of `arrays` (None skipped). Why a gate of its own: `max(0.0, nan)` is 0.0
    and every comparison with NaN is False, so a NaN model would pass the parity and accuracy gates."""
    return all(bool(np.isfinite(a).all()) for a in arrays if a is not None)


def check_gates(records: Sequence[dict], tf_accuracy: Optional[float], max_accuracy_drop: float,
                apply_accuracy_gate: bool = True) -> List[str]:
    """Failures: a variant's logits further from TF than its `max_logit_delta` (fp32: 1e-4), or an
    `accuracy_gated` variant losing more than the allowed points against the reference (fp32)."""
    failures = []
    for r in records:
        if r.get("finite_outputs") is False:
            failures.append(f"{r['variant']} finite outputs: NaN or inf in the logits (the checkpoint's weights "
                            "are broken, e.g. by a diverged training)")
        limit = variants.get(r["variant"]).max_logit_delta
        if limit is not None and r["max_abs_logit_delta"] > limit:
            failures.append(f"{r['variant']} parity: max |Δlogit| {r['max_abs_logit_delta']:.2e} > {limit:.0e}")
    reference = next((r for r in records if r["variant"] == variants.REFERENCE and "accuracy" in r), None)
    baseline = reference["accuracy"] if reference else tf_accuracy
    if apply_accuracy_gate and baseline is not None:
        for r in records:
            if variants.get(r["variant"]).accuracy_gated and "accuracy" in r:
                drop = (baseline - r["accuracy"]) * 100.0
                r["accuracy_drop_points"] = round(drop, 2)
                if drop > max_accuracy_drop:
                    failures.append(f"{r['variant']}: accuracy {r['accuracy']:.4f} is {drop:.2f} points below "
                                    f"{variants.REFERENCE} {baseline:.4f} (allowed {max_accuracy_drop}); "
                                    "try --variants qat or int16x8")
    return failures
