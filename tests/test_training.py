"""Training commands end to end on tiny data with a mini config: pretraining (resume after kill -9,
mirrored strategy on two logical CPUs = one device), fine-tuning (pairs / single / nli, resume,
bad labels named by file:line), optimizers and schedule."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from albert_edge.data import pretraining_data as pd
from albert_edge.train import optimization as opt
from albert_edge.train.common import TrainingError

ROOT = Path(__file__).parents[1]
MINI = {"vocab_size": 21128, "embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64,
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "ln_type": "postln"}
SEQ, PREDS = 32, 5
SAMPLES = ROOT / "albert_edge" / "resources" / "samples" / "lcqmc_calib.tsv"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": "1",
       "TF_NUM_INTEROP_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """Mini config + a small pretraining set made from the bundled LCQMC sample sentences."""
    d = tmp_path_factory.mktemp("training")
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


def _pretrain_cmd(d: Path, out: Path, steps: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "albert_edge.pretrain", "--train-files", str(d / "data" / "train-*"),
            "--eval-files", str(d / "data" / "eval-*"), "--output-dir", str(out),
            "--config", str(d / "mini.json"), "--max-seq-len", str(SEQ),
            "--max-predictions-per-seq", str(PREDS), "--batch-size", "8",
            "--num-train-steps", str(steps), "--num-warmup-steps", "2", "--save-every", "2",
            "--eval-every", "4", "--eval-batches", "1", "--log-every", "2", "--no-progress",
            "--shuffle-buffer", "50", *extra]


# ----------------------------------------------------------------------------- optimization
def test_schedule_warms_up_then_decays_linearly():
    s = opt.WarmupLinearDecay(1e-3, num_train_steps=100, num_warmup_steps=10)
    assert float(s(0)) == 0.0
    assert float(s(5)) == pytest.approx(5e-4)
    assert float(s(10)) == pytest.approx(0.9e-3)
    assert float(s(55)) == pytest.approx(0.45e-3)
    assert float(s(100)) == pytest.approx(0.0)


@pytest.mark.parametrize("name", ["adamw", "lamb"])
def test_weight_decay_skips_layer_norm_and_bias(name):
    kernel = tf.Variable(tf.ones([3, 3]), name="dense/kernel")
    bias = tf.Variable(tf.ones([3]), name="dense/bias")
    gamma = tf.Variable(tf.ones([3]), name="LayerNorm/gamma")
    o = opt.create_optimizer(name, 0.1, num_train_steps=10, num_warmup_steps=0, weight_decay_rate=0.5)
    o.apply_gradients([(tf.zeros_like(v), v) for v in (kernel, bias, gamma)])
    assert float(kernel[0, 0]) < 1.0          # decayed with a zero gradient
    assert float(bias[0]) == 1.0 and float(gamma[0]) == 1.0


def test_clip_gradients_uses_the_global_norm():
    grads, norm = opt.clip_gradients([tf.constant([3.0]), tf.constant([4.0])], 1.0)
    assert float(norm) == pytest.approx(5.0)
    assert float(tf.linalg.global_norm(grads)) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- pretraining
def test_pretrain_resumes_after_kill_9(workdir):
    out = workdir / "pt_kill"
    cmd = _pretrain_cmd(workdir, out, 30)
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


def test_pretrain_cli_user_errors(workdir, tmp_path):
    res = subprocess.run([sys.executable, "-m", "albert_edge.pretrain", "--train-files",
                          str(tmp_path / "nothing-*"), "--output-dir", str(tmp_path / "o")],
                         env=ENV, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "no training files" in res.stderr and "Traceback" not in res.stderr


# ----------------------------------------------------------------------------- fine-tuning
def _pairs(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pair_files(workdir):
    rows = SAMPLES.read_text(encoding="utf-8").splitlines()
    return _pairs(workdir / "train.tsv", rows[:96]), _pairs(workdir / "valid.tsv", rows[200:240])


def _ft(**kw):
    from albert_edge.train.finetune import FinetuneOptions, Finetuner

    base = dict(batch_size=16, max_seq_len=SEQ, epochs=2, log_every=2, progress=False,
                learning_rate=1e-3)
    base.update(kw)
    return Finetuner(FinetuneOptions(**base))


def test_finetune_pairs_writes_the_export_layout_and_resumes(workdir, pair_files):
    from albert_edge import checkpoint
    from albert_edge.config import AlbertConfig
    from albert_edge.modeling import AlbertClassifier

    train, valid = pair_files
    out = workdir / "ft"
    init = workdir / "single"                  # written by the mirrored test, else build one
    if not (init / "model.ckpt-3.index").is_file():
        init = None
    common = dict(task="pairs", train_files=[str(train)], eval_file=str(valid), output_dir=str(out),
                  config=str(workdir / "mini.json"),
                  init_checkpoint=str(init / "model.ckpt-3") if init else None)
    first = _ft(stop_after_steps=3, **common).run()       # injected stop: a crash after step 3
    assert first["completed"] is False and first["steps_done"] == 3
    tuner = _ft(**common)
    summary = tuner.run()
    assert summary["completed"] is True and summary["steps_done"] == tuner.total_steps == 12
    assert 0.0 <= summary["best"]["eval_accuracy"] <= 1.0
    for name in ("albert_model.ckpt.index", "albert_model.ckpt.data-00000-of-00001", "checkpoint",
                 "albert_config.json", "labels.txt", "eval_results.json"):
        assert (out / name).is_file(), name
    assert (out / "labels.txt").read_text().split() == ["0", "1"]
    names = dict(tf.train.list_variables(str(out / "albert_model.ckpt")))
    assert names["output_weights"] == [2, 32] and names["output_bias"] == [2]
    assert not any("adam" in n or n.startswith("cls/") for n in names)    # weights only
    # the written directory loads back and predicts what the trainer predicted
    config = AlbertConfig.from_json_file(out / "albert_config.json")
    model = AlbertClassifier(config, num_labels=2)
    model({"input_ids": tf.ones([1, 4], tf.int32), "input_mask": tf.ones([1, 4], tf.int32),
           "segment_ids": tf.zeros([1, 4], tf.int32)})
    checkpoint.load_weights(model, str(out), require_heads=("classifier/",))
    best_step = summary["best"]["step"]
    if best_step == tuner.total_steps:           # best == last: identical logits
        batch = {k: tuner.eval_data.__dict__[k][:4] for k in ("input_ids", "input_mask", "segment_ids")}
        np.testing.assert_allclose(model(batch).numpy(), tuner.predict_logits(tuner.eval_data)[:4],
                                   atol=1e-5)


def test_finetune_single_and_nli_tasks(workdir):
    single = _pairs(workdir / "single.tsv", [f"{'好评' if i % 2 else '差评'}第{i}条\t{'pos' if i % 2 else 'neg'}"
                                             for i in range(40)])
    out = _ft(task="single", train_files=[str(single)], eval_file=str(single), epochs=1, labels="neg,pos",
              output_dir=str(workdir / "ft_single"), config=str(workdir / "mini.json")).run()
    assert out["labels"] == ["neg", "pos"] and out["completed"]
    nli_rows = ["text_a\ttext_b\tlabel"] + [f"他说{i}。\t他没说{i}。\t{lab}" for i, lab in
                                           zip(range(48), ["entailment", "neutral", "contradiction"] * 16)]
    nli = _pairs(workdir / "nli.tsv", nli_rows)
    out = _ft(task="nli", train_files=[str(nli)], epochs=1, output_dir=str(workdir / "ft_nli"),
              config=str(workdir / "mini.json")).run()
    assert sorted(out["labels"]) == ["contradiction", "entailment", "neutral"]


def test_finetune_label_outside_label_set_names_file_and_line(workdir, pair_files):
    bad = _pairs(workdir / "bad.tsv", ["今天\t明天\t1", "你好\t您好\t0", "早上\t晚上\tmaybe"])
    with pytest.raises(TrainingError, match=r"bad\.tsv:3.*'maybe'"):
        _ft(task="pairs", train_files=[str(bad)], labels=["0", "1"], output_dir=str(workdir / "x"),
            config=str(workdir / "mini.json"))
    res = subprocess.run([sys.executable, "-m", "albert_edge.finetune", "--train-files", str(bad),
                          "--labels", "0,1", "--output-dir", str(workdir / "x2"),
                          "--config", str(workdir / "mini.json"), "--max-seq-len", "32"],
                         env=ENV, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "bad.tsv:3" in res.stderr and "Traceback" not in res.stderr


def test_swap_pairs_doubles_pair_data_and_refuses_other_tasks(workdir, pair_files):
    from albert_edge.data.pair_augment import swapped_pairs
    from albert_edge.data.tasks import read_examples

    train, _ = pair_files
    examples = read_examples(train, "pairs")
    swapped = swapped_pairs(examples)
    assert [(s.text_a, s.text_b, s.label) for s in swapped] == \
        [(e.text_b, e.text_a, e.label) for e in examples]
    assert swapped[2].where == f"{examples[2].where} (swapped)"
    tuner = _ft(task="pairs", train_files=[str(train)], swap_pairs=True, output_dir=str(workdir / "sw"),
                config=str(workdir / "mini.json"))
    assert len(tuner.train_data) == 2 * len(examples)
    # the swapped half encodes b as segment 0: its first tokens are b's
    first_b = tuner.tokenizer.convert_tokens_to_ids(tuner.tokenizer.tokenize(examples[0].text_b))[0]
    assert tuner.train_data.input_ids[len(examples), 1] == first_b
    single = _pairs(workdir / "single_sw.tsv", ["好\tpos", "差\tneg"])
    with pytest.raises(TrainingError, match="--swap-pairs needs --task pairs"):
        _ft(task="single", train_files=[str(single)], swap_pairs=True, batch_size=1,
            output_dir=str(workdir / "sw2"), config=str(workdir / "mini.json"))


def test_transitive_pairs_follow_same_and_different_across_shared_sentences(workdir):
    from albert_edge.data.pair_augment import transitive_pairs
    from albert_edge.data.tasks import DataError, read_examples

    rows = ["怎么买车\t如何买车\t1",        # A ≡ B
            "如何买车\t买车的方法\t1",      # B ≡ C      => A ≡ C (new)
            "买车的方法\t怎么卖车\t0",      # C ≢ D      => A ≢ D, B ≢ D (new)
            "今天天气\t明天天气\t0",        # unrelated negative: nothing new
            "苹果好吃\t香蕉好吃\t1",        # E ≡ F
            "香蕉好吃\t梨好吃\t1",          # F ≡ G, but ...
            "苹果好吃\t梨好吃\t0"]          # ... E ≢ G: contradictory cluster, nothing derived
    examples = read_examples(_pairs(workdir / "trans.tsv", rows), "pairs")
    derived, stats = transitive_pairs(examples)
    got = {(frozenset((e.text_a, e.text_b)), e.label) for e in derived}
    assert got == {(frozenset(("怎么买车", "买车的方法")), "1"),
                   (frozenset(("怎么买车", "怎么卖车")), "0"),
                   (frozenset(("如何买车", "怎么卖车")), "0")}
    assert stats == {"positive": 1, "negative": 2, "contradicted_clusters": 1}
    assert all("trans.tsv:" in e.where for e in derived)
    capped, _ = transitive_pairs(examples, max_per_edge=1)
    assert sum(e.label == "0" for e in capped) == 1
    tuner = _ft(task="pairs", train_files=[str(workdir / "trans.tsv")], transitive_pairs=True,
                swap_pairs=True, batch_size=2, output_dir=str(workdir / "tr"), config=str(workdir / "mini.json"))
    assert len(tuner.train_data) == 2 * (len(rows) + 3)       # derived pairs are swapped too
    three = read_examples(_pairs(workdir / "three.tsv", ["甲\t乙\t2", "乙\t丙\t1"]), "pairs")
    with pytest.raises(DataError, match="binary labels"):
        transitive_pairs(three)


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
    tuner = _ft(task="pairs", train_files=[str(train)], init_checkpoint=str(out), batch_size=4,
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


def test_bucketed_order_is_a_permutation_of_similar_length_batches():
    from albert_edge.train.finetune import bucketed_order

    lengths = np.random.default_rng(0).integers(5, 60, 1000)
    order = bucketed_order(lengths, 64, np.random.default_rng(1))
    assert sorted(order.tolist()) == list(range(1000))
    padded = np.mean([lengths[order[i:i + 64]].max() for i in range(0, 960, 64)])
    assert padded < 45          # random batches: ~58


def test_bias_calibration_picks_the_accuracy_maximising_shift():
    from albert_edge.train.calibrate import best_shift

    margins = np.array([-3.0, -2.0, -1.5, -1.0, 0.5])
    delta, before, after = best_shift(margins, np.array([0, 0, 1, 1, 1]))
    assert before == pytest.approx(0.6) and after == 1.0 and -2.0 + delta < 0 < -1.5 + delta
    assert best_shift(np.array([-1.0, 1.0]), np.array([0, 1]))[0] == 0.0   # already right: no shift


def test_ema_weights_are_what_is_evaluated_kept_and_resumed(workdir, pair_files, tmp_path):
    from albert_edge import checkpoint

    train, valid = pair_files
    common = dict(task="pairs", train_files=[str(train)], config=str(workdir / "mini.json"), batch_size=16,
                  epochs=2, ema_decay=0.9)
    tuner = _ft(output_dir=str(tmp_path / "ema"), eval_file=str(valid), **common)
    tuner.run()
    raw = [w.numpy() for w in tuner.model.trainable_variables]
    shadows = [s.numpy() for s in tuner.ema]
    assert max(float(np.abs(r - s).max()) for r, s in zip(raw, shadows)) > 1e-4   # an average, not a copy
    evals = [r for r in map(json.loads, (tmp_path / "ema" / "train_log.jsonl").read_text().splitlines())
             if r["kind"] == "eval"]
    assert evals and all("raw_eval_accuracy" in r for r in evals)
    # the last evaluation scored the averaged weights: re-scoring them gives the logged accuracy
    with tuner.averaged_weights():
        assert tuner.evaluate()["eval_accuracy"] == pytest.approx(evals[-1]["eval_accuracy"])
    assert all(np.array_equal(w.numpy(), r) for w, r in zip(tuner.model.trainable_variables, raw))
    # without an eval set the written model is the average
    plain = _ft(output_dir=str(tmp_path / "ema_noeval"), **common)
    plain.run()
    saved = checkpoint.read_tf1_variables(checkpoint.find_tf1_checkpoint(tmp_path / "ema_noeval"))
    table = plain.model.weight_map()["embeddings/word_embeddings"]
    index = [i for i, w in enumerate(plain.model.trainable_variables) if w is table][0]
    assert np.array_equal(saved["bert/embeddings/word_embeddings"], plain.ema[index].numpy())
    # resume restores the shadows with the rest of the training state
    again = _ft(output_dir=str(tmp_path / "ema_noeval"), **common)
    again.restore_or_init()
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(again.ema, plain.ema))
    with pytest.raises(TrainingError, match="--ema-decay"):
        _ft(output_dir=str(tmp_path / "bad"), **{**common, "ema_decay": 1.0})


@pytest.mark.parametrize("cli", ["pretrain", "finetune", "pretraining_data"])
def test_training_cli_help_answers_without_importing_tensorflow(cli):
    """``--help`` and usage errors are instant: TensorFlow is imported only when a job runs."""
    code = textwrap.dedent(f"""
        import sys
        from albert_edge.{cli} import build_parser
        help_text = build_parser().format_help()
        assert "--" in help_text
        print("tensorflow" in sys.modules)
    """)
    res = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "False"
