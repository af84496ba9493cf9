"""`ModelDir`: the one object for "a model on disk".

A model is more than its weights: its config (the shape the weights fit), its label set, its task,
its vocabulary and whether it was trained at all. Every stage needs the same answers — training
starting from a checkpoint, export, evaluation, the similarity API, the benchmarks — so they are
worked out once, here, from whatever the user points at:

* an albert_zh TF1 checkpoint (folder or prefix; brightmart or Google layout), with
  `albert_config*.json`, `labels.txt`, `task.txt` and `vocab.txt` beside it when present;
* a Hugging Face folder (`config.json` + `model.safetensors`);
* an exported `.tflite` (its embedded metadata: labels, task, config, trained or not; the
  vocabulary inside it is what `runtime.TFLiteModel` tokenizes with);
* a preset name (`tiny` …): that shape with no weights (untrained; plumbing and benchmarks).

Fine-tuning writes the sidecars (`ModelDir.write_sidecars`) so that what it saves loads back here
with the same labels and task. Importing this module costs no TensorFlow; `build_model` imports it.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import List, Optional, Sequence

from albert_edge import resources, tasks
from albert_edge.config import AlbertConfig, ConfigError
from albert_edge.fileio import write_text_atomic

logger = logging.getLogger(__name__)

LABELS_FILE = "labels.txt"
TASK_FILE = "task.txt"
VOCAB_FILE = "vocab.txt"
FORMATS = ("tf1", "huggingface", "tflite", "preset")


class ModelDirError(ValueError):
    """The path is not a usable model; the message says what is missing and how to fix it."""


@dataclasses.dataclass(frozen=True)
class ModelDir:
    format: str                   # one of FORMATS
    path: Optional[Path]          # what the user gave (None for a preset)
    config: AlbertConfig
    labels: List[str]
    task: tasks.Task
    vocab: Path                   # vocabulary the tokenizer must use with this model
    weights: Optional[str] = None  # TF1 prefix or HF folder for checkpoint.load_weights; None: untrained

    # ------------------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | os.PathLike, config_file: str | os.PathLike | None = None,
             task: str | None = None, fallback_preset: str | None = None) -> "ModelDir":
        """The model at `path` (checkpoint folder/prefix, HF folder, .tflite).

        `config_file` overrides the config found beside a checkpoint; `fallback_preset` is used when
        there is none (albert_zh's zips name theirs in ways we may not find; a wrong shape still fails
        loudly when the weights are loaded); `task` overrides the recorded (or inferred) task.
        ModelDirError when nothing usable is there.
        """
        path = Path(path)
        if path.suffix == ".tflite":
            return cls._from_tflite(path, task)
        from albert_edge import checkpoint as ck
        if ck.is_hf_folder(path):
            fmt, weights = "huggingface", str(path)
        else:
            try:
                weights = ck.find_tf1_checkpoint(path)
            except ck.CheckpointError as err:
                raise ModelDirError(str(err)) from None
            if weights is None and not path.exists() and not Path(str(path) + ".index").exists():
                raise ModelDirError(f"checkpoint not found: {path}. {ck.OFFICIAL_SOURCES}")
            if weights is None:
                raise ModelDirError(f"no checkpoint at {path}: expected a TF1 checkpoint (folder or prefix with "
                                    f".index) or a Hugging Face folder (config.json + model.safetensors). "
                                    f"{ck.OFFICIAL_SOURCES}")
            fmt = "tf1"
        folder = path if path.is_dir() else path.parent
        try:
            config = (AlbertConfig.from_json_file(config_file) if config_file
                      else ck.config_for_checkpoint(path))
        except (ConfigError, OSError) as err:
            raise ModelDirError(f"config for {path}: {err}") from None
        if config is None and fallback_preset:
            logger.warning("no albert_config*.json beside %s: assuming the %s preset's shape", path, fallback_preset)
            config = AlbertConfig.preset(fallback_preset)
        if config is None:
            raise ModelDirError(f"no albert_config*.json beside {path}: put the model's config there, "
                                "or pass --config path/to/albert_config.json")
        recorded = read_lines(folder / LABELS_FILE)
        chosen = cls._task(task, folder, recorded)
        labels = recorded or (chosen.labels() if chosen.default_labels else [])
        vocab = folder / VOCAB_FILE if (folder / VOCAB_FILE).is_file() else resources.VOCAB
        return cls(fmt, path, config, labels, chosen, vocab, weights)

    @classmethod
    def preset(cls, name: str, task: str = "pairs", config_file: str | os.PathLike | None = None) -> "ModelDir":
        """An untrained model of a preset's shape (or of `config_file`'s)."""
        try:
            config = AlbertConfig.from_json_file(config_file) if config_file else AlbertConfig.preset(name)
        except (ConfigError, OSError) as err:
            raise ModelDirError(str(err)) from None
        chosen = tasks.get(task)
        labels = chosen.labels() if chosen.default_labels else []
        return cls("preset", None, config, labels, chosen, resources.VOCAB, None)

    @classmethod
    def resolve(cls, checkpoint: str | os.PathLike | None, config_file: str | os.PathLike | None = None,
                preset: str = "tiny", task: str | None = None) -> "ModelDir":
        """What the export and benchmarks run on: `checkpoint` if given; else the bundled model of
        `preset` (when no `config_file` asks for another shape); else an untrained preset."""
        if checkpoint is not None:
            return cls.load(checkpoint, config_file, task, fallback_preset=preset)
        bundled = resources.BUNDLED_MODELS.get(preset) if config_file is None else None
        if bundled is not None and any(bundled.glob("*.index")):
            return cls.load(bundled, None, task)
        return cls.preset(preset, task or "pairs", config_file)

    @classmethod
    def _from_tflite(cls, path: Path, task: Optional[str]) -> "ModelDir":
        from albert_edge.runtime import read_metadata
        if not path.is_file():
            raise ModelDirError(f"model not found: {path}")
        meta = read_metadata(path) or {}
        config = AlbertConfig.from_dict(meta["config"]) if meta.get("config") else AlbertConfig.preset("tiny")
        labels = list(meta.get("labels", []))
        chosen = tasks.get(task or meta["task"]) if (task or meta.get("task")) else \
            tasks.infer(labels, meta.get("head", "classifier"))
        weights = str(path) if meta.get("trained", True) else None   # an untrained export stays untrained
        return cls("tflite", path, config, labels, chosen, resources.VOCAB, weights)

    @staticmethod
    def _task(task: Optional[str], folder: Path, labels: Sequence[str]) -> tasks.Task:
        return tasks.get(task) if task else recorded_task(folder, labels)

    # ------------------------------------------------------------------------------ facts
    @property
    def trained(self) -> bool:
        return self.weights is not None

    @property
    def folder(self) -> Optional[Path]:
        if self.path is None:
            return None
        return self.path if self.path.is_dir() else self.path.parent

    @property
    def source(self) -> str:
        """How reports name the model."""
        return str(self.weights) if self.weights else f"untrained {self.config_name} (random weights, seed 0)"

    @property
    def config_name(self) -> str:
        return f"H{self.config.hidden_size}xL{self.config.num_hidden_layers}"

    def weight_files(self) -> List[Path]:
        """The files the weights are read from (what an export fingerprints)."""
        if self.weights is None:
            return []
        if self.format == "huggingface":
            return [Path(self.weights) / "model.safetensors", Path(self.weights) / "config.json"]
        if self.format == "tflite":
            return [Path(self.weights)]
        prefix = Path(self.weights)
        return sorted(prefix.parent.glob(prefix.name + ".*"))

    def tokenizer(self):
        from albert_edge.tokenization import FullTokenizer
        return FullTokenizer(str(self.vocab))

    # ------------------------------------------------------------------------------ building
    def build_model(self, head: Optional[str] = None):
        """The Keras model for this model's task head (or `head`), weights loaded; an untrained model
        gets the seeded random weights every stage agrees on (`modeling_init`)."""
        if self.format == "tflite":
            raise ModelDirError(f"{self.path} is an exported .tflite: it has no trainable weights to build "
                                "a TensorFlow model from; pass the checkpoint it was exported from")
        from albert_edge import checkpoint as ck
        from albert_edge.modeling import AlbertClassifier, AlbertForMaskedLM
        from albert_edge.modeling_init import seeded_random_weights
        head = head or self.task.head
        if head == "mlm":
            model, required = AlbertForMaskedLM(self.config).build_weights(), ("mlm/",)
        else:
            model = AlbertClassifier(self.config, num_labels=len(self.labels), dropout_prob=0.0).build_weights()
            required = ("classifier/",)
        if self.weights is not None:
            ck.load_weights(model, self.weights, require_heads=required)
        else:
            seeded_random_weights(model)
        return model

    # ------------------------------------------------------------------------------ writing
    @staticmethod
    def write_sidecars(folder: str | os.PathLike, labels: Sequence[str], task: str) -> None:
        """labels.txt + task.txt beside a checkpoint a trainer saved, so it loads back as itself."""
        folder = Path(folder)
        write_text_atomic(folder / LABELS_FILE, "\n".join(labels) + "\n")
        write_text_atomic(folder / TASK_FILE, tasks.get(task).name + "\n")


def recorded_task(folder: Path, labels: Sequence[str]) -> tasks.Task:
    """The task a model folder records (task.txt), else the one its labels imply (`tasks.infer`)."""
    recorded = read_lines(folder / TASK_FILE)
    if not recorded:
        return tasks.infer(labels)
    try:
        return tasks.get(recorded[0])
    except tasks.UnknownTask as err:
        raise ModelDirError(f"{folder / TASK_FILE}: {err}") from None


def read_lines(path: Path) -> List[str]:
    """Non-empty stripped lines of a small UTF-8 sidecar file ([] when absent)."""
    if not path.is_file():
        return []
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise ModelDirError(f"{path}: cannot read it ({err})") from None
