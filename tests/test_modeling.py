"""The model is ALBERT as albert_zh defines it: same outputs as albert_zh's own TF1 graph and as
Hugging Face's independent AlbertModel, with the same random weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from albert_edge import checkpoint as ck
from albert_edge.config import AlbertConfig
from albert_edge.modeling import AlbertClassifier, AlbertForMaskedLM, AlbertForPretraining

REF = Path(__file__).parent / "data" / "reference_checkpoint"
CONFIGS = Path(__file__).parents[1] / "albert_edge" / "resources" / "configs"


def _inputs(seq_len: int, batch: int = 2, vocab: int = 21128, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    ids = rng.integers(100, vocab, size=(batch, seq_len)).astype(np.int32)
    ids[:, 0] = 101
    mask = np.ones((batch, seq_len), np.int32)
    mask[-1, seq_len * 2 // 3:] = 0            # a padded row exercises the attention mask
    seg = np.zeros((batch, seq_len), np.int32)
    seg[:, seq_len // 2:] = 1
    return {"input_ids": ids, "input_mask": mask, "segment_ids": seg}


def _randomize(model, seed: int = 1) -> None:
    """Non-trivial weights everywhere (LayerNorm gammas ≠ 1, biases ≠ 0) so a swapped name shows."""
    rng = np.random.default_rng(seed)
    for v in model.weight_map().values():
        v.assign(rng.normal(0, 0.05, v.shape).astype(np.float32) + (1.0 if v.name.endswith("gamma:0") else 0.0))


def test_brightmart_checkpoint_lists_exactly_the_reference_names_and_shapes(tmp_path):
    model = AlbertForPretraining(AlbertConfig.from_json_file(CONFIGS / "albert_config_tiny.json")).build_weights()
    ck.save_tf1_checkpoint(model, tmp_path / "albert_model.ckpt")
    ours = {n: tuple(s) for n, s in tf.train.list_variables(str(tmp_path / "albert_model.ckpt"))}
    ref = {n: tuple(s) for n, s in tf.train.list_variables(str(REF / "albert_model.ckpt"))}
    assert ours == ref
    assert sum(int(np.prod(s)) for s in ours.values()) == 4_295_186


@pytest.mark.slow
def test_same_outputs_as_albert_zh_own_tf1_graph(tmp_path):
    """Import albert_zh's real albert_tiny_zh graph (.meta), give it random weights, save them with
    its own Saver (the exact official layout), load that into our model and compare."""
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(str(REF / "albert_model.ckpt.meta"), clear_devices=True)
        rng = np.random.default_rng(3)
        with tf.compat.v1.Session(graph=graph) as sess:
            for var in graph.get_collection("variables"):
                shape = var.shape.as_list()
                value = rng.normal(0, 0.05, shape).astype(np.float32)
                if var.name.endswith("gamma:0"):
                    value += 1.0
                var.load(value, sess)
            saver.save(sess, str(tmp_path / "albert_model.ckpt"), write_meta_graph=False)
            inputs = _inputs(128, batch=1, seed=5)
            inputs["input_mask"][0, 100:] = 0
            feed = {"input_ids:0": inputs["input_ids"], "input_mask:0": inputs["input_mask"],
                    "segment_ids:0": inputs["segment_ids"][0],
                    "masked_lm_positions:0": np.arange(128, dtype=np.int32)[None],
                    "masked_lm_ids:0": np.zeros((1, 128), np.int32),
                    "masked_lm_weights:0": np.ones((1, 128), np.float32)}
            ref_logprobs, ref_pooled = sess.run(["cls/predictions/LogSoftmax:0", "bert/pooler/dense/Tanh:0"], feed)

    model = AlbertForMaskedLM(AlbertConfig.from_json_file(CONFIGS / "albert_config_tiny.json")).build_weights()
    report = ck.load_weights(model, tmp_path, require_heads=("mlm/", "sop/"))
    assert report.layout == "brightmart" and not report.missing_heads and len(report.loaded) == 31
    logits = model(inputs)[0]
    ours = tf.nn.log_softmax(logits, axis=-1).numpy()
    _, pooled = model.encoder(inputs)
    assert np.abs(ours - ref_logprobs).max() <= 1e-4
    assert np.abs(pooled.numpy() - ref_pooled).max() <= 1e-4


def _hf_hidden(folder: Path, inputs: dict):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    hf = transformers.AlbertModel.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        out = hf(input_ids=torch.tensor(inputs["input_ids"], dtype=torch.long),
                 attention_mask=torch.tensor(inputs["input_mask"], dtype=torch.long),
                 token_type_ids=torch.tensor(inputs["segment_ids"], dtype=torch.long))
    return out.last_hidden_state.numpy(), out.pooler_output.numpy()


@pytest.mark.slow
@pytest.mark.parametrize("config_file", ["albert_config_tiny.json", "albert_config_tiny_google.json",
                                         "albert_config_base_google_fast.json"])
def test_hidden_states_equal_huggingface_albert(tmp_path, config_file):
    config = AlbertConfig.from_json_file(CONFIGS / config_file)
    if config.hidden_size > 400:   # keep the 12-group config fast: same structure, smaller sizes
        config = config.replace(hidden_size=96, intermediate_size=192, num_attention_heads=4)
    model = AlbertClassifier(config, num_labels=2).build_weights()
    _randomize(model)
    ck.save_hf(model, tmp_path / "hf")
    inputs = _inputs(24)
    seq, pooled = model.encoder(inputs)
    hf_seq, hf_pooled = _hf_hidden(tmp_path / "hf", inputs)
    valid = inputs["input_mask"].astype(bool)
    assert np.abs(seq.numpy()[valid] - hf_seq[valid]).max() <= 1e-4
    assert np.abs(pooled.numpy() - hf_pooled).max() <= 1e-4


def test_hf_folder_reads_back_into_a_google_structured_model(tmp_path):
    config = AlbertConfig.from_json_file(CONFIGS / "albert_config_tiny_google.json").replace(
        hidden_size=48, intermediate_size=96, num_attention_heads=4, vocab_size=300)
    model = AlbertClassifier(config, num_labels=3).build_weights()
    _randomize(model)
    ck.save_hf(model, tmp_path / "hf")
    loaded_config = ck.config_for_checkpoint(tmp_path / "hf")
    assert loaded_config.layout == "google" and loaded_config.hidden_act == "gelu"
    other = AlbertClassifier(loaded_config, num_labels=3).build_weights()
    report = ck.load_weights(other, tmp_path / "hf", require_heads=("classifier/",))
    inputs = _inputs(10, vocab=300)
    np.testing.assert_allclose(other(inputs).numpy(), model(inputs).numpy(), atol=1e-6)
    assert report.layout == "huggingface"


def test_google_tf1_layout_round_trip_uses_official_names(tmp_path):
    config = AlbertConfig.from_json_file(CONFIGS / "albert_config_tiny_google.json").replace(
        hidden_size=32, intermediate_size=64, num_attention_heads=4, vocab_size=200)
    model = AlbertForPretraining(config).build_weights()
    _randomize(model)
    ck.save_tf1_checkpoint(model, tmp_path / "model.ckpt")
    names = dict(tf.train.list_variables(str(tmp_path / "model.ckpt")))
    assert "bert/encoder/embedding_hidden_mapping_in/kernel" in names
    assert names["bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/output/dense/kernel"] == [64, 32]
    assert names["cls/predictions/transform/dense/kernel"] == [32, 128]   # H → E in the Google head
    other = AlbertForPretraining(config).build_weights()
    ck.load_weights(other, tmp_path)
    inputs = dict(_inputs(12, vocab=200), masked_lm_positions=np.array([[1, 2], [3, 4]], np.int32))
    np.testing.assert_allclose(other(inputs)["mlm_logits"].numpy(), model(inputs)["mlm_logits"].numpy(), atol=1e-6)


def test_brightmart_and_google_tables_map_the_same_model_variables():
    """Each table names every variable of its structure, once; the two agree wherever albert_zh kept
    one name for both layouts (embeddings, pooler, MLM / SOP / classifier heads) and differ in the
    encoder — whatever the order of either table's rows."""
    named = {}
    for layout in ("brightmart", "google"):
        config = AlbertConfig.from_dict({**_mini().to_dict(), "layout": layout})
        canonical = (set(AlbertForPretraining(config).build_weights().weight_map())
                     | set(AlbertClassifier(config, num_labels=2).build_weights().weight_map()))
        named[layout] = {c: ck.layout_name(c, layout) for c in canonical}
        assert len(set(named[layout].values())) == len(canonical), layout   # no two share a name
    shared = named["brightmart"].keys() & named["google"].keys()
    outside_encoder = {c for c in shared if not c.startswith("encoder/")}
    assert {c.split("/")[0] for c in outside_encoder} == {"embeddings", "pooler", "mlm", "sop", "classifier"}
    assert {c: named["brightmart"][c] for c in outside_encoder} == {c: named["google"][c] for c in outside_encoder}
    in_encoder = shared - outside_encoder
    assert in_encoder and all(named["brightmart"][c] != named["google"][c] for c in in_encoder)
    # the projection E -> H is where the structures differ: each layout names only its own
    assert named["brightmart"]["embeddings/word_projection"] == "bert/embeddings/word_embeddings_2"
    assert named["google"]["encoder/embedding_projection/kernel"] == "bert/encoder/embedding_hidden_mapping_in/kernel"
    with pytest.raises(KeyError):
        ck.layout_name("encoder/embedding_projection/kernel", "brightmart")


# ----------------------------------------------------------------------------- bad input
def _mini(**kw) -> AlbertConfig:
    return AlbertConfig(vocab_size=120, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=64, **kw)


def test_shape_mismatch_names_variable_expected_found_and_a_fitting_config(tmp_path):
    model = AlbertForPretraining(_mini()).build_weights()
    ck.save_tf1_checkpoint(model, tmp_path / "model.ckpt")
    wrong = AlbertClassifier(_mini().replace(hidden_size=48, intermediate_size=96), 2).build_weights()
    with pytest.raises(ck.CheckpointError) as err:
        ck.load_weights(wrong, tmp_path)
    text = str(err.value)
    assert "bert/embeddings/word_embeddings_2" in text and "[16, 48]" in text and "[16, 32]" in text
    assert '"hidden_size": 32' in text


def test_missing_encoder_variable_is_named(tmp_path):
    model = AlbertForPretraining(_mini()).build_weights()
    values = {ck.layout_name(c, "brightmart"): v.numpy() for c, v in model.weight_map().items()}
    del values["bert/pooler/dense/kernel"]
    names = sorted(values)
    tf.raw_ops.SaveV2(prefix=str(tmp_path / "m.ckpt"), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(values[n]) for n in names])
    with pytest.raises(ck.CheckpointError, match="missing variable bert/pooler/dense/kernel"):
        ck.load_weights(AlbertClassifier(_mini(), 2).build_weights(), tmp_path / "m.ckpt")


def test_not_a_checkpoint_and_missing_path_and_layout_mismatch(tmp_path):
    model = AlbertClassifier(_mini(), 2).build_weights()
    with pytest.raises(ck.CheckpointError, match="checkpoint not found.*albert_zh"):
        ck.load_weights(model, tmp_path / "nope")
    (tmp_path / "junk.index").write_bytes(b"this is not a checkpoint")
    with pytest.raises(ck.CheckpointError, match="not a readable TF checkpoint"):
        ck.load_weights(model, tmp_path / "junk")
    google = AlbertForPretraining(_mini(layout="google")).build_weights()
    ck.save_tf1_checkpoint(google, tmp_path / "g" / "model.ckpt")
    with pytest.raises(ck.CheckpointError, match="google layout.*albert_config_tiny_google.json"):
        ck.load_weights(model, tmp_path / "g")


def test_pretraining_checkpoint_initialises_a_classifier_leaving_its_head_fresh(tmp_path):
    pre = AlbertForPretraining(_mini()).build_weights()
    _randomize(pre)
    ck.save_tf1_checkpoint(pre, tmp_path / "model.ckpt")
    clf = AlbertClassifier(_mini(), 2).build_weights()
    report = ck.load_weights(clf, tmp_path)
    assert report.missing_heads == ["classifier/output_weights", "classifier/output_bias"]
    inputs = _inputs(8, vocab=120)
    np.testing.assert_allclose(clf.encoder(inputs)[1].numpy(), pre.encoder(inputs)[1].numpy(), atol=1e-6)
