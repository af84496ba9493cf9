"""What the training tests share: a mini ALBERT config, a corpus made from bundled sentences, runners.

The config keeps albert_zh's 21,128-entry vocabulary: the corpus and the fine-tuning pairs are real
Chinese text through the real tokenizer, so every id it produces must be a row of the embedding
table (a smaller vocab_size would make those lookups fail, or read past the table in TFLite).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from albert_edge import resources

ROOT = Path(__file__).parents[1]
MINI = {"vocab_size": 21128, "embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64,
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "ln_type": "postln"}
SEQ, PREDS = 32, 5
SAMPLES = resources.LCQMC_CALIBRATION
# Subprocesses: one thread each (the CI machine has 2 cores shared by suites), no GPU probing.
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": "1",
       "TF_NUM_INTEROP_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


def make_training_workdir(d: Path) -> Path:
    """Mini config + a small pretraining set made from the bundled LCQMC sample sentences."""
    from albert_edge.data import pretraining_data as pd

    (d / "mini.json").write_text(json.dumps(MINI))
    lines = []
    for i, row in enumerate(SAMPLES.read_text(encoding="utf-8").splitlines()[:120]):
        a, b, _ = row.split("\t")
        lines.append(f"{a.rstrip('？?')}。{b.rstrip('？?')}。")
        if i % 4 == 3:
            lines.append("")
    (d / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = pd.PretrainingDataOptions(max_seq_len=SEQ, max_predictions_per_seq=PREDS, dupe_factor=2)
    pd.create_pretraining_data([d / "corpus.txt"], d / "data", options, eval_fraction=0.1,
                               progress=False)
    return d


def write_lines(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def finetuner(**kw):
    """A Finetuner with small, fast defaults; keyword arguments are FinetuneOptions fields."""
    from albert_edge.train.finetune import FinetuneOptions, Finetuner

    base = dict(batch_size=16, max_seq_len=SEQ, epochs=2, log_every=2, progress=False,
                learning_rate=1e-3)
    base.update(kw)
    return Finetuner(FinetuneOptions(**base))


def pretrain_cmd(d: Path, out: Path, steps: int, *extra: str) -> list[str]:
    """`python -m albert_edge.pretrain` on the workdir's data with the mini config."""
    return [sys.executable, "-m", "albert_edge.pretrain", "--train-files", str(d / "data" / "train-*"),
            "--eval-files", str(d / "data" / "eval-*"), "--output-dir", str(out),
            "--config", str(d / "mini.json"), "--max-seq-len", str(SEQ),
            "--max-predictions-per-seq", str(PREDS), "--batch-size", "8",
            "--num-train-steps", str(steps), "--num-warmup-steps", "2", "--save-every", "2",
            "--eval-every", "4", "--eval-batches", "1", "--log-every", "2", "--no-progress",
            "--shuffle-buffer", "50", *extra]
