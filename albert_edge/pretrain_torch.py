"""CLI: ALBERT pretraining (whole-word MLM + SOP, dynamic masking) in PyTorch on a GPU box.

    python -m albert_edge.pretraining_pairs --input corpus.txt --output runs/pairs128.npz
    python -m albert_edge.pretrain_torch --train-files runs/pairs128.npz --output-dir runs/pt_gpu \\
        --config albert_edge/resources/configs/albert_config_tiny_google.json --train-seconds 420
    python -m albert_edge.finetune --init-checkpoint runs/pt_gpu ...

For machines with PyTorch + transformers and no TensorFlow; the TensorFlow trainer is
`python -m albert_edge.pretrain`. Every flag is a field of
:class:`albert_edge.train.options.TorchPretrainOptions`. Exit codes: 0 done or stopped
cleanly (re-run the command to resume), 2 bad input or options.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from albert_edge.cli import run_job
from albert_edge.config import ConfigError
from albert_edge.data.pretraining_data import PretrainingDataError
from albert_edge.train.options import TorchPretrainError, TorchPretrainOptions
from albert_edge.train.pretrain_torch import train   # imports PyTorch only when it runs


def build_parser() -> argparse.ArgumentParser:
    d = TorchPretrainOptions(train_files=(), output_dir="", config="")
    p = argparse.ArgumentParser(
        prog="python -m albert_edge.pretrain_torch",
        description="Pretrain ALBERT (Google structure) with transformers' AlbertForPreTraining on "
                    "packed pairs, masking on the fly; writes a Hugging Face folder the kit reads. "
                    "Re-running the same command resumes from training_state.pt.")
    p.add_argument("--train-files", nargs="+", required=True, metavar="NPZ",
                   help="files from `python -m albert_edge.pretraining_pairs` (one sequence length)")
    p.add_argument("--output-dir", required=True,
                   help="config.json + model.safetensors, training_state.pt, log.jsonl, train_info.json")
    p.add_argument("--config", required=True, help="a Google-structure albert config json, e.g. "
                   "albert_edge/resources/configs/albert_config_tiny_google.json")
    p.add_argument("--init-checkpoint", default=None,
                   help="a Hugging Face ALBERT folder to start from (e.g. an earlier run's output dir); "
                        "ignored when the output dir holds training_state.pt to resume")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--num-train-steps", type=int, default=None,
                   help="schedule length; without it, fixed from --train-seconds and the measured rate")
    p.add_argument("--train-seconds", type=float, default=None,
                   help="stop (and save) after this much training time, resumed runs included")
    p.add_argument("--stop-after-steps", type=int, default=None,
                   help="stop (and save) after this many steps in this process; the schedule is "
                        "unchanged, so the same command continues it")
    p.add_argument("--num-warmup-steps", type=int, default=d.num_warmup_steps)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--max-grad-norm", type=float, default=d.max_grad_norm)
    p.add_argument("--masked-lm-prob", type=float, default=d.masked_lm_prob)
    p.add_argument("--max-predictions-per-seq", type=int, default=d.max_predictions_per_seq)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--eval-rows", type=int, default=d.eval_rows)
    p.add_argument("--save-every-seconds", type=float, default=d.save_every_seconds)
    p.add_argument("--calibration-steps", type=int, default=d.calibration_steps)
    p.add_argument("--device", default=d.device, help="'auto' (CUDA when present), 'cpu', 'cuda:0', …")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="fp32 on CUDA too")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        import torch  # noqa: F401, PLC0415
        import transformers  # noqa: F401, PLC0415
    except ImportError as err:
        print(f"error: {err.name} is not installed; this trainer needs PyTorch and transformers "
              "(pip install -e \".[torch]\"), or use the TensorFlow trainer "
              "`python -m albert_edge.pretrain`", file=sys.stderr)
        return 2
    fields = {f.name for f in dataclasses.fields(TorchPretrainOptions)}
    options = TorchPretrainOptions(**{k: v for k, v in vars(args).items() if k in fields})
    return run_job(lambda: train(options), (TorchPretrainError, PretrainingDataError, ConfigError, OSError))


if __name__ == "__main__":
    sys.exit(main())
