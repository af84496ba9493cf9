"""The performance tooling: FLOP counts, the export-shaped inference graph, and `benchmark peers`
end to end on a mini model (a smoke run of the harness, not a benchmark — timings are not checked)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from albert_edge.benchmark import flops as fl
from albert_edge.config import AlbertConfig
from albert_edge.export import fused
from albert_edge.modeling import AlbertClassifier
from conftest import mini_config  # noqa: E402  (tests/ is on sys.path under pytest)


def test_forward_flops_match_a_hand_count_for_albert_tiny():
    c = AlbertConfig.preset("tiny")   # E 128, H 312, I 1248, 4 layers, 12 heads
    f = fl.forward_flops(c, 128)
    # per layer: QKV+out 4·128·312² = 49,840,128; scores+context 2·128²·312 = 10,223,616;
    # FFN 2·128·312·1248 = 99,680,256 MACs. ×4 layers + embedding projection 128·128·312 = 5,111,808
    # + pooler 312² + classifier 312·2 = 97,968.
    macs = 4 * (49_840_128 + 10_223_616 + 99_680_256) + 5_111_808 + 97_968
    assert f["total"] == 2 * macs == 1_288_371_552          # issue 7's "1.29 GFLOP at seq 128"
    assert f["attention_scores"] == f["attention_context"] == 2 * 4 * 128 * 128 * 312
    assert fl.forward_flops(c, 32)["total"] < f["total"] / 4 + 1e7   # ~linear in L for short inputs
    assert fl.roofline_ms(f["total"], 82.0) == pytest.approx(15.71, abs=0.01)
    assert fl.roofline_fraction(f["total"], 82.0, 20.0) == pytest.approx(15.71 / 20.0, abs=1e-3)


def test_executed_flops_skip_most_of_the_last_layer():
    c = AlbertConfig.preset("tiny")
    full, executed = fl.forward_flops(c, 128)["total"], fused.executed_flops(c, 128)["total"]
    assert 0.75 < executed / full < 0.82


def _model(config, seed=0):
    model = AlbertClassifier(config, num_labels=3, dropout_prob=0.0).build_weights()
    rng = np.random.default_rng(seed)
    for v in model.weight_map().values():
        v.assign(rng.normal(0, 0.2, v.shape).astype(np.float32) + (1.0 if "gamma" in v.name else 0.0))
    return model


@pytest.mark.parametrize("layout,ln_type,groups,inner", [("brightmart", "postln", 1, 1), ("google", "preln", 2, 2)])
def test_fused_inference_graph_matches_the_keras_model(layout, ln_type, groups, inner):
    c = AlbertConfig(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, layout=layout, ln_type=ln_type,
                     num_hidden_groups=groups, inner_group_num=inner)
    model = _model(c)
    graph = fused.FusedAlbertClassifier(model)
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 21128, (2, 24)).astype(np.int32)
    mask = np.ones((2, 24), np.int32)
    mask[0, 10:] = 0                                                   # padded keys must stay masked
    seg = np.zeros((2, 24), np.int32)
    seg[:, 6:] = 1
    want = model({"input_ids": ids, "input_mask": mask, "segment_ids": seg}).numpy()
    got = graph(tf.constant(ids), tf.constant(mask), tf.constant(seg)).numpy()
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_serving_functions_use_the_fused_graph_only_for_plain_classifiers():
    from albert_edge.export import freeze
    model = _model(mini_config())
    assert freeze.inference_graph(model) is not None
    assert freeze.inference_graph(model, fused=False) is None
    assert freeze.inference_graph(model, head="mlm") is None
    fn = freeze.serving_functions(model, [16])["L16"]
    ids = tf.constant(np.arange(1, 17, dtype=np.int32)[None])
    ones = tf.ones([1, 16], tf.int32)
    out = fn(input_ids=ids, input_mask=ones, segment_ids=ones * 0)
    want = model({"input_ids": ids, "input_mask": ones, "segment_ids": ones * 0}).numpy()
    np.testing.assert_allclose(out["logits"].numpy(), want, atol=1e-5)


def test_bucket_of_picks_the_smallest_length_that_fits():
    from albert_edge.benchmark.peers import bucket_of
    assert [bucket_of(n, [32, 64, 128]) for n in (5, 32, 33, 128, 400)] == [32, 32, 64, 128, 128]


@pytest.mark.slow
def test_peers_runs_end_to_end_on_a_mini_model(tmp_path):
    from albert_edge.benchmark import peers
    config = tmp_path / "albert_config.json"
    config.write_text(json.dumps(mini_config().to_dict()))
    out = tmp_path / "peers.json"
    code = peers.main(["--config", str(config), "--work", str(tmp_path / "work"), "--engines", "tflite,onnxruntime",
                       "--tflite-variants", "fp32", "--ort-variants", "fp32", "--threads", "1",
                       "--seq-lens", "16,32", "--buckets", "16,32", "--runs", "2", "--chunk", "1",
                       "--mix-pairs", "6", "--json", str(out), "--markdown", str(tmp_path / "peers.md"),
                       "--no-progress"])
    assert code == 0
    result = json.loads(out.read_text())
    rows = {(r["engine"], r["variant"], r["seq_len"]): r for r in result["results"]}
    assert set(rows) == {("tflite", "fp32", 16), ("tflite", "fp32", 32),
                         ("onnxruntime", "fp32", 16), ("onnxruntime", "fp32", 32)}
    for r in rows.values():
        for key in ("engine", "variant", "threads", "seq_len", "median_ms", "p90_ms", "peak_rss_mb", "size_mb"):
            assert key in r
        assert r["median_ms"] > 0 and r["peak_rss_mb"] > 10 and r["size_mb"] > 0.1
    assert rows[("tflite", "fp32", 32)]["ratio_to_best_tflite"] == 1.0
    assert result["peak_gflops"] > 1
    # same weights everywhere: every engine's logits agree with the Keras model
    assert max(result["max_abs_logit_delta_vs_keras"].values()) < 1e-4
    assert {m["engine"] for m in result["mix"]} == {"tflite", "onnxruntime"}
    assert all(m["pad_len"] == 32 and m["pairs"] == 6 for m in result["mix"])
    assert "| tflite | fp32 |" in (tmp_path / "peers.md").read_text()
