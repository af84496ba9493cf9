"""Sentence similarity — albert_zh's `similarity.py` use case, on a .tflite or a checkpoint.

    >>> from albert_edge.similarity import Similarity
    >>> Similarity().predict_sentences([("花呗怎么还款", "花呗如何还钱")])  # bundled model: see below
    [0.871556]

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
from collections.abc import Iterable, Sequence, Sized
from typing import List, Optional, Tuple

from albert_edge.cli import describe_os_error, positive_int, quiet_tensorflow, setup_logging
from albert_edge.inference import load_classifier, softmax

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "albert_tiny_lcqmc"
SAME_LABELS = ("1", "same", "similar")


def check_pairs(pairs: Iterable[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """`pairs` as a list of (str, str), or TypeError / ValueError naming the index and what is wrong.

    Why strict: a bare pair `("你好", "再见")` is itself a sequence of two strings, and used to be
    scored as two pairs of characters; ints or bytes were called "empty". Any iterable of pairs
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
    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL, num_threads: int = 1,
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


def _read_pairs(path: str) -> List[Tuple[str, str]]:
    """TSV pairs; every problem names file:line (or the file when it cannot be read at all)."""
    file = Path(path)
    if file.is_dir():
        raise ValueError(f"--pairs {path} is a folder; give a TSV file (a<TAB>b[<TAB>label] lines)")
    if not file.is_file():
        raise ValueError(f"--pairs {path}: file not found")
    pairs = []
    for number, raw in enumerate(file.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}:{number}: not UTF-8 (byte {err.start}); convert the file with "
                             "`iconv -t UTF-8`") from None
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise ValueError(f"{path}:{number}: expected sentence_a<TAB>sentence_b[<TAB>label]")
        if not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}:{number}: empty sentence")
        pairs.append((fields[0], fields[1]))
    return pairs


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m albert_edge.similarity",
                                description="Probability that two Chinese sentences mean the same.")
    p.add_argument("sentences", nargs="*", help="two sentences")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help=".tflite or checkpoint (default: bundled model)")
    p.add_argument("--pairs", help="TSV of pairs to score instead of two sentences")
    p.add_argument("--threads", type=positive_int, default=1, help="TFLite interpreter threads")
    p.add_argument("--config", help="albert_config*.json of a checkpoint that has none beside it")
    p.add_argument("-v", "--verbose", action="store_true", help="INFO logging and TensorFlow's own log lines")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    quiet_tensorflow(args.verbose, preload=not str(args.model).endswith(".tflite"))
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
        scores = Similarity(args.model, num_threads=args.threads, config=args.config).predict_sentences(pairs)
    except (ValueError, TypeError, CheckpointError, ConfigError, ModelError) as err:
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
