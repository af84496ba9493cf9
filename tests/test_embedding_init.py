"""albert_edge.train.embedding_init and its CLI: PPMI + SVD token embeddings, the encoder-only
checkpoint that fine-tuning and pretraining start from."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from training_helpers import ENV, MINI, PREDS, SEQ, finetuner  # noqa: E402  (tests/ is on sys.path)


def test_ppmi_svd_embeddings_put_interchangeable_tokens_together():
    from albert_edge.train import embedding_init as ei

    # tokens 0/1 occur in the same contexts (2..5), tokens 6/7 in others (8..11)
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(400):
        group = rng.integers(2)
        word = rng.choice([0, 1]) if group == 0 else rng.choice([6, 7])
        ctx = rng.choice([2, 3, 4, 5] if group == 0 else [8, 9, 10, 11], size=4)
        lines.append([ctx[0], ctx[1], word, ctx[2], ctx[3]])
    ids = np.concatenate(lines).astype(np.int32)
    line_of = np.repeat(np.arange(len(lines)), 5).astype(np.int32)
    counts = ei.cooccurrence(ids, line_of, 12, window=2)
    assert np.allclose(counts, counts.T)
    # pairs never cross a line: a line's last and the next line's first token are 4 apart
    assert counts.sum() == pytest.approx(len(lines) * 2 * (4 * 1.0 + 3 * 0.5))
    matrix = ei.ppmi(counts)
    assert (matrix >= 0).all() and matrix[0, 6] == 0.0
    vectors = ei.embedding_vectors(matrix, dim=4, scale=0.02, power_iterations=4, seed=0)
    assert vectors.shape == (12, 4)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 0.02 * 2.0, rtol=1e-4)
    assert ei.nearest(vectors, 0, k=1)[0] == 1 and ei.nearest(vectors, 6, k=1)[0] == 7
    u, s = ei.randomized_svd(matrix, 3, seed=1)
    assert np.allclose(s, np.linalg.svd(matrix, compute_uv=False)[:3], rtol=1e-3)


@pytest.mark.slow
def test_embedding_init_cli_writes_a_checkpoint_finetune_starts_from(workdir, pair_files, tmp_path):
    from albert_edge import checkpoint
    from albert_edge.tokenization import DEFAULT_VOCAB, FullTokenizer

    out = tmp_path / "emb"
    res = subprocess.run([sys.executable, "-m", "albert_edge.embedding_init", "--corpus",
                          str(workdir / "corpus.txt"), "--output-dir", str(out), "--config",
                          str(workdir / "mini.json"), "--min-count", "3", "--no-progress"],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "embedding_init.json").read_text(encoding="utf-8"))
    assert summary["kept_tokens"] > 50 and summary["embedding_size"] == MINI["embedding_size"]
    values = checkpoint.read_tf1_variables(checkpoint.find_tf1_checkpoint(out))
    table = values["bert/embeddings/word_embeddings"]
    assert not [n for n in values if n.startswith("cls/")]      # encoder only: heads start fresh
    capped = subprocess.run([sys.executable, "-m", "albert_edge.embedding_init", "--corpus",
                             str(workdir / "corpus.txt"), "--output-dir", str(tmp_path / "capped"),
                             "--config", str(workdir / "mini.json"), "--max-kept", "40", "--no-progress"],
                            capture_output=True, text=True, env=ENV, timeout=300)
    assert capped.returncode == 0, capped.stderr
    assert json.loads((tmp_path / "capped" / "embedding_init.json").read_text())["kept_tokens"] == 40
    vocab = FullTokenizer(DEFAULT_VOCAB).vocab
    seen, unseen = table[vocab["么"]], table[vocab["[unused1]"]]
    assert np.linalg.norm(seen) == pytest.approx(0.02 * np.sqrt(MINI["embedding_size"]), rel=1e-3)
    assert np.linalg.norm(unseen) != pytest.approx(np.linalg.norm(seen), rel=1e-3)  # random row kept
    train, _ = pair_files
    tuner = finetuner(task="pairs", train_files=[str(train)], init_checkpoint=str(out), batch_size=4,
                output_dir=str(tmp_path / "ft"))
    tuner.restore_or_init()
    got = tuner.model.weight_map()["embeddings/word_embeddings"].numpy()
    assert np.array_equal(got, table)
    # pretraining from it: the checkpoint has no MLM head, so the output bias still starts at the prior
    from albert_edge.train.pretrain import PretrainOptions, Pretrainer, unigram_log_prior
    opts = PretrainOptions(train_files=[str(workdir / "data" / "train-*")], output_dir=str(tmp_path / "pt"),
                           init_checkpoint=str(out), max_seq_len=SEQ, max_predictions_per_seq=PREDS,
                           batch_size=8, progress=False)
    trainer = Pretrainer(opts)
    trainer.restore_or_init()
    assert np.array_equal(trainer.model.weight_map()["embeddings/word_embeddings"].numpy(), table)
    prior = unigram_log_prior(trainer.train_files, opts, MINI["vocab_size"])
    assert np.allclose(trainer.model.mlm.output_bias.numpy(), prior) and prior.std() > 0.1
    bad = subprocess.run([sys.executable, "-m", "albert_edge.embedding_init", "--corpus",
                          str(tmp_path / "missing.txt"), "--output-dir", str(tmp_path / "x"),
                          "--config", str(workdir / "mini.json")],
                         capture_output=True, text=True, env=ENV, timeout=120)
    assert bad.returncode == 2 and "missing.txt" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x").exists()
