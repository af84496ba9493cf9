"""Fine-tuning ALBERT classifiers, as albert_zh's ``run_classifier.py`` (LCQMC, AFQMC, TNEWS, XNLI).

Tasks (readers in :mod:`albert_edge.data.tasks`):

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
    <output_dir>/albert_config.json   labels.txt   eval_results.json   train_log.jsonl
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
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from albert_edge.train.common import (JsonlLog, RunOptions, StepTimer, TrainingError, configure_runtime,
                                      current_lr, make_strategy, precision_policy, resolve_config, run_window,
                                      sum_over_replicas, write_text_atomic)

logger = logging.getLogger(__name__)

FINAL_STEM = "albert_model.ckpt"
TASKS = ("pairs", "single", "nli")


@dataclasses.dataclass
class FinetuneOptions(RunOptions):
    """Every fine-tuning setting; each is a ``python -m albert_edge.finetune`` flag."""

    task: str = "pairs"
    train_files: Sequence[str] = ()
    eval_file: str | None = None
    output_dir: str = ""
    config: str | None = None            # preset / json; default: init checkpoint's, else tiny
    init_checkpoint: str | None = None
    vocab_file: str | None = None
    do_lower_case: bool = True
    labels: Sequence[str] | str | None = None   # list, or a labels.txt path; default: inferred
    max_seq_len: int = 128
    batch_size: int = 64
    epochs: float = 5.0
    learning_rate: float = 1e-4
    warmup_proportion: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    dropout: float = 0.1
    max_train_examples: int | None = None
    swap_pairs: bool = False             # pairs task: also train on (b, a) — the relation is symmetric
    transitive_pairs: bool = False       # pairs task: also train on pairs implied by a≡b≡c / a≡b≢c
    edited_pairs: int = 0                # pairs task: add up to N one-edit rewrites per edit kind
    ema_decay: float = 0.0               # > 0: evaluate, keep and ship a moving average of the weights
    eval_every_steps: int | None = None
    eval_batch_size: int = 128
    save_every: int = 200
    log_every: int = 20


# --------------------------------------------------------------------------- data
# The label set of each task when --labels is not given (albert_zh's processors: LCQMC-style pairs
# are 0/1, XNLI is contradiction/entailment/neutral). `single` tasks differ (ChnSentiCorp 0/1,
# TNEWS 100…116), so they name theirs.
TASK_DEFAULT_LABELS = {"pairs": ("0", "1"), "nli": ("contradiction", "entailment", "neutral")}


def resolve_labels(labels: Sequence[str] | str | None, examples=None, task: str | None = None,
                   init_checkpoint: str | None = None) -> list[str]:
    """The label set: --labels, else the init checkpoint's labels.txt, else the task's default.

    Why never inferred from the data: one typo (`x` on line 9) used to become a third class, and
    a 3-class model was written with exit 0. A label outside this set is an error naming its
    file:line (`encode_examples`), found before TensorFlow loads. `task=None` keeps the old
    inference for library callers that ask for it explicitly.
    """
    if labels is None:
        if init_checkpoint:
            folder = Path(init_checkpoint) if Path(init_checkpoint).is_dir() else Path(init_checkpoint).parent
            if (folder / "labels.txt").is_file():
                return resolve_labels(str(folder / "labels.txt"))
        if task is None:
            from albert_edge.data.tasks import infer_labels  # noqa: PLC0415
            return infer_labels(examples or [])
        if task in TASK_DEFAULT_LABELS:
            return list(TASK_DEFAULT_LABELS[task])
        found = sorted({ex.label for ex in (examples or [])})[:8]
        raise TrainingError(f"the {task} task has no default label set: pass --labels with every class, "
                            f"e.g. --labels {','.join(found) or 'neg,pos'} (or a labels.txt path)")
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        if path.is_file():
            try:
                found = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                         if line.strip()]
            except (OSError, UnicodeDecodeError) as err:
                raise TrainingError(f"--labels {path}: cannot read it ({err})") from None
            if not found:
                raise TrainingError(f"{path}: empty labels file")
            out = found
        else:
            out = [s.strip() for s in str(labels).split(",") if s.strip()]
    else:
        out = [str(x) for x in labels]
    if len(out) < 2:
        raise TrainingError(f"--labels needs at least two classes, got {out}")
    if len(set(out)) != len(out):
        raise TrainingError(f"--labels has a duplicate: {out}")
    return out


def drop_empty_sentences(examples: list, what: str) -> list:
    """Examples whose sentences are all non-empty; the dropped ones are counted in a warning.

    An empty sentence carries no signal for its label (a pair with one empty side teaches
    "different" from nothing); skipping it, counted and named, beats training on it silently.
    """
    kept, dropped = [], []
    for ex in examples:
        (kept if ex.text_a.strip() and (ex.text_b is None or ex.text_b.strip()) else dropped).append(ex)
    if dropped:
        logger.warning("%s: skipped %d example(s) with an empty sentence (first at %s)",
                       what, len(dropped), dropped[0].where)
    return kept


@dataclasses.dataclass
class EncodedSet:
    input_ids: np.ndarray     # [N, L] int32
    input_mask: np.ndarray
    segment_ids: np.ndarray
    labels: np.ndarray        # [N] int32
    num_tokens: np.ndarray    # [N]

    def __len__(self) -> int:
        return len(self.labels)


def encode_examples(examples, label_list: Sequence[str], tokenizer, max_seq_len: int) -> EncodedSet:
    """Tokenize + encode; a label outside ``label_list`` raises naming the example's file:line."""
    from albert_edge.data.tasks import label_ids  # noqa: PLC0415

    ids = np.asarray(label_ids(examples, label_list), np.int32)
    n = len(examples)
    arrays = [np.zeros([n, max_seq_len], np.int32) for _ in range(3)]
    num = np.zeros([n], np.int32)
    for i, ex in enumerate(examples):
        enc = tokenizer.encode(ex.text_a, ex.text_b, max_seq_len=max_seq_len)
        arrays[0][i], arrays[1][i], arrays[2][i] = enc.input_ids, enc.input_mask, enc.segment_ids
        num[i] = enc.num_tokens
    return EncodedSet(arrays[0], arrays[1], arrays[2], ids, num)


def _trim(batch: dict) -> dict:
    """Cut a padded batch to its longest member (shapes become [B, None])."""
    import tensorflow as tf  # noqa: PLC0415

    length = tf.maximum(tf.reduce_max(tf.reduce_sum(batch["input_mask"], axis=1)), 1)
    return {k: (v[:, :length] if k != "label" else v) for k, v in batch.items()}


def bucketed_order(num_tokens: np.ndarray, batch_size: int, rng: np.random.Generator,
                   window_batches: int = 50) -> np.ndarray:
    """A random order whose consecutive ``batch_size`` runs have similar lengths.

    Shuffle, sort each window of ``window_batches`` batches by length, cut it into batches, then
    shuffle the batches: every example is still seen once per epoch in a random batch, but a batch
    padded to its longest member carries little padding (about 1.5x faster on question pairs).
    A final partial batch stays last, where ``drop_remainder`` drops it.
    """
    perm = rng.permutation(len(num_tokens))
    window = batch_size * window_batches
    full, tail = [], []
    for start in range(0, len(perm), window):
        chunk = perm[start:start + window]
        chunk = chunk[np.argsort(num_tokens[chunk], kind="stable")]
        for b in range(0, len(chunk), batch_size):
            (full if len(chunk[b:b + batch_size]) == batch_size else tail).append(chunk[b:b + batch_size])
    batches = [full[i] for i in rng.permutation(len(full))] + tail
    return np.concatenate(batches) if batches else perm


def make_dataset(data: EncodedSet, batch_size: int, order: np.ndarray | None = None,
                 skip_batches: int = 0, drop_remainder: bool = False):
    import tensorflow as tf  # noqa: PLC0415

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

    def __init__(self, opts: FinetuneOptions):
        from albert_edge.data.tasks import DataError, label_ids, read_examples  # noqa: PLC0415
        from albert_edge.tokenization import DEFAULT_VOCAB, FullTokenizer  # noqa: PLC0415

        if opts.task not in TASKS:
            raise TrainingError(f"unknown task {opts.task!r}; choose one of {TASKS}")
        if not opts.output_dir:
            raise TrainingError("--output-dir is required")
        if not opts.train_files:
            raise TrainingError("--train-files is required")
        if opts.batch_size < 1 or opts.epochs <= 0 or opts.max_seq_len < 4:
            raise TrainingError("--batch-size must be >= 1, --epochs > 0, --max-seq-len >= 4")
        if not 0.0 <= opts.ema_decay < 1.0:
            raise TrainingError(f"--ema-decay must be in [0, 1) (0 = off), got {opts.ema_decay}")
        self.opts = opts
        self.out = Path(opts.output_dir)
        try:
            train_examples = [ex for f in opts.train_files for ex in read_examples(f, opts.task)]
            eval_examples = read_examples(opts.eval_file, opts.task) if opts.eval_file else None
        except DataError as err:
            raise TrainingError(str(err)) from None
        train_examples = drop_empty_sentences(train_examples, "training data")
        if not train_examples:
            raise TrainingError("every training example has an empty sentence: nothing to train on")
        if eval_examples:
            eval_examples = drop_empty_sentences(eval_examples, str(opts.eval_file)) or None
        if opts.max_train_examples and len(train_examples) > opts.max_train_examples:
            rng = np.random.default_rng(opts.seed)
            keep = np.sort(rng.choice(len(train_examples), opts.max_train_examples, replace=False))
            train_examples = [train_examples[i] for i in keep]
        train_examples = self._augment(train_examples)
        self.label_list = resolve_labels(opts.labels, train_examples, opts.task, opts.init_checkpoint)
        try:   # every label known before the config, the tokenizer or TensorFlow are loaded
            label_ids(train_examples, self.label_list)
            if eval_examples:
                label_ids(eval_examples, self.label_list)
        except DataError as err:
            raise TrainingError(f"{err}; pass --labels with every class if it is not a typo") from None
        self.config = resolve_config(opts.config, opts.init_checkpoint)
        if opts.max_seq_len > self.config.max_position_embeddings:
            raise TrainingError(f"--max-seq-len {opts.max_seq_len} exceeds the config's "
                                f"max_position_embeddings {self.config.max_position_embeddings}")
        self.tokenizer = FullTokenizer(opts.vocab_file or DEFAULT_VOCAB, opts.do_lower_case)
        t0 = time.time()
        try:
            self.train_data = encode_examples(train_examples, self.label_list, self.tokenizer,
                                              opts.max_seq_len)
            self.eval_data = (encode_examples(eval_examples, self.label_list, self.tokenizer,
                                              opts.max_seq_len) if eval_examples else None)
        except DataError as err:
            raise TrainingError(str(err)) from None
        logger.info("encoded %d train / %d eval examples in %.1fs; labels %s; mean tokens %.1f",
                    len(self.train_data), len(self.eval_data or []), time.time() - t0,
                    self.label_list, float(self.train_data.num_tokens.mean()))

        configure_runtime(opts.intra_op_threads, opts.inter_op_threads, opts.cpu_devices)
        import tensorflow as tf  # noqa: PLC0415

        from albert_edge.modeling import AlbertClassifier, dummy_inputs  # noqa: PLC0415
        from albert_edge.train.optimization import create_optimizer  # noqa: PLC0415

        self.tf = tf
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

    def _augment(self, examples: list) -> list:
        """--transitive-pairs, --edited-pairs, then --swap-pairs (so derived pairs are swapped too)."""
        from albert_edge.data import pair_augment  # noqa: PLC0415
        from albert_edge.data.tasks import DataError  # noqa: PLC0415

        for flag, on in (("--transitive-pairs", self.opts.transitive_pairs),
                         ("--edited-pairs", self.opts.edited_pairs),
                         ("--swap-pairs", self.opts.swap_pairs)):
            if on and self.opts.task != "pairs":
                raise TrainingError(f"{flag} needs --task pairs (got {self.opts.task!r}): only a "
                                    "same-meaning pair relation is symmetric and transitive")
        if self.opts.transitive_pairs:
            try:
                derived, _ = pair_augment.transitive_pairs(examples)
            except DataError as err:
                raise TrainingError(f"--transitive-pairs: {err}") from None
            examples = examples + derived
        if self.opts.edited_pairs:
            try:
                derived, _ = pair_augment.edited_pairs(examples, self.opts.edited_pairs, self.opts.seed)
            except DataError as err:
                raise TrainingError(f"--edited-pairs: {err}") from None
            examples = examples + derived
        if self.opts.swap_pairs:
            examples = examples + pair_augment.swapped_pairs(examples)
        return examples

    # ------------------------------------------------------------------ steps
    def build_train_step(self):
        tf = self.tf
        from albert_edge.train.optimization import apply_global_gradients  # noqa: PLC0415

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
        tf = self.tf
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
        from albert_edge.metrics import wilson_interval  # noqa: PLC0415

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
        from albert_edge import checkpoint  # noqa: PLC0415

        checkpoint.save_tf1_checkpoint(self.model, folder / FINAL_STEM)
        write_text_atomic(folder / "albert_config.json", self.config.to_json_string())
        write_text_atomic(folder / "labels.txt", "\n".join(self.label_list) + "\n")

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
            from albert_edge import checkpoint  # noqa: PLC0415

            try:
                report = checkpoint.load_weights(self.model, self.opts.init_checkpoint)
            except (checkpoint.CheckpointError, FileNotFoundError, ValueError) as err:
                raise TrainingError(f"--init-checkpoint: {err}") from None
            logger.info("initialised from %s: %s", self.opts.init_checkpoint, report)
        else:
            logger.warning("no --init-checkpoint: fine-tuning from random weights")
        return 0

    def export_final(self, step: int, completed: bool) -> dict:
        """Copy the best weights (or the current ones without an eval set) to the output dir."""
        best = self.out / "best"
        if not (best / f"{FINAL_STEM}.index").is_file():
            with self.averaged_weights():
                self._maybe_keep_best({}, step)
        for item in best.iterdir():
            if item.name != "eval_results.json":
                tmp = self.out / (item.name + ".tmp")
                shutil.copyfile(item, tmp)
                os.replace(tmp, self.out / item.name)
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
                timer.add(opts.batch_size)
                for k, v in sums.items():
                    window[k] = window.get(k, 0.0) + float(v)
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


def finetune(**kwargs: Any) -> dict:
    """Library entry point: ``finetune(task=..., train_files=[...], output_dir=..., ...)``."""
    return Finetuner(FinetuneOptions(**kwargs)).run()
