"""Sentence similarity — albert_zh's `similarity.py` use case, on a .tflite or a checkpoint.

    >>> from albert_edge.similarity import Similarity
    >>> Similarity("exports/albert_tiny/albert_tiny_int8.tflite").predict_sentences([("我想办信用卡", "怎么申请信用卡")])
    [0.87]

CLI: `python -m albert_edge.similarity --model PATH "句子一" "句子二"` prints the probability that
the two mean the same; `--pairs FILE` scores a TSV (`a<TAB>b[<TAB>label]`), one probability a line.
Empty or whitespace-only sentences are a `ValueError` (exit 2 in the CLI); over-long ones are
truncated, as the model's length allows.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from albert_edge.inference import load_classifier, softmax

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "albert_tiny_lcqmc"
SAME_LABELS = ("1", "same", "similar")


class Similarity:
    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL, num_threads: int = 1):
        self.classifier = load_classifier(model, num_threads=num_threads)
        labels = self.classifier.labels
        same = [i for i, label in enumerate(labels) if label.lower() in SAME_LABELS]
        if len(labels) != 2 or not same:
            raise ValueError(f"{model}: not a two-class similarity model (labels {labels}; expected '0'/'1')")
        self.same_index = same[0]

    def predict_sentences(self, pairs: Sequence[Tuple[str, str]]) -> List[float]:
        """Probability that each (a, b) means the same."""
        for i, (a, b) in enumerate(pairs):
            for which, text in (("first", a), ("second", b)):
                if not isinstance(text, str) or not text.strip():
                    raise ValueError(f"pair {i}: the {which} sentence is empty or whitespace only")
        if not pairs:
            return []
        probs = softmax(self.classifier.logits(list(pairs)))
        return [round(float(p), 6) for p in probs[:, self.same_index]]


def _read_pairs(path: str) -> List[Tuple[str, str]]:
    pairs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise ValueError(f"{path}:{number}: expected sentence_a<TAB>sentence_b[<TAB>label]")
        pairs.append((fields[0], fields[1]))
    return pairs


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m albert_edge.similarity",
                                description="Probability that two Chinese sentences mean the same.")
    p.add_argument("sentences", nargs="*", help="two sentences")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help=".tflite or checkpoint (default: bundled model)")
    p.add_argument("--pairs", help="TSV of pairs to score instead of two sentences")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    from albert_edge.checkpoint import CheckpointError
    from albert_edge.config import ConfigError
    from albert_edge.runtime import ModelError
    try:
        if args.pairs:
            if args.sentences:
                raise ValueError("give either two sentences or --pairs FILE, not both")
            pairs = _read_pairs(args.pairs)
        elif len(args.sentences) == 2:
            pairs = [tuple(args.sentences)]
        else:
            raise ValueError(f"need exactly two sentences (got {len(args.sentences)}), or --pairs FILE")
        scores = Similarity(args.model, num_threads=args.threads).predict_sentences(pairs)
    except (ValueError, OSError, CheckpointError, ConfigError, ModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for score in scores:
        print(f"{score:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
