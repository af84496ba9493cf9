"""albert_edge.train.pretrain and its CLI on tiny data with a mini config: resume after kill -9,
mirrored strategy on two logical CPUs = one device, the shard mix, the unigram prior of the MLM bias.

The `workdir` fixture (conftest) holds the mini config and a small pretraining set."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

from albert_edge.data import pretraining_data as pd
from training_helpers import ENV, PREDS, ROOT, SEQ, pretrain_cmd  # noqa: E402  (tests/ is on sys.path)


@pytest.mark.slow
def test_pretrain_resumes_after_kill_9(workdir):
    out = workdir / "pt_kill"
    cmd = pretrain_cmd(workdir, out, 30)
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    deadline = time.time() + 90
    state = out / "state"
    while time.time() < deadline and proc.poll() is None:
        # a save is complete once the `checkpoint` file names it (the .index appears a moment before:
        # a kill in between rightly restarts from scratch, which is not what this test is about)
        if state.is_dir() and tf.train.latest_checkpoint(str(state)):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "finished before it could be killed: " + proc.stdout.read()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = max(int(p.name.split("-")[1].split(".")[0]) for p in state.glob("ckpt-*.index"))
    assert 2 <= killed_at < 30

    res = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resumed from" in res.stderr
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result["step"] == 30 and 0.0 <= result["sop_acc"] <= 1.0 and "mlm_acc" in result
    # brightmart layout: the 31 albert_zh names (mini shapes)
    names = dict(tf.train.list_variables(str(out / "model.ckpt-30")))
    assert "bert/encoder/layer_shared/attention/self/query/kernel" in names
    assert "cls/predictions/output_bias" in names and "cls/seq_relationship/output_weights" in names
    assert len(names) == 31
    assert tf.train.latest_checkpoint(str(out)).endswith("model.ckpt-30")
    log = [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]
    assert any(r["kind"] == "eval" and "sop_acc" in r for r in log)
    assert len(list(out.glob("model.ckpt-*.index"))) <= 3       # older ones pruned


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    from albert_edge.train.common import configure_runtime
    configure_runtime(1, 1, cpu_devices=2)
    from albert_edge.train.pretrain import Pretrainer, PretrainOptions
    from albert_edge import checkpoint
    d = sys.argv[1]
    common = dict(train_files=[d + "/data/train-00000-of-00001.tfrecord"], config=d + "/mini.json",
                  max_seq_len=%d, max_predictions_per_seq=%d, batch_size=8, num_train_steps=3,
                  num_warmup_steps=1, save_every=100, eval_every=100, shuffle_buffer=1,
                  progress=False, init_checkpoint=d + "/init/model.ckpt")
    first = Pretrainer(PretrainOptions(output_dir=d + "/single", **common))
    checkpoint.save_tf1_checkpoint(first.model, d + "/init/model.ckpt")
    first.run()
    mirrored = Pretrainer(PretrainOptions(output_dir=d + "/mirrored", strategy="mirrored", **common))
    assert mirrored.replicas == 2, mirrored.replicas
    mirrored.run()
    a = dict((n, tf.train.load_variable(d + "/single/model.ckpt-3", n)) for n, _ in tf.train.list_variables(d + "/single/model.ckpt-3"))
    b = dict((n, tf.train.load_variable(d + "/mirrored/model.ckpt-3", n)) for n, _ in tf.train.list_variables(d + "/mirrored/model.ckpt-3"))
    i = dict((n, tf.train.load_variable(d + "/init/model.ckpt", n)) for n, _ in tf.train.list_variables(d + "/init/model.ckpt"))
    diff = max(float(np.abs(a[n] - b[n]).max()) for n in a)
    moved = max(float(np.abs(a[n] - i[n]).max()) for n in a)
    print(json.dumps({"replicas": mirrored.replicas, "max_diff": diff, "moved": moved}))
""" % (SEQ, PREDS))


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus_matches_one_device(workdir):
    res = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(workdir)], env=ENV,
                         capture_output=True, text=True, timeout=150, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["moved"] > 1e-4                   # training happened
    assert result["max_diff"] < 1e-4                # 2 replicas x 4 == 1 device x 8


def _write_marked_shard(path, first_id: int, n: int) -> str:
    """A shard of ``n`` records whose first input id is ``first_id + i`` (all other fields constant)."""
    with tf.io.TFRecordWriter(str(path)) as w:
        for i in range(n):
            w.write(pd.to_example_bytes({
                "input_ids": [first_id + i] + [0] * (SEQ - 1), "input_mask": [1] + [0] * (SEQ - 1),
                "segment_ids": [0] * SEQ, "masked_lm_positions": [0] * PREDS,
                "masked_lm_ids": [0] * PREDS, "masked_lm_weights": [0.0] * PREDS,
                "sentence_order_label": [0]}))
    return str(path)


def test_pretraining_mix_of_unequal_shards_is_the_same_at_every_step(tmp_path):
    """A 100-record corpus beside a 300-record one is 1/4 of every stretch of training, not 1/2 at the
    start of an epoch and 0 at its end (what round-robin interleaving of the shards gave)."""
    from albert_edge.train.pretrain import PretrainOptions, make_dataset, shard_weights

    small = _write_marked_shard(tmp_path / "small.tfrecord", 1000, 100)
    large = _write_marked_shard(tmp_path / "large.tfrecord", 5000, 300)
    weights = shard_weights([small, large])
    assert abs(weights[0] - 0.25) < 0.01 and abs(sum(weights) - 1.0) < 1e-9

    opts = PretrainOptions(max_seq_len=SEQ, max_predictions_per_seq=PREDS, shuffle_buffer=1)
    ids = np.concatenate([b["input_ids"][:, 0].numpy()
                          for b in make_dataset([small, large], opts, 50, training=True).take(16)])
    from_small = ids < 5000
    shares = [float(from_small[i:i + 200].mean()) for i in range(0, 800, 200)]   # 2 epochs, 4 windows
    assert all(0.15 <= s <= 0.35 for s in shares), shares
    # each shard is read in order and starts again when it runs out
    small_ids = ids[from_small] - 1000
    assert small_ids[:100].tolist() == list(range(100)) and small_ids[100] == 0
    # --shard-mix even: one 100-record shard and one 300-record shard are drawn half and half
    even = np.concatenate([b["input_ids"][:, 0].numpy() for b in make_dataset(
        [small, large], dataclasses.replace(opts, shard_mix="even"), 50, training=True).take(8)])
    assert 0.4 <= float((even < 5000).mean()) <= 0.6
    # same seed, same order: what resuming relies on
    again = np.concatenate([b["input_ids"][:, 0].numpy()
                            for b in make_dataset([small, large], opts, 50, training=True).take(16)])
    assert again.tolist() == ids.tolist()


def test_pretraining_refuses_empty_shards(tmp_path):
    from albert_edge.train.common import TrainingError
    from albert_edge.train.pretrain import shard_weights

    empty = [str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")]
    for f in empty:
        open(f, "wb").close()
    with pytest.raises(TrainingError, match="empty"):
        shard_weights(empty)
    with pytest.raises(TrainingError, match="shard_mix must be one of"):
        shard_weights(empty, "by-corpus")


def test_unigram_prior_counts_weighted_masked_targets(tmp_path):
    from albert_edge.train.pretrain import PretrainOptions, unigram_log_prior

    path = tmp_path / "prior.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as w:
        for ids, weights in (([7, 7, 9, 0, 0], [1, 1, 1, 0, 0]), ([7, 5, 0, 0, 0], [1, 1, 0, 0, 0])):
            w.write(pd.to_example_bytes({
                "input_ids": [0] * SEQ, "input_mask": [1] * SEQ, "segment_ids": [0] * SEQ,
                "masked_lm_positions": [1, 2, 3, 0, 0], "masked_lm_ids": ids,
                "masked_lm_weights": [float(x) for x in weights], "sentence_order_label": [0]}))
    opts = PretrainOptions(max_seq_len=SEQ, max_predictions_per_seq=PREDS)
    prior = unigram_log_prior([str(path)], opts, vocab_size=12)
    assert prior.shape == (12,) and abs(float(prior.mean())) < 1e-5
    # add-one counts: id 7 seen 3x -> 4, ids 5 and 9 once -> 2, padding id 0 (weight 0) -> 1
    assert np.argmax(prior) == 7
    np.testing.assert_allclose(prior[7] - prior[5], np.log(2.0), atol=1e-6)
    np.testing.assert_allclose(prior[5] - prior[0], np.log(2.0), atol=1e-6)
    assert prior[9] == prior[5]


@pytest.mark.slow
def test_pretrain_cli_user_errors(workdir, tmp_path):
    res = subprocess.run([sys.executable, "-m", "albert_edge.pretrain", "--train-files",
                          str(tmp_path / "nothing-*"), "--output-dir", str(tmp_path / "o")],
                         env=ENV, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "no training files" in res.stderr and "Traceback" not in res.stderr
