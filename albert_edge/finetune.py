"""CLI: fine-tune an ALBERT classifier (sentence pairs, single sentences, NLI); resumable.

    python -m albert_edge.finetune --task pairs \\
        --train-files lcqmc_train.tsv afqmc_train.tsv --eval-file lcqmc_dev.tsv \\
        --init-checkpoint runs/pretrain --output-dir runs/lcqmc

Defaults are albert_zh's albert_tiny recipe (lr 1e-4, batch 64, seq 128, 5 epochs). Re-running the
same command resumes. Every flag is a field of :class:`albert_edge.train.options.FinetuneOptions`.
"""
from __future__ import annotations

import argparse
import sys

from albert_edge.cli import (batch_size, finite_float, fraction, nonnegative_float, nonnegative_int, positive_float,
                              positive_int, probability, run_job, seq_length, start_job)
from albert_edge.model_dir import ModelDirError
from albert_edge.train.finetune_data import prepare_data
from albert_edge.train.options import TASKS, FinetuneOptions, TrainingError, add_run_arguments


def build_parser() -> argparse.ArgumentParser:
    d = FinetuneOptions()
    p = argparse.ArgumentParser(prog="python -m albert_edge.finetune",
                                description="Fine-tune ALBERT for classification; writes a brightmart "
                                            "TF1 checkpoint + albert_config.json + labels.txt.")
    p.add_argument("--task", choices=TASKS, default=d.task,
                   help="pairs: a<TAB>b<TAB>label; single: text<TAB>label; nli: pairs with a header")
    p.add_argument("--train-files", nargs="+", required=True)
    p.add_argument("--eval-file", default=None, help="evaluated after every epoch; best weights kept")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--config", default=None,
                   help="preset or albert_config json (default: the init checkpoint's, else tiny)")
    p.add_argument("--init-checkpoint", default=None,
                   help="albert_zh / pretraining checkpoint (prefix or folder) or HF folder")
    p.add_argument("--vocab-file", default=None)
    p.add_argument("--no-lower-case", dest="do_lower_case", action="store_false")
    p.add_argument("--labels", default=None,
                   help="labels.txt path or comma-separated labels (default: the init checkpoint's, when it is a "
                        "model of this task; else the task's: pairs 0,1, nli contradiction,entailment,neutral)")
    p.add_argument("--max-seq-len", type=seq_length, default=d.max_seq_len)
    p.add_argument("--batch-size", type=batch_size, default=d.batch_size)
    p.add_argument("--epochs", type=positive_float, default=d.epochs)
    p.add_argument("--learning-rate", type=positive_float, default=d.learning_rate)
    p.add_argument("--warmup-proportion", type=fraction, default=d.warmup_proportion)
    p.add_argument("--weight-decay", type=nonnegative_float, default=d.weight_decay)
    p.add_argument("--clip-norm", type=finite_float, default=d.clip_norm)
    p.add_argument("--dropout", type=probability, default=d.dropout)
    p.add_argument("--max-train-examples", type=positive_int, default=None, help="seeded subsample")
    p.add_argument("--swap-pairs", action="store_true",
                   help="pairs task: also train on every pair with its sentences swapped")
    p.add_argument("--transitive-pairs", action="store_true",
                   help="pairs task with labels 0/1: also train on pairs implied by transitivity "
                        "(a~b, b~c => a~c; a~b, b!~c => a!~c), matching sentences by exact text")
    p.add_argument("--edited-pairs", type=nonnegative_int, default=d.edited_pairs, metavar="N",
                   help="pairs task with labels 0/1: add up to N pairs per one-edit rewrite of the "
                        "training sentences (punctuation, 请问, particles … -> 1; one city, app, "
                        "number, time swapped or negated -> 0; see albert_edge.data.pair_edits)")
    p.add_argument("--ema-decay", type=probability, default=d.ema_decay,
                   help="> 0 (e.g. 0.999): keep an exponential moving average of the weights; it is "
                        "what is evaluated, kept as best and written (the raw accuracy is logged beside)")
    p.add_argument("--eval-every-steps", type=positive_int, default=None,
                   help="also evaluate (and keep the best) every N steps")
    p.add_argument("--eval-batch-size", type=batch_size, default=d.eval_batch_size)
    p.add_argument("--save-every", type=positive_int, default=d.save_every, help="training-state save interval")
    p.add_argument("--log-every", type=positive_int, default=d.log_every)
    add_run_arguments(p, d)   # the flags every trainer shares, -v included
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start_job(args)

    def job() -> dict:
        opts = FinetuneOptions(**vars(args))
        data = prepare_data(opts)   # a bad file, label or flag is exit 2 before TensorFlow loads
        from albert_edge.train.finetune import Finetuner  # noqa: PLC0415 — imports TensorFlow

        summary = Finetuner(opts, data).run()
        return {k: summary[k] for k in ("completed", "steps_done", "best")}
    return run_job(job, (TrainingError, ModelDirError))


if __name__ == "__main__":
    sys.exit(main())
