"""Tasks: what a model is trained on, exported for and judged by — one registered class each.

A task owns everything that differs between "sentence-pair similarity", "single-sentence
classification", "NLI" and "masked LM": the file format it reads, its label set, the head the model
needs, the outputs the exported model serves, how an example becomes model input, the bundled
calibration / evaluation data (where there is any), its metric, and whether the similarity
behaviour suite applies. Training, export, evaluation and the runtime look a task up here by name
instead of testing strings, as TensorFlow Model Garden's `task_factory` and optimum's
`TasksManager` do.

Adding a task is one class here, decorated with `@register` (see ARCHITECTURE.md).

Importing this module costs no TensorFlow.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Dict, List, Optional, Sequence, Tuple

import numpy as np

from albert_edge import resources
from albert_edge.data.tasks import DataError, Example, label_ids, read_examples
from albert_edge.registry import Registry

# A classifier serves these outputs ([1, num_labels] each); the masked-LM head serves log-probs.
CLASSIFIER_OUTPUTS = ("logits", "probabilities")
MLM_OUTPUTS = ("log_probs",)


class UnknownTask(ValueError):
    """A task name nothing registered; the message lists the registered ones."""


class Task:
    """One kind of model and data. Subclasses set the class attributes; instances are stateless."""

    name: ClassVar[str]
    description: ClassVar[str]
    head: ClassVar[str] = "classifier"           # the model's output layer: "classifier" | "mlm"
    data_format: ClassVar[Optional[str]] = None  # albert_edge.data.tasks kind: "pairs" | "single" | "nli"
    default_labels: ClassVar[Optional[Tuple[str, ...]]] = None
    default_calibration: ClassVar[Optional[Path]] = None   # bundled examples for int8 calibration
    default_eval: ClassVar[Optional[Path]] = None          # bundled labelled examples for the export's gate
    behaviour_suite: ClassVar[bool] = False                # albert_edge.behaviour applies (similarity models)
    # The relation is symmetric, so a score is taken over both orders (albert_edge.runtime.mean_of_orders):
    # the user who swaps the two text boxes gets the same answer, exactly, from every scorer.
    symmetric: ClassVar[bool] = False
    trainable: ClassVar[bool] = True                       # albert_edge.finetune trains it

    @property
    def outputs(self) -> Tuple[str, ...]:
        return MLM_OUTPUTS if self.head == "mlm" else CLASSIFIER_OUTPUTS

    @property
    def file_layout(self) -> str:
        """The TSV layout a user must supply, for error messages."""
        return "text<TAB>label" if self.data_format == "single" else "text_a<TAB>text_b<TAB>label"

    def read(self, path: str | os.PathLike) -> List[Example]:
        """Labelled examples from a TSV in this task's format; DataError names file:line."""
        if self.data_format is None:
            raise DataError(f"the {self.name} task reads no labelled files")
        return read_examples(path, self.data_format)

    @staticmethod
    def texts(example: Example) -> Tuple[str, Optional[str]]:
        """(text_a, text_b or None): what the tokenizer encodes for one example."""
        return example.text_a, example.text_b

    def encode(self, tokenizer, example: Example, max_seq_len: int):
        """The example as model inputs: the tokenizer's one- or two-text encoding (the same one training,
        the runtime and the Java app use)."""
        return tokenizer.encode(*self.texts(example), max_seq_len=max_seq_len)

    def labels(self, given: Optional[Sequence[str]] = None) -> List[str]:
        """`given`, else this task's default label set; a task without one must be told."""
        if given:
            return list(given)
        if self.default_labels is None:
            raise DataError(f"the {self.name} task has no default label set: give the model's labels "
                            "(labels.txt beside the checkpoint, or --labels)")
        return list(self.default_labels)

    def label_ids(self, examples: Sequence[Example], labels: Sequence[str]) -> List[int]:
        return label_ids(examples, labels)

    def score(self, logits: np.ndarray, gold: Sequence[int]) -> Dict[str, float]:
        """The task's metric(s) for logits [N, num_labels] against gold label ids [N]."""
        predicted = np.asarray(logits).argmax(-1)
        gold = np.asarray(gold)
        out = {"accuracy": float(np.mean(predicted == gold))}
        if np.asarray(logits).shape[-1] == 2:   # binary: F1 of the positive class as well
            tp = float(np.sum((predicted == 1) & (gold == 1)))
            precision = tp / max(float(np.sum(predicted == 1)), 1.0)
            recall = tp / max(float(np.sum(gold == 1)), 1.0)
            out["f1"] = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        return out

    def __repr__(self) -> str:
        return f"<task {self.name}: {self.description}>"


_REGISTRY: Registry[Task] = Registry("task", UnknownTask)


def register(cls: type) -> type:
    """Class decorator: add one instance of `cls` to the registry under `cls.name`."""
    _REGISTRY.register(cls.name, cls())
    return cls


unregister = _REGISTRY.unregister
get = _REGISTRY.get


def names(*, trainable: Optional[bool] = None) -> Tuple[str, ...]:
    return _REGISTRY.names(None if trainable is None else (lambda t: t.trainable == trainable))


def infer(labels: Sequence[str], head: str = "classifier") -> Task:
    """The task of a model that did not record one (albert_zh checkpoints, older exports).

    Why from the labels: albert_zh's processors fix them — LCQMC-style pairs are 0/1, XNLI is
    contradiction/entailment/neutral. Anything else is a classifier of unknown kind, and pairs
    (the bundled model's task) is the safe reading: a pair encoder also encodes single texts.
    """
    if head == "mlm":
        return get("mlm")
    for task in _REGISTRY.values():
        if task.head == head and task.default_labels and sorted(task.default_labels) == sorted(labels):
            return task
    return get("pairs")


# ------------------------------------------------------------------------------------- the tasks
@register
class SentencePairTask(Task):
    name = "pairs"
    description = "sentence-pair similarity (LCQMC, BQ, AFQMC): text_a<TAB>text_b<TAB>0|1"
    data_format = "pairs"
    default_labels = ("0", "1")
    default_calibration = resources.LCQMC_CALIBRATION
    default_eval = resources.LCQMC_DEV
    behaviour_suite = True
    symmetric = True


@register
class SingleSentenceTask(Task):
    name = "single"
    description = "single-sentence classification (ChnSentiCorp, TNEWS): text<TAB>label"
    data_format = "single"


@register
class NliTask(Task):
    name = "nli"
    description = "natural-language inference (XNLI, OCNLI): premise<TAB>hypothesis<TAB>label"
    data_format = "nli"
    default_labels = ("contradiction", "entailment", "neutral")


@register
class MaskedLmTask(Task):
    name = "mlm"
    description = "masked-LM head (albert_zh's documented TFLite graph): log-probabilities over the vocabulary"
    head = "mlm"
    # Its export is calibrated and checked by parity on real text: pair files supply sentences;
    # their labels are not used.
    data_format = "pairs"
    default_calibration = resources.LCQMC_CALIBRATION
    default_eval = resources.LCQMC_DEV
    trainable = False   # pretrained by albert_edge.pretrain, not fine-tuned

    def score(self, logits: np.ndarray, gold: Sequence[int]) -> Dict[str, float]:
        raise DataError("the mlm task has no labelled metric; its exports are checked by parity")
