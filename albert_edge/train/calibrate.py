"""Label-prior correction of a fine-tuned classifier's output bias.

    python -m albert_edge.train.calibrate --model models/albert_tiny_lcqmc \\
        --data lcqmc_train.tsv --task pairs [--dry-run]

A classifier fine-tuned on a mix of datasets learns the mix's label prior (AFQMC and OPPO are ~70%
negative) and carries it to a target domain with another prior (LCQMC is balanced). Shifting the
classifier's output bias moves the decision threshold without touching anything else; the shift
is chosen to maximise accuracy on ``--data``, which must be *training* data of the target domain
(never the validation set you report on).

Binary classifiers only: the bias of class 1 is moved by ``delta`` relative to class 0. The model
folder's TF1 checkpoint is rewritten (atomically) with the new bias; ``calibration.json`` records
delta and the accuracy before and after.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from albert_edge import checkpoint, tasks
from albert_edge.cli import batch_size, quiet_tensorflow, run_job, seq_length, setup_logging
from albert_edge.data.tasks import DataError
from albert_edge.fileio import OutputOverlapError, check_outputs_apart, write_text_atomic
from albert_edge.model_dir import ModelDir, ModelDirError
from albert_edge.train.finetune_data import encode_examples

logger = logging.getLogger(__name__)


class CalibrationError(ValueError):
    """A user mistake; printed without a traceback."""


def best_shift(margins: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """delta maximising accuracy of ``margins + delta > 0`` (margin = logit1 - logit0).

    Returns (delta, accuracy before, accuracy after). Ties choose the smallest |delta|.
    """
    before = float(((margins > 0).astype(int) == labels).mean())
    cuts = np.sort(-margins)
    candidates = np.concatenate([[0.0], (cuts[:-1] + cuts[1:]) / 2.0, [cuts[0] - 1e-3, cuts[-1] + 1e-3]])
    best = (before, 0.0)
    for d in candidates:
        acc = float((((margins + d) > 0).astype(int) == labels).mean())
        if acc > best[0] + 1e-12 or (abs(acc - best[0]) <= 1e-12 and abs(d) < abs(best[1])):
            best = (acc, float(d))
    return best[1], before, best[0]


def calibrate(model_dir: str, data_file: str, task: str | None = None, max_seq_len: int = 128,
              batch_size: int = 128, dry_run: bool = False) -> dict:
    """Shift the output bias of the binary classifier in `model_dir` (a finetune output) to the
    label prior of `data_file`, read as `task` (default: the model's task)."""
    folder = Path(model_dir)
    if not dry_run:   # the folder is rewritten in place: never the bundled model (copy it first)
        try:
            check_outputs_apart({"--model": folder})
        except OutputOverlapError as err:
            raise CalibrationError(f"{err} (copy the folder and calibrate the copy, or pass --dry-run)") from None
    # Imported here, not at the top: this module is also a command, whose --help must answer
    # without loading TensorFlow.
    import tensorflow as tf  # noqa: PLC0415

    from albert_edge.train.finetune import make_dataset  # noqa: PLC0415

    folder = Path(model_dir)
    if not (folder / "labels.txt").is_file():
        raise CalibrationError(f"{folder}: expected a finetune output folder (checkpoint, albert_config.json, labels.txt)")
    try:
        loaded = ModelDir.load(folder, task=task)
    except (ModelDirError, tasks.UnknownTask) as err:
        raise CalibrationError(str(err)) from None
    if len(loaded.labels) != 2:
        raise CalibrationError(f"{folder / 'labels.txt'}: bias calibration is for binary classifiers")
    if loaded.format != "tf1" or loaded.weights is None:
        raise CalibrationError(f"{folder}: expected the TF1 checkpoint finetune writes (a prefix with .index and "
                               f".data, named by a `checkpoint` file), found {loaded.format}")
    try:
        model = loaded.build_model(head="classifier")
    except (checkpoint.CheckpointError, ModelDirError) as err:
        raise CalibrationError(f"{err}; rewrite the model folder with python -m albert_edge.finetune") from None
    try:
        data = encode_examples(loaded.task.read(data_file), loaded.labels, loaded.tokenizer(), max_seq_len)
    except DataError as err:
        raise CalibrationError(str(err)) from None
    predict = tf.function(lambda f: model(f, training=False), reduce_retracing=True)
    logits = np.concatenate([predict({k: b[k] for k in ("input_ids", "input_mask", "segment_ids")}).numpy()
                             for b in make_dataset(data, batch_size)])
    delta, before, after = best_shift(logits[:, 1] - logits[:, 0], data.labels)
    result = {"data": str(data_file), "examples": int(len(data)), "delta": delta,
              "accuracy_before": before, "accuracy_after": after}
    logger.info("calibration on %s: delta %.4f, accuracy %.4f -> %.4f", data_file, delta, before, after)
    if not dry_run and delta != 0.0:
        bias = model.classifier.output_bias
        bias.assign(bias.numpy() + np.array([0.0, delta], np.float32))
        stem = Path(loaded.weights).name   # the prefix that was read (with or without a `checkpoint` file)
        checkpoint.save_tf1_checkpoint(model, folder / stem)
        write_text_atomic(folder / "calibration.json", json.dumps(result, indent=2) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m albert_edge.train.calibrate",
                                description="Shift a binary classifier's output bias to the label "
                                            "prior of a target-domain training file.")
    p.add_argument("--model", required=True, help="finetune output folder")
    p.add_argument("--data", required=True, help="target-domain TRAINING data (not the validation set)")
    p.add_argument("--task", choices=tasks.names(trainable=True), help="format of --data (default: the model's task)")
    p.add_argument("--max-seq-len", type=seq_length, default=128)
    p.add_argument("--batch-size", type=batch_size, default=128)
    p.add_argument("--dry-run", action="store_true", help="report the shift, change nothing")
    args = p.parse_args(argv)
    setup_logging(False, logging.INFO, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_tensorflow()
    return run_job(lambda: calibrate(args.model, args.data, args.task, args.max_seq_len, args.batch_size,
                                     args.dry_run), (CalibrationError,))


if __name__ == "__main__":
    sys.exit(main())
