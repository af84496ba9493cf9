"""albert_edge.train.finetune and its CLI on tiny data with a mini config: pairs / single / nli,
resume, bad labels named by file:line, pair augmentation (swapped, transitive), length buckets, EMA.

The `workdir` and `pair_files` fixtures (conftest) hold the mini config and bundled LCQMC pairs."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from albert_edge.train.common import TrainingError
from training_helpers import ENV, finetuner, write_lines  # noqa: E402  (tests/ is on sys.path)


@pytest.mark.slow
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
    first = finetuner(stop_after_steps=3, **common).run()       # injected stop: a crash after step 3
    assert first["completed"] is False and first["steps_done"] == 3
    tuner = finetuner(**common)
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


@pytest.mark.slow
def test_finetune_single_and_nli_tasks(workdir):
    single = write_lines(workdir / "single.tsv", [f"{'好评' if i % 2 else '差评'}第{i}条\t{'pos' if i % 2 else 'neg'}"
                                             for i in range(40)])
    out = finetuner(task="single", train_files=[str(single)], eval_file=str(single), epochs=1, labels="neg,pos",
              output_dir=str(workdir / "ft_single"), config=str(workdir / "mini.json")).run()
    assert out["labels"] == ["neg", "pos"] and out["completed"]
    nli_rows = ["text_a\ttext_b\tlabel"] + [f"他说{i}。\t他没说{i}。\t{lab}" for i, lab in
                                           zip(range(48), ["entailment", "neutral", "contradiction"] * 16)]
    nli = write_lines(workdir / "nli.tsv", nli_rows)
    out = finetuner(task="nli", train_files=[str(nli)], epochs=1, output_dir=str(workdir / "ft_nli"),
              config=str(workdir / "mini.json")).run()
    assert sorted(out["labels"]) == ["contradiction", "entailment", "neutral"]


@pytest.mark.slow
def test_finetune_label_outside_label_set_names_file_and_line(workdir, pair_files):
    bad = write_lines(workdir / "bad.tsv", ["今天\t明天\t1", "你好\t您好\t0", "早上\t晚上\tmaybe"])
    with pytest.raises(TrainingError, match=r"bad\.tsv:3.*'maybe'"):
        finetuner(task="pairs", train_files=[str(bad)], labels=["0", "1"], output_dir=str(workdir / "x"),
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
    tuner = finetuner(task="pairs", train_files=[str(train)], swap_pairs=True, output_dir=str(workdir / "sw"),
                config=str(workdir / "mini.json"))
    assert len(tuner.train_data) == 2 * len(examples)
    # the swapped half encodes b as segment 0: its first tokens are b's
    first_b = tuner.tokenizer.convert_tokens_to_ids(tuner.tokenizer.tokenize(examples[0].text_b))[0]
    assert tuner.train_data.input_ids[len(examples), 1] == first_b
    single = write_lines(workdir / "single_sw.tsv", ["好\tpos", "差\tneg"])
    with pytest.raises(TrainingError, match="--swap-pairs needs --task pairs"):
        finetuner(task="single", train_files=[str(single)], swap_pairs=True, batch_size=1,
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
    examples = read_examples(write_lines(workdir / "trans.tsv", rows), "pairs")
    derived, stats = transitive_pairs(examples)
    got = {(frozenset((e.text_a, e.text_b)), e.label) for e in derived}
    assert got == {(frozenset(("怎么买车", "买车的方法")), "1"),
                   (frozenset(("怎么买车", "怎么卖车")), "0"),
                   (frozenset(("如何买车", "怎么卖车")), "0")}
    assert stats == {"positive": 1, "negative": 2, "contradicted_clusters": 1}
    assert all("trans.tsv:" in e.where for e in derived)
    capped, _ = transitive_pairs(examples, max_per_edge=1)
    assert sum(e.label == "0" for e in capped) == 1
    tuner = finetuner(task="pairs", train_files=[str(workdir / "trans.tsv")], transitive_pairs=True,
                swap_pairs=True, batch_size=2, output_dir=str(workdir / "tr"), config=str(workdir / "mini.json"))
    assert len(tuner.train_data) == 2 * (len(rows) + 3)       # derived pairs are swapped too
    three = read_examples(write_lines(workdir / "three.tsv", ["甲\t乙\t2", "乙\t丙\t1"]), "pairs")
    with pytest.raises(DataError, match="binary labels"):
        transitive_pairs(three)


def test_bucketed_order_is_a_permutation_of_similar_length_batches():
    from albert_edge.train.finetune import bucketed_order

    lengths = np.random.default_rng(0).integers(5, 60, 1000)
    order = bucketed_order(lengths, 64, np.random.default_rng(1))
    assert sorted(order.tolist()) == list(range(1000))
    padded = np.mean([lengths[order[i:i + 64]].max() for i in range(0, 960, 64)])
    assert padded < 45          # random batches: ~58


@pytest.mark.slow
def test_ema_weights_are_what_is_evaluated_kept_and_resumed(workdir, pair_files, tmp_path):
    from albert_edge import checkpoint

    train, valid = pair_files
    common = dict(task="pairs", train_files=[str(train)], config=str(workdir / "mini.json"), batch_size=16,
                  epochs=2, ema_decay=0.9)
    tuner = finetuner(output_dir=str(tmp_path / "ema"), eval_file=str(valid), **common)
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
    plain = finetuner(output_dir=str(tmp_path / "ema_noeval"), **common)
    plain.run()
    saved = checkpoint.read_tf1_variables(checkpoint.find_tf1_checkpoint(tmp_path / "ema_noeval"))
    table = plain.model.weight_map()["embeddings/word_embeddings"]
    index = [i for i, w in enumerate(plain.model.trainable_variables) if w is table][0]
    assert np.array_equal(saved["bert/embeddings/word_embeddings"], plain.ema[index].numpy())
    # resume restores the shadows with the rest of the training state
    again = finetuner(output_dir=str(tmp_path / "ema_noeval"), **common)
    again.restore_or_init()
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(again.ema, plain.ema))
    with pytest.raises(TrainingError, match="--ema-decay"):
        finetuner(output_dir=str(tmp_path / "bad"), **{**common, "ema_decay": 1.0})


def test_labels_of_an_init_checkpoint_of_another_task_do_not_carry_over(tmp_path):
    """Starting an NLI model from a similarity model: the task's labels, not the checkpoint's 0/1."""
    from albert_edge.model_dir import ModelDir
    from albert_edge.train.finetune_data import resolve_labels
    pairs_model = tmp_path / "pairs"
    pairs_model.mkdir()
    (pairs_model / "labels.txt").write_text("0\n1\n")                  # no task.txt: read from the labels
    assert resolve_labels(None, task="nli", init_checkpoint=str(pairs_model)) == \
        ["contradiction", "entailment", "neutral"]
    assert resolve_labels(None, task="pairs", init_checkpoint=str(pairs_model)) == ["0", "1"]
    ModelDir.write_sidecars(pairs_model, ["neg", "pos"], "single")      # a sentiment model …
    assert resolve_labels(None, task="single", init_checkpoint=str(pairs_model)) == ["neg", "pos"]
    with pytest.raises(TrainingError, match="single task has no default label set"):
        resolve_labels(None, task="single", init_checkpoint=str(tmp_path / "elsewhere"))


@pytest.mark.slow
def test_an_nli_model_starts_from_a_similarity_models_encoder(workdir, pair_files):
    """A 2-label similarity checkpoint initialises a 3-label NLI model: encoder loaded, head fresh."""
    train, valid = pair_files
    similarity = workdir / "ft_for_nli"
    finetuner(task="pairs", train_files=[str(train)], epochs=1, output_dir=str(similarity),
              config=str(workdir / "mini.json")).run()
    nli = write_lines(workdir / "nli_from_pairs.tsv", ["text_a\ttext_b\tlabel"] + [
        f"他说{i}。\t他没说{i}。\t{lab}" for i, lab in zip(range(48), ["entailment", "neutral", "contradiction"] * 16)])
    tuner = finetuner(task="nli", train_files=[str(nli)], epochs=1, output_dir=str(workdir / "nli_from_pairs"),
                      init_checkpoint=str(similarity))
    assert tuner.label_list == ["contradiction", "entailment", "neutral"]
    before = {n: v.numpy().copy() for n, v in tuner.model.weight_map().items()}
    tuner.restore_or_init()
    after = tuner.model.weight_map()
    from albert_edge import checkpoint
    loaded = dict(tf.train.list_variables(str(similarity / "albert_model.ckpt")))
    assert loaded["output_weights"] == [2, 32] and tuple(after["classifier/output_weights"].shape) == (3, 32)
    np.testing.assert_array_equal(after["classifier/output_weights"].numpy(), before["classifier/output_weights"])
    reader = tf.train.load_checkpoint(str(similarity / "albert_model.ckpt"))
    word = checkpoint.layout_name("embeddings/word_embeddings", "brightmart")
    np.testing.assert_array_equal(after["embeddings/word_embeddings"].numpy(), reader.get_tensor(word))
