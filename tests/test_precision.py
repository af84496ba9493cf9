"""--precision bf16: mixed-precision fine-tuning trains, writes float32 weights, and leaves the
process's Keras policy as it found it (an export after training in the same process stays float32)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "albert_edge" / "resources" / "samples" / "lcqmc_calib.tsv"
MINI = {"vocab_size": 21128, "embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64,
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "ln_type": "postln"}


@pytest.mark.slow
def test_bf16_finetune_trains_in_bf16_and_writes_float32_weights(tmp_path):
    import tensorflow as tf
    import tf_keras as keras

    from albert_edge.train.finetune import FinetuneOptions, Finetuner

    (tmp_path / "mini.json").write_text(json.dumps(MINI))
    rows = SAMPLES.read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.tsv").write_text("\n".join(rows[:64]) + "\n", encoding="utf-8")
    tuner = Finetuner(FinetuneOptions(
        task="pairs", train_files=[str(tmp_path / "train.tsv")], eval_file=str(tmp_path / "train.tsv"),
        output_dir=str(tmp_path / "out"), config=str(tmp_path / "mini.json"), batch_size=16,
        max_seq_len=32, epochs=2, learning_rate=1e-3, progress=False, precision="bf16"))
    assert keras.mixed_precision.global_policy().name == "float32"     # restored after building
    dense = tuner.model.encoder.pooler
    assert dense.compute_dtype == "bfloat16" and dense.variable_dtype == "float32"
    before = [w.numpy().copy() for w in tuner.model.trainable_variables]
    summary = tuner.run()
    assert summary["completed"] and 0.0 <= summary["best"]["eval_accuracy"] <= 1.0
    moved = max(float(np.abs(a - w.numpy()).max()) for a, w in zip(before, tuner.model.trainable_variables))
    assert moved > 1e-4
    names = dict(tf.train.list_variables(str(tmp_path / "out" / "albert_model.ckpt")))
    reader = tf.train.load_checkpoint(str(tmp_path / "out" / "albert_model.ckpt"))
    dtypes = reader.get_variable_to_dtype_map()
    assert names and all(dtypes[n] == tf.float32 for n in names)


def test_unknown_precision_is_a_user_error():
    from albert_edge.train.common import TrainingError, precision_policy

    with pytest.raises(TrainingError, match="unknown precision 'fp8'"):
        with precision_policy("fp8"):
            pass
