"""CLI: text corpus → whole-word-mask + SOP TFRecord shards.

    python -m albert_edge.pretraining_data --input corpus.txt --output-dir runs/ptdata \\
        --max-seq-len 64 --max-predictions-per-seq 10 --dupe-factor 2 --processes 2

Every flag is an argument of :func:`albert_edge.data.pretraining_data.create_pretraining_data`.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from albert_edge.cli import (fraction, positive_fraction, positive_int, probability, quiet_tensorflow, run_job,
                             seq_length, thread_count)

from albert_edge.data.pretraining_data import (DOC_BOUNDARIES, PretrainingDataError,
                                               PretrainingDataOptions, create_pretraining_data)


def add_corpus_arguments(p: argparse.ArgumentParser) -> None:
    """The reading and pairing flags shared with ``python -m albert_edge.pretraining_pairs``."""
    d = PretrainingDataOptions()
    p.add_argument("--input", nargs="+", required=True, metavar="FILE",
                   help="UTF-8 text files: one paragraph per line, blank lines between documents")
    p.add_argument("--vocab-file", default=None, help="vocab.txt (default: the bundled albert_zh vocab)")
    p.add_argument("--max-seq-len", type=seq_length, default=d.max_seq_len)
    p.add_argument("--dupe-factor", type=positive_int, default=d.dupe_factor,
                   help="times each document is used (cut into pairs at other points, other masks)")
    p.add_argument("--short-seq-prob", type=fraction, default=d.short_seq_prob)
    p.add_argument("--no-whole-word-mask", dest="whole_word_mask", action="store_false",
                   help="mask single characters instead of jieba words")
    p.add_argument("--no-lower-case", dest="do_lower_case", action="store_false")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--doc-boundary", choices=DOC_BOUNDARIES, default=d.doc_boundary,
                   help="'blank': blank lines separate documents (albert_zh); 'line': every line "
                        "is its own document (corpora of unrelated paragraphs)")
    p.add_argument("--max-document-lines", type=positive_int, default=d.max_document_lines,
                   help="cut longer documents (bounds memory on any input)")
    p.add_argument("--docs-per-chunk", type=positive_int, default=d.docs_per_chunk,
                   help="documents per unit of work (and per RNG seed)")
    p.add_argument("--eval-fraction", type=probability, default=0.0,
                   help="fraction of documents held out for held-out MLM / SOP accuracy")
    p.add_argument("--processes", type=thread_count, default=1)
    p.add_argument("--max-lines", type=positive_int, default=None,
                   help="stop after this many input lines (use part of a large corpus)")
    p.add_argument("--sample-rate", type=positive_fraction, default=1.0,
                   help="keep this fraction of documents (seeded), spread over the whole input")
    p.add_argument("--no-progress", dest="progress", action="store_false")


def options_from_args(args: argparse.Namespace) -> PretrainingDataOptions:
    fields = {f.name for f in dataclasses.fields(PretrainingDataOptions)}
    return PretrainingDataOptions(**{k: v for k, v in vars(args).items() if k in fields})


def build_parser() -> argparse.ArgumentParser:
    d = PretrainingDataOptions()
    p = argparse.ArgumentParser(
        prog="python -m albert_edge.pretraining_data",
        description="Create ALBERT pretraining instances (jieba whole-word masking, optional "
                    "n-gram masking, sentence-order pairs) as TFRecord shards. Streams its input.")
    add_corpus_arguments(p)
    p.add_argument("--output-dir", required=True, help="where train-*.tfrecord, eval-*.tfrecord "
                   "and stats.json are written")
    p.add_argument("--max-predictions-per-seq", type=positive_int, default=d.max_predictions_per_seq)
    p.add_argument("--masked-lm-prob", type=positive_fraction, default=d.masked_lm_prob)
    p.add_argument("--max-ngram", type=int, default=d.max_ngram, choices=(1, 2, 3),
                   help="1 = whole-word masking only; 3 = ALBERT n-gram masking (P(n) ~ 1/n)")
    p.add_argument("--num-shards", type=positive_int, default=1)
    p.add_argument("--shuffle-buffer", type=positive_int, default=10000)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()   # TensorFlow's C++ log lines stay hidden unless TF_CPP_MIN_LOG_LEVEL is set
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    options = options_from_args(args)
    return run_job(lambda: dataclasses.asdict(create_pretraining_data(
        args.input, args.output_dir, options, vocab_file=args.vocab_file,
        num_shards=args.num_shards, eval_fraction=args.eval_fraction,
        processes=args.processes, max_lines=args.max_lines, sample_rate=args.sample_rate,
        shuffle_buffer=args.shuffle_buffer, progress=args.progress)), (PretrainingDataError, OSError), ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
