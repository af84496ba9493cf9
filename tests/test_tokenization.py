"""albert_edge.tokenization and its CLI, against Hugging Face's slow BertTokenizer and by hand.

Real text: tests/data/tokenizer_texts.txt and tokenizer_pairs.tsv (samples of ../shared/data,
drawn by tools/make_golden.py). The two places where we deliberately follow Google's BERT rather
than Hugging Face are tested explicitly in `test_documented_differences_from_hugging_face`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import unicodedata

import pytest

from albert_edge import tokenization
from albert_edge.tokenization import DEFAULT_VOCAB, Encoding, FullTokenizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "tests", "data")
SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]")


def _load_make_golden():
    spec = importlib.util.spec_from_file_location("make_golden", os.path.join(REPO, "tools", "make_golden.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_golden = _load_make_golden()


@pytest.fixture(scope="module")
def tok() -> FullTokenizer:
    return FullTokenizer(DEFAULT_VOCAB, do_lower_case=True)


@pytest.fixture(scope="module")
def hf_tok():
    legacy = pytest.importorskip("transformers.models.bert.tokenization_bert_legacy")
    hf = legacy.BertTokenizerLegacy(DEFAULT_VOCAB, do_lower_case=True, tokenize_chinese_chars=True)
    hf.wordpiece_tokenizer.max_input_chars_per_word = tokenization.MAX_INPUT_CHARS_PER_WORD  # HF: 100, BERT: 200
    return hf


def _real_texts() -> list[str]:
    texts = make_golden.read_texts()
    for a, b in make_golden.read_pairs():
        texts += [a, b]
    return texts


def _hf_comparable(text: str) -> bool:
    """False where HF knowingly differs: it drops Co/Cn/Cs chars and keeps [CLS]-like strings whole."""
    if any(unicodedata.category(c) in ("Co", "Cn", "Cs") for c in text):
        return False
    return not any(s in text for s in SPECIAL_TOKENS)


def test_real_texts_match_hugging_face_slow_tokenizer(tok, hf_tok):
    texts = _real_texts()
    assert len(texts) >= 5000
    comparable = [t for t in texts if _hf_comparable(t)]
    assert len(texts) - len(comparable) <= len(texts) // 200  # the exclusions are rare
    mismatches = [(t, tok.tokenize(t), hf_tok.tokenize(t)) for t in comparable]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert not mismatches, f"{len(mismatches)} of {len(comparable)} differ, first: {mismatches[0]}"
    ids = tok.convert_tokens_to_ids(tok.tokenize(comparable[0]))
    assert ids == hf_tok.convert_tokens_to_ids(hf_tok.tokenize(comparable[0]))


def test_crafted_texts_match_hugging_face_slow_tokenizer(tok, hf_tok):
    texts = make_golden.CRAFTED_TEXTS + [t for pair in make_golden.CRAFTED_PAIRS for t in pair]
    comparable = [t for t in texts if _hf_comparable(t)]
    assert len(comparable) >= len(texts) - 2
    for text in comparable:
        assert tok.tokenize(text) == hf_tok.tokenize(text), repr(text)


def test_documented_differences_from_hugging_face(tok, hf_tok):
    # Private use (Co) is kept by BERT's Cc/Cf-only control test, dropped by HF's C* test.
    assert tok.tokenize("好\ue416坏") == ["好", "[UNK]", "坏"]
    assert hf_tok.tokenize("好\ue416坏") == ["好", "坏"]
    # Special-token look-alikes in the text are ordinary punctuation + words for BERT.
    assert tok.tokenize("[SEP]") == ["[", "sep", "]"]
    assert hf_tok.tokenize("[SEP]") == ["[SEP]"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今天天气不错", ["今", "天", "天", "气", "不", "错"]),
        ("Hello, WORLD!", ["hello", ",", "world", "!"]),
        ("Café naïve", ["cafe", "na", "##ive"]),
        ("unaffable", ["u", "##na", "##ff", "##able"]),
        ("iPhone13售价8999元", ["iphone", "##13", "售", "价", "899", "##9", "元"]),
        ("a\x00b\x01c\ufffd", ["abc"]),
        ("全角，标点！", ["全", "角", "，", "标", "点", "！"]),
        ("\u3000 \t\n", []),
        ("", []),
        ("a\u2028b", ["a", "b"]),  # Zl: not Zs, but Python's str.split() separates on it
        ("zero\u200bwidth", ["zero", "##wi", "##dt", "##h"]),  # U+200B is Cf: removed, the word joins
        ("𠀀𠀁", ["[UNK]", "[UNK]"]),  # ext B: one CJK char each, not in the vocab
        ("𰀀𰀁", ["[UNK]"]),  # ext G is outside the 8 ranges: one word
        ("$5^2", ["$", "5", "^", "2"]),  # ASCII symbols count as punctuation
        ("￥100", ["￥", "##100"]),  # U+FFE5 is Sc: not punctuation, stays in the word
    ],
)
def test_tokenize_examples(tok, text, expected):
    assert tok.tokenize(text) == expected


@pytest.mark.parametrize("low, high", tokenization.CJK_RANGES)
def test_cjk_range_bounds(low, high):
    assert tokenization.is_chinese_char(low) and tokenization.is_chinese_char(high)
    inside = tokenization.BasicTokenizer()._tokenize_chinese_chars("a" + chr(low) + chr(high) + "b")
    assert inside == f"a {chr(low)}  {chr(high)} b"
    for cp in (low - 1, high + 1):
        if not any(lo <= cp <= hi for lo, hi in tokenization.CJK_RANGES):
            assert not tokenization.is_chinese_char(cp)


def test_wordpiece_length_limit_counts_code_points(tok):
    assert tok.tokenize("x" * 200) != ["[UNK]"]
    assert tok.tokenize("x" * 201) == ["[UNK]"]
    # 150 astral letters are 300 UTF-16 units but 150 code points: under the limit.
    wp = tokenization.WordpieceTokenizer({"\U0001d400": 1, "##\U0001d400": 2})
    assert wp.tokenize("\U0001d400" * 150) == ["\U0001d400"] + ["##\U0001d400"] * 149
    assert wp.tokenize("\U0001d400" * 201) == ["[UNK]"]


def test_wordpiece_unmatchable_piece_makes_whole_word_unk():
    wp = tokenization.WordpieceTokenizer({"ab": 0, "##c": 1})
    assert wp.tokenize("abc abd ab") == ["ab", "##c", "[UNK]", "ab"]


def test_encode_single_layout(tok):
    enc = tok.encode("今天天气", max_seq_len=8)
    ids = tok.convert_tokens_to_ids(["[CLS]", "今", "天", "天", "气", "[SEP]"])
    assert enc == Encoding(ids + [0, 0], [1] * 6 + [0, 0], [0] * 8, num_tokens=6, truncated=False)
    cut = tok.encode("今天天气", max_seq_len=4)
    assert cut.input_ids == tok.convert_tokens_to_ids(["[CLS]", "今", "天", "[SEP]"]) and cut.truncated


def test_encode_pair_layout_and_longest_first_truncation(tok):
    enc = tok.encode("一二三四五", "甲乙", max_seq_len=8)  # 5 + 2 > 5: trim a twice
    assert tok.convert_ids_to_tokens(enc.input_ids) == ["[CLS]", "一", "二", "三", "[SEP]", "甲", "乙", "[SEP]"]
    assert enc.segment_ids == [0, 0, 0, 0, 0, 1, 1, 1] and enc.truncated and enc.num_tokens == 8
    tie = tok.encode("一二", "甲乙", max_seq_len=6)  # equal lengths: b loses first
    assert tok.convert_ids_to_tokens(tie.input_ids) == ["[CLS]", "一", "二", "[SEP]", "甲", "[SEP]"]
    fits = tok.encode("一", "甲", max_seq_len=8)
    assert fits.num_tokens == 5 and not fits.truncated
    assert fits.input_mask == [1] * 5 + [0] * 3 and fits.segment_ids == [0, 0, 0, 1, 1, 0, 0, 0]
    empty_b = tok.encode("一", "", max_seq_len=8)
    assert tok.convert_ids_to_tokens(empty_b.input_ids[:4]) == ["[CLS]", "一", "[SEP]", "[SEP]"]


def test_encode_rejects_too_small_max_seq_len(tok):
    with pytest.raises(ValueError, match="at least 3"):
        tok.encode("一", max_seq_len=2)
    with pytest.raises(ValueError, match="at least 4"):
        tok.encode("一", "二", max_seq_len=3)
    assert tok.encode("一", "二", max_seq_len=4).num_tokens == 4


def test_pick_seq_len():
    assert tokenization.pick_seq_len(10, [128, 32, 64]) == 32
    assert tokenization.pick_seq_len(32, [32, 64]) == 32
    assert tokenization.pick_seq_len(33, [32, 64]) == 64
    assert tokenization.pick_seq_len(500, [32, 64, 128]) == 128
    assert tokenization.needed_length(["a"] * 5, ["b"] * 3) == 11
    with pytest.raises(ValueError):
        tokenization.pick_seq_len(3, [])


def test_load_vocab(tmp_path):
    vocab = tokenization.load_vocab(DEFAULT_VOCAB)
    assert len(vocab) == 21128 and vocab["[PAD]"] == 0 and vocab["[UNK]"] == 100
    assert vocab["[CLS]"] == 101 and vocab["[SEP]"] == 102
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        tokenization.load_vocab(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("[PAD]\n[UNK]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lacks \[CLS\], \[SEP\]"):
        tokenization.load_vocab(bad)
    with pytest.raises(KeyError, match="not in the vocabulary"):
        FullTokenizer().convert_tokens_to_ids(["no-such-token"])


def test_golden_file_is_up_to_date(tok):
    """tests/data/tokenizer_golden.jsonl (asserted by the Java tests) must match this tokenizer."""
    with open(make_golden.GOLDEN_FILE, encoding="utf-8") as f:
        on_disk = f.read()
    expected = make_golden.render(make_golden.golden_records(tok))
    assert on_disk == expected, "stale golden file: run .venv/bin/python tools/make_golden.py"
    assert len(on_disk.encode("utf-8")) < 5_000_000
    records = [json.loads(line) for line in on_disk.split("\n")[:-1]]  # not splitlines(): U+2028 is data
    sources = [r["source"].split(":")[0] for r in records]
    assert sources.count("texts") >= 2000 and sources.count("pairs") >= 1500
    assert sum(r["truncated"] for r in records) > 200


def test_unicode_table_matches_this_python():
    """tests/data/unicode_classes.txt (the Java UnicodeTablesTest's reference) is current."""
    with open(make_golden.UNICODE_FILE, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert f"unidata_version {unicodedata.unidata_version}" in lines, "regenerate: tools/make_golden.py"
    ranges = [tuple(int(x, 16) for x in l.split()[1:]) for l in lines if l.startswith("R ")]
    assert ranges[0][0] == 0 and ranges[-1][1] == 0x10FFFF
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))
    for start, end, bits in ranges[::7]:  # a sample: the full table takes ~15 s to rebuild
        for cp in (start, end):
            assert make_golden.char_bits(cp) == bits, hex(cp)
    lower = [l.split() for l in lines if l.startswith("L ")]
    assert len(lower) > 1000
    for _, cp, *out in lower:
        assert chr(int(cp, 16)).lower() == "".join(chr(int(x, 16)) for x in out)


# ---- CLI ----------------------------------------------------------------------------------


def _run_cli(args: list[str], stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "albert_edge.tokenize", *args],
        input=stdin, capture_output=True, cwd=REPO, timeout=60,
    )


@pytest.mark.slow
def test_cli_matches_library_on_real_pairs_and_texts(tok):
    with open(make_golden.PAIRS_FILE, "rb") as f:
        pairs = f.read().splitlines(keepends=True)[:300]
    with open(make_golden.TEXTS_FILE, "rb") as f:
        texts = f.read().splitlines(keepends=True)[:300]
    stdin = b"".join(pairs + texts)
    proc = _run_cli(["--vocab", DEFAULT_VOCAB, "--max-seq-len", "48"], stdin)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode("utf-8").split("\n")
    assert out[-1] == "" and len(out) - 1 == 600
    for raw, line in zip(pairs + texts, out):
        fields = raw.decode("utf-8").rstrip("\n").split("\t")
        enc = tok.encode(fields[0], fields[1] if len(fields) == 2 else None, max_seq_len=48)
        assert line == json.dumps(enc.to_json_dict(), separators=(",", ":"))
    assert out[0].startswith('{"input_ids":[101,')


@pytest.mark.slow
def test_cli_line_handling():
    proc = _run_cli(["--max-seq-len", "8"], "一\r\n\n二\t三".encode("utf-8"))  # CRLF, empty line, no final \n
    lines = proc.stdout.decode().splitlines()
    assert proc.returncode == 0 and len(lines) == 3
    assert json.loads(lines[1])["input_ids"] == [101, 102, 0, 0, 0, 0, 0, 0]
    assert json.loads(lines[2])["segment_ids"] == [0, 0, 0, 1, 1, 0, 0, 0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--vocab", "/no/such/vocab.txt"], b"x\n", "vocab file not found: /no/such/vocab.txt"),
        (["--max-seq-len", "2"], b"x\n", "--max-seq-len must be at least 3"),
        (["--max-seq-len", "3"], b"ok\na\tb\n", "line 2: max_seq_len=3 is too small"),
        ([], b"a\tb\tc\n", "line 1: 3 tab-separated fields"),
        ([], b"ok\n\xff\xfe\n", "line 2: not valid UTF-8"),
    ],
)
def test_cli_errors_exit_2_without_traceback(args, stdin, message):
    proc = _run_cli(args, stdin)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and message in stderr and "Traceback" not in stderr


@pytest.mark.slow
def test_cli_help():
    proc = _run_cli(["--help"], b"")
    assert proc.returncode == 0 and b"--max-seq-len" in proc.stdout and b"--vocab" in proc.stdout
