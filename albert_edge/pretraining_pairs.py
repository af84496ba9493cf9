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
import json
import logging
import sys

from albert_edge.data.pretraining_data import (DOC_BOUNDARIES, PretrainingDataError,
                                               PretrainingDataOptions)


def build_parser() -> argparse.ArgumentParser:
    d = PretrainingDataOptions()
    p = argparse.ArgumentParser(
        prog="python -m albert_edge.pretraining_pairs",
        description="Pack sentence-order pairs (with jieba whole-word marks) into one .npz for "
                    "dynamic-masking pretraining (python -m albert_edge.pretrain_torch).")
    p.add_argument("--input", nargs="+", required=True, metavar="FILE",
                   help="UTF-8 text files: one paragraph per line, blank lines between documents")
    p.add_argument("--output", required=True, help="the .npz to write (atomically)")
    p.add_argument("--vocab-file", default=None, help="vocab.txt (default: the bundled albert_zh vocab)")
    p.add_argument("--max-seq-len", type=int, default=d.max_seq_len)
    p.add_argument("--dupe-factor", type=int, default=d.dupe_factor,
                   help="times each document is cut into pairs, at different random points")
    p.add_argument("--short-seq-prob", type=float, default=d.short_seq_prob)
    p.add_argument("--no-whole-word-mask", dest="whole_word_mask", action="store_false",
                   help="no jieba word marks: the trainer then masks single characters")
    p.add_argument("--no-lower-case", dest="do_lower_case", action="store_false")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--doc-boundary", choices=DOC_BOUNDARIES, default=d.doc_boundary,
                   help="'blank': blank lines separate documents; 'line': every line is one")
    p.add_argument("--max-document-lines", type=int, default=d.max_document_lines)
    p.add_argument("--docs-per-chunk", type=int, default=d.docs_per_chunk)
    p.add_argument("--eval-fraction", type=float, default=0.0,
                   help="fraction of documents held out (eval_tokens) for held-out MLM / SOP")
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--max-lines", type=int, default=None)
    p.add_argument("--sample-rate", type=float, default=1.0)
    p.add_argument("--no-progress", dest="progress", action="store_false")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from albert_edge.data.pretraining_pairs import create_pretraining_pairs  # noqa: PLC0415

    opt_fields = {f.name for f in dataclasses.fields(PretrainingDataOptions)}
    options = PretrainingDataOptions(**{k: v for k, v in vars(args).items() if k in opt_fields})
    try:
        stats = create_pretraining_pairs(
            args.input, args.output, options, vocab_file=args.vocab_file,
            eval_fraction=args.eval_fraction, processes=args.processes,
            max_lines=args.max_lines, sample_rate=args.sample_rate, progress=args.progress)
    except (PretrainingDataError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(dataclasses.asdict(stats), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
