"""Pretraining data: whole-word marks, masking, SOP pairs, streaming counters, determinism."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from albert_edge.data import pretraining_data as pd

PARAGRAPHS = [
    "今天天气很好。我们去公园散步吧！公园里有很多人在跑步。",
    "中国人民银行宣布降低存款准备金率。此举将释放长期资金约一万亿元。市场普遍认为这是利好消息。",
    "这家餐厅的菜味道不错，服务也很周到。就是价格有点贵，下次还会再来。",
    "支付宝密码忘了怎么办？可以通过手机号码找回密码。也可以联系客服处理。",
    "北京是中华人民共和国的首都。上海是中国最大的经济中心城市。",
]


def _corpus(path: Path, blank_between: bool = True, extra: bytes = b"") -> Path:
    lines = []
    for i in range(12):
        for p in PARAGRAPHS[i % len(PARAGRAPHS):] + PARAGRAPHS[:i % len(PARAGRAPHS)]:
            lines.append(p.encode("utf-8"))
        if blank_between:
            lines.append(b"")
    lines.append(b"")
    lines.append("只有一句话的文档".encode("utf-8"))   # one-sentence document
    lines.append(b"")
    lines.append(b"")                                 # extra empty line
    data = b"\n".join(lines) + b"\n" + extra
    path.write_bytes(data)
    return path


def _read(files, seq_len, preds):
    import tensorflow as tf

    spec = pd.feature_spec(seq_len, preds)
    out = []
    for rec in tf.data.TFRecordDataset([str(f) for f in files]):
        ex = tf.io.parse_single_example(rec, spec)
        out.append({k: v.numpy().tolist() for k, v in ex.items()})
    return out


def test_split_sentences_keeps_closing_quotes():
    assert pd.split_sentences("他说：“你好。”然后走了！真的吗？？好") == [
        "他说：“你好。”", "然后走了！", "真的吗？？", "好"]
    assert pd.split_sentences("没有标点") == ["没有标点"]


def test_whole_word_marks_follow_jieba_words():
    cut = lambda text: ["中国", "人民", "银行", "abc", "很", "好"]  # noqa: E731
    tokens = ["中", "国", "人", "民", "银", "行", "abc", "很", "好"]
    assert pd.mark_whole_words(tokens, cut) == ["中", "##国", "人", "##民", "银", "##行", "abc", "很", "好"]
    assert pd.strip_wwm_mark("##国") == "国" and pd.strip_wwm_mark("##ing") == "##ing"


def test_masking_masks_whole_words_and_respects_budget():
    opts = pd.PretrainingDataOptions(max_predictions_per_seq=6, masked_lm_prob=0.5)
    tokens = ["[CLS]", "中", "##国", "人", "##民", "银", "##行", "[SEP]", "很", "好", "[SEP]"]
    for seed in range(20):
        out, positions, labels = pd.create_masked_lm_predictions(tokens, opts, ["x"], random.Random(seed))
        assert len(positions) <= 6 and positions == sorted(positions)
        assert not any(t.startswith("##") for t in out + labels)
        for a, b in ((1, 2), (3, 4), (5, 6)):       # both characters of a word, or neither
            assert (a in positions) == (b in positions)
        assert 0 not in positions and 7 not in positions and 10 not in positions


def test_ngram_masking_runs():
    opts = pd.PretrainingDataOptions(max_ngram=3, max_predictions_per_seq=8)
    tokens = ["[CLS]"] + list("今天天气很好我们去公园散步") + ["[SEP]"]
    _, positions, _ = pd.create_masked_lm_predictions(tokens, opts, ["x"], random.Random(0))
    assert 1 <= len(positions) <= 8


def test_end_to_end_counts_and_features(tmp_path):
    corpus = _corpus(tmp_path / "c.txt", extra=b"\xff\xfe\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x82\xe5\x86\x8d\xe8\xa7\x81\xe3\x80\x82\n")
    opts = pd.PretrainingDataOptions(max_seq_len=32, max_predictions_per_seq=5, dupe_factor=2, seed=3)
    stats = pd.create_pretraining_data([corpus], tmp_path / "out", opts, num_shards=2,
                                       eval_fraction=0.2, progress=False)
    assert stats.bad_bytes == 2 and stats.lines_with_bad_bytes == 1
    assert stats.empty_lines >= 14
    assert stats.one_sentence_documents == 1
    assert stats.instances > 0 and stats.eval_instances > 0
    summary = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert summary["stats"]["instances"] == stats.instances
    train = sorted((tmp_path / "out").glob("train-*.tfrecord"))
    assert [p.name for p in train] == ["train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord"]
    assert not list((tmp_path / "out").glob("*.tmp"))
    records = _read(train, 32, 5)
    assert len(records) == stats.instances
    labels = {r["sentence_order_label"][0] for r in records}
    assert labels == {0, 1}
    from albert_edge.tokenization import FullTokenizer

    vocab = FullTokenizer().vocab
    hash_ids = {i for t, i in vocab.items() if t.startswith("##") and pd._is_cjk_char(t[2:])}
    for r in records:
        n = sum(r["input_mask"])
        assert r["input_ids"][0] == vocab["[CLS]"] and r["input_ids"][n - 1] == vocab["[SEP]"]
        assert r["input_ids"].count(vocab["[SEP]"]) == 2
        m = int(sum(r["masked_lm_weights"]))
        assert 1 <= m <= 5
        assert all(0 < p < n for p in r["masked_lm_positions"][:m])
        assert not hash_ids & set(r["masked_lm_ids"][:m])     # labels are plain characters
        assert r["segment_ids"][n - 1] == 1


def test_output_does_not_depend_on_processes(tmp_path):
    corpus = _corpus(tmp_path / "c.txt")
    opts = pd.PretrainingDataOptions(max_seq_len=32, max_predictions_per_seq=5, docs_per_chunk=3)
    pd.create_pretraining_data([corpus], tmp_path / "one", opts, progress=False)
    pd.create_pretraining_data([corpus], tmp_path / "two", opts, processes=2, progress=False)
    one = (tmp_path / "one" / "train-00000-of-00001.tfrecord").read_bytes()
    two = (tmp_path / "two" / "train-00000-of-00001.tfrecord").read_bytes()
    assert one == two and len(one) > 0


def test_line_mode_and_sampling(tmp_path):
    corpus = _corpus(tmp_path / "c.txt", blank_between=False)
    opts = pd.PretrainingDataOptions(max_seq_len=32, max_predictions_per_seq=5, doc_boundary="line")
    stats = pd.create_pretraining_data([corpus], tmp_path / "o", opts, sample_rate=0.5,
                                       max_lines=40, progress=False)
    assert stats.lines == 40
    assert stats.documents + stats.sampled_out_documents == 40
    assert 0 < stats.sampled_out_documents < 40


@pytest.mark.slow
def test_cli_reports_user_errors_without_traceback(tmp_path):
    res = subprocess.run([sys.executable, "-m", "albert_edge.pretraining_data", "--input",
                          str(tmp_path / "missing.txt"), "--output-dir", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "missing.txt" in res.stderr and "Traceback" not in res.stderr
