"""`python -m albert_edge.evaluate --model PATH --data FILE.tsv` — accuracy of a .tflite or checkpoint.

The last line printed is JSON: `{"accuracy": …, "n": …, "accuracy_ci95": [lo, hi]}` (per-label
counts before it); the interval is Wilson's 95 % score interval.
Exit codes: 0 ok · 2 unusable model or data file.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Optional, Sequence

import numpy as np

from albert_edge.data.tasks import TASK_KINDS, DataError, label_ids, read_examples


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % (z = 1.96) Wilson score interval of an accuracy of correct / n.

    Why: 2,000 validation pairs give about ±2 points; two models closer than that are not shown
    to differ, and picking the best of many evaluations on the same file is optimistic by part of it.
    """
    if n <= 0:
        raise ValueError("an interval needs at least one example")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(float(centre - half), 4), round(float(centre + half), 4)


def evaluate(model_path: str, data: str, seq_len: Optional[int] = None, kind: str = "pairs",
             limit: Optional[int] = None, num_threads: int = 1) -> dict:
    """Accuracy of `model_path` on a labelled file; labels must be in the model's label set."""
    from tqdm import tqdm
    from albert_edge.inference import load_classifier
    classifier = load_classifier(model_path, num_threads=num_threads, seq_len=seq_len)
    examples = read_examples(data, kind)[:limit] if limit else read_examples(data, kind)
    gold = np.asarray(label_ids(examples, classifier.labels))
    pairs = [(e.text_a, e.text_b) for e in examples]
    chunks = [pairs[i:i + 256] for i in range(0, len(pairs), 256)]
    logits = np.concatenate([classifier.logits(c) for c in tqdm(chunks, desc="evaluate", unit="×256",
                                                                 disable=len(chunks) < 2)])
    pred = logits.argmax(-1)
    correct = int(np.sum(pred == gold))
    return {"accuracy": round(correct / len(gold), 4), "n": int(len(gold)),
            "accuracy_ci95": list(wilson_interval(correct, len(gold))),
            "per_label": {label: {"n": int(np.sum(gold == i)), "correct": int(np.sum((gold == i) & (pred == i)))}
                          for i, label in enumerate(classifier.labels)}}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m albert_edge.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help=".tflite file or checkpoint folder/prefix (with albert_config.json, labels.txt)")
    p.add_argument("--data", required=True, help="labelled TSV (pairs: a<TAB>b<TAB>label; single: text<TAB>label)")
    p.add_argument("--seq-len", type=int, help="fixed sequence length (default: smallest exported length that fits)")
    p.add_argument("--kind", choices=TASK_KINDS, default="pairs")
    p.add_argument("--limit", type=int, help="first N examples only")
    p.add_argument("--threads", type=int, default=1, help="TFLite interpreter threads")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from albert_edge.checkpoint import CheckpointError
    from albert_edge.config import ConfigError
    from albert_edge.runtime import ModelError
    try:
        result = evaluate(args.model, args.data, args.seq_len, args.kind, args.limit, args.threads)
    except (DataError, CheckpointError, ConfigError, ModelError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for label, counts in result.pop("per_label").items():
        print(f"label {label}: {counts['correct']}/{counts['n']} correct")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
