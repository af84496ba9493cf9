"""The data half of fine-tuning: read, check, label and encode the examples, without TensorFlow.

Why apart from `finetune.py` (the trainer, which imports TensorFlow at the top): a typo'd label, a
missing file or a wrong flag must be reported in a second, naming its file:line, before TensorFlow
loads and before anything is written. `python -m albert_edge.finetune` runs `prepare_data` first
and imports the trainer only when the data is good; `Finetuner(opts)` runs it too when it is not
handed prepared data.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from albert_edge import tasks
from albert_edge.config import PRESETS, AlbertConfig
from albert_edge.data import pair_augment
from albert_edge.data.tasks import DataError, infer_labels, label_ids
from albert_edge.model_dir import LABELS_FILE, VOCAB_FILE, read_lines, recorded_task
from albert_edge.fileio import OutputOverlapError, check_outputs_apart
from albert_edge.tokenization import DEFAULT_VOCAB, FullTokenizer
from albert_edge.train.common import resolve_config
from albert_edge.train.options import FinetuneOptions, TrainingError

logger = logging.getLogger(__name__)


def resolve_labels(labels: Sequence[str] | str | None, examples=None, task: str | None = None,
                   init_checkpoint: str | None = None) -> list[str]:
    """The label set: --labels, else the init checkpoint's labels.txt when that checkpoint is a model
    of the same task, else the task's default.

    Why never inferred from the data: one typo (`x` on line 9) would become a third class, and a
    3-class model would be written with exit 0. A label outside this set is an error naming its
    file:line (`encode_examples`), found before TensorFlow loads. `task=None` keeps the old
    inference for library callers that ask for it explicitly.
    """
    if labels is None:
        if init_checkpoint:
            # A similarity model is a fine start for an NLI model, but its 0/1 are not NLI's labels.
            folder = Path(init_checkpoint) if Path(init_checkpoint).is_dir() else Path(init_checkpoint).parent
            init_labels = read_lines(folder / LABELS_FILE)
            if init_labels:
                init_task = recorded_task(folder, init_labels).name
                if task is None or init_task == task:
                    return resolve_labels(str(folder / LABELS_FILE))
        if task is None:
            return infer_labels(examples or [])
        # albert_zh's processors fix pairs (0/1) and XNLI (contradiction/entailment/neutral); single-
        # sentence sets differ (ChnSentiCorp 0/1, TNEWS 100…116), so they must name theirs.
        if tasks.get(task).default_labels:
            return tasks.get(task).labels()
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


def augment_examples(examples: list, opts: FinetuneOptions) -> list:
    """--transitive-pairs, --edited-pairs, then --swap-pairs (so derived pairs are swapped too)."""
    for flag, on in (("--transitive-pairs", opts.transitive_pairs),
                     ("--edited-pairs", opts.edited_pairs),
                     ("--swap-pairs", opts.swap_pairs)):
        if on and opts.task != "pairs":
            raise TrainingError(f"{flag} needs --task pairs (got {opts.task!r}): only a "
                                "same-meaning pair relation is symmetric and transitive")
    if opts.transitive_pairs:
        try:
            derived, _ = pair_augment.transitive_pairs(examples)
        except DataError as err:
            raise TrainingError(f"--transitive-pairs: {err}") from None
        examples = examples + derived
    if opts.edited_pairs:
        try:
            derived, _ = pair_augment.edited_pairs(examples, opts.edited_pairs, opts.seed)
        except DataError as err:
            raise TrainingError(f"--edited-pairs: {err}") from None
        examples = examples + derived
    if opts.swap_pairs:
        examples = examples + pair_augment.swapped_pairs(examples)
    return examples


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
    ids = np.asarray(label_ids(examples, label_list), np.int32)
    n = len(examples)
    arrays = [np.zeros([n, max_seq_len], np.int32) for _ in range(3)]
    num = np.zeros([n], np.int32)
    for i, ex in enumerate(examples):
        enc = tokenizer.encode(ex.text_a, ex.text_b, max_seq_len=max_seq_len)
        arrays[0][i], arrays[1][i], arrays[2][i] = enc.input_ids, enc.input_mask, enc.segment_ids
        num[i] = enc.num_tokens
    return EncodedSet(arrays[0], arrays[1], arrays[2], ids, num)


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


@dataclasses.dataclass
class FinetuneData:
    """What `prepare_data` found: the label set, the model config, the tokenizer, the encoded sets."""

    label_list: list[str]
    config: AlbertConfig
    tokenizer: Any
    train_data: EncodedSet
    eval_data: EncodedSet | None


def _vocab_for(opts: FinetuneOptions) -> str:
    """--vocab-file, else the vocab.txt beside the init checkpoint (a model is tokenized with its own
    vocabulary, as ModelDir reads it), else the bundled albert_zh vocabulary."""
    if opts.vocab_file:
        return str(opts.vocab_file)
    if opts.init_checkpoint:
        folder = Path(opts.init_checkpoint) if Path(opts.init_checkpoint).is_dir() else Path(opts.init_checkpoint).parent
        if (folder / VOCAB_FILE).is_file():
            return str(folder / VOCAB_FILE)
    return DEFAULT_VOCAB


def prepare_data(opts: FinetuneOptions) -> FinetuneData:
    """Check the options, read, filter, augment, label and encode the examples; no TensorFlow.

    Every user mistake found here is a TrainingError whose message names the flag or file:line.
    """
    if opts.task not in tasks.names(trainable=True):
        raise TrainingError(f"unknown task {opts.task!r}; choose one of {', '.join(tasks.names(trainable=True))}")
    if not opts.output_dir:
        raise TrainingError("--output-dir is required")
    if not opts.train_files:
        raise TrainingError("--train-files is required")
    try:   # before anything is read or written: the output never overwrites an input
        check_outputs_apart({"--output-dir": opts.output_dir},
                            {"--train-files": list(opts.train_files), "--eval-file": opts.eval_file,
                             "--vocab-file": opts.vocab_file,
                             "--config": None if str(opts.config) in PRESETS else opts.config,
                             "--labels": opts.labels if isinstance(opts.labels, str) else None},
                            {"--init-checkpoint": opts.init_checkpoint})
    except OutputOverlapError as err:
        raise TrainingError(str(err)) from None
    if opts.batch_size < 1 or opts.epochs <= 0 or opts.max_seq_len < 4:
        raise TrainingError("--batch-size must be >= 1, --epochs > 0, --max-seq-len >= 4")
    if not 0.0 <= opts.ema_decay < 1.0:
        raise TrainingError(f"--ema-decay must be in [0, 1) (0 = off), got {opts.ema_decay}")
    try:
        task = tasks.get(opts.task)
        train_examples = [ex for f in opts.train_files for ex in task.read(f)]
        eval_examples = task.read(opts.eval_file) if opts.eval_file else None
    except DataError as err:
        raise TrainingError(str(err)) from None
    if opts.max_train_examples and len(train_examples) > opts.max_train_examples:
        rng = np.random.default_rng(opts.seed)
        keep = np.sort(rng.choice(len(train_examples), opts.max_train_examples, replace=False))
        train_examples = [train_examples[i] for i in keep]
    train_examples = augment_examples(train_examples, opts)
    label_list = resolve_labels(opts.labels, train_examples, opts.task, opts.init_checkpoint)
    try:   # every label known before the config and the tokenizer are loaded
        label_ids(train_examples, label_list)
        if eval_examples:
            label_ids(eval_examples, label_list)
    except DataError as err:
        raise TrainingError(f"{err}; pass --labels with every class if it is not a typo") from None
    config = resolve_config(opts.config, opts.init_checkpoint)
    if opts.max_seq_len > config.max_position_embeddings:
        raise TrainingError(f"--max-seq-len {opts.max_seq_len} exceeds the config's "
                            f"max_position_embeddings {config.max_position_embeddings}")
    try:
        tokenizer = FullTokenizer(_vocab_for(opts), opts.do_lower_case)
    except (OSError, ValueError) as err:   # missing, a folder, random bytes, not a BERT vocabulary
        raise TrainingError(f"--vocab-file: {err}") from None
    t0 = time.time()
    try:
        train_data = encode_examples(train_examples, label_list, tokenizer, opts.max_seq_len)
        eval_data = (encode_examples(eval_examples, label_list, tokenizer, opts.max_seq_len)
                     if eval_examples else None)
    except DataError as err:
        raise TrainingError(str(err)) from None
    logger.info("encoded %d train / %d eval examples in %.1fs; labels %s; mean tokens %.1f",
                len(train_data), len(eval_data or []), time.time() - t0,
                label_list, float(train_data.num_tokens.mean()))
    return FinetuneData(label_list, config, tokenizer, train_data, eval_data)
