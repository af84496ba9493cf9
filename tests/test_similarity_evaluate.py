"""`evaluate` and `similarity`: the same answers from a .tflite and from its checkpoint."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from albert_edge.evaluate import evaluate
from albert_edge.similarity import Similarity

ROOT = Path(__file__).parents[1]
VALID = ROOT / "albert_edge/resources/samples/lcqmc_valid.tsv"


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_tflite_and_checkpoint_agree_on_probabilities(exported, mini_checkpoint):
    fp32 = exported[0].out_dir / "albert_tiny_fp32.tflite"
    pairs = [("我想办一张信用卡", "怎么申请信用卡"), ("今天天气怎么样", "明天会下雨吗"), ("长" * 100, "短句")]
    lite = Similarity(fp32).predict_sentences(pairs)
    tf_ = Similarity(mini_checkpoint).predict_sentences(pairs)
    assert len(lite) == 3 and all(0.0 <= p <= 1.0 for p in lite + tf_)   # over-long text: truncated, no error
    # short pairs fit the same length bucket in both; the long one is cut at each model's own maximum
    np.testing.assert_allclose(lite[:2], tf_[:2], atol=1e-4)


@pytest.mark.slow
def test_a_pair_scores_the_same_in_both_orders_from_every_scorer(exported, mini_checkpoint):
    """Swapping the two texts changes nothing (the mean of both orders), from the .tflite and the
    checkpoint alike, and that mean is what the model gives for each order, averaged."""
    from albert_edge.data.tasks import read_texts
    from albert_edge.runtime import TFLiteModel, softmax
    pairs = [(ex.text_a, ex.text_b) for ex in read_texts(VALID, "pairs")[:40]] + [("长" * 100, "短句")]
    swapped = [(b, a) for a, b in pairs]
    for model in (exported[0].out_dir / "albert_tiny_fp32.tflite", mini_checkpoint):
        sim = Similarity(model)
        assert sim.predict_sentences(pairs) == sim.predict_sentences(swapped)
    runtime = TFLiteModel(exported[0].out_dir / "albert_tiny_fp32.tflite")
    assert runtime.symmetric
    one_order = np.array([[softmax(runtime.one_order_logits(a, b))[1], softmax(runtime.one_order_logits(b, a))[1]]
                          for a, b in pairs])
    assert np.abs(one_order[:, 0] - one_order[:, 1]).max() > 1e-4, "a random model is not symmetric by itself"
    np.testing.assert_allclose(Similarity(exported[0].out_dir / "albert_tiny_fp32.tflite").predict_sentences(pairs),
                               one_order.mean(axis=1), atol=1e-6)


@pytest.mark.slow
def test_empty_sentence_is_a_value_error_and_exit_2(exported):
    fp32 = exported[0].out_dir / "albert_tiny_fp32.tflite"
    with pytest.raises(ValueError, match="second sentence is empty"):
        Similarity(fp32).predict_sentences([("你好", "   ")])
    proc = _run("albert_edge.similarity", "--model", str(fp32), "你好", " ")
    assert proc.returncode == 2 and "empty" in proc.stderr and "Traceback" not in proc.stderr
    ok = _run("albert_edge.similarity", "--model", str(fp32), "我想办一张信用卡", "怎么申请信用卡")
    assert ok.returncode == 0 and 0.0 <= float(ok.stdout.strip()) <= 1.0


@pytest.mark.slow
def test_evaluate_cli_last_line_is_json_and_matches_the_library(exported, tmp_path):
    int8 = exported[0].out_dir / "albert_tiny_int8.tflite"
    proc = _run("albert_edge.evaluate", "--model", str(int8), "--data", str(VALID), "--limit", "50")
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["n"] == 50 and last == {k: v for k, v in evaluate(str(int8), str(VALID), limit=50).items()
                                        if k != "per_label"}
    lo, hi = last["accuracy_ci95"]
    assert lo < last["accuracy"] < hi and hi - lo > 0.15        # 50 pairs: an interval of ±~13 points
    bad = tmp_path / "bad.tsv"
    bad.write_text("一\t二\t1\n三\t四\tmaybe\n")
    proc = _run("albert_edge.evaluate", "--model", str(int8), "--data", str(bad))
    assert proc.returncode == 2 and f"{bad}:2" in proc.stderr and "maybe" in proc.stderr


def test_wilson_interval_matches_the_closed_form_and_narrows_with_n():
    from albert_edge.metrics import wilson_interval

    assert wilson_interval(50, 100) == (0.4038, 0.5962)          # textbook value for 50 / 100
    assert wilson_interval(1475, 2000) == pytest.approx((0.7178, 0.7563), abs=1e-4)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.27 < hi < 0.28                        # never below 0, unlike p ± 1.96·se
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
