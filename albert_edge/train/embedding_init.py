"""Token-embedding initialisation from corpus co-occurrence (PPMI + truncated SVD).

Why: MLM pretraining learns what characters mean only after ~10^5 steps; a 2-core CPU manages
~3·10^3 per hour (see ``benchmark/PERFORMANCE.md``). Counting which characters occur near which
gives the same kind of knowledge — 问/询 and 买/购 are neighbours — in minutes, because it is one
pass over the corpus and one SVD, not gradient descent. Levy & Goldberg (2014) showed that SVD of
the shifted positive PMI matrix is what word2vec's skip-gram implicitly factorises.

The result is a full albert_zh checkpoint (brightmart or Google layout, like the config): the
encoder is the config's fresh random initialisation, except ``word_embeddings`` [vocab, E], whose
rows for tokens seen ``min_count`` times are the SVD vectors, rescaled to the initializer's
per-entry standard deviation so that LayerNorm sees the same mix of word / position / type signal
as at random init. Use it as ``--init-checkpoint`` for ``albert_edge.pretrain`` or
``albert_edge.finetune``.

Pipeline (each step a small pure function, so each is tested on its own)::

    text lines --tokenize--> ids [T] + line ids [T]
               --cooccurrence--> counts [K, K]   (K = tokens kept, window ±W, weight (W-d+1)/W)
               --ppmi--> PPMI [K, K]             (context distribution smoothed by alpha=0.75)
               --randomized_svd--> U [K, E], S [E]
               --> vectors U·sqrt(S), rows to the initializer's scale
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence, Tuple

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from albert_edge import checkpoint
from albert_edge.fileio import atomic_dir
from albert_edge.modeling import AlbertForPretraining
from albert_edge.tokenization import DEFAULT_VOCAB, FullTokenizer
from albert_edge.train.common import check_output_dir, load_config
# Defined in the TensorFlow-free options module (the CLI parses with it); the same objects here.
from albert_edge.train.options import EmbeddingInitOptions, TrainingError

logger = logging.getLogger(__name__)

CHECKPOINT_STEM = "model.ckpt-0"


# --------------------------------------------------------------------------- corpus → ids
def read_lines(paths: Sequence[str]) -> Iterator[Tuple[str, int]]:
    """(line, byte length) of every non-empty line; undecodable bytes are replaced, not fatal."""
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise TrainingError(f"--corpus: file not found: {p}")
        with p.open("rb") as f:
            for raw in f:
                line = raw.decode("utf-8", errors="replace").strip()
                if line:
                    yield line, len(raw)


def tokenize_corpus(lines: Iterable[str], tokenizer, max_tokens: int) -> Tuple[np.ndarray, np.ndarray]:
    """Token ids [T] and, per token, the index of its line [T] (windows never cross lines)."""
    ids, line_of = [], []
    total = 0
    for number, line in enumerate(lines):
        piece = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(line))
        if not piece:
            continue
        piece = piece[:max_tokens - total]
        ids.append(np.asarray(piece, np.int32))
        line_of.append(np.full(len(piece), number, np.int32))
        total += len(piece)
        if total >= max_tokens:
            break
    if not ids:
        raise TrainingError("--corpus: no tokens (empty or whitespace-only files)")
    return np.concatenate(ids), np.concatenate(line_of)


# --------------------------------------------------------------------------- statistics
def cooccurrence(ids: np.ndarray, line_of: np.ndarray, num_kept: int, window: int) -> np.ndarray:
    """Symmetric weighted co-occurrence counts [K, K] of compact ids (< 0 = not kept).

    A pair at distance d counts (window - d + 1) / window, word2vec's expected weight under its
    randomly shrunk window.
    """
    counts = np.zeros(num_kept * num_kept, np.float64)
    for d in range(1, window + 1):
        a, b = ids[:-d], ids[d:]
        keep = (a >= 0) & (b >= 0) & (line_of[:-d] == line_of[d:])
        a, b = a[keep].astype(np.int64), b[keep].astype(np.int64)
        weight = (window - d + 1) / window
        counts += weight * np.bincount(a * num_kept + b, minlength=num_kept * num_kept)
        counts += weight * np.bincount(b * num_kept + a, minlength=num_kept * num_kept)
    return counts.reshape(num_kept, num_kept)


def ppmi(counts: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """Positive PMI [K, K] with the context distribution raised to ``alpha`` (float32)."""
    total = counts.sum()
    if total <= 0:
        raise TrainingError("no co-occurrences: the corpus is too small for the window / min-count")
    p_word = counts.sum(axis=1) / total
    context = counts.sum(axis=0) ** alpha
    p_context = context / context.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts / total) - np.log(p_word)[:, None] - np.log(p_context)[None, :]
    out = np.where(counts > 0, np.maximum(pmi, 0.0), 0.0)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def randomized_svd(matrix: np.ndarray, rank: int, power_iterations: int = 6,
                   oversample: int = 16, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Top-``rank`` left singular vectors [K, rank] and values [rank] (Halko et al. 2011)."""
    rng = np.random.default_rng(seed)
    k = min(rank + oversample, min(matrix.shape))
    q, _ = np.linalg.qr(matrix @ rng.standard_normal((matrix.shape[1], k)).astype(matrix.dtype))
    for _ in range(power_iterations):
        q, _ = np.linalg.qr(matrix.T @ q)
        q, _ = np.linalg.qr(matrix @ q)
    u_small, s, _ = np.linalg.svd(q.T @ matrix, full_matrices=False)
    return (q @ u_small)[:, :rank], s[:rank]


def embedding_vectors(ppmi_matrix: np.ndarray, dim: int, scale: float, power_iterations: int,
                      seed: int) -> np.ndarray:
    """U·sqrt(S) [K, dim], each row rescaled to norm ``scale·sqrt(dim)`` (entries ~ N(0, scale²))."""
    rank = min(dim, ppmi_matrix.shape[0])
    u, s = randomized_svd(ppmi_matrix, rank, power_iterations, seed=seed)
    vectors = np.zeros((ppmi_matrix.shape[0], dim), np.float32)
    vectors[:, :rank] = u * np.sqrt(s)[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12) * scale * np.sqrt(dim)).astype(np.float32)


def nearest(vectors: np.ndarray, row: int, k: int = 5) -> np.ndarray:
    """Rows of the k most cosine-similar vectors to ``vectors[row]`` (itself excluded)."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit[row]
    sims[row] = -np.inf
    return np.argsort(-sims)[:k]


# --------------------------------------------------------------------------- job
def build_embedding_init(opts: EmbeddingInitOptions) -> dict:
    """Count, factorise, write the checkpoint; returns the summary also saved as embedding_init.json."""
    if not opts.corpus:
        raise TrainingError("--corpus is required")
    if not opts.output_dir:
        raise TrainingError("--output-dir is required")
    if opts.window < 1 or opts.min_count < 1 or opts.max_tokens < 2 or opts.max_kept < 2:
        raise TrainingError("--window and --min-count must be >= 1, --max-tokens and --max-kept >= 2")
    check_output_dir(opts.output_dir, {"--corpus": list(opts.corpus), "--vocab-file": opts.vocab_file,
                                       "--config": opts.config}, None, replaces_folder=True)
    config = load_config(opts.config)
    tokenizer = FullTokenizer(opts.vocab_file or DEFAULT_VOCAB, opts.do_lower_case)
    if len(tokenizer.vocab) != config.vocab_size:
        raise TrainingError(f"the vocabulary has {len(tokenizer.vocab)} tokens but the config's vocab_size "
                            f"is {config.vocab_size}: pass the --vocab-file the model was built with")
    t0 = time.time()
    lines = (line for line, _ in _with_progress(read_lines(opts.corpus), opts))
    ids, line_of = tokenize_corpus(lines, tokenizer, opts.max_tokens)
    t_tok = time.time() - t0
    freq = np.bincount(ids, minlength=config.vocab_size)
    special = [tokenizer.vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
               if t in tokenizer.vocab]
    kept_mask = freq >= opts.min_count
    kept_mask[special] = False
    kept = np.flatnonzero(kept_mask)
    if len(kept) > opts.max_kept:
        kept = np.sort(kept[np.argsort(-freq[kept], kind="stable")[:opts.max_kept]])
    if len(kept) < 2:
        raise TrainingError(f"only {len(kept)} tokens occur >= {opts.min_count} times: use a bigger "
                            "corpus or a lower --min-count")
    compact = np.full(config.vocab_size, -1, np.int32)
    compact[kept] = np.arange(len(kept), dtype=np.int32)
    logger.info("%d tokens from %s in %.0fs; %d distinct, %d kept (count >= %d)", len(ids),
                ", ".join(opts.corpus), t_tok, int((freq > 0).sum()), len(kept), opts.min_count)
    t1 = time.time()
    counts = cooccurrence(compact[ids], line_of, len(kept), opts.window)
    del ids, line_of
    matrix = ppmi(counts, opts.alpha)
    del counts
    vectors = embedding_vectors(matrix, config.embedding_size, config.initializer_range,
                                opts.power_iterations, opts.seed)
    logger.info("PPMI %dx%d (%.1f%% non-zero) factorised to %d dims in %.0fs", *matrix.shape,
                100.0 * float((matrix > 0).mean()), config.embedding_size, time.time() - t1)
    summary = {"tokens": int(freq.sum()), "kept_tokens": int(len(kept)),
               "covered_token_fraction": float(freq[kept].sum() / max(1, freq.sum())),
               "window": opts.window, "min_count": opts.min_count, "alpha": opts.alpha,
               "embedding_size": config.embedding_size, "seconds": round(time.time() - t0, 1),
               "corpus": [str(c) for c in opts.corpus],
               "neighbours": _probe_neighbours(vectors, kept, compact, tokenizer)}
    _write_checkpoint(opts, config, kept, vectors, summary)
    return summary


def _with_progress(items: Iterator[Tuple[str, int]], opts: EmbeddingInitOptions):
    total = sum(Path(p).stat().st_size for p in opts.corpus if Path(p).is_file())
    if not opts.progress:
        yield from items
        return
    with tqdm(total=total, unit="B", unit_scale=True, desc="tokenize") as bar:
        for line, size in items:
            bar.update(size)
            yield line, size


def _probe_neighbours(vectors, kept, compact, tokenizer, probes: str = "买问快男天") -> dict:
    """A human check that the vectors mean something: nearest tokens of a few common characters."""
    out = {}
    for ch in probes:
        vid = tokenizer.vocab.get(ch)
        if vid is None or compact[vid] < 0:
            continue
        ids = [int(kept[r]) for r in nearest(vectors, int(compact[vid]))]
        out[ch] = "".join(tokenizer.convert_ids_to_tokens(ids))
    return out


def _write_checkpoint(opts, config, kept, vectors, summary) -> None:
    """Fresh encoder, embeddings replaced, saved atomically as ``<output_dir>/model.ckpt-0``.

    No heads: pretraining then starts its MLM bias at the unigram prior, fine-tuning its classifier
    fresh, as they do from random init."""
    tf.random.set_seed(opts.seed)
    model = AlbertForPretraining(config).build_weights()    # fresh; only the encoder is written
    table = model.weight_map()["embeddings/word_embeddings"]
    values = table.numpy()
    values[kept] = vectors
    table.assign(values)

    def write(folder: Path) -> None:
        checkpoint.save_tf1_checkpoint(model, folder / CHECKPOINT_STEM, heads=False)
        (folder / "albert_config.json").write_text(config.to_json_string() + "\n", encoding="utf-8")
        (folder / "embedding_init.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n",
                                                    encoding="utf-8")

    atomic_dir(opts.output_dir, write)
    logger.info("wrote %s/%s (%d of %d embedding rows from the corpus)", opts.output_dir, CHECKPOINT_STEM,
                len(kept), config.vocab_size)


