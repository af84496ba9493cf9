"""BERT-Chinese full tokenizer for albert_zh, and the encoding the model consumes.

This module is the *specification* of the tokenizer. The Android app re-implements it in Java
(`android_demo/core/src/main/java/org/albertedge/core/`), function by function, and golden vectors
written from this file (`tools/make_golden.py` -> `tests/data/tokenizer_golden.jsonl`) prove the two
agree id for id. Change one, change the other, and regenerate the goldens.

It follows google-research/bert `tokenization.py` (the tokenizer albert_zh ships and trained with)
step by step. Everything below is defined over Unicode **code points**, never UTF-16 code units:
an astral character such as U+20000 or an emoji is one character everywhere.

Vocabulary (`load_vocab`)
-------------------------
The file is read as UTF-8, split into lines (\\n, \\r\\n or \\r end a line), each line stripped of
surrounding whitespace; line k (0-based) is token k. A token that appears twice keeps its last id.
`[PAD]` `[UNK]` `[CLS]` `[SEP]` must be present (albert_zh: ids 0, 100, 101, 102).

Basic tokenizer (`BasicTokenizer.tokenize`), in this order
----------------------------------------------------------
1. Clean (`_clean_text`): drop every code point that is U+0000, U+FFFD, or a control character;
   replace every whitespace character by one ASCII space.
   - whitespace (`is_whitespace`): space, \\t, \\n, \\r, or Unicode category Zs.
   - control (`is_control`): Unicode category Cc or Cf, except \\t \\n \\r (they are whitespace).
     Only Cc/Cf, as in Google's BERT: unassigned (Cn) and private-use (Co) characters are kept
     (Hugging Face's port drops every C* category; it is the one place the two differ).
2. CJK split (`_tokenize_chinese_chars`): put a space before and after every code point in the 8
   ranges of `is_chinese_char` (inclusive):
   U+4E00-U+9FFF, U+3400-U+4DBF, U+20000-U+2A6DF, U+2A700-U+2B73F, U+2B740-U+2B81F,
   U+2B820-U+2CEAF, U+F900-U+FAFF, U+2F800-U+2FA1F.
   Not in them: CJK punctuation (U+3000-U+303F), full-width forms (U+FF00-U+FFEF), kana, Hangul,
   radicals (U+2E80-U+2FDF), and the extensions encoded after BERT beyond U+2CEAF (ext G at
   U+30000 and later): those go through the ordinary steps below.
3. Whitespace split (`whitespace_tokenize`): strip, then split on runs of Python `str.split()`
   whitespace. After step 1 the only such characters left besides the space are U+2028 and U+2029
   (categories Zl/Zp: neither control nor Zs), so they too separate words.
4. For each word, if `do_lower_case`: `str.lower()` (full Unicode case mapping, e.g. U+0130 becomes
   "i" + U+0307, a final capital sigma becomes U+03C2), then strip accents (`strip_accents`):
   NFD-normalise and drop every code point of category Mn.
5. Punctuation split (`_run_split_on_punc`): every punctuation code point becomes a word of its
   own; runs of other code points stay together. Punctuation (`is_punctuation`): ASCII 33-47,
   58-64, 91-96, 123-126 (all non-alphanumeric printable ASCII, so `$ ^ \\` + < = > | ~` count), or
   any Unicode category starting with P (Pc Pd Ps Pe Pi Pf Po). Full-width `，` `！` and CJK `。` are
   Po/Ps/Pe, so they split; symbols such as `￥` (Sc) or emoji (So) do not.
6. Join the pieces with spaces and whitespace-split again (drops empty pieces).

WordPiece (`WordpieceTokenizer.tokenize`), per word
---------------------------------------------------
A word of more than 200 code points -> `[UNK]`. Otherwise greedy longest-match-first from the
left: at position `start`, try the longest substring `word[start:end]` (prefixed by `##` when
`start > 0`) that is in the vocabulary, shrinking `end` one code point at a time; take it and
continue at `end`. If no substring at some `start` matches, the *whole word* becomes one `[UNK]`.

Encoding (`encode_pair`, `FullTokenizer.encode`), as BERT's run_classifier
------------------------------------------------------------------------
- `text_b is None`: `[CLS] a [SEP]`; all segment ids 0. `a` is cut from the end to
  `max_seq_len - 2` tokens. Needs `max_seq_len >= 3`.
- otherwise (even if `text_b` tokenizes to nothing): `[CLS] a [SEP] b [SEP]`; segment id 0 for
  `[CLS]`, `a` and the first `[SEP]`, 1 for `b` and the last `[SEP]`. Longest-first truncation
  (`truncate_seq_pair`, BERT's `_truncate_seq_pair`): while `len(a) + len(b) > max_seq_len - 3`,
  drop the last token of the longer one (of `b` when they are equally long). Needs
  `max_seq_len >= 4`.
- `input_mask` is 1 for real tokens; `input_ids`, `input_mask`, `segment_ids` are padded with 0
  up to `max_seq_len`. `num_tokens` is the unpadded length including the special tokens;
  `truncated` says whether any text token was dropped.

Sequence length choice (`pick_seq_len`): the exported model has one signature per length (e.g.
32, 64, 128); take the smallest length >= the untruncated token count (`needed_length`), or the
largest one when none is long enough (then the text is truncated).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import unicodedata
from collections.abc import Iterable, Sequence

from albert_edge import resources

logger = logging.getLogger(__name__)

DEFAULT_VOCAB = str(resources.VOCAB)   # a str: it is also an argparse default and printed in messages

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"
MASK_TOKEN = "[MASK]"
REQUIRED_TOKENS = (PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN)

MAX_INPUT_CHARS_PER_WORD = 200

# Inclusive code-point ranges BERT treats as Chinese characters (`is_chinese_char`).
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def convert_to_unicode(text: str | bytes) -> str:
    """Returns `text` as str; bytes are decoded as UTF-8 (invalid bytes dropped, as BERT does)."""
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text.decode("utf-8", "ignore")
    raise TypeError(f"expected str or bytes, got {type(text).__name__}")


def load_vocab(vocab_file: str | os.PathLike) -> dict[str, int]:
    """Loads a one-token-per-line vocabulary into an ordered {token: id} dict.

    Raises FileNotFoundError / ValueError with the path in the message, because a wrong vocab
    silently produces wrong ids rather than a crash later on.
    """
    path = os.fspath(vocab_file)
    if os.path.isdir(path):
        raise IsADirectoryError(f"vocab {path} is a folder, not a file: give the vocab.txt inside it")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"vocab file not found: {path}")
    vocab: dict[str, int] = collections.OrderedDict()
    try:
        with open(path, "r", encoding="utf-8") as reader:  # universal newlines: \n, \r\n, \r
            for index, line in enumerate(reader):
                vocab[line.strip()] = index
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a vocabulary: not UTF-8 text (byte {err.start} of line "
                         f"{len(vocab) + 1}); give a vocab.txt, one token per line") from None
    missing = [t for t in REQUIRED_TOKENS if t not in vocab]
    if missing:
        raise ValueError(
            f"{path} is not a BERT vocabulary: it lacks {', '.join(missing)} "
            f"({len(vocab)} entries read)"
        )
    return vocab


def convert_by_vocab(vocab: dict, items: Iterable) -> list:
    """Maps each item through `vocab`; an unknown item raises KeyError naming it."""
    output = []
    for item in items:
        try:
            output.append(vocab[item])
        except KeyError:
            raise KeyError(f"{item!r} is not in the vocabulary") from None
    return output


def whitespace_tokenize(text: str) -> list[str]:
    """Strips and splits on whitespace (Python's `str.split()` definition of whitespace)."""
    text = text.strip()
    if not text:
        return []
    return text.split()


def is_whitespace(char: str) -> bool:
    """\\t \\n \\r count as whitespace although they are control characters (category Cc)."""
    if char in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    """Cc/Cf characters, minus \\t \\n \\r which `is_whitespace` turns into spaces."""
    if char in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def is_punctuation(char: str) -> bool:
    """Unicode P* plus all non-alphanumeric printable ASCII (`^ $ \\`` are not P* but count)."""
    cp = ord(char)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(char).startswith("P")


def is_chinese_char(cp: int) -> bool:
    """True for code points in the 8 CJK ideograph ranges (not kana, Hangul or CJK punctuation)."""
    for low, high in CJK_RANGES:
        if low <= cp <= high:
            return True
    return False


class BasicTokenizer:
    """Cleaning, CJK split, lower-casing + accent strip, punctuation split (steps 1-6 above)."""

    def __init__(self, do_lower_case: bool = True):
        self.do_lower_case = do_lower_case

    def tokenize(self, text: str | bytes) -> list[str]:
        text = convert_to_unicode(text)
        text = self._clean_text(text)
        text = self._tokenize_chinese_chars(text)
        orig_tokens = whitespace_tokenize(text)
        split_tokens: list[str] = []
        for token in orig_tokens:
            if self.do_lower_case:
                token = token.lower()
                token = self.strip_accents(token)
            split_tokens.extend(self._run_split_on_punc(token))
        return whitespace_tokenize(" ".join(split_tokens))

    @staticmethod
    def strip_accents(text: str) -> str:
        """NFD then drop combining marks (Mn): 'Café' -> 'cafe', 'ü' -> 'u'."""
        text = unicodedata.normalize("NFD", text)
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    @staticmethod
    def _run_split_on_punc(text: str) -> list[str]:
        """Each punctuation character becomes its own piece: 'a,b!' -> ['a', ',', 'b', '!']."""
        output: list[list[str]] = []
        start_new_word = True
        for char in text:
            if is_punctuation(char):
                output.append([char])
                start_new_word = True
            else:
                if start_new_word:
                    output.append([])
                start_new_word = False
                output[-1].append(char)
        return ["".join(x) for x in output]

    @staticmethod
    def _tokenize_chinese_chars(text: str) -> str:
        """Surrounds every CJK ideograph with spaces, so each becomes a word of its own."""
        output = []
        for char in text:
            if is_chinese_char(ord(char)):
                output.extend((" ", char, " "))
            else:
                output.append(char)
        return "".join(output)

    @staticmethod
    def _clean_text(text: str) -> str:
        """Drops NUL, U+FFFD and control characters; maps every whitespace character to ' '."""
        output = []
        for char in text:
            cp = ord(char)
            if cp == 0 or cp == 0xFFFD or is_control(char):
                continue
            output.append(" " if is_whitespace(char) else char)
        return "".join(output)


class WordpieceTokenizer:
    """Greedy longest-match-first WordPiece over an existing vocabulary."""

    def __init__(
        self,
        vocab: dict[str, int],
        unk_token: str = UNK_TOKEN,
        max_input_chars_per_word: int = MAX_INPUT_CHARS_PER_WORD,
    ):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize(self, text: str) -> list[str]:
        """'unaffable' -> ['un', '##aff', '##able']; a word with an unmatchable piece -> [UNK]."""
        output_tokens: list[str] = []
        for token in whitespace_tokenize(text):
            chars = list(token)  # code points
            if len(chars) > self.max_input_chars_per_word:
                output_tokens.append(self.unk_token)
                continue
            is_bad = False
            start = 0
            sub_tokens = []
            while start < len(chars):
                end = len(chars)
                cur_substr = None
                while start < end:
                    substr = "".join(chars[start:end])
                    if start > 0:
                        substr = "##" + substr
                    if substr in self.vocab:
                        cur_substr = substr
                        break
                    end -= 1
                if cur_substr is None:
                    is_bad = True
                    break
                sub_tokens.append(cur_substr)
                start = end
            if is_bad:
                output_tokens.append(self.unk_token)
            else:
                output_tokens.extend(sub_tokens)
        return output_tokens


@dataclasses.dataclass
class Encoding:
    """Model inputs for one example, padded to `max_seq_len` (see the module docstring)."""

    input_ids: list[int]
    input_mask: list[int]
    segment_ids: list[int]
    num_tokens: int
    truncated: bool

    def to_json_dict(self) -> dict[str, list[int]]:
        """The three model inputs, in the order and with the keys the CLI prints."""
        return {
            "input_ids": self.input_ids,
            "input_mask": self.input_mask,
            "segment_ids": self.segment_ids,
        }


def truncate_seq_pair(tokens_a: list, tokens_b: list, max_length: int) -> bool:
    """Trims the longer list from its end (b on ties) until both fit; True if anything was cut.

    Longest-first keeps as much of the shorter sentence as possible, which matters more than
    cutting both evenly: a short question should survive whole next to a long one.
    """
    truncated = False
    while len(tokens_a) + len(tokens_b) > max_length:
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()
        truncated = True
    return truncated


def min_seq_len(is_pair: bool) -> int:
    """Special tokens plus one text token: 3 for a single text, 4 for a pair."""
    return 4 if is_pair else 3


def needed_length(tokens_a: Sequence, tokens_b: Sequence | None = None) -> int:
    """Untruncated length with [CLS]/[SEP]s: what a sequence length must be to lose nothing."""
    if tokens_b is None:
        return len(tokens_a) + 2
    return len(tokens_a) + len(tokens_b) + 3


def pick_seq_len(needed: int, seq_lens: Iterable[int]) -> int:
    """The smallest exported length >= `needed`, else the largest (the input gets truncated)."""
    lengths = sorted(set(int(n) for n in seq_lens))
    if not lengths:
        raise ValueError("no sequence lengths to choose from")
    for length in lengths:
        if length >= needed:
            return length
    return lengths[-1]


def encode_tokens(
    vocab: dict[str, int],
    tokens_a: Sequence[str],
    tokens_b: Sequence[str] | None = None,
    max_seq_len: int = 128,
) -> Encoding:
    """[CLS] a [SEP] (b [SEP]) with truncation, ids, mask, segments, padding to `max_seq_len`."""
    is_pair = tokens_b is not None
    if max_seq_len < min_seq_len(is_pair):
        kind = "a sentence pair ([CLS] a [SEP] b [SEP])" if is_pair else "one text ([CLS] a [SEP])"
        raise ValueError(
            f"max_seq_len={max_seq_len} is too small for {kind}: "
            f"it must be at least {min_seq_len(is_pair)}"
        )
    tokens_a = list(tokens_a)
    if is_pair:
        tokens_b = list(tokens_b)
        truncated = truncate_seq_pair(tokens_a, tokens_b, max_seq_len - 3)
    else:
        truncated = len(tokens_a) > max_seq_len - 2
        tokens_a = tokens_a[: max_seq_len - 2]

    tokens = [CLS_TOKEN] + tokens_a + [SEP_TOKEN]
    segment_ids = [0] * len(tokens)
    if is_pair:
        tokens += tokens_b + [SEP_TOKEN]
        segment_ids += [1] * (len(tokens_b) + 1)

    input_ids = convert_by_vocab(vocab, tokens)
    num_tokens = len(input_ids)
    padding = [0] * (max_seq_len - num_tokens)
    return Encoding(
        input_ids=input_ids + padding,
        input_mask=[1] * num_tokens + padding,
        segment_ids=segment_ids + padding,
        num_tokens=num_tokens,
        truncated=truncated,
    )


class FullTokenizer:
    """Basic tokenization followed by WordPiece, plus model-input encoding."""

    def __init__(self, vocab_file: str | os.PathLike = DEFAULT_VOCAB, do_lower_case: bool = True):
        self.vocab_file = os.fspath(vocab_file)
        self.vocab = load_vocab(self.vocab_file)
        self.inv_vocab = {v: k for k, v in self.vocab.items()}
        self.do_lower_case = do_lower_case
        self.basic_tokenizer = BasicTokenizer(do_lower_case=do_lower_case)
        self.wordpiece_tokenizer = WordpieceTokenizer(vocab=self.vocab)
        logger.debug("loaded %d tokens from %s", len(self.vocab), self.vocab_file)

    def tokenize(self, text: str | bytes, max_tokens: int | None = None) -> list[str]:
        """Tokens of `text`; with `max_tokens`, stop once at least that many are known.

        Why the bound: an encoding keeps at most `max_seq_len` tokens, and tokenizing a 5 MB line
        whole takes seconds and hundreds of MB before it is cut to 128. The text is taken in
        pieces cut just before a whitespace or CJK character, where every step of the basic
        tokenizer starts a new word, so the returned tokens are exactly the first ones of the
        whole text (a prefix of `tokenize(text)`, at least `max_tokens` long when the text has
        that many). A piece with no such character in it is taken whole.
        """
        if max_tokens is None:
            return self._tokenize_all(text)
        text = convert_to_unicode(text)
        tokens: list[str] = []
        start, step = 0, max(64, 4 * max_tokens)
        while start < len(text) and len(tokens) < max_tokens:
            end = _word_boundary_at_or_after(text, start + step)
            tokens.extend(self._tokenize_all(text[start:end]))
            start = end
        return tokens

    def _tokenize_all(self, text: str | bytes) -> list[str]:
        split_tokens: list[str] = []
        for token in self.basic_tokenizer.tokenize(text):
            split_tokens.extend(self.wordpiece_tokenizer.tokenize(token))
        return split_tokens

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        return convert_by_vocab(self.vocab, tokens)

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        return convert_by_vocab(self.inv_vocab, ids)

    def encode(
        self, text_a: str | bytes, text_b: str | bytes | None = None, max_seq_len: int = 128
    ) -> Encoding:
        """Encodes one text (`text_b=None`) or a sentence pair for the model."""
        return encode_pair(self, text_a, text_b, max_seq_len)


def _word_boundary_at_or_after(text: str, index: int) -> int:
    """The first index ≥ `index` holding a whitespace or CJK character (a word start), else len(text)."""
    for i in range(index, len(text)):
        char = text[i]
        if is_whitespace(char) or is_chinese_char(ord(char)):
            return i
    return len(text)


def encode_pair(
    tokenizer: FullTokenizer,
    text_a: str | bytes,
    text_b: str | bytes | None = None,
    max_seq_len: int = 128,
) -> Encoding:
    """Tokenizes and encodes `text_a` (and `text_b`, if not None) to `max_seq_len` inputs."""
    # Only the first max_seq_len tokens of each text can matter (longest-first truncation keeps
    # fewer), and knowing that there are more is enough to report the truncation.
    limit = max_seq_len if isinstance(max_seq_len, int) and max_seq_len > 0 else None
    tokens_a = tokenizer.tokenize(text_a, max_tokens=limit)
    tokens_b = None if text_b is None else tokenizer.tokenize(text_b, max_tokens=limit)
    return encode_tokens(tokenizer.vocab, tokens_a, tokens_b, max_seq_len)
