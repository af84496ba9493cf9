"""`python -m albert_edge.evaluate --model PATH --data FILE.tsv` — accuracy of a .tflite or checkpoint.

The last line printed is JSON: `{"accuracy": …, "n": …}` (plus per-label counts before it).
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
    return {"accuracy": round(float(np.mean(pred == gold)), 4), "n": int(len(gold)),
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
