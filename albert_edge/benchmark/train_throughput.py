"""Training throughput: albert_edge vs Hugging Face ``transformers`` (PyTorch CPU), seq/s and pairs/s.

    python -m albert_edge.benchmark train-throughput --seq-lens 64 128 --batch-size 32 --steps 5 --threads 2

Prints pretraining sequences/s (MLM + SOP, optimizer step included) and fine-tuning pairs/s
(classifier, optimizer step included) for albert_tiny, side by side with PyTorch CPU
``AlbertForPreTraining`` / ``AlbertForSequenceClassification`` built from the same sizes and fed the
same batch shapes. Both sides use the same number of threads.

Differences that are the libraries' own, not the benchmark's: albert_edge computes MLM logits only
at the ``max_predictions_per_seq`` masked positions (albert_zh does the same), Hugging Face at every
position; Hugging Face ALBERT is the Google structure (LayerNorm in E + projection) and albert_tiny
is brightmart's (projection, LayerNorm in H) — the same FLOPs within 1%.
Inputs are full length (no padding) so both sides do the same attention work.

Why it lives with the other benchmarks rather than in ``albert_edge/train/``: it measures the
trainers through their public API (``Pretrainer``, ``Finetuner``) and owns nothing they need.
Exit codes: 0 measured · 2 unusable input (config, output path) · 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from albert_edge import resources
from albert_edge.cli import check_writable_file, describe_os_error, nonnegative_int, positive_int, quiet_tensorflow

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = resources.config_file("albert_config_tiny")
FIRST_ORDINARY_ID = 106   # ids below are [PAD], [unused…], [UNK], [CLS], [SEP], [MASK] in albert_zh's vocab


def predictions_per_seq(seq_len: int) -> int:
    """albert_zh's masked share (15 %, at most 20 positions), at least one."""
    return max(1, min(20, int(round(seq_len * 0.15))))


def write_pretraining_records(path: Path, seq_len: int, n: int, vocab_size: int, seed: int = 0) -> int:
    """`n` random full-length MLM + SOP records; returns the masked positions per record."""
    import tensorflow as tf  # noqa: PLC0415 — only when measuring

    from albert_edge.data.pretraining_data import to_example_bytes  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    preds = predictions_per_seq(seq_len)
    with tf.io.TFRecordWriter(str(path)) as w:
        for _ in range(n):
            w.write(to_example_bytes({
                "input_ids": rng.integers(FIRST_ORDINARY_ID, vocab_size, seq_len).tolist(),
                "input_mask": [1] * seq_len,
                "segment_ids": [0] * (seq_len // 2) + [1] * (seq_len - seq_len // 2),
                "masked_lm_positions": sorted(rng.choice(np.arange(1, seq_len), preds, replace=False).tolist()),
                "masked_lm_ids": rng.integers(FIRST_ORDINARY_ID, vocab_size, preds).tolist(),
                "masked_lm_weights": [1.0] * preds,
                "sentence_order_label": [int(rng.integers(0, 2))]}))
    return preds


def seconds_per_step(step: Callable[[], object], steps: int, warmup: int) -> float:
    """Mean wall time of `steps` calls after `warmup` untimed ones (tracing, allocation)."""
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def bench_albert_edge(config_path: str, vocab_size: int, seq_len: int, batch: int, steps: int, warmup: int,
                      tmp: Path) -> dict:
    """Pretraining seq/s and fine-tuning pairs/s of our trainers at one length."""
    from albert_edge.train.finetune import FinetuneOptions, Finetuner, make_dataset  # noqa: PLC0415
    from albert_edge.train.pretrain import PretrainOptions, Pretrainer  # noqa: PLC0415
    from albert_edge.train.pretrain import make_dataset as pretraining_dataset  # noqa: PLC0415

    records = tmp / f"pt{seq_len}.tfrecord"
    preds = write_pretraining_records(records, seq_len, batch * 4, vocab_size)
    pre = Pretrainer(PretrainOptions(train_files=[str(records)], output_dir=str(tmp / f"pt{seq_len}"),
                                     config=config_path, max_seq_len=seq_len,
                                     max_predictions_per_seq=preds, batch_size=batch,
                                     num_train_steps=10**6, shuffle_buffer=1, progress=False))
    batches = iter(pre.strategy.experimental_distribute_dataset(
        pretraining_dataset(pre.train_files, pre.opts, batch, training=True)))
    pretrain_step = pre.build_train_step()
    pre_s = seconds_per_step(lambda: float(pretrain_step(batches)["mlm_loss"]), steps, warmup)

    # Pairs long enough to fill seq_len exactly: [CLS] a [SEP] b [SEP], one character per token.
    chars = seq_len - 3
    tsv = tmp / f"pairs{seq_len}.tsv"
    base = "今天天气很好我们去公园散步吧支付宝密码忘了怎么办"
    text = base * (seq_len // len(base) + 2)
    tsv.write_text("".join(f"{text[:chars // 2]}\t{text[i % 5:i % 5 + chars - chars // 2]}\t{i % 2}\n"
                           for i in range(batch * 2)), encoding="utf-8")
    tuner = Finetuner(FinetuneOptions(task="pairs", train_files=[str(tsv)], output_dir=str(tmp / f"ft{seq_len}"),
                                      config=config_path, max_seq_len=seq_len, batch_size=batch,
                                      progress=False))
    finetune_step = tuner.build_train_step()
    first = next(iter(make_dataset(tuner.train_data, batch, drop_remainder=True)))
    assert int(first["input_ids"].shape[1]) == seq_len, "the pairs must fill the sequence"
    ft_s = seconds_per_step(lambda: float(finetune_step(first)["loss_sum"]), steps, warmup)
    return {"pretrain_seq_per_s": batch / pre_s, "finetune_pairs_per_s": batch / ft_s,
            "max_predictions_per_seq": preds}


def bench_hf(config, seq_len: int, batch: int, steps: int, warmup: int) -> dict:
    """The same two measurements for Hugging Face's PyTorch ALBERT of the same sizes."""
    import torch  # noqa: PLC0415
    from transformers import (AlbertConfig as HFConfig, AlbertForPreTraining,  # noqa: PLC0415
                              AlbertForSequenceClassification)

    hf = HFConfig(vocab_size=config.vocab_size, embedding_size=config.embedding_size,
                  hidden_size=config.hidden_size, num_hidden_layers=config.num_hidden_layers,
                  num_attention_heads=config.num_attention_heads,
                  intermediate_size=config.intermediate_size, hidden_act="gelu_new",
                  hidden_dropout_prob=config.hidden_dropout_prob,
                  attention_probs_dropout_prob=config.attention_probs_dropout_prob,
                  max_position_embeddings=config.max_position_embeddings,
                  type_vocab_size=config.type_vocab_size, num_labels=2,
                  classifier_dropout_prob=0.1)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(FIRST_ORDINARY_ID, config.vocab_size, (batch, seq_len), generator=g)
    mask = torch.ones(batch, seq_len, dtype=torch.long)
    seg = torch.zeros(batch, seq_len, dtype=torch.long)
    seg[:, seq_len // 2:] = 1
    preds = predictions_per_seq(seq_len)
    labels = torch.full((batch, seq_len), -100, dtype=torch.long)
    for b in range(batch):
        pos = torch.randperm(seq_len - 1, generator=g)[:preds] + 1
        labels[b, pos] = ids[b, pos]
    sop = torch.randint(0, 2, (batch,), generator=g)

    def trainer(model, **inputs):
        optim = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        model.train()

        def step():
            optim.zero_grad(set_to_none=True)
            loss = model(**inputs).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            return loss.detach().item()
        return step

    pre = trainer(AlbertForPreTraining(hf), input_ids=ids, attention_mask=mask, token_type_ids=seg,
                  labels=labels, sentence_order_label=sop)
    pre_s = seconds_per_step(pre, steps, warmup)
    cls = trainer(AlbertForSequenceClassification(hf), input_ids=ids, attention_mask=mask,
                  token_type_ids=seg, labels=sop)
    ft_s = seconds_per_step(cls, steps, warmup)
    return {"pretrain_seq_per_s": batch / pre_s, "finetune_pairs_per_s": batch / ft_s}


def measure_throughput(seq_lens: Sequence[int] = (64, 128), batch_size: int = 32, steps: int = 5,
                       warmup: int = 2, threads: int = 2, config: Optional[str] = None,
                       skip_hf: bool = False) -> list[dict]:
    """Measure every (library, seq_len); returns rows for :func:`format_table`.

    Sets TensorFlow's thread pools (`configure_runtime`), so call it before TensorFlow has run an op.
    """
    from albert_edge.config import AlbertConfig  # noqa: PLC0415
    from albert_edge.train.common import configure_runtime  # noqa: PLC0415

    configure_runtime(threads, 1)
    config_path = str(config or DEFAULT_CONFIG)
    cfg = AlbertConfig.from_json_file(config_path)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seq_len in seq_lens:
            ours = bench_albert_edge(config_path, cfg.vocab_size, seq_len, batch_size, steps, warmup, Path(tmp))
            rows.append({"library": "albert_edge (TF 2 / tf_keras)", "seq_len": seq_len, "batch": batch_size, **ours})
            logger.info("albert_edge L=%d: %s", seq_len, ours)
    if not skip_hf:
        import torch  # noqa: PLC0415

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        for seq_len in seq_lens:
            theirs = bench_hf(cfg, seq_len, batch_size, steps, warmup)
            rows.append({"library": "transformers (PyTorch)", "seq_len": seq_len, "batch": batch_size, **theirs})
            logger.info("transformers L=%d: %s", seq_len, theirs)
    return rows


def format_table(rows: list[dict]) -> str:
    head = f"{'library':32s} {'seq':>4s} {'batch':>5s} {'pretrain seq/s':>15s} {'finetune pairs/s':>17s}"
    lines = [head, "-" * len(head)]
    for r in sorted(rows, key=lambda r: (r["seq_len"], r["library"])):
        lines.append(f"{r['library']:32s} {r['seq_len']:4d} {r['batch']:5d} "
                     f"{r['pretrain_seq_per_s']:15.1f} {r['finetune_pairs_per_s']:17.1f}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The shortest sequence holds [CLS] a [SEP] b [SEP] with a one-character sentence on each side.
    parser.add_argument("--seq-lens", type=positive_int, nargs="+", default=[64, 128],
                        help="sequence lengths, at least 5 (default 64 128)")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--steps", type=positive_int, default=5, help="timed steps per measurement")
    parser.add_argument("--warmup", type=nonnegative_int, default=2,
                        help="untimed steps first (tracing, allocation)")
    parser.add_argument("--threads", type=positive_int, default=2, help="intra-op threads, both libraries")
    parser.add_argument("--config", default=None, help="albert config json (default: albert_tiny)")
    parser.add_argument("--skip-hf", action="store_true", help="only albert_edge")
    parser.add_argument("--json", default=None, help="also write the rows here")


def run(args: argparse.Namespace) -> int:
    if min(args.seq_lens) < 5:
        print(f"error: --seq-lens must be at least 5, got {min(args.seq_lens)}", file=sys.stderr)
        return 2
    config = Path(args.config) if args.config else DEFAULT_CONFIG
    if not config.is_file():
        print(f"error: --config {config}: no such file", file=sys.stderr)
        return 2
    try:
        if args.json:
            check_writable_file(args.json, "--json")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    quiet_tensorflow(getattr(args, "verbose", False))
    from albert_edge.config import ConfigError  # noqa: PLC0415

    try:
        rows = measure_throughput(args.seq_lens, args.batch_size, args.steps, args.warmup, args.threads,
                                  str(config), args.skip_hf)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_table(rows))
    if args.json:
        from albert_edge.fileio import write_text_atomic  # noqa: PLC0415

        try:
            write_text_atomic(args.json, json.dumps(rows, indent=2) + "\n")
        except OSError as err:
            print(f"error: {describe_os_error(err)} (the table is printed above)", file=sys.stderr)
            return 2
    return 0
