"""Accuracy of similarity models across pair datasets + the behaviour suite: the model card's table.

    .venv/bin/python tools/cross_dataset.py --data-dir ../shared/data/pairs \\
        --model new=runs/lcqmc_edit --model old=models/albert_tiny_lcqmc --json runs/cross.json

One number on one in-distribution split cannot tell a similarity model from a shortcut; domains
differ (open-domain questions, banking, finance, dialogue, medicine, translated Wikipedia), so the
table shows each with its 95 % Wilson interval. Every pair is run in both orders once: the accuracy
is the kit's score (the mean of the two orders, `albert_edge.runtime.mean_of_orders`), and the
second table shows what the network gives in one order alone and how far the two orders disagree. A developer tool: it reads ``../shared`` (which the
kit itself never does at run time) and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

# (row name, files, what the row is) — LCQMC dev is its two halves together
DATASETS = (
    ("LCQMC dev", ("lcqmc_dev_train.tsv", "lcqmc_dev_valid.tsv"), "open-domain questions (Baidu Zhidao)"),
    ("LCQMC dev, valid half", ("lcqmc_dev_valid.tsv",), "the 2,000 pairs no recipe trained on"),
    ("BQ dev", ("bq_dev.tsv",), "bank customer service"),
    ("AFQMC dev", ("afqmc_dev.tsv",), "Ant Financial questions"),
    ("PAWS-X zh dev", ("pawsx_dev.tsv",), "translated adversarial paraphrases"),
    ("OPPO Xiaobu dev", ("oppo_xiaobu_dev.tsv",), "assistant dialogue queries"),
    ("epidemic dev", ("epidemic_dev.tsv",), "medical questions"),
)


def score_dataset(classifier, paths: list[Path]) -> dict:
    import numpy as np

    from albert_edge.data.tasks import label_ids, read_examples
    from albert_edge.metrics import wilson_interval
    from albert_edge.runtime import mean_of_orders, softmax

    examples = [ex for path in paths for ex in read_examples(path, "pairs")]
    gold = np.asarray(label_ids(examples, classifier.labels))
    forward = classifier.one_order_logits([(ex.text_a, ex.text_b) for ex in examples])
    backward = classifier.one_order_logits([(ex.text_b, ex.text_a) for ex in examples])
    same = classifier.labels.index("1")
    correct = int((mean_of_orders(softmax(forward), softmax(backward)).argmax(-1) == gold).sum())
    one_order = int((forward.argmax(-1) == gold).sum())
    asymmetry = np.abs(softmax(forward)[:, same] - softmax(backward)[:, same])
    return {"accuracy": correct / len(gold), "n": len(gold), "ci95": wilson_interval(correct, len(gold)),
            "one_order_accuracy": one_order / len(gold), "mean_one_order_asymmetry": float(asymmetry.mean()),
            "positive_rate": float(gold.mean())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="folder with the pair TSVs (../shared/data/pairs)")
    p.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                   help="a checkpoint folder or .tflite; repeat for several columns")
    p.add_argument("--json", help="also write the raw numbers here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from albert_edge.behaviour import run_suite
    from albert_edge.fileio import write_text_atomic
    from albert_edge.inference import load_classifier
    from albert_edge.runtime import softmax

    data_dir = Path(args.data_dir)
    results: dict = {}
    for spec in args.model:
        name, _, path = spec.partition("=")
        classifier = load_classifier(path)
        same = classifier.labels.index("1")
        rows = {row: score_dataset(classifier, [data_dir / f for f in files]) for row, files, _ in DATASETS}
        report = run_suite(lambda pairs: softmax(classifier.logits(list(pairs)))[:, same])
        rows["behaviour"] = report.to_dict()
        results[name] = rows
        print(f"{name}: done", file=sys.stderr)

    names = list(results)
    print("| set | what | n | " + " | ".join(f"{n} accuracy (95 % CI)" for n in names) + " |")
    print("|---|---|---:|" + "---:|" * len(names))
    for row, _, what in DATASETS:
        n = results[names[0]][row]["n"]
        cells = [f"{r[row]['accuracy']:.2%} ({r[row]['ci95'][0]:.1%}–{r[row]['ci95'][1]:.1%})"
                 for r in results.values()]
        print(f"| {row} | {what} | {n:,} | " + " | ".join(cells) + " |")
    for label, pick in (("behaviour: similar categories ≥ 95 % (passed)", 0.95),
                        ("behaviour: not-similar categories ≥ 80 % (passed)", 0.80)):
        cells = []
        for r in results.values():
            cats = [c for c in r["behaviour"]["categories"].values() if c["target"] == pick]
            cells.append(f"{sum(c['ok'] for c in cats)} / {len(cats)} "
                         f"(lowest {min(c['pass_rate'] for c in cats):.1%})")
        print(f"| {label} | | | " + " | ".join(cells) + " |")
    cells = [f"{r['behaviour']['mean_asymmetry']:.4f} / {r['behaviour']['mean_asymmetry_real']:.4f}"
             for r in results.values()]
    print("| behaviour: mean \\|p(a,b) − p(b,a)\\| of the kit's score, suite / real pairs (≤ 0.02) | | | "
          + " | ".join(cells) + " |")
    print()
    print("| set | " + " | ".join(f"{n}: one order accuracy · mean \\|p(a,b) − p(b,a)\\|" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for row, _, _ in DATASETS:
        cells = [f"{r[row]['one_order_accuracy']:.2%} · {r[row]['mean_one_order_asymmetry']:.4f}"
                 for r in results.values()]
        print(f"| {row} | " + " | ".join(cells) + " |")
    if args.json:
        write_text_atomic(args.json, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
