"""Packed SOP pairs, on-the-fly whole-word masking, and the PyTorch pretrainer's hand-over to the kit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from albert_edge.data import pretraining_data as pd
from albert_edge.data.pretraining_pairs import (CONTINUATION_BIT, create_pretraining_pairs,
                                                load_pretraining_pairs)

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from albert_edge.train import pretrain_torch as pt  # noqa: E402  (needs torch)

ROOT = Path(__file__).parents[1]
CORPUS = [
    "今天天气很好。我们去公园散步吧！公园里有很多人在跑步。",
    "中国人民银行宣布降低存款准备金率。此举将释放长期资金约一万亿元。市场普遍认为这是利好消息。",
    "这家餐厅的菜味道不错，服务也很周到。就是价格有点贵，下次还会再来。",
    "支付宝密码忘了怎么办？可以通过手机号码找回密码。也可以联系客服处理。",
    "北京是中华人民共和国的首都。上海是中国最大的经济中心城市。",
    "只有一句话的段落",
]
# distinct documents (the held-out split hashes a document's first line); one stays one sentence
LINES = [text if "。" not in text else f"{text}第{k}遍。" for k in range(8) for text in CORPUS]
SPECIAL = {"[CLS]": 101, "[SEP]": 102, "[MASK]": 103}


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pairs")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = folder / "pairs.npz"
    options = pd.PretrainingDataOptions(max_seq_len=32, doc_boundary="line", dupe_factor=2,
                                        seed=3, docs_per_chunk=7)
    create_pretraining_pairs([corpus], out, options, eval_fraction=0.3, progress=False)
    return out


def _mini_config(tmp_path: Path) -> Path:
    from albert_edge.config import AlbertConfig

    config = AlbertConfig.from_json_file(
        ROOT / "albert_edge/resources/configs/albert_config_tiny_google.json").replace(
        embedding_size=16, hidden_size=32, intermediate_size=64, num_attention_heads=2,
        num_hidden_layers=2, max_position_embeddings=64)
    path = tmp_path / "mini_google.json"
    path.write_text(config.to_json_string(), encoding="utf-8")
    return path


def test_packed_rows_hold_pairs_in_document_order_with_word_marks(packed):
    data = load_pretraining_pairs(packed)
    tokens, a_len = data["train_tokens"], data["train_a_len"]
    assert tokens.dtype == np.uint16 and tokens.shape[1] == 32 and len(tokens) == len(a_len) > 20
    assert len(data["eval_tokens"]) > 0                         # whole documents held out
    meta = data["meta"]
    assert meta["stats"]["one_sentence_documents"] == 8 and meta["special_ids"]["[MASK]"] == 103
    from albert_edge.tokenization import FullTokenizer
    vocab = {i: t for t, i in FullTokenizer().vocab.items()}
    ids = tokens & (CONTINUATION_BIT - 1)
    for row, a in zip(ids, a_len):
        n = int((row != 0).sum())
        assert row[0] == 101 and row[a + 1] == 102 and row[n - 1] == 102 and not row[n:].any()
        side_a = "".join(vocab[int(i)] for i in row[1:a + 1])
        side_b = "".join(vocab[int(i)] for i in row[a + 2:n - 1])
        assert side_a and side_b
        assert any(side_a in t and side_b in t[t.index(side_a) + len(side_a):] for t in LINES)
    # jieba words: 银行 is one word, so 行 continues it; the first token of a side never does
    flat = [(int(t) & (CONTINUATION_BIT - 1), bool(t & CONTINUATION_BIT)) for t in tokens.ravel()]
    bank = FullTokenizer().vocab["行"]
    assert any(i == bank and cont for i, cont in flat)
    assert not (tokens[:, 1] & CONTINUATION_BIT).any()


def test_packing_errors_are_clear(tmp_path, packed):
    one = tmp_path / "one.txt"
    one.write_text("只有一句话\n", encoding="utf-8")
    with pytest.raises(pd.PretrainingDataError, match="no sentence pairs"):
        create_pretraining_pairs([one], tmp_path / "x.npz", pd.PretrainingDataOptions(
            doc_boundary="line"), progress=False)
    with pytest.raises(pd.PretrainingDataError, match=r"\.npz"):
        create_pretraining_pairs([one], tmp_path / "x.bin", progress=False)
    assert not (tmp_path / "x.npz").exists()
    with pytest.raises(pd.PretrainingDataError, match="not a readable"):
        load_pretraining_pairs(one)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(packed.read_bytes()[:2000])
    with pytest.raises(pd.PretrainingDataError, match="not a readable"):
        load_pretraining_pairs(truncated)


def test_dynamic_batch_swaps_half_and_masks_whole_words(packed):
    rows = pt.load_rows([str(packed)], torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    tokens, a_len = rows.tokens, rows.a_len
    batch = pt.dynamic_batch(tokens, a_len, generator, masked_lm_prob=0.15, max_predictions=5,
                             vocab_size=rows.vocab_size, special=SPECIAL)
    ids = tokens & (CONTINUATION_BIT - 1)
    chosen_total = 0
    for i in range(len(tokens)):
        n = int((ids[i] != 0).sum())
        a = int(a_len[i])
        side_a, side_b = ids[i, 1:a + 1].tolist(), ids[i, a + 2:n - 1].tolist()
        swapped = bool(batch["sentence_order_label"][i])
        first, second = (side_b, side_a) if swapped else (side_a, side_b)
        want = [101] + first + [102] + second + [102]
        restored = batch["input_ids"][i].clone()
        weights = batch["masked_lm_weights"][i]
        positions = batch["masked_lm_positions"][i][weights > 0]
        restored[positions] = batch["masked_lm_ids"][i][weights > 0]
        assert restored[:n].tolist() == want and not restored[n:].any()
        assert batch["token_type_ids"][i].tolist() == [0] * (len(first) + 2) + [1] * (
            len(second) + 1) + [0] * (tokens.shape[1] - n)
        assert int(batch["attention_mask"][i].sum()) == n
        assert weights.sum() <= 5
        chosen_total += int(weights.sum())
        # whole words: a token that continues a word is chosen exactly when the token before it
        # is (continuation bits travel with their tokens)
        cont = ((tokens[i] & CONTINUATION_BIT) != 0).tolist()
        bits_a, bits_b = cont[1:a + 1], cont[a + 2:n - 1]
        first_bits, second_bits = (bits_b, bits_a) if swapped else (bits_a, bits_b)
        bits = [False] + [False] + first_bits[1:] + [False] + [False] + second_bits[1:] + [False]
        chosen = set(positions.tolist())
        for q in range(n):              # the cap keeps whole words too
            if bits[q]:
                assert (q in chosen) == (q - 1 in chosen), (i, q)
    rate = batch["sentence_order_label"].float().mean()
    assert 0.3 < rate < 0.7
    assert chosen_total > 0
    # 80 % [MASK], 10 % random, 10 % kept, over many draws
    big = pt.dynamic_batch(tokens.repeat(40, 1), a_len.repeat(40), generator, masked_lm_prob=0.15,
                           max_predictions=20, vocab_size=rows.vocab_size, special=SPECIAL)
    w = big["masked_lm_weights"] > 0
    at = torch.gather(big["input_ids"], 1, big["masked_lm_positions"])[w]
    assert 0.75 < (at == 103).float().mean() < 0.85
    assert 0.06 < (at == big["masked_lm_ids"][w]).float().mean() < 0.14
    share = w.sum() / (big["attention_mask"].sum() - 3 * len(big["attention_mask"]))
    assert 0.10 < share < 0.20
    # a tight cap takes words in random order: the end of a row is masked as often as its start
    tight = pt.dynamic_batch(tokens.repeat(40, 1), a_len.repeat(40), generator, masked_lm_prob=0.5,
                             max_predictions=3, vocab_size=rows.vocab_size, special=SPECIAL)
    assert int(tight["masked_lm_weights"].sum(1).max()) <= 3
    chosen = torch.zeros_like(tight["input_ids"], dtype=torch.bool)
    chosen.scatter_(1, tight["masked_lm_positions"], tight["masked_lm_weights"] > 0)
    length = tight["attention_mask"].sum(1, keepdim=True)
    pos = torch.arange(chosen.shape[1])[None]
    early = (chosen & (pos < length // 2)).sum() / ((pos < length // 2).sum() - len(length))
    late = (chosen & (pos >= length // 2)).sum() / ((pos >= length // 2) & (pos < length)).sum()
    assert 0.75 < early / late < 1.33, (float(early), float(late))


def _options(tmp_path, packed, **kw) -> "pt.TorchPretrainOptions":
    base = dict(train_files=[str(packed)], output_dir=str(tmp_path / "run"),
                config=str(_mini_config(tmp_path)), batch_size=8, learning_rate=1e-3,
                num_train_steps=6, num_warmup_steps=2, log_every=2, eval_every=3, eval_rows=16,
                max_predictions_per_seq=5, device="cpu", save_every_seconds=1e9)
    base.update(kw)
    return pt.TorchPretrainOptions(**base)


@pytest.mark.slow
def test_train_resume_matches_an_uninterrupted_run(tmp_path, packed):
    straight = pt.train(_options(tmp_path, packed, output_dir=str(tmp_path / "straight")))
    assert straight["completed"] and straight["step"] == 6 and "eval_mlm_accuracy" in straight
    cut = pt.train(_options(tmp_path, packed, output_dir=str(tmp_path / "cut"), stop_after_steps=4))
    assert cut["step"] == 4 and cut["stopped_by"] == "stop_after_steps" and not cut["completed"]
    resumed = pt.train(_options(tmp_path, packed, output_dir=str(tmp_path / "cut")))
    assert resumed["step"] == 6 and resumed["completed"]
    from safetensors.numpy import load_file
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    records = [json.loads(l) for l in (tmp_path / "straight" / pt.LOG_FILE).read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6] and records[-1]["lr"] < records[0]["lr"]
    # a state from another config is refused with advice, not a traceback
    other = tmp_path / "other.json"
    other.write_text(pt.AlbertConfig.from_json_file(_mini_config(tmp_path)).replace(
        hidden_size=48, intermediate_size=96).to_json_string(), encoding="utf-8")
    with pytest.raises(pt.TorchPretrainError, match="new --output-dir"):
        pt.train(_options(tmp_path, packed, output_dir=str(tmp_path / "cut"), config=str(other),
                          num_train_steps=8))


class TickingClock:
    """A clock that advances a fixed amount at every reading: the trainer's time budget then sees
    the same "speed" on any machine, idle or loaded, and fixes the same schedule every run."""

    def __init__(self, tick: float):
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


@pytest.mark.slow
def test_time_budget_fixes_the_schedule(tmp_path, packed):
    # 4 s of budget at 0.005 s a reading: about 160 steps, so the shrunk warm-up (a tenth) ends after
    # the schedule is fixed at step 13 and its peak is seen
    final = pt.train(_options(tmp_path, packed, num_train_steps=None, train_seconds=4.0,
                              calibration_steps=3, num_warmup_steps=1000, log_every=1, eval_every=1000),
                     clock=TickingClock(0.005))
    step, total = final["step"], final["total_steps"]
    lrs = [json.loads(l)["lr"] for l in (tmp_path / "run" / pt.LOG_FILE).read_text().splitlines()]
    assert total is not None and 13 <= step <= total
    # warm-up (1000 asked) shrank to a tenth of the measured schedule: the peak is reached at its last
    # step, then the rate decays
    assert max(lrs) == pytest.approx(1e-3) and int(np.argmax(lrs)) + 1 == total // 10
    assert lrs[-1] < max(lrs)


@pytest.mark.slow
def test_resume_before_the_schedule_was_fixed(tmp_path, packed):
    """A time-budget run stopped before calibrating resumes under an explicit schedule."""
    first = pt.train(_options(tmp_path, packed, num_train_steps=None, train_seconds=600.0,
                              stop_after_steps=5))
    assert first["total_steps"] is None and first["step"] == 5
    again = pt.train(_options(tmp_path, packed, num_train_steps=8))
    assert again["step"] == 8 and again["completed"]


@pytest.mark.slow
def test_output_folder_fine_tunes_in_the_kit(tmp_path, packed):
    """The Hugging Face folder it writes is what `finetune --init-checkpoint` reads: same numbers."""
    pt.train(_options(tmp_path, packed))
    folder = tmp_path / "run"
    from albert_edge import checkpoint
    from albert_edge.modeling import AlbertClassifier

    config = checkpoint.config_for_checkpoint(folder)
    assert config.layout == "google" and config.hidden_size == 32
    model = AlbertClassifier(config, num_labels=2).build_weights()
    report = checkpoint.load_weights(model, folder)
    assert report.layout == "huggingface" and report.missing_heads == [
        "classifier/output_weights", "classifier/output_bias"]
    rng = np.random.default_rng(1)
    inputs = {"input_ids": rng.integers(106, 21128, size=(2, 16)).astype(np.int32),
              "input_mask": np.ones((2, 16), np.int32), "segment_ids": np.zeros((2, 16), np.int32)}
    inputs["input_mask"][1, 10:] = 0
    inputs["segment_ids"][:, 8:] = 1
    ours_seq, ours_pooled = model.encoder(inputs)
    import transformers
    hf = transformers.AlbertModel.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        out = hf(input_ids=torch.tensor(inputs["input_ids"], dtype=torch.long),
                 attention_mask=torch.tensor(inputs["input_mask"], dtype=torch.long),
                 token_type_ids=torch.tensor(inputs["segment_ids"], dtype=torch.long))
    assert np.abs(ours_pooled.numpy() - out.pooler_output.numpy()).max() < 1e-4
    kept = inputs["input_mask"].astype(bool)
    assert np.abs(ours_seq.numpy()[kept] - out.last_hidden_state.numpy()[kept]).max() < 1e-3


@pytest.mark.slow
def test_continues_from_a_folder_and_rejects_what_does_not_fit(tmp_path, packed):
    pt.train(_options(tmp_path, packed))
    first = tmp_path / "run"
    model = pt.build_model(pt.AlbertConfig.from_json_file(_mini_config(tmp_path)))
    pt.load_init_checkpoint(model, first)
    from safetensors.numpy import load_file
    saved = load_file(str(first / "model.safetensors"))
    key = "albert.embeddings.word_embeddings.weight"
    assert np.array_equal(model.state_dict()[key].numpy(), saved[key])
    assert model.predictions.decoder.weight.data_ptr() == model.albert.embeddings.word_embeddings.weight.data_ptr()
    with pytest.raises(pt.TorchPretrainError, match="no model.safetensors"):
        pt.load_init_checkpoint(model, tmp_path)
    bigger = pt.build_model(pt.AlbertConfig.from_json_file(_mini_config(tmp_path)).replace(
        hidden_size=48, intermediate_size=96))
    with pytest.raises(pt.TorchPretrainError, match="does not fit"):
        pt.load_init_checkpoint(bigger, first)


@pytest.mark.slow
def test_cli_errors_without_traceback(tmp_path, packed):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    brightmart = ROOT / "albert_edge/resources/configs/albert_config_tiny.json"
    cases = [
        (["--train-files", str(packed), "--output-dir", str(tmp_path / "o"), "--config",
          str(brightmart), "--num-train-steps", "1", "--device", "cpu"], "Google structure"),
        (["--train-files", str(tmp_path / "missing.npz"), "--output-dir", str(tmp_path / "o"),
          "--config", str(_mini_config(tmp_path)), "--num-train-steps", "1"], "not found"),
        (["--train-files", str(packed), "--output-dir", str(tmp_path / "o"), "--config",
          str(_mini_config(tmp_path))], "--train-seconds"),
        (["--train-files", str(packed), "--output-dir", str(tmp_path / "o"), "--config",
          str(_mini_config(tmp_path)), "--num-train-steps", "1", "--device", "gpu0"],
         "not a device name"),
        (["--train-files", str(packed), "--output-dir", str(tmp_path / "o"), "--config",
          str(_mini_config(tmp_path)), "--num-train-steps", "1", "--eval-rows", "-1"],
         "--eval-rows"),
    ]
    for argv, message in cases:
        res = subprocess.run([sys.executable, "-m", "albert_edge.pretrain_torch", *argv], env=env,
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert res.returncode == 2, res.stderr[-1500:]
        assert message in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
@pytest.mark.parametrize("cli", ["pretrain_torch", "pretraining_pairs"])
def test_help_imports_neither_torch_nor_tensorflow(cli):
    code = textwrap.dedent(f"""
        import sys
        from albert_edge.{cli} import build_parser
        assert "--" in build_parser().format_help()
        print("torch" in sys.modules, "tensorflow" in sys.modules)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "False False"


@pytest.mark.slow
def test_cli_without_torch_says_what_to_install(tmp_path, packed):
    code = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None          # as on a machine without PyTorch
        from albert_edge.pretrain_torch import main
        sys.exit(main(["--train-files", {str(packed)!r}, "--output-dir", {str(tmp_path / "o")!r},
                       "--config", "x.json", "--num-train-steps", "1"]))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert res.returncode == 2 and "torch is not installed" in res.stderr
    assert ".[torch]" in res.stderr and "Traceback" not in res.stderr
