"""Shared pytest setup: quiet TensorFlow, the same oneDNN kernels as the commands, shared fixtures."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# In-process training and export run with the kernels every command asks for (before TensorFlow loads).
from albert_edge.cli import prefer_onednn_kernels  # noqa: E402

prefer_onednn_kernels()

import json
from pathlib import Path

import numpy as np
import pytest


# How far a printed score may move between machines. Float kernels differ by CPU (AVX2 vs AVX-512 /
# AMX, oneDNN vs Eigen): the same fp32 model prints 0.820701 on one machine and 0.820702 on another.
# A printed example is checked to this bound; the decision it shows (p >= 0.5) is checked exactly.
PRINTED_SCORE_TOLERANCE = 1e-3


def assert_printed_score(printed: float, shown: str, where: str) -> None:
    """``printed`` (what the code gives now) is what ``where`` shows as ``shown``, across CPUs."""
    assert (printed >= 0.5) == (float(shown) >= 0.5), \
        f"{where} shows {shown}, the code prints {printed:.6f}: the decision differs"
    assert abs(printed - float(shown)) <= PRINTED_SCORE_TOLERANCE, \
        f"{where} shows {shown}, the code prints {printed:.6f}"


def missing_tool(message: str) -> None:
    """The one rule for a test whose tool (JDK, JNA, qemu, Android tools, QNN libraries…) is absent:
    skipped on a developer's machine, failed under CI (CI=true), where `make test` installs every
    tool — a missing one there is a broken install, never a pass by not running."""
    if os.environ.get("CI"):
        pytest.fail(f"missing in CI: {message}")
    pytest.skip(message)


def mini_config():
    """A small ALBERT (hidden 32, 2 layers) over the real 21,128-entry vocabulary.

    Why the full vocabulary: the checkpoints made from it go through the export, evaluation and
    similarity with real sentences and the real tokenizer, whose ids reach 21,127. Tests that feed
    synthetic ids use their own small vocab_size (test_modeling's `_mini`).
    """
    from albert_edge.config import AlbertConfig
    return AlbertConfig(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64)


def write_classifier_checkpoint(folder: Path, config, seed: int = 0) -> Path:
    """A brightmart-layout classifier checkpoint with config and labels, as finetune writes it."""
    from albert_edge import checkpoint as ck
    from albert_edge.modeling import AlbertClassifier
    model = AlbertClassifier(config, num_labels=2).build_weights()
    rng = np.random.default_rng(seed)
    for v in model.weight_map().values():
        v.assign(rng.normal(0, 0.1, v.shape).astype(np.float32) + (1.0 if "gamma" in v.name else 0.0))
    ck.save_tf1_checkpoint(model, folder / "model.ckpt")
    (folder / "albert_config.json").write_text(json.dumps(config.to_dict()))
    (folder / "labels.txt").write_text("0\n1\n")
    return folder


@pytest.fixture(scope="session")
def mini_checkpoint(tmp_path_factory) -> Path:
    return write_classifier_checkpoint(tmp_path_factory.mktemp("ckpt"), mini_config())


@pytest.fixture(scope="session")
def exported(mini_checkpoint, tmp_path_factory):
    """One export of the mini checkpoint (fp32, dynamic_int8, int8 at lengths 16 and 32), shared."""
    from albert_edge.export.pipeline import ExportOptions, export
    out = tmp_path_factory.mktemp("export")
    opts = ExportOptions(checkpoint=str(mini_checkpoint), out=str(out), variants=("fp32", "dynamic_int8", "int8"),
                         seq_lens=(16, 32), eval_limit=60, threads=(1,), latency_runs=2,
                         max_accuracy_drop=100.0, progress=False)
    return export(opts), opts


# ----------------------------------------------------------------------------- training suites
@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """Mini config (`mini.json`), a corpus and its pretraining TFRecords, made once and shared by the
    training suites (each writes its runs under its own sub-folder names)."""
    from training_helpers import make_training_workdir
    return make_training_workdir(tmp_path_factory.mktemp("training"))


@pytest.fixture(scope="session")
def pair_files(workdir):
    """96 training and 40 validation pairs from the bundled LCQMC sample (`train.tsv`, `valid.tsv`)."""
    from training_helpers import SAMPLES, write_lines
    rows = SAMPLES.read_text(encoding="utf-8").splitlines()
    return write_lines(workdir / "train.tsv", rows[:96]), write_lines(workdir / "valid.tsv", rows[200:240])
