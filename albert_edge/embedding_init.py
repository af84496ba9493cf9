"""CLI: initialise ALBERT's token embeddings from corpus co-occurrence (PPMI + SVD), in minutes.

    python -m albert_edge.embedding_init --corpus corpus.txt --config tiny --output-dir runs/emb_init
    python -m albert_edge.finetune --init-checkpoint runs/emb_init ...     # or albert_edge.pretrain

Writes ``<output-dir>/model.ckpt-0`` (an albert_zh checkpoint in the config's layout: random encoder,
corpus-derived ``word_embeddings``), ``albert_config.json`` and ``embedding_init.json``. Every flag
is a field of :class:`albert_edge.train.options.EmbeddingInitOptions`.
"""
from __future__ import annotations

import argparse
import logging
import sys

from albert_edge.cli import finite_float, positive_int, quiet_tensorflow, run_job
from albert_edge.train.options import EmbeddingInitOptions, TrainingError


def build_parser() -> argparse.ArgumentParser:
    d = EmbeddingInitOptions()
    p = argparse.ArgumentParser(prog="python -m albert_edge.embedding_init",
                                description="Token embeddings from corpus co-occurrence (PPMI + truncated "
                                            "SVD), written as an albert_zh checkpoint to start training from.")
    p.add_argument("--corpus", nargs="+", required=True, help="UTF-8 text files, one paragraph per line")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--config", default=d.config, help="preset (tiny, small, …) or albert_config json")
    p.add_argument("--vocab-file", default=None, help="default: the bundled albert_zh vocab.txt")
    p.add_argument("--no-lower-case", dest="do_lower_case", action="store_false")
    p.add_argument("--window", type=positive_int, default=d.window, help="context: ±N tokens within a line")
    p.add_argument("--min-count", type=positive_int, default=d.min_count,
                   help="tokens seen fewer times keep their random initialisation")
    p.add_argument("--alpha", type=finite_float, default=d.alpha, help="context-distribution smoothing power")
    p.add_argument("--max-tokens", type=positive_int, default=d.max_tokens,
                   help="read at most this many tokens (memory: about 10 bytes per token)")
    p.add_argument("--max-kept", type=positive_int, default=d.max_kept,
                   help="factorise at most this many (the most frequent) tokens; memory ~24·N² bytes")
    p.add_argument("--power-iterations", type=positive_int, default=d.power_iterations)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--no-progress", dest="progress", action="store_false")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()   # TensorFlow's C++ log lines stay hidden unless TF_CPP_MIN_LOG_LEVEL is set
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from albert_edge.train.common import check_output_dir  # noqa: PLC0415 — no TensorFlow
    try:   # the folder is replaced as a whole: refuse one that holds an input, before TensorFlow loads
        check_output_dir(args.output_dir, {"--corpus": list(args.corpus), "--vocab-file": args.vocab_file,
                                           "--config": args.config}, None, replaces_folder=True)
    except TrainingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from albert_edge.train.embedding_init import build_embedding_init  # noqa: PLC0415 — imports TensorFlow

    return run_job(lambda: build_embedding_init(EmbeddingInitOptions(**vars(args))), (TrainingError, ValueError),
                   ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
