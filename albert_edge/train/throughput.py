"""Training throughput benchmark (not a test): albert_edge vs Hugging Face ``transformers``.

    python -m albert_edge.train.throughput --seq-lens 64 128 --batch-size 32 --steps 5 --threads 2

Prints pretraining sequences/s (MLM + SOP, optimizer step included) and fine-tuning pairs/s
(classifier, optimizer step included) for albert_tiny, side by side with PyTorch CPU
``AlbertForPreTraining`` / ``AlbertForSequenceClassification`` built from the same sizes and fed the
same batch shapes. Both sides use the same number of threads.

Differences that are the libraries' own, not the benchmark's: albert_edge computes MLM logits only
at the ``max_predictions_per_seq`` masked positions (albert_zh does the same), Hugging Face at every
position; Hugging Face ALBERT is the Google structure (LayerNorm in E + projection) and albert_tiny
is brightmart's (projection, LayerNorm in H) — the same FLOPs within 1%.
Inputs are full length (no padding) so both sides do the same attention work.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def _preds(seq_len: int) -> int:
    return max(1, min(20, int(round(seq_len * 0.15))))


def _write_pretraining_records(path: Path, seq_len: int, n: int, vocab: int, seed: int = 0) -> int:
    from albert_edge.data.pretraining_data import to_example_bytes  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    P = _preds(seq_len)
    with tf.io.TFRecordWriter(str(path)) as w:
        for _ in range(n):
            w.write(to_example_bytes({
                "input_ids": rng.integers(106, vocab, seq_len).tolist(), "input_mask": [1] * seq_len,
                "segment_ids": [0] * (seq_len // 2) + [1] * (seq_len - seq_len // 2),
                "masked_lm_positions": sorted(rng.choice(np.arange(1, seq_len), P, replace=False).tolist()),
                "masked_lm_ids": rng.integers(106, vocab, P).tolist(), "masked_lm_weights": [1.0] * P,
                "sentence_order_label": [int(rng.integers(0, 2))]}))
    return P


def _time(fn, steps: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def bench_albert_edge(config_path: str, seq_len: int, batch: int, steps: int, warmup: int,
                      tmp: Path) -> dict:
    from albert_edge.train.finetune import FinetuneOptions, Finetuner, make_dataset  # noqa: PLC0415
    from albert_edge.train.pretrain import PretrainOptions, Pretrainer  # noqa: PLC0415
    from albert_edge.train.pretrain import make_dataset as pt_dataset  # noqa: PLC0415

    rec = tmp / f"pt{seq_len}.tfrecord"
    P = _write_pretraining_records(rec, seq_len, batch * 4, 21128)
    pt = Pretrainer(PretrainOptions(train_files=[str(rec)], output_dir=str(tmp / f"pt{seq_len}"),
                                    config=config_path, max_seq_len=seq_len,
                                    max_predictions_per_seq=P, batch_size=batch,
                                    num_train_steps=10**6, shuffle_buffer=1, progress=False))
    it = iter(pt.strategy.experimental_distribute_dataset(
        pt_dataset(pt.train_files, pt.opts, batch, training=True)))
    step = pt.build_train_step()
    pre_s = _time(lambda: float(step(it)["mlm_loss"]), steps, warmup)

    chars = seq_len - 3
    tsv = tmp / f"pairs{seq_len}.tsv"
    base = "今天天气很好我们去公园散步吧支付宝密码忘了怎么办"
    text = (base * (seq_len // len(base) + 2))
    tsv.write_text("".join(f"{text[:chars // 2]}\t{text[i % 5:i % 5 + chars - chars // 2]}\t{i % 2}\n"
                           for i in range(batch * 2)), encoding="utf-8")
    ft = Finetuner(FinetuneOptions(task="pairs", train_files=[str(tsv)], output_dir=str(tmp / f"ft{seq_len}"),
                                   config=config_path, max_seq_len=seq_len, batch_size=batch,
                                   progress=False))
    train_step = ft.build_train_step()
    batches = list(make_dataset(ft.train_data, batch, drop_remainder=True))
    assert int(batches[0]["input_ids"].shape[1]) == seq_len
    ft_s = _time(lambda: float(train_step(batches[0])["loss_sum"]), steps, warmup)
    return {"pretrain_seq_per_s": batch / pre_s, "finetune_pairs_per_s": batch / ft_s,
            "max_predictions_per_seq": P}


def bench_hf(config, seq_len: int, batch: int, steps: int, warmup: int) -> dict:
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
    ids = torch.randint(106, config.vocab_size, (batch, seq_len), generator=g)
    mask = torch.ones(batch, seq_len, dtype=torch.long)
    seg = torch.zeros(batch, seq_len, dtype=torch.long)
    seg[:, seq_len // 2:] = 1
    P = _preds(seq_len)
    labels = torch.full((batch, seq_len), -100, dtype=torch.long)
    for b in range(batch):
        pos = torch.randperm(seq_len - 1, generator=g)[:P] + 1
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
    pre_s = _time(pre, steps, warmup)
    cls = trainer(AlbertForSequenceClassification(hf), input_ids=ids, attention_mask=mask,
                  token_type_ids=seg, labels=sop)
    ft_s = _time(cls, steps, warmup)
    return {"pretrain_seq_per_s": batch / pre_s, "finetune_pairs_per_s": batch / ft_s}


def run(seq_lens=(64, 128), batch_size: int = 32, steps: int = 5, warmup: int = 2, threads: int = 2,
        config: str | None = None, skip_hf: bool = False) -> list[dict]:
    """Measure every (library, seq_len); returns rows for :func:`format_table`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from albert_edge.config import AlbertConfig  # noqa: PLC0415
    from albert_edge.train.common import configure_runtime  # noqa: PLC0415

    configure_runtime(threads, 1)
    config_path = config or str(Path(__file__).parents[1] / "resources" / "configs" / "albert_config_tiny.json")
    cfg = AlbertConfig.from_json_file(config_path)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for L in seq_lens:
            ours = bench_albert_edge(config_path, L, batch_size, steps, warmup, Path(tmp))
            rows.append({"library": "albert_edge (TF 2 / tf_keras)", "seq_len": L, "batch": batch_size, **ours})
            logger.info("albert_edge L=%d: %s", L, ours)
    if not skip_hf:
        import torch  # noqa: PLC0415

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        for L in seq_lens:
            theirs = bench_hf(cfg, L, batch_size, steps, warmup)
            rows.append({"library": "transformers (PyTorch)", "seq_len": L, "batch": batch_size, **theirs})
            logger.info("transformers L=%d: %s", L, theirs)
    return rows


def format_table(rows: list[dict]) -> str:
    head = f"{'library':32s} {'seq':>4s} {'batch':>5s} {'pretrain seq/s':>15s} {'finetune pairs/s':>17s}"
    lines = [head, "-" * len(head)]
    for r in sorted(rows, key=lambda r: (r["seq_len"], r["library"])):
        lines.append(f"{r['library']:32s} {r['seq_len']:4d} {r['batch']:5d} "
                     f"{r['pretrain_seq_per_s']:15.1f} {r['finetune_pairs_per_s']:17.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m albert_edge.train.throughput", description=__doc__.split("\n")[0])
    p.add_argument("--seq-lens", type=int, nargs="+", default=[64, 128])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (tracing, allocation)")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads, both libraries")
    p.add_argument("--config", default=None, help="albert config json (default: albert_tiny)")
    p.add_argument("--skip-hf", action="store_true", help="only albert_edge")
    p.add_argument("--json", default=None, help="also write the rows here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = run(args.seq_lens, args.batch_size, args.steps, args.warmup, args.threads, args.config,
               args.skip_hf)
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
