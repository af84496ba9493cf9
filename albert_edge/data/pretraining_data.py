"""Whole-word-mask + sentence-order-prediction pretraining data, streamed into TFRecord shards.

This is albert_zh's ``create_pretraining_data.py`` (itself google-research/bert's, with brightmart's
``get_new_segment`` for Chinese whole-word masking and ALBERT's SOP task and n-gram masking),
rewritten so that it

* **streams** its input: documents are read one at a time and a document longer than
  ``max_document_lines`` is cut into pieces, so a 30 GB corpus (or one with no blank lines at all)
  never sits in memory;
* is **deterministic whatever the number of processes**: work is cut into chunks of documents and
  every chunk gets its own RNG seeded from ``(seed, chunk index)``;
* **counts** what it had to skip instead of failing: undecodable bytes, empty lines, documents with
  fewer than two sentences (no sentence-order pair can be built from them).

Whole-word masking. Chinese BERT vocabularies hold single characters, so a "word" has to come from a
segmenter: ``jieba`` cuts each sentence and every CJK character that continues a word is marked
``##`` (``["中", "##国", "人"]``). The mark only steers masking — all characters of a word are masked
together — and is stripped before ids are looked up, exactly as albert_zh does.

Output features (one ``tf.train.Example`` per instance, fixed lengths)::

    input_ids, input_mask, segment_ids          int64 [max_seq_len]
    masked_lm_positions, masked_lm_ids          int64 [max_predictions_per_seq]
    masked_lm_weights                           float [max_predictions_per_seq]
    sentence_order_label                        int64 [1]   0 = in order, 1 = swapped (ALBERT)
"""
from __future__ import annotations

import codecs
import collections
import contextlib
import errno
import dataclasses
import hashlib
import json
import logging
import os
import random
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from albert_edge.fileio import check_outputs_apart, fresh_path, write_text_atomic

logger = logging.getLogger(__name__)

FEATURE_SPEC_NAMES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions",
                      "masked_lm_ids", "masked_lm_weights", "sentence_order_label")
DOC_BOUNDARIES = ("blank", "line")

# Sentence ends inside a paragraph: Chinese and ASCII terminal punctuation, with any closing quote
# or bracket that follows kept on the sentence it closes.
_SENTENCE = re.compile(r"[^。！？!?；;…]+(?:[。！？!?；;…]+[”’」』）)\"']*)?|[。！？!?；;…]+[”’」』）)\"']*")


class PretrainingDataError(ValueError):
    """A user mistake (missing input, bad option); reported without a traceback."""


# Above this share of undecodable bytes (not UTF-8, or NUL) a corpus is in another encoding (GBK,
# UTF-16) or not text: training on its replacement characters would teach nothing.
MAX_BAD_BYTE_SHARE = 0.01


def check_corpus_read(stats: "Stats", paths: Sequence[str | os.PathLike]) -> None:
    """Refuse a corpus that gave nothing to train on, or that is mostly not UTF-8 text.

    Why after reading and before the shards are renamed into place: the counts are only known once
    the corpus is read, and a refusal then leaves the output folder as it was.
    """
    names = ", ".join(str(p) for p in paths)
    if stats.bytes and stats.bad_bytes / stats.bytes > MAX_BAD_BYTE_SHARE:
        raise PretrainingDataError(
            f"{names}: {stats.bad_bytes} of {stats.bytes} bytes ({stats.bad_bytes / stats.bytes:.1%}) are not "
            f"UTF-8 text (on {stats.lines_with_bad_bytes} of {stats.lines} lines; at most "
            f"{MAX_BAD_BYTE_SHARE:.0%} is tolerated): re-encode the corpus as UTF-8, e.g. "
            f"`iconv -f GBK -t UTF-8` or `iconv -f UTF-16 -t UTF-8`")
    if stats.instances + stats.eval_instances == 0:
        raise PretrainingDataError(
            f"{names}: no pretraining instance could be made ({stats.lines} lines, {stats.empty_lines} empty, "
            f"{stats.documents} documents, {stats.one_sentence_documents} with one sentence only): a "
            f"document needs at least two sentences; give a UTF-8 corpus, one paragraph per line")


@dataclasses.dataclass(frozen=True)
class PretrainingDataOptions:
    """Every knob of instance creation (one CLI flag each). Defaults follow albert_zh."""

    max_seq_len: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    dupe_factor: int = 1
    short_seq_prob: float = 0.1
    max_ngram: int = 1             # 1 = whole-word masking only; 3 = ALBERT's n-gram masking
    whole_word_mask: bool = True
    do_lower_case: bool = True
    seed: int = 12345
    doc_boundary: str = "blank"    # "blank": blank lines separate documents; "line": one per line
    max_document_lines: int = 1000  # longer documents are cut: bounded memory on any input
    docs_per_chunk: int = 256

    def validate(self) -> None:
        if self.max_seq_len < 8:
            raise PretrainingDataError(f"--max-seq-len must be >= 8, got {self.max_seq_len}")
        if not 1 <= self.max_predictions_per_seq <= self.max_seq_len:
            raise PretrainingDataError("--max-predictions-per-seq must be in [1, max_seq_len]")
        if not 0.0 < self.masked_lm_prob < 1.0:
            raise PretrainingDataError(f"--masked-lm-prob must be in (0, 1), got {self.masked_lm_prob}")
        if self.dupe_factor < 1:
            raise PretrainingDataError(f"--dupe-factor must be >= 1, got {self.dupe_factor}")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise PretrainingDataError("--short-seq-prob must be in [0, 1]")
        if self.max_ngram not in (1, 2, 3):
            raise PretrainingDataError(f"--max-ngram must be 1, 2 or 3, got {self.max_ngram}")
        if self.doc_boundary not in DOC_BOUNDARIES:
            raise PretrainingDataError(f"--doc-boundary must be one of {DOC_BOUNDARIES}")
        if self.max_document_lines < 2 or self.docs_per_chunk < 1:
            raise PretrainingDataError("--max-document-lines must be >= 2 and --docs-per-chunk >= 1")


@dataclasses.dataclass
class Stats:
    """What was read, written and skipped; written to ``stats.json`` beside the shards."""

    lines: int = 0
    bytes: int = 0
    bad_bytes: int = 0
    lines_with_bad_bytes: int = 0
    empty_lines: int = 0
    documents: int = 0
    sampled_out_documents: int = 0
    one_sentence_documents: int = 0
    sentences: int = 0
    instances: int = 0
    eval_instances: int = 0
    masked_tokens: int = 0
    swapped: int = 0

    def add(self, other: "Stats") -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


# --------------------------------------------------------------------------- reading
class _BadByteCounter:
    """codecs error handler that drops undecodable bytes and counts them (one per process)."""

    count = 0

    @classmethod
    def handler(cls, err: UnicodeDecodeError) -> tuple[str, int]:
        cls.count += err.end - err.start
        return "", err.end


codecs.register_error("albert_edge_count", _BadByteCounter.handler)


def iter_documents(paths: Sequence[str | os.PathLike], options: PretrainingDataOptions,
                   stats: Stats, max_lines: int | None = None,
                   progress: Any = None, sample_rate: float = 1.0) -> Iterator[list[str]]:
    """Yield documents (lists of non-empty paragraphs), reading one line at a time.

    Bytes that are not UTF-8 are dropped and counted; an empty line ends a document in
    ``doc_boundary="blank"`` mode and is only counted in ``"line"`` mode. ``max_lines`` stops early
    (use only as much corpus as a training budget needs); ``sample_rate`` < 1 keeps that
    fraction of documents, chosen by a seeded RNG, so a small budget still sees every part of a
    corpus whose sources are concatenated one after another.
    """
    sampler = random.Random(options.seed ^ 0x5EED)

    def keep() -> bool:
        if sample_rate >= 1.0:
            return True
        return sampler.random() < sample_rate

    doc: list[str] = []
    for path in paths:
        with open(path, "rb") as fh:
            for raw in fh:
                if max_lines is not None and stats.lines >= max_lines:
                    break
                stats.lines += 1
                stats.bytes += len(raw)
                if progress is not None:
                    progress.update(len(raw))
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    before = _BadByteCounter.count
                    line = raw.decode("utf-8", errors="albert_edge_count")
                    stats.bad_bytes += _BadByteCounter.count - before
                    stats.lines_with_bad_bytes += 1
                if "\x00" in line:   # UTF-16 text decodes as UTF-8 with a NUL in every other byte
                    stats.bad_bytes += line.count("\x00")
                    stats.lines_with_bad_bytes += 1
                    line = line.replace("\x00", "")
                line = line.strip()
                if not line:
                    stats.empty_lines += 1
                    if options.doc_boundary == "blank" and doc:
                        if keep():
                            yield doc
                        else:
                            stats.sampled_out_documents += 1
                        doc = []
                    continue
                if options.doc_boundary == "line":
                    if keep():
                        yield [line]
                    else:
                        stats.sampled_out_documents += 1
                    continue
                doc.append(line)
                if len(doc) >= options.max_document_lines:
                    if keep():
                        yield doc
                    else:
                        stats.sampled_out_documents += 1
                    doc = []
        if doc:  # a file's end ends its last document
            if keep():
                yield doc
            else:
                stats.sampled_out_documents += 1
            doc = []


def split_sentences(paragraph: str) -> list[str]:
    """Cut a paragraph after sentence-final punctuation (so one long line gives SOP pairs)."""
    return [s.strip() for s in _SENTENCE.findall(paragraph) if s.strip()]


# --------------------------------------------------------------------------- whole-word marks
def _is_cjk_char(token: str) -> bool:
    if len(token) != 1:
        return False
    cp = ord(token)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def mark_whole_words(tokens: Sequence[str], cut: Any) -> list[str]:
    """Prefix ``##`` to CJK tokens that continue a jieba word (brightmart's ``get_new_segment``).

    ``cut`` is ``jieba.lcut``-like. Words are aligned to tokens by character offsets over the
    concatenated token text, so a token is a continuation only when it and the token before it are
    both single CJK characters inside the same jieba word. Non-CJK tokens (``##ing`` word pieces,
    digits, Latin) are left as the tokenizer made them.
    """
    texts = [t[2:] if t.startswith("##") and len(t) > 2 else t for t in tokens]
    joined = "".join(texts)
    if not joined:
        return list(tokens)
    word_id = [0] * len(joined)
    pos = 0
    for wid, word in enumerate(cut(joined)):
        for _ in word:
            if pos < len(word_id):
                word_id[pos] = wid
            pos += 1
    out: list[str] = []
    offset = 0
    prev_cjk_word = None
    for tok, text in zip(tokens, texts):
        this_word = word_id[offset] if _is_cjk_char(text) and offset < len(word_id) else None
        if this_word is not None and this_word == prev_cjk_word:
            out.append("##" + text)
        else:
            out.append(tok)
        prev_cjk_word = this_word
        offset += len(text)
    return out


def strip_wwm_mark(token: str) -> str:
    """``##中`` → ``中`` (a whole-word mark); real word pieces such as ``##ing`` are kept."""
    if token.startswith("##") and _is_cjk_char(token[2:]):
        return token[2:]
    return token


# --------------------------------------------------------------------------- instances
MaskedLmInstance = collections.namedtuple("MaskedLmInstance", ["index", "label"])


@dataclasses.dataclass
class Instance:
    tokens: list[str]
    segment_ids: list[int]
    masked_lm_positions: list[int]
    masked_lm_labels: list[str]
    is_swapped: bool


def truncate_seq_pair(tokens_a: list[str], tokens_b: list[str], max_num_tokens: int,
                      rng: random.Random) -> None:
    """Trim the longer side, from a random end, until the pair fits (google-research/bert)."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        trunc = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del trunc[0]
        else:
            trunc.pop()
    for side in (tokens_a, tokens_b):  # a word cut in half at the front: its rest is a word now
        if side and side[0].startswith("##"):
            side[0] = strip_wwm_mark(side[0])


def create_masked_lm_predictions(tokens: list[str], options: PretrainingDataOptions,
                                 vocab_words: Sequence[str], rng: random.Random
                                 ) -> tuple[list[str], list[int], list[str]]:
    """Choose whole words (or n-grams of them) to mask; 80% [MASK], 10% random, 10% kept.

    Returns (output tokens with whole-word marks stripped, masked positions, original tokens).
    """
    cand_indexes: list[list[int]] = []
    for i, token in enumerate(tokens):
        if token in ("[CLS]", "[SEP]"):
            continue
        if (options.whole_word_mask and cand_indexes and token.startswith("##")
                and cand_indexes[-1][-1] == i - 1):
            cand_indexes[-1].append(i)
        else:
            cand_indexes.append([i])
    output_tokens = [strip_wwm_mark(t) for t in tokens]
    num_to_predict = min(options.max_predictions_per_seq,
                         max(1, int(round(len(tokens) * options.masked_lm_prob))))

    ngrams = list(range(1, options.max_ngram + 1))
    pvals = [1.0 / n for n in ngrams]
    total = sum(pvals)
    pvals = [p / total for p in pvals]   # ALBERT: P(n) proportional to 1/n
    starts = list(range(len(cand_indexes)))
    rng.shuffle(starts)

    covered: set[int] = set()
    masked: list[MaskedLmInstance] = []
    for start in starts:
        if len(masked) >= num_to_predict:
            break
        n = rng.choices(ngrams, weights=pvals)[0] if len(ngrams) > 1 else 1
        n = min(n, len(cand_indexes) - start)
        while n >= 1:
            index_set = [i for word in cand_indexes[start:start + n] for i in word]
            if len(masked) + len(index_set) <= num_to_predict:
                break
            n -= 1
        if n < 1 or any(i in covered for i in index_set):
            continue
        for index in index_set:
            covered.add(index)
            r = rng.random()
            if r < 0.8:
                replacement = "[MASK]"
            elif r < 0.9:
                replacement = output_tokens[index]
            else:
                replacement = vocab_words[rng.randint(0, len(vocab_words) - 1)]
            masked.append(MaskedLmInstance(index, strip_wwm_mark(tokens[index])))
            output_tokens[index] = replacement
    masked.sort(key=lambda m: m.index)
    return output_tokens, [m.index for m in masked], [m.label for m in masked]


def iter_segment_pairs(sentences: list[list[str]], options: PretrainingDataOptions,
                       rng: random.Random) -> Iterator[tuple[list[str], list[str]]]:
    """ALBERT's SOP pairs in document order: chunks of consecutive segments split at a random point.

    Tokens keep their whole-word ``##`` marks. The caller decides the order (swap for SOP
    negatives) and the masking; a generator, so the caller's RNG draws interleave with these.
    """
    max_num_tokens = options.max_seq_len - 3
    target_len = max_num_tokens
    if rng.random() < options.short_seq_prob:
        target_len = rng.randint(2, max_num_tokens)
    chunk: list[list[str]] = []
    chunk_len = 0
    i = 0
    while i < len(sentences):
        chunk.append(sentences[i])
        chunk_len += len(sentences[i])
        if (i == len(sentences) - 1 or chunk_len >= target_len) and len(chunk) >= 2:
            a_end = rng.randint(1, len(chunk) - 1)
            tokens_a = [t for seg in chunk[:a_end] for t in seg]
            tokens_b = [t for seg in chunk[a_end:] for t in seg]
            truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            if tokens_a and tokens_b:
                yield tokens_a, tokens_b
            chunk, chunk_len = [], 0
            target_len = max_num_tokens
            if rng.random() < options.short_seq_prob:
                target_len = rng.randint(2, max_num_tokens)
        i += 1


def create_instances_from_document(sentences: list[list[str]], options: PretrainingDataOptions,
                                   vocab_words: Sequence[str], rng: random.Random
                                   ) -> list[Instance]:
    """SOP pairs swapped half the time, then whole-word (n-gram) masked: static masking."""
    instances: list[Instance] = []
    for tokens_a, tokens_b in iter_segment_pairs(sentences, options, rng):
        swapped = rng.random() < 0.5
        if swapped:
            tokens_a, tokens_b = tokens_b, tokens_a
        tokens = ["[CLS]"] + tokens_a + ["[SEP]"] + tokens_b + ["[SEP]"]
        segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
        out, positions, labels = create_masked_lm_predictions(tokens, options, vocab_words, rng)
        instances.append(Instance(out, segment_ids, positions, labels, swapped))
    return instances


def document_sentences(document: list[str], tokenizer: Any, cut: Any | None,
                       max_seq_len: int) -> list[list[str]]:
    """A document's paragraphs → token lists, one per sentence, whole words marked when ``cut``.

    An over-long sentence is cut into pieces of half a sequence, so that it can still be one side
    of a pair.
    """
    half = max(2, (max_seq_len - 3) // 2)
    sentences: list[list[str]] = []
    for paragraph in document:
        for sentence in split_sentences(unicodedata.normalize("NFC", paragraph)):
            tokens = tokenizer.tokenize(sentence)
            if not tokens:
                continue
            if cut is not None:
                tokens = mark_whole_words(tokens, cut)
            for k in range(0, len(tokens), half):
                piece = tokens[k:k + half]
                piece[0] = strip_wwm_mark(piece[0])
                sentences.append(piece)
    return sentences


# --------------------------------------------------------------------------- workers
_WORKER: dict[str, Any] = {}


def init_worker(vocab_file: str | None, options: PretrainingDataOptions) -> None:
    """Per-process state: tokenizer, vocabulary list, jieba (quietly initialised)."""
    import jieba  # noqa: PLC0415 — heavy, only where segmentation happens

    from albert_edge.tokenization import DEFAULT_VOCAB, FullTokenizer  # noqa: PLC0415

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    tokenizer = FullTokenizer(vocab_file=vocab_file or DEFAULT_VOCAB,
                              do_lower_case=options.do_lower_case)
    vocab = tokenizer.vocab
    _WORKER.update(tokenizer=tokenizer, cut=jieba.lcut, options=options,
                   vocab=vocab, vocab_words=list(vocab.keys()),
                   unk_id=vocab.get("[UNK]", 100))


def worker_state() -> dict[str, Any]:
    """What `init_worker` set up in this process: options, tokenizer, vocab, vocab_words, unk_id, cut.

    Shared with `albert_edge.data.pretraining_pairs`, whose workers read the corpus the same way.
    """
    return _WORKER


def chunk_seed(seed: int, chunk_index: int) -> int:
    """The random seed of one chunk: a hash, so the output is the same for any number of processes."""
    digest = hashlib.sha256(f"{seed}:{chunk_index}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def is_eval_document(first_line: str, eval_fraction: float, seed: int) -> bool:
    """Held-out split by document content (stable across runs, processes and --max-lines)."""
    if eval_fraction <= 0:
        return False
    digest = hashlib.sha256(f"{seed}|{first_line}".encode("utf-8", "replace")).digest()
    return int.from_bytes(digest[:4], "little") / 2**32 < eval_fraction


def process_chunk(job: tuple[int, list[list[str]], float]) -> tuple[list[dict], list[dict], Stats]:
    """Documents → (train features, eval features, stats). Runs in a worker process."""
    chunk_index, documents, eval_fraction = job
    opts: PretrainingDataOptions = _WORKER["options"]
    tokenizer = _WORKER["tokenizer"]
    rng = random.Random(chunk_seed(opts.seed, chunk_index))
    stats = Stats()
    train: list[dict] = []
    held: list[dict] = []
    cut = _WORKER["cut"] if opts.whole_word_mask else None
    for doc in documents:
        stats.documents += 1
        sentences = document_sentences(doc, tokenizer, cut, opts.max_seq_len)
        stats.sentences += len(sentences)
        if len(sentences) < 2:
            stats.one_sentence_documents += 1
            continue
        is_eval = is_eval_document(doc[0], eval_fraction, opts.seed)
        for _ in range(opts.dupe_factor):
            for inst in create_instances_from_document(sentences, opts, _WORKER["vocab_words"], rng):
                feats = instance_to_features(inst, opts, _WORKER["vocab"], _WORKER["unk_id"])
                stats.masked_tokens += len(inst.masked_lm_positions)
                stats.swapped += int(inst.is_swapped)
                (held if is_eval else train).append(feats)
    stats.instances += len(train)
    stats.eval_instances += len(held)
    return train, held, stats


def instance_to_features(inst: Instance, options: PretrainingDataOptions,
                         vocab: dict[str, int], unk_id: int) -> dict[str, list]:
    """Pad an instance to the fixed feature lengths."""
    L, P = options.max_seq_len, options.max_predictions_per_seq
    ids = [vocab.get(t, unk_id) for t in inst.tokens]
    n = len(ids)
    lm_ids = [vocab.get(t, unk_id) for t in inst.masked_lm_labels]
    m = len(lm_ids)
    return {
        "input_ids": ids + [0] * (L - n),
        "input_mask": [1] * n + [0] * (L - n),
        "segment_ids": inst.segment_ids + [0] * (L - n),
        "masked_lm_positions": inst.masked_lm_positions + [0] * (P - m),
        "masked_lm_ids": lm_ids + [0] * (P - m),
        "masked_lm_weights": [1.0] * m + [0.0] * (P - m),
        "sentence_order_label": [1 if inst.is_swapped else 0],
    }


# --------------------------------------------------------------------------- writing
def to_example_bytes(feats: dict[str, list]) -> bytes:
    import tensorflow as tf  # noqa: PLC0415 — only the writing process needs TensorFlow

    def ints(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v))

    def floats(v):
        return tf.train.Feature(float_list=tf.train.FloatList(value=v))

    features = {k: (floats(v) if k == "masked_lm_weights" else ints(v)) for k, v in feats.items()}
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


class _ShardWriter:
    """Round-robin over ``num_shards`` files through a seeded shuffle buffer; atomic renames."""

    def __init__(self, output_dir: Path, prefix: str, num_shards: int, buffer_size: int, seed: int):
        import tensorflow as tf  # noqa: PLC0415

        self.final = [output_dir / f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord"
                      for i in range(num_shards)]
        self.tmp = [p.with_name(p.name + ".tmp") for p in self.final]
        # a symlink planted at a temporary's name is removed, never written through
        self.writers = [tf.io.TFRecordWriter(str(fresh_path(p))) for p in self.tmp]
        self.buffer: list[bytes] = []
        self.buffer_size = max(1, buffer_size)
        self.rng = random.Random(seed)
        self.next = 0
        self.count = 0

    def _emit(self, record: bytes) -> None:
        self.writers[self.next].write(record)
        self.next = (self.next + 1) % len(self.writers)
        self.count += 1

    def write(self, feats: dict[str, list]) -> None:
        self.buffer.append(to_example_bytes(feats))
        if len(self.buffer) >= self.buffer_size:
            j = self.rng.randrange(len(self.buffer))
            self.buffer[j], self.buffer[-1] = self.buffer[-1], self.buffer[j]
            self._emit(self.buffer.pop())

    def abort(self) -> None:
        """Drop what was written: the temporaries go, the final names keep what they held."""
        for w in self.writers:
            with contextlib.suppress(Exception):
                w.close()
        for tmp in self.tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def flush(self) -> None:
        """Write out the shuffle buffer and close the temporaries (nothing renamed yet)."""
        self.rng.shuffle(self.buffer)
        for record in self.buffer:
            self._emit(record)
        self.buffer = []
        for w in self.writers:
            w.close()

    def commit(self) -> list[Path]:
        for tmp, final in zip(self.tmp, self.final):
            os.replace(tmp, final)
        return self.final


def document_chunks(docs: Iterable[list[str]], size: int, eval_fraction: float
            ) -> Iterator[tuple[int, list[list[str]], float]]:
    """Numbered jobs of `size` documents for `process_chunk` / `pack_chunk` (the number seeds each)."""
    batch: list[list[str]] = []
    index = 0
    for doc in docs:
        batch.append(doc)
        if len(batch) >= size:
            yield index, batch, eval_fraction
            index += 1
            batch = []
    if batch:
        yield index, batch, eval_fraction


def bounded_imap(pool: Any, jobs: Iterable, max_in_flight: int,
                  func: Any = None) -> Iterator:
    """Ordered ``pool.imap(func)`` that reads ahead at most ``max_in_flight`` jobs.

    ``Pool.imap`` drains its input iterator as fast as it can, which would pull a whole corpus into
    the task queue; this keeps memory bounded whatever the input size.
    """
    func = func or process_chunk
    pending: collections.deque = collections.deque()
    for job in jobs:
        pending.append(pool.apply_async(func, (job,)))
        if len(pending) >= max_in_flight:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def check_corpus_inputs(input_files: Sequence[str | os.PathLike], options: PretrainingDataOptions,
                        eval_fraction: float, processes: int, sample_rate: float) -> list[Path]:
    """Validate what every corpus reader takes; the input paths, all existing files."""
    options.validate()
    paths = [Path(p) for p in input_files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise PretrainingDataError(f"input file(s) not found: {', '.join(missing)}")
    if not 0.0 <= eval_fraction < 1.0:
        raise PretrainingDataError("--eval-fraction must be in [0, 1)")
    if processes < 1:
        raise PretrainingDataError("--processes must be >= 1")
    if not 0.0 < sample_rate <= 1.0:
        raise PretrainingDataError("--sample-rate must be in (0, 1]")
    return paths


def create_pretraining_data(input_files: Sequence[str | os.PathLike], output_dir: str | os.PathLike,
                            options: PretrainingDataOptions = PretrainingDataOptions(),
                            vocab_file: str | None = None, num_shards: int = 1,
                            eval_fraction: float = 0.0, processes: int = 1,
                            max_lines: int | None = None, sample_rate: float = 1.0,
                            shuffle_buffer: int = 10000,
                            progress: bool = True) -> Stats:
    """Read ``input_files``, write ``train-*.tfrecord`` (+ ``eval-*``) and ``stats.json``.

    ``eval_fraction`` holds out whole documents (chosen by a hash of their first line) for the
    pretraining job's held-out MLM / SOP accuracy. The output is identical for any ``processes``.
    """
    paths = check_corpus_inputs(input_files, options, eval_fraction, processes, sample_rate)
    if num_shards < 1:
        raise PretrainingDataError("--num-shards must be >= 1")
    if shuffle_buffer < 1:
        raise PretrainingDataError(f"--shuffle-buffer must be >= 1 (1: no shuffling), got {shuffle_buffer}")
    try:   # a bad --vocab-file is named here, not in a worker's traceback
        from albert_edge.tokenization import DEFAULT_VOCAB, load_vocab  # noqa: PLC0415
        load_vocab(vocab_file or DEFAULT_VOCAB)
    except (OSError, ValueError) as err:
        raise PretrainingDataError(f"--vocab-file: {err}") from None
    out = Path(output_dir)
    written = [out / "stats.json"] + [out / f"{prefix}-{i:05d}-of-{n:05d}.tfrecord{tmp}"
                                      for prefix, n in (("train", num_shards), ("eval", 1))
                                      for i in range(n) for tmp in ("", ".tmp")]
    try:
        check_outputs_apart({"--output-dir": out}, {"--input": list(paths), "--vocab-file": vocab_file},
                            written=written)
    except ValueError as err:
        raise PretrainingDataError(str(err)) from None
    out.mkdir(parents=True, exist_ok=True)

    from tqdm import tqdm  # noqa: PLC0415

    total_bytes = sum(p.stat().st_size for p in paths)
    bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc="pretraining data",
               disable=not progress, mininterval=2.0)
    stats = Stats()
    docs = iter_documents(paths, options, stats, max_lines=max_lines, progress=bar,
                          sample_rate=sample_rate)
    jobs = document_chunks(docs, options.docs_per_chunk, eval_fraction)

    pool = None
    if processes > 1:
        import multiprocessing  # noqa: PLC0415

        # spawn: the parent may already hold TensorFlow's threads, which fork() does not survive.
        pool = multiprocessing.get_context("spawn").Pool(
            processes, initializer=init_worker, initargs=(vocab_file, options))
        results = bounded_imap(pool, jobs, max_in_flight=4 * processes)
    else:
        init_worker(vocab_file, options)
        results = map(process_chunk, jobs)

    train_writer = _ShardWriter(out, "train", num_shards, shuffle_buffer, options.seed)
    eval_writer = (_ShardWriter(out, "eval", 1, shuffle_buffer, options.seed + 1)
                   if eval_fraction > 0 else None)
    work = Stats()
    writers = [w for w in (train_writer, eval_writer) if w is not None]
    try:
        try:
            for train, held, chunk_stats in results:
                work.add(chunk_stats)
                for feats in train:
                    train_writer.write(feats)
                for feats in held:
                    eval_writer.write(feats)
                bar.set_postfix(instances=work.instances, refresh=False)
        finally:
            if pool is not None:
                pool.terminate()
            bar.close()
        # Reading counters come from the reader, instance counters from the workers.
        for name in ("documents", "one_sentence_documents", "sentences", "instances",
                     "eval_instances", "masked_tokens", "swapped"):
            setattr(stats, name, getattr(work, name))
        check_corpus_read(stats, paths)
        for w in writers:
            w.flush()
    except BaseException as err:
        for w in writers:
            w.abort()      # the shards and stats.json of an earlier run stay as they were
        if _is_disk_full(err):
            raise OSError(errno.ENOSPC, "No space left on device", str(out)) from None
        raise
    try:
        files = [f for w in writers for f in w.commit()]
    except BaseException:
        for w in writers:
            w.abort()      # no temporary is left behind by a rename that failed (a full disk)
        raise
    summary = {"stats": dataclasses.asdict(stats), "options": dataclasses.asdict(options),
               "input_files": [str(p) for p in paths], "num_shards": num_shards,
               "eval_fraction": eval_fraction, "max_lines": max_lines, "sample_rate": sample_rate,
               "files": [f.name for f in files]}
    write_text_atomic(out / "stats.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    logger.info("wrote %d train + %d eval instances to %s", stats.instances, stats.eval_instances, out)
    logger.info("skipped: %d bad bytes on %d lines, %d empty lines, %d one-sentence documents",
                stats.bad_bytes, stats.lines_with_bad_bytes, stats.empty_lines,
                stats.one_sentence_documents)
    return stats


def _is_disk_full(err: BaseException) -> bool:
    """ENOSPC as Python raises it, or as TensorFlow's file writers report it (an OpError)."""
    return getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or (
        type(err).__module__.startswith("tensorflow") and "No space left" in str(err))


def feature_spec(max_seq_len: int, max_predictions_per_seq: int) -> dict[str, Any]:
    """``tf.io.parse_single_example`` spec for the records written above."""
    import tensorflow as tf  # noqa: PLC0415

    L, P = max_seq_len, max_predictions_per_seq
    return {
        "input_ids": tf.io.FixedLenFeature([L], tf.int64),
        "input_mask": tf.io.FixedLenFeature([L], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([L], tf.int64),
        "masked_lm_positions": tf.io.FixedLenFeature([P], tf.int64),
        "masked_lm_ids": tf.io.FixedLenFeature([P], tf.int64),
        "masked_lm_weights": tf.io.FixedLenFeature([P], tf.float32),
        "sentence_order_label": tf.io.FixedLenFeature([1], tf.int64),
    }
