"""ALBERT pretraining: masked-LM + sentence-order prediction, as albert_zh's ``run_pretraining.py``.

The recipe (albert_zh): loss = MLM cross-entropy over the masked positions (weighted by
``masked_lm_weights``) + SOP cross-entropy; LAMB for large batches (AdamW available), linear warm-up
then linear decay, gradient clipping at global norm 1.0.

Jobs are resumable: every ``save_every`` steps the output directory receives

* ``model.ckpt-<step>`` — the weights in albert_zh's brightmart layout (what ``--init-checkpoint``
  of fine-tuning and every albert_zh tool reads), plus ``albert_config.json``;
* ``state/`` — a ``tf.train.Checkpoint`` of model + optimizer slots + step.

Re-running the same command after a crash or ``kill -9`` restores ``state/`` and continues at the
step it holds, feeding the same data order (the input pipeline is seeded and skips what was used).

Distribution uses ``tf.distribute``: gradients are all-reduced explicitly, clipped globally and
applied once, so N replicas of batch B/N train exactly like one replica of batch B.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import tensorflow as tf

from albert_edge import checkpoint
from albert_edge.data.pretraining_data import feature_spec
from albert_edge.modeling import AlbertForPretraining, dummy_inputs
from albert_edge.train.common import (JsonlLog, check_finite_loss, check_output_dir, record_error, StepTimer, TrainingError, accumulate, configure_runtime, current_lr,
                                      expand_files, make_strategy, precision_policy, prune_tf1_checkpoints,
                                      resolve_config, run_window, sum_over_replicas)
from albert_edge.fileio import write_text_atomic
from albert_edge.train.optimization import apply_global_gradients, create_optimizer
# Defined in the TensorFlow-free options module (the CLI parses with them); the same objects here.
from albert_edge.train.options import SHARD_MIXES, PretrainOptions

logger = logging.getLogger(__name__)

CKPT_STEM = "model.ckpt"


def shard_weights(files: Sequence[str], mix: str = "size") -> list[float]:
    """Each shard's share of the training mix.

    ``size``: its size in bytes over the total, so one epoch-worth of draws sees each record about
    once; records of one max_seq_len have about the same size, so bytes stand in for record counts
    without a pass over a corpus that may be tens of GB. ``even``: every shard the same share, so the
    number of shards written per corpus sets the corpus ratio (what round-robin gave while no shard
    had run dry).
    """
    if mix not in SHARD_MIXES:
        raise TrainingError(f"shard_mix must be one of {', '.join(SHARD_MIXES)}, not {mix!r}")
    if mix == "even":
        return [1.0 / len(files)] * len(files)
    sizes = [float(tf.io.gfile.stat(f).length) for f in files]
    total = sum(sizes)
    if total <= 0:
        raise TrainingError(f"the training shards are all empty: {', '.join(files)}; "
                            "re-run python -m albert_edge.pretraining_data")
    return [s / total for s in sizes]


def make_dataset(files: Sequence[str], opts: PretrainOptions, batch_size: int, training: bool,
                 skip_batches: int = 0):
    """TFRecords → batches of model inputs + labels. Training streams repeat forever."""
    spec = feature_spec(opts.max_seq_len, opts.max_predictions_per_seq)

    def parse(record):
        ex = tf.io.parse_single_example(record, spec)
        return {k: (tf.cast(v, tf.int32) if v.dtype == tf.int64 else v) for k, v in ex.items()}

    files = list(files)
    if training and len(files) > 1:
        # Every shard repeats on its own and is drawn with a fixed weight (``shard_weights``), so
        # shards written from different corpora mix in every batch in one ratio at every step.
        # Round-robin interleaving (BERT's run_pretraining) runs the small shards dry first, and the
        # tail of each epoch then comes from the large shards alone: the mix, and with it the loss,
        # drifts within every epoch (MODEL_CARD.md measures it on the bundled model's corpora).
        shards = [tf.data.TFRecordDataset(f).repeat() for f in files]
        ds = tf.data.Dataset.sample_from_datasets(
            shards, weights=shard_weights(files, opts.shard_mix), seed=opts.seed)
    else:
        ds = tf.data.TFRecordDataset(files)
        if training:
            ds = ds.repeat()
    if training:
        ds = ds.shuffle(opts.shuffle_buffer, seed=opts.seed, reshuffle_each_iteration=True)
        if skip_batches:  # resume: the seeded order, minus what was already trained on
            ds = ds.skip(skip_batches * batch_size)
    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=training)
    return ds.prefetch(2)


def unigram_log_prior(files: Sequence[str], opts: PretrainOptions, vocab_size: int) -> np.ndarray:
    """log P(token) of the masked-LM targets in the first ``opts.unigram_records`` records, centred.

    Why: from random init the first thing MLM learns is token frequency (loss 10 -> ~6.7 on our
    corpus mix), and until it has, every gradient says "predict frequent tokens" at every position.
    Starting the output bias at the frequencies begins training at that loss (measured: the mean
    MLM loss over the first logged 20-25 steps was 9.66 without it, 6.77 with it), so the encoder's
    gradients are about context from the first step. It does not by itself keep post-LN ALBERT from
    collapsing under large AdamW steps (see MODEL_CARD.md: use LAMB, albert_zh's pretraining optimizer).
    """
    spec = feature_spec(opts.max_seq_len, opts.max_predictions_per_seq)
    spec = {k: spec[k] for k in ("masked_lm_ids", "masked_lm_weights")}
    counts = np.ones([vocab_size], np.float64)                       # add-one smoothing
    ds = tf.data.TFRecordDataset(list(files)).take(opts.unigram_records)
    ds = ds.map(lambda r: tf.io.parse_single_example(r, spec)).batch(1024)
    for batch in ds:
        ids = batch["masked_lm_ids"].numpy().ravel()
        keep = batch["masked_lm_weights"].numpy().ravel() > 0
        np.add.at(counts, ids[keep], 1.0)
    log_p = np.log(counts / counts.sum())
    return (log_p - log_p.mean()).astype(np.float32)


def pretraining_losses(outputs: dict, batch: dict, num_replicas_denoms: dict):
    """Sums for the global-batch losses and accuracies, normalised by global denominators."""
    mlm_logits = tf.cast(outputs["mlm_logits"], tf.float32)                       # [B, P, V]
    sop_logits = tf.cast(outputs["sop_logits"], tf.float32)                       # [B, 2]
    ids = batch["masked_lm_ids"]
    w = batch["masked_lm_weights"]
    sop = tf.reshape(batch["sentence_order_label"], [-1])
    mlm_xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=mlm_logits)
    sop_xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=sop, logits=sop_logits)
    mlm_correct = tf.cast(tf.equal(tf.argmax(mlm_logits, -1, output_type=tf.int32), ids), tf.float32)
    sop_correct = tf.cast(tf.equal(tf.argmax(sop_logits, -1, output_type=tf.int32), sop), tf.float32)
    sums = {
        "mlm_loss": tf.reduce_sum(mlm_xent * w), "mlm_correct": tf.reduce_sum(mlm_correct * w),
        "mlm_count": tf.reduce_sum(w), "sop_loss": tf.reduce_sum(sop_xent),
        "sop_correct": tf.reduce_sum(sop_correct), "sop_count": tf.cast(tf.size(sop), tf.float32),
    }
    loss = (sums["mlm_loss"] / (num_replicas_denoms["mlm_count"] + 1e-5)
            + sums["sop_loss"] / tf.maximum(num_replicas_denoms["sop_count"], 1.0))
    return loss, sums


def summarize(sums: dict) -> dict:
    mlm = float(sums["mlm_count"]) or 1.0
    sop = float(sums["sop_count"]) or 1.0
    return {"mlm_loss": float(sums["mlm_loss"]) / mlm, "mlm_acc": float(sums["mlm_correct"]) / mlm,
            "sop_loss": float(sums["sop_loss"]) / sop, "sop_acc": float(sums["sop_correct"]) / sop,
            "loss": float(sums["mlm_loss"]) / mlm + float(sums["sop_loss"]) / sop}


class Pretrainer:
    """Builds model, optimizer, strategy and the step functions; :meth:`run` trains."""

    def __init__(self, opts: PretrainOptions):
        if not opts.output_dir:
            raise TrainingError("--output-dir is required")
        self.opts = opts
        configure_runtime(opts.intra_op_threads, opts.inter_op_threads, opts.cpu_devices)
        self.train_files = expand_files(opts.train_files, "training")
        self.eval_files = expand_files(opts.eval_files, "eval") if opts.eval_files else None
        check_output_dir(opts.output_dir, {"--train-files": self.train_files, "--eval-files": self.eval_files,
                                           "--config": opts.config}, opts.init_checkpoint)
        self.config = resolve_config(opts.config, opts.init_checkpoint)
        self.out = Path(opts.output_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.strategy = make_strategy(opts.strategy, opts.devices, opts.tpu)
        self.replicas = self.strategy.num_replicas_in_sync
        if opts.batch_size % self.replicas:
            raise TrainingError(f"--batch-size {opts.batch_size} is not divisible by the "
                                f"{self.replicas} replicas")
        with self.strategy.scope():
            with precision_policy(opts.precision):
                self.model = AlbertForPretraining(self.config)
                self.model(dummy_inputs(8, with_masked_positions=True))
            self.optimizer = create_optimizer(opts.optimizer, opts.learning_rate,
                                              opts.num_train_steps, opts.num_warmup_steps,
                                              weight_decay_rate=opts.weight_decay)
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self.state = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, step=self.step)
        self.manager = tf.train.CheckpointManager(self.state, str(self.out / "state"), max_to_keep=2)
        self.log = JsonlLog(self.out / "train_log.jsonl")
        self._train_step = None
        self._eval_step = None

    # ------------------------------------------------------------------ steps
    def _features(self, batch: dict) -> dict:
        return {k: batch[k] for k in ("input_ids", "input_mask", "segment_ids", "masked_lm_positions")}

    def _global_denoms(self, batch: dict) -> dict:
        ctx = tf.distribute.get_replica_context()
        local = tf.stack([tf.reduce_sum(batch["masked_lm_weights"]),
                          tf.cast(tf.shape(batch["input_ids"])[0], tf.float32)])
        total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, local) if ctx else local
        return {"mlm_count": total[0], "sop_count": total[1]}

    def build_train_step(self):
        model, optimizer, opts = self.model, self.optimizer, self.opts

        @tf.autograph.experimental.do_not_convert
        def step_fn(batch):
            denoms = self._global_denoms(batch)
            with tf.GradientTape() as tape:
                outputs = model(self._features(batch), training=True)
                loss, sums = pretraining_losses(outputs, batch, denoms)
            norm = apply_global_gradients(optimizer, tape, loss, model.trainable_variables,
                                          opts.clip_norm)
            sums["grad_norm"] = norm / float(self.replicas)  # summed over replicas below
            return sums

        if opts.xla:
            step_fn = tf.function(step_fn, jit_compile=True)

        @tf.function
        def train_step(iterator):
            per_replica = self.strategy.run(step_fn, args=(next(iterator),))
            self.step.assign_add(1)
            return sum_over_replicas(self.strategy, per_replica)

        return train_step

    def build_eval_step(self):
        model = self.model

        @tf.autograph.experimental.do_not_convert
        def step_fn(batch):
            denoms = {"mlm_count": tf.constant(1.0), "sop_count": tf.constant(1.0)}
            outputs = model(self._features(batch), training=False)
            _, sums = pretraining_losses(outputs, batch, denoms)
            return sums

        @tf.function
        def eval_step(batch):
            return sum_over_replicas(self.strategy, self.strategy.run(step_fn, args=(batch,)))

        return eval_step

    # ------------------------------------------------------------------ io
    def save(self) -> None:
        step = int(self.step.numpy())
        checkpoint.save_tf1_checkpoint(self.model, self.out / f"{CKPT_STEM}-{step}")
        write_text_atomic(self.out / "albert_config.json", self.config.to_json_string())
        prune_tf1_checkpoints(self.out, CKPT_STEM, self.opts.keep_checkpoints)
        self.manager.save(checkpoint_number=step)  # last: its presence means the step is complete
        logger.info("step %d: saved %s-%d and training state", step, CKPT_STEM, step)

    def restore_or_init(self) -> int:
        latest = self.manager.latest_checkpoint
        if latest:
            self.state.restore(latest).assert_existing_objects_matched()
            step = int(self.step.numpy())
            logger.info("resumed from %s at step %d", latest, step)
            return step
        bias_loaded = False
        if self.opts.init_checkpoint:
            try:
                report = checkpoint.load_weights(self.model, self.opts.init_checkpoint)
            except (checkpoint.CheckpointError, FileNotFoundError) as err:
                raise TrainingError(f"--init-checkpoint: {err}") from None
            logger.info("initialised from %s: %s", self.opts.init_checkpoint, report)
            bias_loaded = "mlm/output_bias" in report.loaded
        if self.opts.unigram_output_bias and not bias_loaded:
            bias = unigram_log_prior(self.train_files, self.opts, self.config.vocab_size)
            self.model.mlm.output_bias.assign(bias)
            logger.info("MLM output bias set to the log unigram prior of (up to) %d training records",
                        self.opts.unigram_records)
        return 0

    def evaluate(self) -> dict:
        if not self.eval_files:
            return {}
        if self._eval_step is None:
            self._eval_step = self.build_eval_step()
        ds = make_dataset(self.eval_files, self.opts, self.opts.batch_size, training=False)
        ds = self.strategy.experimental_distribute_dataset(ds.take(self.opts.eval_batches))
        total: dict = {}
        for batch in ds:
            for k, v in self._eval_step(batch).items():
                total[k] = total.get(k, 0.0) + float(v)
        return summarize(total) if total else {}

    # ------------------------------------------------------------------ loop
    def run(self) -> dict:
        try:
            return self._run()
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
            mapped = record_error(err, self.train_files + (self.eval_files or []), self.opts.max_seq_len,
                                  self.opts.max_predictions_per_seq)
            if mapped is None:
                raise
            raise mapped from None

    def _run(self) -> dict:
        opts = self.opts
        start_step = self.restore_or_init()
        if start_step >= opts.num_train_steps:
            logger.info("already trained %d steps; nothing to do", start_step)
            return {"step": start_step, **self.evaluate()}
        write_text_atomic(self.out / "albert_config.json", self.config.to_json_string())
        ds = make_dataset(self.train_files, opts, opts.batch_size, training=True,
                          skip_batches=start_step)
        iterator = iter(self.strategy.experimental_distribute_dataset(ds))
        if self._train_step is None:
            self._train_step = self.build_train_step()

        last, bar = run_window(start_step, opts.num_train_steps, opts.stop_after_steps, "pretrain", opts.progress)
        timer, window, t_start = StepTimer(), {}, time.time()
        step = start_step
        result: dict = {}
        while step < last:
            sums = self._train_step(iterator)
            step += 1
            timer.add(opts.batch_size)
            check_finite_loss(step, {k: sums[k] for k in ("mlm_loss", "sop_loss", "grad_norm")})
            accumulate(window, sums)
            bar.update(1)
            if step % opts.log_every == 0 or step == last:
                n = max(1, step % opts.log_every or opts.log_every)
                rec = {"step": step, **summarize(window),
                       "grad_norm": window.get("grad_norm", 0.0) / n,
                       "lr": current_lr(self.optimizer), "seq_per_s": timer.rate()}
                logger.info("step %d loss %.4f mlm_acc %.4f sop_acc %.4f lr %.2e %.1f seq/s", step,
                            rec["loss"], rec["mlm_acc"], rec["sop_acc"], rec["lr"], rec["seq_per_s"])
                self.log.write(kind="train", **rec)
                bar.set_postfix(loss=f"{rec['loss']:.3f}", refresh=False)
                window = {}
            if step % opts.eval_every == 0 or step == last:
                result = self.evaluate()
                if result:
                    logger.info("step %d held-out: loss %.4f mlm_acc %.4f sop_acc %.4f", step,
                                result["loss"], result["mlm_acc"], result["sop_acc"])
                    self.log.write(kind="eval", step=step, **result)
            if step % opts.save_every == 0 or step == last:
                self.save()
            if opts.max_wall_seconds and time.time() - t_start > opts.max_wall_seconds:
                logger.info("wall-clock budget reached at step %d; saving (resumable)", step)
                self.save()
                break
        bar.close()
        return {"step": step, **result}

