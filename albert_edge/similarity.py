"""Sentence similarity — albert_zh's `similarity.py` use case, on a .tflite or a checkpoint.

    >>> from albert_edge.similarity import Similarity
    >>> Similarity().predict_sentences([("花呗怎么还款", "花呗如何还钱")])  # bundled model: see below
    [0.978781]

CLI: `python -m albert_edge.similarity --model PATH "句子一" "句子二"` prints the probability that
the two mean the same; `--pairs FILE` scores a TSV (`a<TAB>b[<TAB>label]`, read by
`data.tasks.read_texts`: a bad line is named file:line), one probability a line.
Empty or whitespace-only sentences are a `ValueError` (exit 2 in the CLI); over-long ones are
truncated, as the model's length allows.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence, Sized
from typing import List, Optional, Tuple

from albert_edge import resources
from albert_edge.cli import add_model_arguments, describe_os_error, start_model_command
from albert_edge.data.tasks import DataError, read_texts
from albert_edge.inference import load_classifier, softmax

SAME_LABELS = ("1", "same", "similar")


def check_pairs(pairs: Iterable[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """`pairs` as a list of (str, str), or TypeError / ValueError naming the index and what is wrong.

    Why strict: a bare pair `("你好", "再见")` is itself a sequence of two strings, and a loose
    check would score it as two pairs of characters; ints or bytes would pass as "empty". Any iterable of pairs
    (a list, a tuple, a generator) is accepted.
    """
    if isinstance(pairs, (str, bytes)):
        raise TypeError(f"pairs must be a sequence of (sentence_a, sentence_b) tuples, got {type(pairs).__name__}")
    try:
        items = list(pairs)
    except TypeError:
        raise TypeError(f"pairs must be an iterable of (sentence_a, sentence_b) tuples, "
                        f"got {type(pairs).__name__}") from None
    if len(items) == 2 and all(isinstance(x, str) for x in items):
        raise TypeError("pairs must be a sequence of (sentence_a, sentence_b) tuples; got one bare pair "
                        "of strings — wrap it: predict_sentences([(a, b)]), or call predict_sentence(a, b)")
    out = []
    for i, pair in enumerate(items):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            what = f"a {type(pair).__name__}" + (f" of length {len(pair)}" if isinstance(pair, Sized) else "")
            raise TypeError(f"pair {i}: expected a (sentence_a, sentence_b) tuple of two str, got {what}")
        for which, text in (("first", pair[0]), ("second", pair[1])):
            if not isinstance(text, str):
                raise TypeError(f"pair {i}: the {which} sentence must be str, got {type(text).__name__}")
            if not text.strip():
                raise ValueError(f"pair {i}: the {which} sentence is empty or whitespace only")
        out.append((pair[0], pair[1]))
    return out


class Similarity:
    def __init__(self, model: str | os.PathLike = resources.DEFAULT_MODEL, num_threads: int = 1,
                 config: Optional[str] = None):
        self.classifier = load_classifier(model, num_threads=num_threads, config_file=config)
        labels = self.classifier.labels
        same = [i for i, label in enumerate(labels) if label.lower() in SAME_LABELS]
        if len(labels) != 2 or not same:
            raise ValueError(f"{model}: not a two-class similarity model (labels {labels}; expected '0'/'1')")
        self.same_index = same[0]

    def predict_sentences(self, pairs: Iterable[Tuple[str, str]]) -> List[float]:
        """Probability that each (a, b) means the same; `pairs` is any iterable of 2-tuples of str."""
        pairs = check_pairs(pairs)
        if not pairs:
            return []
        probs = softmax(self.classifier.logits(pairs))
        return [round(float(p), 6) for p in probs[:, self.same_index]]

    def predict_sentence(self, a: str, b: str) -> float:
        """Probability that the two sentences mean the same."""
        return self.predict_sentences([(a, b)])[0]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m albert_edge.similarity",
                                description="Probability that two Chinese sentences mean the same.")
    p.add_argument("sentences", nargs="*", help="two sentences")
    p.add_argument("--model", default=str(resources.DEFAULT_MODEL), help=".tflite or checkpoint (default: bundled model)")
    p.add_argument("--pairs", help="TSV of pairs to score instead of two sentences")
    add_model_arguments(p)
    args = p.parse_args(argv)
    model_errors = start_model_command(args)
    try:
        if args.pairs:
            if args.sentences:
                raise ValueError("give either two sentences or --pairs FILE, not both")
            try:
                pairs = [(ex.text_a, ex.text_b) for ex in read_texts(args.pairs, "pairs")]
            except DataError as err:
                raise ValueError(f"--pairs {err}") from None
        elif len(args.sentences) == 2:
            pairs = [tuple(args.sentences)]
        else:
            raise ValueError(f"need exactly two sentences (got {len(args.sentences)}), or --pairs FILE")
        scores = Similarity(args.model, num_threads=args.threads, config=args.config).predict_sentences(pairs)
    except model_errors as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {describe_os_error(err, 'cannot read')}", file=sys.stderr)
        return 2
    for score in scores:
        print(f"{score:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
