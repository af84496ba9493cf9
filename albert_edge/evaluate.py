"""`python -m albert_edge.evaluate --model PATH --data FILE.tsv` — accuracy of a .tflite or checkpoint.

The last line printed is JSON: `{"accuracy": …, "n": …, "accuracy_ci95": [lo, hi]}` (per-label
counts before it); the interval is Wilson's 95 % score interval.

`--behaviour` (with or without `--data`) also runs the behaviour suite of a similarity model
(`albert_edge.behaviour`): a table of pass rates per category, the worst failures, and the gate —
exit 1 naming the categories below target.
Exit codes: 0 ok · 1 the behaviour gate failed · 2 unusable model or data file.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

import numpy as np

from albert_edge.cli import add_model_arguments, describe_os_error, positive_int, seq_length, start_model_command
from albert_edge.data.tasks import TASK_KINDS, label_ids, read_examples
from albert_edge.metrics import wilson_interval


def evaluate(model_path: str, data: str, seq_len: Optional[int] = None, kind: Optional[str] = None,
             limit: Optional[int] = None, num_threads: int = 1, config: Optional[str] = None) -> dict:
    """Accuracy of `model_path` on a labelled file; labels must be in the model's label set.

    `kind` is the file's format (pairs / single / nli); default: the format of the model's task."""
    from tqdm import tqdm
    from albert_edge.inference import load_classifier
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of examples, got {limit}")
    if kind is not None:   # a bad data file is found before the model is loaded
        examples = read_examples(data, kind)
    classifier = load_classifier(model_path, num_threads=num_threads, seq_len=seq_len, config_file=config)
    if kind is None:
        examples = classifier.task.read(data)
    examples = examples[:limit] if limit else examples
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
    p.add_argument("--data", help="labelled TSV (pairs: a<TAB>b<TAB>label; single: text<TAB>label)")
    p.add_argument("--behaviour", action="store_true",
                   help="run the behaviour suite of a similarity model (categories, symmetry); exit 1 "
                        "when a category misses its target")
    p.add_argument("--seq-len", type=seq_length,
                   help="fixed sequence length (default: smallest exported length that fits)")
    p.add_argument("--kind", choices=TASK_KINDS,
                   help="format of --data (default: the model's task: pairs for the bundled model)")
    p.add_argument("--limit", type=positive_int, help="first N examples only")
    add_model_arguments(p)
    args = p.parse_args(argv)
    model_errors = start_model_command(args)
    if not args.data and not args.behaviour:
        p.error("give --data FILE, --behaviour, or both")
    try:
        result = (evaluate(args.model, args.data, args.seq_len, args.kind, args.limit, args.threads,
                           config=args.config) if args.data else None)
        report = behaviour_report(args.model, args.threads) if args.behaviour else None
    except model_errors as err:   # DataError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {describe_os_error(err, 'cannot read')}", file=sys.stderr)
        return 2
    if result is not None:
        for label, counts in result.pop("per_label").items():
            print(f"label {label}: {counts['correct']}/{counts['n']} correct")
        print(json.dumps(result))
    if report is not None:
        print(report.to_markdown())
        for case, p_same in report.failures[:10]:
            print(f"failed {case.category}: p(same)={p_same:.3f}  {case.a} | {case.b}")
        print(json.dumps({"behaviour": report.to_dict()}, ensure_ascii=False))
        if not report.ok:
            print(f"gate failed: behaviour ({', '.join(report.failed_gates)} below target)",
                  file=sys.stderr)
            return 1
    return 0


def behaviour_report(model_path: str, num_threads: int = 1):
    """The behaviour suite (`albert_edge.behaviour`) run on a similarity model."""
    from albert_edge.behaviour import run_suite
    from albert_edge.similarity import Similarity
    return run_suite(Similarity(model_path, num_threads=num_threads).predict_sentences)


if __name__ == "__main__":
    sys.exit(main())
