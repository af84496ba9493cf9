"""Fine-tuning ALBERT classifiers, as albert_zh's ``run_classifier.py`` (LCQMC, AFQMC, TNEWS, XNLI).

Tasks are the trainable entries of :mod:`albert_edge.tasks` (file format, label set, encoding):

* ``pairs``  — ``sentence_a<TAB>sentence_b<TAB>label`` (LCQMC, AFQMC, OPPO, PAWS-X with its header);
* ``single`` — ``text<TAB>label`` (ChnSentiCorp, TNEWS);
* ``nli``    — ``text_a<TAB>text_b<TAB>label`` with a header (XNLI, 3 classes).

Recipe defaults are albert_zh's for albert_tiny: AdamW (BERT's, no bias correction), lr 1e-4,
batch 64, max_seq_len 128, 5 epochs, 10% warm-up then linear decay, clip 1.0, dropout 0.1.

Batches are padded to their longest member, not to ``max_seq_len``: question pairs average ~30
tokens, so padding to 128 would spend three quarters of the compute on padding. ``max_seq_len`` is
still the truncation limit, so results equal fixed-length training.

The job evaluates after every epoch (or every ``eval_every_steps``), keeps the best weights under
``best/``, and finally writes the model directory that ``python -m albert_edge.export`` reads::

    <output_dir>/albert_model.ckpt.{index,data-00000-of-00001}   brightmart layout + classifier
    <output_dir>/checkpoint                                       (tf.train.latest_checkpoint)
    <output_dir>/albert_config.json   labels.txt   task.txt   eval_results.json   train_log.jsonl
    <output_dir>/state/               optimizer + step (resume; not part of a shipped model)

Re-running the same command resumes from ``state/`` at the step it holds, with the same data order.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from albert_edge import checkpoint
from albert_edge.fileio import write_bytes_atomic, write_text_atomic
from albert_edge.metrics import wilson_interval
from albert_edge.model_dir import LABELS_FILE, VOCAB_FILE, ModelDir, read_lines, recorded_task
from albert_edge.modeling import AlbertClassifier, dummy_inputs
from albert_edge.train.common import (JsonlLog, StepTimer, check_finite_loss, TrainingError, accumulate, configure_runtime, current_lr,
                                      make_strategy, precision_policy, run_window, sum_over_replicas)
# The data half is TensorFlow-free (finetune_data), the options too (options); their names are
# re-exported here so that callers import everything fine-tuning from this one module.
from albert_edge.train.finetune_data import (EncodedSet, FinetuneData, bucketed_order,  # noqa: F401
                                             encode_examples, prepare_data,
                                             resolve_labels)
from albert_edge.train.optimization import apply_global_gradients, create_optimizer
from albert_edge.train.options import FinetuneOptions  # noqa: F401

logger = logging.getLogger(__name__)

FINAL_STEM = "albert_model.ckpt"


# --------------------------------------------------------------------------- data
def _trim(batch: dict) -> dict:
    """Cut a padded batch to its longest member (shapes become [B, None])."""
    length = tf.maximum(tf.reduce_max(tf.reduce_sum(batch["input_mask"], axis=1)), 1)
    return {k: (v[:, :length] if k != "label" else v) for k, v in batch.items()}


def make_dataset(data: EncodedSet, batch_size: int, order: np.ndarray | None = None,
                 skip_batches: int = 0, drop_remainder: bool = False):
    idx = order if order is not None else np.arange(len(data))
    ds = tf.data.Dataset.from_tensor_slices({
        "input_ids": data.input_ids[idx], "input_mask": data.input_mask[idx],
        "segment_ids": data.segment_ids[idx], "label": data.labels[idx]})
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if skip_batches:
        ds = ds.skip(skip_batches)
    return ds.map(_trim).prefetch(2)


# --------------------------------------------------------------------------- trainer
class Finetuner:
    """Reads data, builds classifier + AdamW under a strategy; :meth:`run` trains and exports."""

    def __init__(self, opts: FinetuneOptions, data: FinetuneData | None = None):
        """``data``: what ``prepare_data(opts)`` returned, when the caller has already checked the
        data before importing this module (the CLI does); read here otherwise."""
        data = data if data is not None else prepare_data(opts)
        self.opts = opts
        self.out = Path(opts.output_dir)
        self.label_list, self.config, self.tokenizer = data.label_list, data.config, data.tokenizer
        self.train_data, self.eval_data = data.train_data, data.eval_data

        configure_runtime(opts.intra_op_threads, opts.inter_op_threads, opts.cpu_devices)
        self.strategy = make_strategy(opts.strategy, opts.devices, opts.tpu)
        self.replicas = self.strategy.num_replicas_in_sync
        if opts.batch_size % self.replicas:
            raise TrainingError(f"--batch-size {opts.batch_size} is not divisible by the "
                                f"{self.replicas} replicas")
        self.steps_per_epoch = len(self.train_data) // opts.batch_size
        if self.steps_per_epoch < 1:
            raise TrainingError(f"{len(self.train_data)} training examples are fewer than one "
                                f"batch of {opts.batch_size}")
        self.total_steps = max(1, int(math.ceil(opts.epochs * self.steps_per_epoch)))
        warmup = int(opts.warmup_proportion * self.total_steps)
        with self.strategy.scope(), precision_policy(opts.precision):
            self.model = AlbertClassifier(self.config, num_labels=len(self.label_list),
                                          dropout_prob=opts.dropout)
            self.model(dummy_inputs(8))
            self.optimizer = create_optimizer("adamw", opts.learning_rate, self.total_steps, warmup,
                                              weight_decay_rate=opts.weight_decay)
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self.best = tf.Variable(-1.0, dtype=tf.float32, trainable=False, name="best_accuracy")
            # Polyak averaging: one shadow per weight, [same shapes]; resumed with the rest of the state
            self.ema = [tf.Variable(v.read_value(), trainable=False, name=f"ema_{i}")
                        for i, v in enumerate(self.model.trainable_variables)] if opts.ema_decay > 0 else []
        extra = {"ema": self.ema} if self.ema else {}
        self.state = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer,
                                         step=self.step, best=self.best, **extra)
        self.manager = tf.train.CheckpointManager(self.state, str(self.out / "state"), max_to_keep=2)
        self.log = JsonlLog(self.out / "train_log.jsonl")
        self._train_step = None
        self._predict = None

    # ------------------------------------------------------------------ steps
    def build_train_step(self):
        model, optimizer, opts, global_batch = self.model, self.optimizer, self.opts, self.opts.batch_size

        @tf.autograph.experimental.do_not_convert
        def step_fn(batch):
            features = {k: batch[k] for k in ("input_ids", "input_mask", "segment_ids")}
            with tf.GradientTape() as tape:
                logits = tf.cast(model(features, training=True), tf.float32)
                xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=batch["label"],
                                                                      logits=logits)
                loss = tf.reduce_sum(xent) / float(global_batch)
            apply_global_gradients(optimizer, tape, loss, model.trainable_variables, opts.clip_norm)
            correct = tf.reduce_sum(tf.cast(tf.equal(
                tf.argmax(logits, -1, output_type=tf.int32), batch["label"]), tf.float32))
            return {"loss_sum": tf.reduce_sum(xent), "correct": correct,
                    "count": tf.cast(tf.size(xent), tf.float32)}

        @tf.function(reduce_retracing=True)
        def train_step(batch):
            per_replica = self.strategy.run(step_fn, args=(batch,))
            self.step.assign_add(1)
            if self.ema:
                # decay ramps up as (1 + n) / (10 + n), as tf.train.ExponentialMovingAverage's
                # num_updates does, so that the first steps do not average in the random init
                n = tf.cast(self.step, tf.float32)
                decay = tf.minimum(opts.ema_decay, (1.0 + n) / (10.0 + n))
                for shadow, weight in zip(self.ema, model.trainable_variables):
                    shadow.assign(decay * shadow + (1.0 - decay) * weight)
            return sum_over_replicas(self.strategy, per_replica)

        return train_step

    def predict_logits(self, data: EncodedSet) -> np.ndarray:
        """Logits [N, num_labels] (no dropout)."""
        if self._predict is None:
            model = self.model

            @tf.function(reduce_retracing=True)
            def predict(features):
                return tf.cast(model(features, training=False), tf.float32)

            self._predict = predict
        out = []
        for batch in make_dataset(data, self.opts.eval_batch_size):
            features = {k: batch[k] for k in ("input_ids", "input_mask", "segment_ids")}
            out.append(self._predict(features).numpy())
        return np.concatenate(out, axis=0)

    def evaluate(self) -> dict:
        if self.eval_data is None:
            return {}
        logits = self.predict_logits(self.eval_data).astype(np.float64)
        labels = self.eval_data.labels
        logp = logits - logits.max(-1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
        pred = logits.argmax(-1)
        result = {"eval_accuracy": float((pred == labels).mean()),
                  "eval_accuracy_ci95": list(wilson_interval(int((pred == labels).sum()), len(labels))),
                  "eval_loss": float(-logp[np.arange(len(labels)), labels].mean()),
                  "eval_examples": int(len(labels))}
        if len(self.label_list) == 2:  # similarity tasks: F1 of the positive class too
            tp = float(((pred == 1) & (labels == 1)).sum())
            p = tp / max(1.0, float((pred == 1).sum()))
            r = tp / max(1.0, float((labels == 1).sum()))
            result["eval_f1"] = 2 * p * r / max(p + r, 1e-9)
        return result

    @contextlib.contextmanager
    def averaged_weights(self):
        """Inside the block the model holds the moving-average weights (no-op without --ema-decay)."""
        if not self.ema:
            yield
            return
        weights = self.model.trainable_variables
        raw = [w.numpy() for w in weights]
        for w, shadow in zip(weights, self.ema):
            w.assign(shadow.read_value())
        try:
            yield
        finally:
            for w, value in zip(weights, raw):
                w.assign(value)

    def evaluate_and_keep(self, step: int) -> dict:
        """Evaluate (the averaged weights when there are any, the raw ones beside) and keep the best."""
        raw = self.evaluate() if self.ema else {}
        with self.averaged_weights():
            result = self.evaluate()
            if raw:
                result["raw_eval_accuracy"] = raw["eval_accuracy"]
            self._maybe_keep_best(result, step)
        return result

    # ------------------------------------------------------------------ io
    def _save_weights(self, folder: Path) -> None:
        checkpoint.save_tf1_checkpoint(self.model, folder / FINAL_STEM)
        write_text_atomic(folder / "albert_config.json", self.config.to_json_string())
        ModelDir.write_sidecars(folder, self.label_list, self.opts.task)
        # the vocabulary it was trained with travels with it (export, evaluation and apps read it there)
        write_bytes_atomic(folder / VOCAB_FILE, Path(self.tokenizer.vocab_file).read_bytes())

    def _maybe_keep_best(self, result: dict, step: int) -> None:
        acc = result.get("eval_accuracy")
        if acc is None or acc > float(self.best.numpy()) + 1e-6:  # best is float32
            self.best.assign(-1.0 if acc is None else acc)
            self._save_weights(self.out / "best")
            write_text_atomic(self.out / "best" / "eval_results.json",
                              json.dumps({"step": step, **result}, indent=2) + "\n")
            logger.info("step %d: new best %s", step, acc)

    def restore_or_init(self) -> int:
        latest = self.manager.latest_checkpoint
        if latest:
            self.state.restore(latest).assert_existing_objects_matched()
            logger.info("resumed from %s at step %d", latest, int(self.step.numpy()))
            return int(self.step.numpy())
        if self.opts.init_checkpoint:
            try:
                report = checkpoint.load_weights(self.model, self.opts.init_checkpoint,
                                                 skip_heads=self._heads_of_another_task())
            except (checkpoint.CheckpointError, FileNotFoundError, ValueError) as err:
                raise TrainingError(f"--init-checkpoint: {err}") from None
            logger.info("initialised from %s: %s", self.opts.init_checkpoint, report)
        else:
            logger.warning("no --init-checkpoint: fine-tuning from random weights")
        return 0

    def _heads_of_another_task(self) -> tuple:
        """("classifier/",) unless the init checkpoint is a classifier of this very task and label set.

        Why: a similarity model is a good encoder to start an NLI or sentiment model from, but its
        output layer answers another question (and an NLI head does not even have its shape); the
        encoder is loaded and the head starts fresh.
        """
        folder = Path(self.opts.init_checkpoint)
        folder = folder if folder.is_dir() else folder.parent
        init_labels = read_lines(folder / LABELS_FILE)
        init_task = recorded_task(folder, init_labels).name if init_labels else None
        if init_labels == list(self.label_list) and init_task == self.opts.task:
            return ()
        if init_labels:
            logger.info("--init-checkpoint is a %s model with labels %s: its encoder is loaded, the classifier "
                        "starts fresh for %s %s", init_task, init_labels, self.opts.task, list(self.label_list))
        return ("classifier/",)

    def export_final(self, step: int, completed: bool) -> dict:
        """Copy the best weights (or the current ones without an eval set) to the output dir."""
        best = self.out / "best"
        if not (best / f"{FINAL_STEM}.index").is_file():
            with self.averaged_weights():
                self._maybe_keep_best({}, step)
        for item in best.iterdir():
            if item.name != "eval_results.json":
                # an exclusive temporary, renamed over the name: a symlink there is replaced, not followed
                write_bytes_atomic(self.out / item.name, item.read_bytes())
        best_result = {}
        if (best / "eval_results.json").is_file():
            best_result = json.loads((best / "eval_results.json").read_text(encoding="utf-8"))
        summary = {"completed": completed, "steps_done": step, "total_steps": self.total_steps,
                   "steps_per_epoch": self.steps_per_epoch, "best": best_result,
                   "labels": self.label_list, "train_examples": len(self.train_data),
                   "train_files": list(self.opts.train_files), "eval_file": self.opts.eval_file,
                   "options": {k: v for k, v in dataclasses.asdict(self.opts).items()
                               if not isinstance(v, (np.ndarray,))}}
        write_text_atomic(self.out / "eval_results.json", json.dumps(summary, indent=2, default=str) + "\n")
        return summary

    # ------------------------------------------------------------------ loop
    def run(self) -> dict:
        opts = self.opts
        step = self.restore_or_init()
        self.out.mkdir(parents=True, exist_ok=True)
        if self._train_step is None:
            self._train_step = self.build_train_step()
        last, bar = run_window(step, self.total_steps, opts.stop_after_steps, "finetune", opts.progress)
        timer, window, t_start = StepTimer(), {}, time.time()
        stopped_early = False
        while step < last and not stopped_early:
            epoch, offset = divmod(step, self.steps_per_epoch)
            order = bucketed_order(self.train_data.num_tokens, opts.batch_size,
                                   np.random.default_rng(opts.seed + epoch))
            ds = make_dataset(self.train_data, opts.batch_size, order, skip_batches=offset,
                              drop_remainder=True)
            for batch in self.strategy.experimental_distribute_dataset(ds):
                sums = self._train_step(batch)
                step += 1
                check_finite_loss(step, {"loss": sums["loss_sum"]})
                timer.add(opts.batch_size)
                accumulate(window, sums)
                bar.update(1)
                end_of_epoch = step % self.steps_per_epoch == 0
                if step % opts.log_every == 0 or step == last:
                    rec = {"step": step, "epoch": step / self.steps_per_epoch,
                           "loss": window["loss_sum"] / window["count"],
                           "accuracy": window["correct"] / window["count"],
                           "lr": current_lr(self.optimizer), "examples_per_s": timer.rate()}
                    logger.info("step %d/%d loss %.4f acc %.4f lr %.2e %.1f ex/s", step,
                                self.total_steps, rec["loss"], rec["accuracy"], rec["lr"],
                                rec["examples_per_s"])
                    self.log.write(kind="train", **rec)
                    window = {}
                over_time = bool(opts.max_wall_seconds and time.time() - t_start > opts.max_wall_seconds)
                if (end_of_epoch or step == self.total_steps or over_time
                        or (opts.eval_every_steps and step % opts.eval_every_steps == 0)):
                    result = self.evaluate_and_keep(step)
                    if result:
                        logger.info("step %d (epoch %.2f) eval: %s", step,
                                    step / self.steps_per_epoch, result)
                        self.log.write(kind="eval", step=step, epoch=step / self.steps_per_epoch,
                                       **result)
                    self.manager.save(checkpoint_number=step)
                elif step % opts.save_every == 0 or step == last:
                    self.manager.save(checkpoint_number=step)
                if over_time:
                    logger.info("wall-clock budget reached at step %d (resumable)", step)
                    stopped_early = True
                    break
                if step >= last:
                    break
        bar.close()
        if int(self.manager.checkpoint.step.numpy()) != step or not self.manager.latest_checkpoint:
            self.manager.save(checkpoint_number=step)
        summary = self.export_final(step, completed=step >= self.total_steps)
        logger.info("wrote %s (best eval %s)", self.out, summary["best"].get("eval_accuracy"))
        return summary
