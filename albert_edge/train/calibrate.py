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


def calibrate(model_dir: str, data_file: str, task: str = "pairs", max_seq_len: int = 128,
              batch_size: int = 128, dry_run: bool = False) -> dict:
    import tensorflow as tf  # noqa: PLC0415

    from albert_edge import checkpoint  # noqa: PLC0415
    from albert_edge.config import AlbertConfig  # noqa: PLC0415
    from albert_edge.data.tasks import DataError, read_examples  # noqa: PLC0415
    from albert_edge.modeling import AlbertClassifier, dummy_inputs  # noqa: PLC0415
    from albert_edge.tokenization import FullTokenizer  # noqa: PLC0415
    from albert_edge.train.finetune import encode_examples, make_dataset  # noqa: PLC0415

    folder = Path(model_dir)
    labels_file = folder / "labels.txt"
    if not labels_file.is_file() or not (folder / "albert_config.json").is_file():
        raise CalibrationError(f"{folder}: expected albert_config.json and labels.txt (a finetune output)")
    label_list = [l.strip() for l in labels_file.read_text(encoding="utf-8").splitlines() if l.strip()]
    if len(label_list) != 2:
        raise CalibrationError(f"{labels_file}: bias calibration is for binary classifiers")
    config = AlbertConfig.from_json_file(folder / "albert_config.json")
    model = AlbertClassifier(config, num_labels=2)
    model(dummy_inputs(8))
    checkpoint.load_weights(model, str(folder), require_heads=("classifier/",))
    try:
        data = encode_examples(read_examples(data_file, task), label_list, FullTokenizer(), max_seq_len)
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
        stem = Path(tf.train.latest_checkpoint(str(folder))).name
        checkpoint.save_tf1_checkpoint(model, folder / stem)
        (folder / "calibration.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m albert_edge.train.calibrate",
                                description="Shift a binary classifier's output bias to the label "
                                            "prior of a target-domain training file.")
    p.add_argument("--model", required=True, help="finetune output folder")
    p.add_argument("--data", required=True, help="target-domain TRAINING data (not the validation set)")
    p.add_argument("--task", default="pairs", choices=("pairs", "single", "nli"))
    p.add_argument("--max-seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dry-run", action="store_true", help="report the shift, change nothing")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result = calibrate(args.model, args.data, args.task, args.max_seq_len, args.batch_size, args.dry_run)
    except CalibrationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
