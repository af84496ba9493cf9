"""Write the tokenizer golden vectors the Java port (android_demo/core) is tested against.

    .venv/bin/python tools/make_golden.py                 # regenerate tests/data/tokenizer_golden.jsonl
    .venv/bin/python tools/make_golden.py --resample ../shared/data   # also redraw the text samples

Inputs, all checked in under tests/data/ (the project never reads ../shared at run time):
  tokenizer_texts.txt  one real text per line, a fixed random sample of ../shared/data
                       (corpus/pretrain_mix_v0.txt, corpus/news_zh_1.txt, single/tnews_dev.tsv,
                       single/chnsenticorp_dev.tsv), TABs replaced by spaces, lines cut to 400 chars
  tokenizer_pairs.tsv  `text_a<TAB>text_b`, a fixed random sample of ../shared/data/pairs/
                       (lcqmc_dev_valid, afqmc_dev, stsb_dev, oppo_xiaobu_dev, pawsx_dev) and
                       nli/xnli_dev.tsv, labels and ids dropped
  CRAFTED_* below      edge cases: full-width forms, emoji / astral characters, CJK ext B..F,
                       control and format characters, accents, mixed zh/en/digits,
                       whitespace-only, over-long words and texts, special-token look-alikes

Outputs:
tests/data/unicode_classes.txt: for every code point, the character classes the spec uses
  (whitespace, control, punctuation, CJK, Mn) as hex ranges `R start end bits`, plus the
  `str.lower()` (`L cp -> cps`) and accent-strip (`S cp -> cps`, Hangul syllables left out) results
  that differ from the character itself, from this Python's unicodedata. The Java tests compare
  the JVM's Character / Normalizer with it, code point by code point.
tests/data/tokenizer_golden.jsonl, one JSON object per case:
  {"source": "texts:17" | "pairs:3" | "crafted:5", "a": str, "b": str | null, "max_seq_len": L,
   "input_ids": [...], "segment_ids": [...], "truncated": bool}
`input_ids` / `segment_ids` are unpadded (num_tokens long); the padded arrays and the mask follow
from them. tests/test_tokenization.py fails when this file is stale.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import unicodedata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from albert_edge import tokenization  # noqa: E402

logger = logging.getLogger("make_golden")

DATA_DIR = os.path.join(REPO, "tests", "data")
TEXTS_FILE = os.path.join(DATA_DIR, "tokenizer_texts.txt")
PAIRS_FILE = os.path.join(DATA_DIR, "tokenizer_pairs.tsv")
GOLDEN_FILE = os.path.join(DATA_DIR, "tokenizer_golden.jsonl")
UNICODE_FILE = os.path.join(DATA_DIR, "unicode_classes.txt")

# Bits of one code point's class in UNICODE_FILE.
WHITESPACE, CONTROL, PUNCTUATION, CJK, MN, ASSIGNED = 1, 2, 4, 8, 16, 32

# Real data is encoded at these lengths in turn, so truncation is exercised on real text too.
REAL_SEQ_LENS = (16, 32, 64, 128, 512)
CRAFTED_SEQ_LENS_SINGLE = (3, 5, 8, 32, 512)
CRAFTED_SEQ_LENS_PAIR = (4, 5, 8, 32, 512)

CRAFTED_TEXTS: list[str] = [
    # plain Chinese and CJK punctuation
    "今天天气不错，我们去公园散步吧。",
    "“引号”‘单引号’《书名号》——破折号……省略号、顿号；分号：冒号？！",
    "【方括号】「直角引号」『双直角』〔龟甲〕〈单书名〉",
    # full-width forms (U+FF01-U+FF5E, U+3000 ideographic space, ￥)
    "ＡＢＣ１２３，ｆｕｌｌ－ｗｉｄｔｈ！",
    "（全角括号）＃＄％＆＊＋＝＠",
    "价格：￥１００元　约合＄１５",
    "ｉＰｈｏｎｅ　１３　Ｐｒｏ",
    # emoji and other astral-plane characters
    "😀😂👍🏽👨‍👩‍👧 emoji",
    "我爱你❤️！🇨🇳",
    "𝐀𝐁𝐂 𝒶𝒷𝒸 math alphanumerics",
    "𐍈𐌰 gothic, 🀄 mahjong",
    "融化的脸🫠和手🫶",
    # CJK extension A, B, C, D, E, F, G and compatibility ideographs
    "㐀㒹㓁 ext A",
    "𠀀𠀁𪚥𠮷野家 ext B",
    "𪜀𫝀𫠠𬺰 ext C-F",
    "𰀀𰀁 ext G (not in the CJK ranges)",
    "豈更車 compatibility 丽丸乁 supplement",
    "⺀⻳⼀⿕ radicals",
    # control and format characters
    "a\x00b\x01c\x7fd\x9fe",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "soft\u00adhyphen and bom\ufeffinside",
    "replacement\ufffdchar",
    "bidi\u202eoverride\u202c end",
    "line\nbreaks\r\nand\ttabs",
    "\x1c\x1d\x1e\x1f info separators \x0b\x0c",
    "tag\U000e0001\U000e0041 chars",
    # accents and case
    "Café naïve résumé Ångström",
    "ÀÉÎÕÜ àéîõü Ññ Çç",
    "Crème brûlée coûte 5€",
    "İstanbul ıi İI",
    "ΣΊΣΥΦΟΣ ΟΔΟΣ Σ ΑΣ",
    "Α.Σ Α'Σ ΑΣ' ΑΣ.Β Α\u0301Σ ΑΣ\u00adΒ Σ.",
    "Straße STRASSE ẞ",
    "ǅungla ǈ ǋ",
    "ﬁne ﬂow ligatures",
    "e\u0301 a\u0308 combining",
    "Ⅻ Ⅷ roman ⓐⓑ circled",
    "Привет МИР ёлка",
    "हिन्दी भाषा",
    "ไทย ภาษา",
    "مرحبا بالعالم",
    "こんにちは世界 カタカナ ｶﾀｶﾅ",
    "안녕하세요 세계",
    # mixed Chinese / English / digits
    "iPhone13ProMax售价8999元",
    "2024年3月15日下午3:30开会",
    "COVID-19疫情期间，WHO发布了new guidelines",
    "访问http://www.example.com/path?q=1&x=中文#frag",
    "邮箱email.name+tag@example.co.uk联系",
    "圆周率约为3.1415926，增长了100%",
    "C++和Java哪个好？C#呢",
    "ALBERT-tiny模型只有4M参数",
    "unaffable unwanted running 手机号13812345678",
    "a^b$c`d|e~f<g>h\\i",
    "¿Qué? ¡Hola! «guillemets» „quotes“",
    "§¶†‡•‰′″‴ ©®™",
    "[CLS] [SEP] [MASK] [UNK] [PAD] look-alikes",
    "##不是 ## 续接",
    # whitespace-only and empty
    "",
    " ",
    "\t\n\r",
    "\u3000\u3000",
    "\u00a0\u2002\u2003\u202f\u205f",
    "\u2028",
    "\u2029a\u2028b\u2029",
    "\u200b",
    "   leading and trailing   ",
    # over-long words and texts
    "x" * 199,
    "x" * 200,
    "x" * 201,
    "abc" * 100,
    "中" * 300,
    "这是一个很长的句子，" * 60,
    "supercalifragilisticexpialidocious" * 3,
]

CRAFTED_PAIRS: list[tuple[str, str]] = [
    ("", ""),
    ("今天天气怎么样", ""),
    ("", "明天会下雨吗"),
    ("花呗怎么还款", "花呗如何还钱"),
    ("我想买一部新手机，预算三千元左右，有什么推荐吗？", "三千元的手机"),
    ("短", "这是一个比较长的第二句话，用来测试截断时先截长的那一句。"),
    ("一样长的句子", "一样长的句子"),
    ("a b c d e", "f g h i j"),
    ("𠀀😀 astral", "ＦＵＬＬ　ｗｉｄｔｈ"),
    ("这是一个很长的句子，" * 30, "这是另一个很长的句子。" * 30),
    ("x" * 300, "中" * 300),
    ("\x00\x01", "\u3000"),
]


def char_bits(cp: int) -> int:
    """The spec's character classes of one code point, as WHITESPACE | CONTROL | ... bits."""
    if 0xD800 <= cp <= 0xDFFF:  # lone surrogates cannot occur in decoded text
        return ASSIGNED
    c = chr(cp)
    category = unicodedata.category(c)
    bits = ASSIGNED if category != "Cn" else 0
    bits |= WHITESPACE if tokenization.is_whitespace(c) else 0
    bits |= CONTROL if tokenization.is_control(c) else 0
    bits |= PUNCTUATION if tokenization.is_punctuation(c) else 0
    bits |= CJK if tokenization.is_chinese_char(cp) else 0
    bits |= MN if category == "Mn" else 0
    return bits


def unicode_table_lines() -> list[str]:
    """UNICODE_FILE's content: class ranges, then lower-case and accent-strip exceptions."""
    hexes = lambda s: " ".join(f"{ord(c):X}" for c in s)  # noqa: E731
    lines = [
        "# Character classes of albert_edge.tokenization per code point (tools/make_golden.py).",
        "# R start end bits (hex; bits 1 whitespace 2 control 4 punctuation 8 CJK 16 Mn 32 assigned)",
        "# L cp -> str.lower() code points, where it differs; S cp -> accent-stripped code points",
        f"unidata_version {unicodedata.unidata_version}",
    ]
    start, prev_bits = 0, char_bits(0)
    for cp in range(1, 0x110001):
        bits = char_bits(cp) if cp < 0x110000 else -1
        if bits != prev_bits:
            lines.append(f"R {start:X} {cp - 1:X} {prev_bits:X}")
            start, prev_bits = cp, bits
    surrogate = lambda cp: 0xD800 <= cp <= 0xDFFF  # noqa: E731
    for cp in range(0x110000):
        if not surrogate(cp) and chr(cp).lower() != chr(cp):
            lines.append(f"L {cp:X} {hexes(chr(cp).lower())}")
    for cp in range(0x110000):
        if surrogate(cp) or 0xAC00 <= cp <= 0xD7A3:  # Hangul syllables: algorithmic NFD, 11k lines
            continue
        c = chr(cp)
        if unicodedata.category(c) != "Mn" and not unicodedata.decomposition(c):
            continue  # NFD keeps it and it is not stripped
        stripped = tokenization.BasicTokenizer.strip_accents(c)
        if stripped != c:
            lines.append(f"S {cp:X} {hexes(stripped)}".rstrip())
    return lines


def sample_shared(shared_data: str, seed: int = 12345) -> None:
    """Redraws tests/data/tokenizer_texts.txt and tokenizer_pairs.tsv from ../shared/data."""
    rng = random.Random(seed)

    def read_lines(rel: str) -> list[str]:
        with open(os.path.join(shared_data, rel), encoding="utf-8") as f:
            return [line.rstrip("\n").rstrip("\r") for line in f]

    def clean(text: str) -> str:
        return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")[:400]

    texts: list[str] = []
    for rel, count, column in (
        ("corpus/pretrain_mix_v0.txt", 1300, None),
        ("corpus/news_zh_1.txt", 100, None),
        ("single/tnews_dev.tsv", 400, 0),
        ("single/chnsenticorp_dev.tsv", 200, 0),
    ):
        lines = [l for l in read_lines(rel) if l.strip()]
        for line in rng.sample(lines, min(count, len(lines))):
            texts.append(clean(line if column is None else line.split("\t")[column]))

    pairs: list[tuple[str, str]] = []
    for rel, count, cols, header in (
        ("pairs/lcqmc_dev_valid.tsv", 400, (0, 1), False),
        ("pairs/afqmc_dev.tsv", 400, (0, 1), False),
        ("pairs/stsb_dev.tsv", 200, (0, 1), False),
        ("pairs/oppo_xiaobu_dev.tsv", 400, (0, 1), False),
        ("pairs/pawsx_dev.tsv", 200, (1, 2), True),
        ("nli/xnli_dev.tsv", 200, (0, 1), True),
    ):
        lines = read_lines(rel)[1 if header else 0 :]
        rows = [l.split("\t") for l in lines]
        rows = [r for r in rows if len(r) > max(cols)]
        for row in rng.sample(rows, min(count, len(rows))):
            pairs.append((clean(row[cols[0]]), clean(row[cols[1]])))

    os.makedirs(DATA_DIR, exist_ok=True)
    with open(TEXTS_FILE, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(t + "\n" for t in texts)
    with open(PAIRS_FILE, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{a}\t{b}\n" for a, b in pairs)
    logger.info("wrote %d texts to %s and %d pairs to %s", len(texts), TEXTS_FILE, len(pairs), PAIRS_FILE)


def read_texts(path: str = TEXTS_FILE) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return [line[:-1] if line.endswith("\n") else line for line in f]


def read_pairs(path: str = PAIRS_FILE) -> list[tuple[str, str]]:
    pairs = []
    for line_no, line in enumerate(read_texts(path), start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(f"{path}:{line_no}: expected text_a<TAB>text_b, got {len(fields)} fields")
        pairs.append((fields[0], fields[1]))
    return pairs


def golden_cases() -> list[tuple[str, str, str | None, int]]:
    """(source, text_a, text_b, max_seq_len) for every golden case, in file order."""
    cases: list[tuple[str, str, str | None, int]] = []
    for i, text in enumerate(read_texts()):
        cases.append((f"texts:{i + 1}", text, None, REAL_SEQ_LENS[i % len(REAL_SEQ_LENS)]))
    for i, (a, b) in enumerate(read_pairs()):
        cases.append((f"pairs:{i + 1}", a, b, REAL_SEQ_LENS[i % len(REAL_SEQ_LENS)]))
    for i, text in enumerate(CRAFTED_TEXTS):
        for length in CRAFTED_SEQ_LENS_SINGLE:
            cases.append((f"crafted:{i + 1}", text, None, length))
    for i, (a, b) in enumerate(CRAFTED_PAIRS):
        for length in CRAFTED_SEQ_LENS_PAIR:
            cases.append((f"crafted_pair:{i + 1}", a, b, length))
    return cases


def golden_records(tokenizer: tokenization.FullTokenizer) -> list[dict]:
    records = []
    for source, a, b, length in golden_cases():
        enc = tokenizer.encode(a, b, max_seq_len=length)
        n = enc.num_tokens
        records.append(
            {
                "source": source,
                "a": a,
                "b": b,
                "max_seq_len": length,
                "input_ids": enc.input_ids[:n],
                "segment_ids": enc.segment_ids[:n],
                "truncated": enc.truncated,
            }
        )
    return records


def render(records: list[dict]) -> str:
    """The exact file content; ensure_ascii=False keeps it readable and small (controls stay escaped)."""
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resample", metavar="SHARED_DATA",
                        help="redraw the real-text samples from this ../shared/data folder first")
    parser.add_argument("--out", default=GOLDEN_FILE, help="golden file to write (default: %(default)s)")
    parser.add_argument("--skip-unicode", action="store_true",
                        help=f"do not rewrite {os.path.relpath(UNICODE_FILE, REPO)} (takes ~15 s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.resample:
        if not os.path.isdir(args.resample):
            print(f"error: --resample {args.resample}: not a directory (expected ../shared/data)", file=sys.stderr)
            return 2
        sample_shared(args.resample)
    for path in (TEXTS_FILE, PAIRS_FILE):
        if not os.path.isfile(path):
            print(f"error: {path} is missing; run with --resample ../shared/data", file=sys.stderr)
            return 2
    tokenizer = tokenization.FullTokenizer(tokenization.DEFAULT_VOCAB, do_lower_case=True)
    records = golden_records(tokenizer)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(render(records))
    logger.info("wrote %d cases to %s (%.1f MB)", len(records), args.out, os.path.getsize(args.out) / 1e6)
    if not args.skip_unicode:
        lines = unicode_table_lines()
        with open(UNICODE_FILE, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        logger.info("wrote %d lines to %s (Unicode %s)", len(lines), UNICODE_FILE, unicodedata.unidata_version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
