"""CLI: ALBERT pretraining (MLM + SOP) on TFRecords from ``python -m albert_edge.pretraining_data``.

    python -m albert_edge.pretrain --train-files 'runs/ptdata/train-*' --eval-files 'runs/ptdata/eval-*' \\
        --output-dir runs/pretrain --config tiny --max-seq-len 64 --max-predictions-per-seq 10 \\
        --batch-size 64 --num-train-steps 2000 --save-every 200

Re-running the same command resumes from ``<output-dir>/state``. Every flag is a field of
:class:`albert_edge.train.options.PretrainOptions`.
"""
from __future__ import annotations

import argparse
import sys

from albert_edge.cli import (batch_size, finite_float, nonnegative_float, nonnegative_int, positive_float,
                              positive_int, run_job, seq_length, start_job)
from albert_edge.model_dir import ModelDirError
from albert_edge.train.options import (OPTIMIZERS, SHARD_MIXES, PretrainOptions, TrainingError,
                                       add_run_arguments)


def build_parser() -> argparse.ArgumentParser:
    d = PretrainOptions()
    p = argparse.ArgumentParser(prog="python -m albert_edge.pretrain",
                                description="Pretrain ALBERT (masked LM + sentence order); resumable.")
    p.add_argument("--train-files", required=True, nargs="+", help="TFRecord files or globs")
    p.add_argument("--eval-files", nargs="+", default=None, help="held-out TFRecords (MLM/SOP accuracy)")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--config", default=d.config,
                   help="preset (tiny, small, base, …) or albert_config json (default: the "
                        "--init-checkpoint's albert_config.json, else tiny)")
    p.add_argument("--init-checkpoint", default=None,
                   help="start from an albert_zh checkpoint (domain-adaptive pretraining)")
    p.add_argument("--max-seq-len", type=seq_length, default=d.max_seq_len)
    p.add_argument("--max-predictions-per-seq", type=positive_int, default=d.max_predictions_per_seq)
    p.add_argument("--batch-size", type=batch_size, default=d.batch_size, help="global batch size")
    p.add_argument("--num-train-steps", type=positive_int, default=d.num_train_steps)
    p.add_argument("--num-warmup-steps", type=nonnegative_int, default=d.num_warmup_steps)
    p.add_argument("--learning-rate", type=positive_float, default=d.learning_rate)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    p.add_argument("--weight-decay", type=nonnegative_float, default=d.weight_decay)
    p.add_argument("--clip-norm", type=finite_float, default=d.clip_norm, help="<= 0 disables clipping")
    p.add_argument("--save-every", type=positive_int, default=d.save_every)
    p.add_argument("--keep-checkpoints", type=positive_int, default=d.keep_checkpoints)
    p.add_argument("--eval-every", type=positive_int, default=d.eval_every)
    p.add_argument("--eval-batches", type=positive_int, default=d.eval_batches)
    p.add_argument("--log-every", type=positive_int, default=d.log_every)
    p.add_argument("--shuffle-buffer", type=positive_int, default=d.shuffle_buffer)
    p.add_argument("--shard-mix", choices=SHARD_MIXES, default=d.shard_mix,
                   help="how often each training shard is drawn: 'size' in proportion to its bytes "
                        "(each record about once per epoch), 'even' the same for every shard (the "
                        "number of shards per corpus sets the ratio); either way the mix is the same "
                        "at every step")
    p.add_argument("--no-unigram-output-bias", dest="unigram_output_bias", action="store_false",
                   help="start the MLM output bias at zero instead of the targets' log unigram "
                        "prior (fresh runs only; the prior starts training at the unigram loss)")
    p.add_argument("--unigram-records", type=nonnegative_int, default=d.unigram_records,
                   help="training records counted for the unigram prior")
    add_run_arguments(p, d)   # the flags every trainer shares, -v included
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start_job(args)
    from albert_edge.train.common import check_output_dir, expand_files  # noqa: PLC0415 — no TensorFlow
    try:   # before TensorFlow loads: an --output-dir that would overwrite an input is exit 2 at once
        check_output_dir(args.output_dir, {"--train-files": expand_files(args.train_files, "training"),
                                           "--eval-files": args.eval_files, "--config": args.config},
                         args.init_checkpoint)
    except TrainingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from albert_edge.train.pretrain import Pretrainer  # noqa: PLC0415 — imports TensorFlow

    return run_job(lambda: Pretrainer(PretrainOptions(**vars(args))).run(), (TrainingError, ModelDirError))


if __name__ == "__main__":
    sys.exit(main())
