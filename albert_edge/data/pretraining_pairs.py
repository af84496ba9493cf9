"""Unmasked sentence-order pairs packed into one ``.npz``, for pretraining that masks on the fly.

``pretraining_data`` writes *static* instances: every record carries the one mask and the one
order it was given when the corpus was processed, so a run of many epochs over a small corpus sees
the same ~15 % of its tokens as targets again and again. A GPU run of ALBERT-tiny goes through the
45 MB corpus dozens of times in minutes, so this module keeps only what masking and ordering need
and leaves both to the trainer (``albert_edge.train.pretrain_torch``), which draws a new whole-word
mask and a new SOP order for each row every time it is used.

Same reading, sentence splitting, jieba whole-word marks, segment pairing and held-out split as
``pretraining_data`` (the functions are shared). Each row is::

    [CLS] A [SEP] B [SEP] 0 … 0        A, B consecutive segments of one document, in order

stored as ``uint16`` token ids with bit 15 (``CONTINUATION_BIT``) set on a token that continues a
whole word (jieba's ``##`` mark, or a WordPiece ``##`` piece), and ``a_len`` = len(A) per row.
A vocabulary must therefore be smaller than 32,768 (albert_zh's has 21,128). Arrays in the file::

    train_tokens  uint16 [N, max_seq_len]      train_a_len  uint16 [N]
    eval_tokens   uint16 [M, max_seq_len]      eval_a_len   uint16 [M]
    meta          JSON string: options, counts, special-token ids
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import random
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from albert_edge.data import pretraining_data as ptd
from albert_edge.data.pretraining_data import PretrainingDataError, PretrainingDataOptions, Stats
from albert_edge.fileio import write_bytes_atomic

logger = logging.getLogger(__name__)

CONTINUATION_BIT = 1 << 15
FORMAT = "albert_edge.pretraining_pairs/1"


def encode_pair(tokens_a: Sequence[str], tokens_b: Sequence[str], vocab: dict[str, int],
                unk_id: int, max_seq_len: int) -> np.ndarray:
    """One row: ids of ``[CLS] A [SEP] B [SEP]`` (marks stripped), continuation bit, zero padding."""
    row = np.zeros([max_seq_len], np.uint16)
    tokens = ["[CLS]", *tokens_a, "[SEP]", *tokens_b, "[SEP]"]
    for i, token in enumerate(tokens):
        token_id = vocab.get(ptd.strip_wwm_mark(token), unk_id)
        if token.startswith("##"):
            token_id |= CONTINUATION_BIT
        row[i] = token_id
    return row


def pack_chunk(job: tuple[int, list[list[str]], float]
               ) -> tuple[list[np.ndarray], list[int], list[np.ndarray], list[int], Stats]:
    """Documents → (train rows, train a_lens, eval rows, eval a_lens, stats). Runs in a worker."""
    chunk_index, documents, eval_fraction = job
    state = ptd.worker_state()
    opts: PretrainingDataOptions = state["options"]
    vocab, unk_id = state["vocab"], state["unk_id"]
    cut = state["cut"] if opts.whole_word_mask else None
    rng = random.Random(ptd.chunk_seed(opts.seed, chunk_index))
    stats = Stats()
    rows: dict[bool, tuple[list[np.ndarray], list[int]]] = {False: ([], []), True: ([], [])}
    for doc in documents:
        stats.documents += 1
        sentences = ptd.document_sentences(doc, state["tokenizer"], cut, opts.max_seq_len)
        stats.sentences += len(sentences)
        if len(sentences) < 2:
            stats.one_sentence_documents += 1
            continue
        is_eval = ptd.is_eval_document(doc[0], eval_fraction, opts.seed)
        for _ in range(opts.dupe_factor):
            for tokens_a, tokens_b in ptd.iter_segment_pairs(sentences, opts, rng):
                rows[is_eval][0].append(encode_pair(tokens_a, tokens_b, vocab, unk_id,
                                                    opts.max_seq_len))
                rows[is_eval][1].append(len(tokens_a))
    stats.instances = len(rows[False][0])
    stats.eval_instances = len(rows[True][0])
    return (*rows[False], *rows[True], stats)


def _stack(rows: list[np.ndarray], width: int) -> np.ndarray:
    return np.stack(rows) if rows else np.zeros([0, width], np.uint16)


def create_pretraining_pairs(input_files: Sequence[str | Path], output_file: str | Path,
                             options: PretrainingDataOptions = PretrainingDataOptions(),
                             vocab_file: str | None = None, eval_fraction: float = 0.0,
                             processes: int = 1, max_lines: int | None = None,
                             sample_rate: float = 1.0, progress: bool = True) -> Stats:
    """Read ``input_files`` and write the packed pairs to ``output_file`` (``.npz``, atomically).

    ``options.max_predictions_per_seq``, ``masked_lm_prob`` and ``max_ngram`` are not used here:
    masking happens in the trainer. The output is identical for any ``processes``.
    """
    paths = ptd.check_corpus_inputs(input_files, options, eval_fraction, processes, sample_rate)
    if not str(output_file).endswith(".npz"):
        raise PretrainingDataError(f"--output must end in .npz, got {output_file}")

    from tqdm import tqdm  # noqa: PLC0415

    from albert_edge.tokenization import DEFAULT_VOCAB, load_vocab  # noqa: PLC0415

    vocab = load_vocab(vocab_file or DEFAULT_VOCAB)
    if len(vocab) > CONTINUATION_BIT:
        raise PretrainingDataError(f"the vocabulary has {len(vocab)} entries; packed pairs hold "
                                   f"ids below {CONTINUATION_BIT}")
    bar = tqdm(total=sum(p.stat().st_size for p in paths), unit="B", unit_scale=True,
               desc="pretraining pairs", disable=not progress, mininterval=2.0)
    stats = Stats()
    docs = ptd.iter_documents(paths, options, stats, max_lines=max_lines, progress=bar,
                              sample_rate=sample_rate)
    jobs = ptd.document_chunks(docs, options.docs_per_chunk, eval_fraction)
    pool = None
    if processes > 1:
        import multiprocessing  # noqa: PLC0415

        pool = multiprocessing.get_context("spawn").Pool(
            processes, initializer=ptd.init_worker, initargs=(vocab_file, options))
        results = ptd.bounded_imap(pool, jobs, 4 * processes, func=pack_chunk)
    else:
        ptd.init_worker(vocab_file, options)
        results = map(pack_chunk, jobs)

    train, train_a, held, held_a = [], [], [], []
    work = Stats()
    try:
        for rows, a_lens, eval_rows, eval_a_lens, chunk_stats in results:
            work.add(chunk_stats)
            train += rows
            train_a += a_lens
            held += eval_rows
            held_a += eval_a_lens
            bar.set_postfix(pairs=work.instances, refresh=False)
    finally:
        if pool is not None:
            pool.terminate()
        bar.close()
    for name in ("documents", "one_sentence_documents", "sentences", "instances", "eval_instances"):
        setattr(stats, name, getattr(work, name))
    if not train:
        raise PretrainingDataError(
            f"no sentence pairs could be built from {', '.join(map(str, paths))}: every document "
            "has fewer than two sentences (use --doc-boundary blank for one-sentence lines)")
    meta = {"format": FORMAT, "options": dataclasses.asdict(options),
            "stats": dataclasses.asdict(stats), "eval_fraction": eval_fraction,
            "input_files": [str(p) for p in paths], "sample_rate": sample_rate,
            "vocab_size": len(vocab), "continuation_bit": CONTINUATION_BIT,
            "special_ids": {t: vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
                            if t in vocab}}
    L = options.max_seq_len
    buffer = io.BytesIO()
    np.savez_compressed(buffer, train_tokens=_stack(train, L),
                        train_a_len=np.asarray(train_a, np.uint16),
                        eval_tokens=_stack(held, L), eval_a_len=np.asarray(held_a, np.uint16),
                        meta=np.asarray(json.dumps(meta, ensure_ascii=False)))
    write_bytes_atomic(output_file, buffer.getvalue())
    logger.info("wrote %d train + %d eval pairs (seq %d) to %s", stats.instances,
                stats.eval_instances, L, output_file)
    return stats


def load_pretraining_pairs(path: str | Path) -> dict[str, Any]:
    """The arrays and ``meta`` dict of a file written by :func:`create_pretraining_pairs`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise PretrainingDataError(f"{path}: not a readable pretraining-pairs .npz ({err}); "
                                   "make one with `python -m albert_edge.pretraining_pairs`") from None
    meta = json.loads(str(arrays.pop("meta", "{}")))
    if meta.get("format") != FORMAT:
        raise PretrainingDataError(f"{path}: not a pretraining-pairs file (format "
                                   f"{meta.get('format')!r}, expected {FORMAT!r})")
    arrays["meta"] = meta
    return arrays
