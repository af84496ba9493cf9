"""CLI: text corpus → unmasked sentence-order pairs in one .npz, for on-the-fly masking.

    python -m albert_edge.pretraining_pairs --input corpus.txt --output runs/pairs128.npz \\
        --max-seq-len 128 --eval-fraction 0.005 --processes 2

The input side (documents, sentences, jieba whole-word marks, SOP segment pairs, held-out split)
is `python -m albert_edge.pretraining_data`'s; masking and order are left to
`python -m albert_edge.pretrain_torch`, which draws them anew each time a row is used. Every flag
is an argument of :func:`albert_edge.data.pretraining_pairs.create_pretraining_pairs`.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from albert_edge.cli import run_job

from albert_edge.data.pretraining_data import PretrainingDataError
from albert_edge.pretraining_data import add_corpus_arguments, options_from_args


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m albert_edge.pretraining_pairs",
        description="Pack sentence-order pairs (with jieba whole-word marks) into one .npz for "
                    "dynamic-masking pretraining (python -m albert_edge.pretrain_torch).")
    add_corpus_arguments(p)
    p.add_argument("--output", required=True, help="the .npz to write (atomically)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from albert_edge.data.pretraining_pairs import create_pretraining_pairs  # noqa: PLC0415

    options = options_from_args(args)
    return run_job(lambda: dataclasses.asdict(create_pretraining_pairs(
        args.input, args.output, options, vocab_file=args.vocab_file,
        eval_fraction=args.eval_fraction, processes=args.processes,
        max_lines=args.max_lines, sample_rate=args.sample_rate, progress=args.progress)),
        (PretrainingDataError, OSError), ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
