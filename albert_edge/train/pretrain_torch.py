"""ALBERT pretraining (whole-word MLM + SOP) in PyTorch, for a CUDA machine without TensorFlow.

The kit's own trainer (`albert_edge.train.pretrain`) is TensorFlow; on a rented GPU box that has
PyTorch and `transformers` but no TensorFlow (and no way to install one), this runs the same
objective on `transformers`' ``AlbertForPreTraining`` (Google structure: the
``albert_config_tiny_google.json`` family) and writes a Hugging Face folder
(``config.json`` + ``model.safetensors``) that `albert_edge.checkpoint` reads and
`python -m albert_edge.finetune --init-checkpoint` fine-tunes from.

What differs from the TensorFlow trainer, and why:

* **Dynamic masking.** Input is the packed pairs of `albert_edge.data.pretraining_pairs`; every
  time a row is drawn it gets a fresh whole-word mask (80/10/10) and a fresh coin for its sentence
  order. A GPU goes through a 45 MB corpus dozens of times; static masks would be memorised.
* **AdamW** (fused on CUDA), bf16 autocast, warm-up + linear decay, gradient clipping.
* **A time budget.** ``train_seconds`` without ``num_train_steps`` times the first steps and fixes
  the schedule's length from the measured rate, so a lease of N minutes is used to its end with
  the learning rate decayed to zero, whatever the card.

Resumable: ``training_state.pt`` (model, optimizer, step, schedule, RNG) is written atomically every
``save_every_seconds`` and on SIGTERM / SIGINT; the same command continues from it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import math
import pickle
import signal
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from albert_edge.checkpoint import CheckpointError, hf_config_dict, read_hf_folder
from albert_edge.config import AlbertConfig
from albert_edge.data.pretraining_pairs import CONTINUATION_BIT, load_pretraining_pairs
from albert_edge.fileio import atomic_dir, open_append, write_bytes_atomic
# Defined in the options module, which the CLI imports for its parser; the same objects here.
from albert_edge.train.options import TorchPretrainError, TorchPretrainOptions

# PyTorch and transformers are optional (the `torch` extra): the functions that need them import
# them, so this module loads without them and the CLI can say what to install.
logger = logging.getLogger(__name__)

STATE_FILE = "training_state.pt"
LOG_FILE = "log.jsonl"
# Random replacement tokens come from the real vocabulary: ids below this are [PAD], [unused*],
# [UNK], [CLS], [SEP], [MASK] and the <S>/<T> markers in albert_zh's vocab.txt.
FIRST_ORDINARY_ID = 106


# ------------------------------------------------------------------------------------------------
# Data
@dataclasses.dataclass
class PackedRows:
    """Rows of one or more pretraining-pairs files, on the training device."""

    tokens: Any        # int64 [N, L]  ids | CONTINUATION_BIT
    a_len: Any         # int64 [N]
    eval_tokens: Any   # int64 [M, L]
    eval_a_len: Any    # int64 [M]
    special: dict
    vocab_size: int


def load_rows(paths: Sequence[str], device: Any) -> PackedRows:
    """Concatenate pretraining-pairs files (all of one sequence length) onto ``device``."""
    import torch  # noqa: PLC0415

    if not paths:
        raise TorchPretrainError("no --train-files given")
    parts = []
    for path in paths:
        if not Path(path).is_file():
            raise TorchPretrainError(f"training file not found: {path} (make one with "
                                     "`python -m albert_edge.pretraining_pairs`)")
        parts.append(load_pretraining_pairs(path))
    lengths = {p["train_tokens"].shape[1] for p in parts}
    if len(lengths) != 1:
        raise TorchPretrainError(f"--train-files mix sequence lengths {sorted(lengths)}: pack "
                                 "them all with the same --max-seq-len")
    vocab_sizes = {p["meta"]["vocab_size"] for p in parts}
    if len(vocab_sizes) != 1:
        raise TorchPretrainError(f"--train-files were made with different vocabularies {vocab_sizes}")

    def cat(key: str) -> Any:
        return torch.from_numpy(np.concatenate([p[key] for p in parts]).astype(np.int64)).to(device)

    special = parts[0]["meta"]["special_ids"]
    missing = [t for t in ("[CLS]", "[SEP]", "[MASK]") if t not in special]
    vocab_size = vocab_sizes.pop()
    if missing or vocab_size <= FIRST_ORDINARY_ID:
        raise TorchPretrainError(f"{paths[0]} was packed with a vocabulary that is not BERT-Chinese's "
                                 f"(missing {missing}, {vocab_size} entries); use albert_zh's vocab.txt")
    rows = PackedRows(cat("train_tokens"), cat("train_a_len"), cat("eval_tokens"),
                      cat("eval_a_len"), special, vocab_size)
    if rows.tokens.shape[0] == 0:
        raise TorchPretrainError(f"{', '.join(paths)} hold no training rows")
    return rows


def dynamic_batch(rows: Any, a_len: Any, generator: Any, *, masked_lm_prob: float,
                  max_predictions: int, vocab_size: int, special: dict) -> dict:
    """Packed rows → one training batch with a fresh SOP order and whole-word mask.

    ``rows`` int64 [B, L] holds ``[CLS] A [SEP] B [SEP]`` in document order. Half the rows are
    turned into ``[CLS] B [SEP] A [SEP]`` (``sentence_order_label`` 1, as in ALBERT). Whole words
    (a token without the continuation bit and the tokens after it that carry it) are masked with
    probability ``masked_lm_prob`` each, at most ``max_predictions`` tokens per row (whole words, in
    random order); a masked token becomes [MASK] 80 % of the time, a random token 10 %, and stays 10 %.
    """
    import torch  # noqa: PLC0415

    device = rows.device
    B, L = rows.shape
    cls_id, sep_id, mask_id = special["[CLS]"], special["[SEP]"], special["[MASK]"]
    pos = torch.arange(L, device=device)[None, :]                       # [1, L]
    length = ((rows & (CONTINUATION_BIT - 1)) != 0).sum(1, keepdim=True)  # [B, 1] = a + b + 3
    a = a_len[:, None]                                                  # [B, 1]
    b = length - a - 3                                                  # [B, 1]

    # Sentence order: the source position of each output position in a swapped row.
    swap = torch.rand(B, generator=generator, device=device) < 0.5      # [B]
    src = torch.where(pos == 0, 0,
          torch.where(pos <= b, pos + a + 1,                            # B
          torch.where(pos == b + 1, a + 1,                              # its [SEP]
          torch.where(pos <= a + b + 1, pos - b - 1,                    # A
                      pos))))                                           # last [SEP], padding
    src = torch.where(swap[:, None], src, pos.expand(B, L))
    rows = torch.gather(rows, 1, src)                                   # [B, L]
    ids = rows & (CONTINUATION_BIT - 1)
    continues = (rows & CONTINUATION_BIT) != 0
    attention = pos < length                                            # [B, L]
    first_len = torch.where(swap[:, None], b, a) + 2                    # [CLS] first [SEP]
    token_type = (attention & (pos >= first_len)).long()

    # Whole-word mask: one coin per word, shared by its tokens.
    candidate = attention & (ids != cls_id) & (ids != sep_id)
    prev_candidate = torch.nn.functional.pad(candidate[:, :-1], (1, 0), value=False)
    word_start = candidate & (~continues | ~prev_candidate)
    word_id = (torch.cumsum(word_start.long(), 1) - 1).clamp(min=0)     # [B, L]
    coin = torch.gather(torch.rand(B, L, generator=generator, device=device), 1, word_id)
    chosen = candidate & (coin < masked_lm_prob)
    # The cap keeps whole words, taken in the random order of their coins (not left to right, which
    # would mask the start of long rows more often than the end).
    order = torch.argsort(torch.where(chosen, coin, 2.0), dim=1, stable=True)  # words grouped
    chosen_sorted = torch.gather(chosen, 1, order)
    running = torch.where(chosen_sorted, torch.cumsum(chosen_sorted.long(), 1), 0)
    word_total = torch.zeros_like(running).scatter_reduce(
        1, torch.gather(word_id, 1, order), running, reduce="amax")     # [B, L] per word id
    chosen &= torch.gather(word_total, 1, word_id) <= max_predictions

    # Targets: the chosen positions first, in order, padded to max_predictions.
    order = torch.sort((~chosen).to(torch.int8), dim=1, stable=True).indices
    positions = order[:, :max_predictions]                              # [B, P]
    weights = torch.gather(chosen, 1, positions).float()                # [B, P]
    labels = torch.gather(ids, 1, positions)                            # [B, P]

    fate = torch.rand(B, L, generator=generator, device=device)
    random_ids = torch.randint(FIRST_ORDINARY_ID, vocab_size, (B, L), generator=generator,
                               device=device)
    inputs = torch.where(chosen & (fate < 0.8), mask_id,
             torch.where(chosen & (fate < 0.9), random_ids, ids))
    return {"input_ids": inputs, "attention_mask": attention.long(), "token_type_ids": token_type,
            "masked_lm_positions": positions, "masked_lm_ids": labels,
            "masked_lm_weights": weights, "sentence_order_label": swap.long()}


# ------------------------------------------------------------------------------------------------
# Model and losses
def build_model(config: AlbertConfig) -> Any:
    """``transformers.AlbertForPreTraining`` with ``config``'s shapes (Google structure)."""
    import transformers  # noqa: PLC0415

    if config.layout != "google":
        raise TorchPretrainError(
            "transformers' ALBERT has the Google structure (embeddings projected after their "
            "LayerNorm); brightmart-style configs cannot be trained here: use "
            "albert_edge/resources/configs/albert_config_tiny_google.json")
    hf = transformers.AlbertConfig(**{k: v for k, v in hf_config_dict(config).items()
                                      if k not in ("model_type", "architectures")})
    return transformers.AlbertForPreTraining(hf)


def pretraining_losses(model: Any, batch: dict) -> dict:
    """MLM loss over the chosen positions only (the 21k-way softmax is the costly part) + SOP."""
    import torch  # noqa: PLC0415
    import torch.nn.functional as F  # noqa: PLC0415

    out = model.albert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       token_type_ids=batch["token_type_ids"])
    sequence = out.last_hidden_state                                    # [B, L, H]
    positions = batch["masked_lm_positions"]                            # [B, P]
    picked = torch.gather(sequence, 1, positions[..., None].expand(-1, -1, sequence.shape[-1]))
    logits = model.predictions(picked).float()                          # [B, P, V]
    weights = batch["masked_lm_weights"]
    per_token = F.cross_entropy(logits.flatten(0, 1), batch["masked_lm_ids"].flatten(),
                                reduction="none").view_as(weights)
    denominator = weights.sum().clamp(min=1.0)
    mlm_loss = (per_token * weights).sum() / denominator
    sop_logits = model.sop_classifier(out.pooler_output).float()       # [B, 2]
    sop_loss = F.cross_entropy(sop_logits, batch["sentence_order_label"])
    with torch.no_grad():
        mlm_correct = ((logits.argmax(-1) == batch["masked_lm_ids"]).float() * weights).sum()
        sop_correct = (sop_logits.argmax(-1) == batch["sentence_order_label"]).float().mean()
    return {"loss": mlm_loss + sop_loss, "mlm_loss": mlm_loss, "sop_loss": sop_loss,
            "mlm_accuracy": mlm_correct / denominator, "sop_accuracy": sop_correct}


def learning_rate(step: int, peak: float, warmup: int, total: Optional[int]) -> float:
    """Linear warm-up to ``peak``, then linear decay to 0 at ``total`` (unknown yet: hold)."""
    if warmup and step < warmup:
        return peak * (step + 1) / warmup
    if total is None:
        return peak
    return peak * max(0.0, (total - step) / max(1, total - warmup))


def _optimizer(model: Any, options: TorchPretrainOptions, fused: bool) -> Any:
    import torch  # noqa: PLC0415

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": options.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=options.learning_rate, betas=(0.9, 0.999), eps=1e-6,
                             fused=fused)


def load_init_checkpoint(model: Any, folder: str | Path) -> None:
    """Start from a Hugging Face ALBERT folder's weights (this trainer's output, or converted)."""
    import torch  # noqa: PLC0415

    if not (Path(folder) / "model.safetensors").is_file():
        raise TorchPretrainError(f"--init-checkpoint {folder}: no model.safetensors there (a "
                                 "folder written by this trainer or by `albert_edge.checkpoint.save_hf`)")
    try:
        _, arrays = read_hf_folder(folder)
    except CheckpointError as err:
        raise TorchPretrainError(f"--init-checkpoint: {err}") from None
    state = {k: torch.from_numpy(v) for k, v in arrays.items()}
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise TorchPretrainError(f"--init-checkpoint {folder} does not fit --config: "
                                 f"{str(err).splitlines()[0]} …") from None
    missing = [k for k in result.missing_keys if k != "predictions.decoder.weight"]
    if any(k.startswith("albert.") for k in missing):
        raise TorchPretrainError(f"--init-checkpoint {folder} lacks encoder weights: {missing[:5]}")
    model.tie_weights()
    logger.info("initialised from %s%s", folder,
                f" (freshly initialised: {missing})" if missing else "")


# ------------------------------------------------------------------------------------------------
# Output
def save_hf_folder(model: Any, config: AlbertConfig, folder: str | Path) -> None:
    """config.json + model.safetensors (tied decoder weight left out), moved into place atomically."""
    from safetensors.torch import save_file  # noqa: PLC0415

    state = {k: v.detach().float().cpu().clone().contiguous()
             for k, v in model.state_dict().items() if k != "predictions.decoder.weight"}
    hf = hf_config_dict(config)
    hf["architectures"] = ["AlbertForPreTraining"]

    def write(tmp: Path) -> None:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(hf, indent=2) + "\n", encoding="utf-8")
        for item in tmp.iterdir():
            item.chmod(0o644)

    atomic_dir(Path(folder), write, merge=True)


def load_state(path: Path, device: Any = "cpu") -> dict:
    """Read training_state.pt with `weights_only=True`: tensors and plain types only.

    Why: a full unpickle of a state file from a folder someone handed you runs whatever code it
    holds. `save_state` writes only tensors, numbers, strings, lists and dicts, so the restricted
    loader reads every state this module writes; anything else is refused, never executed.
    """
    import torch  # noqa: PLC0415

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        raise TorchPretrainError(
            f"{path} is not a training state this program wrote (it holds more than tensors and plain "
            f"values, or is damaged: {str(err).splitlines()[0] if str(err) else type(err).__name__}); "
            "it was not loaded. Delete it to start afresh, or use a new --output-dir") from None
    if not isinstance(state, dict) or not {"model", "optimizer", "step"} <= set(state):
        raise TorchPretrainError(f"{path}: not a training state (missing model / optimizer / step); "
                                 "delete it or use a new --output-dir")
    return state


def save_state(path: Path, model: Any, optimizer: Any, generator: Any, step: int,
                total: Optional[int], warmup: int, elapsed: float) -> None:
    import torch  # noqa: PLC0415

    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "step": step, "total_steps": total,
                "warmup_steps": warmup, "elapsed_seconds": elapsed}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def evaluate(model: Any, rows: PackedRows, options: TorchPretrainOptions, device: Any,
             autocast: Any) -> dict:
    """Held-out MLM / SOP accuracy with a fixed mask (the same every evaluation)."""
    import torch  # noqa: PLC0415

    n = min(options.eval_rows, rows.eval_tokens.shape[0])
    if n == 0:
        return {}
    generator = torch.Generator(device=device)
    generator.manual_seed(options.seed + 1)
    totals = {"mlm_loss": 0.0, "sop_loss": 0.0, "mlm_accuracy": 0.0, "sop_accuracy": 0.0}
    batches = 0
    model.eval()
    with torch.no_grad(), autocast():
        for start in range(0, n, options.batch_size):
            stop = min(n, start + options.batch_size)
            batch = dynamic_batch(rows.eval_tokens[start:stop], rows.eval_a_len[start:stop],
                                  generator, masked_lm_prob=options.masked_lm_prob,
                                  max_predictions=options.max_predictions_per_seq,
                                  vocab_size=rows.vocab_size, special=rows.special)
            result = pretraining_losses(model, batch)
            for key in totals:
                totals[key] += float(result[key].detach())
            batches += 1
    model.train()
    return {f"eval_{k}": round(v / batches, 4) for k, v in totals.items()}


# ------------------------------------------------------------------------------------------------
def resolve_device(name: str) -> Any:
    """``'auto'`` → CUDA when PyTorch sees one, else CPU; any other name must exist here."""
    import torch  # noqa: PLC0415

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TorchPretrainError(f"--device {name!r} is not a device name "
                                 "('auto', 'cpu', 'cuda', 'cuda:1', …)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TorchPretrainError(f"--device {name}: PyTorch sees no CUDA device here "
                                 "(use --device cpu, or a CUDA build of PyTorch)")
    return device


def train(options: TorchPretrainOptions, clock: Callable[[], float] = time.monotonic) -> dict:
    """Pretrain (or resume) into ``options.output_dir``; returns the final log record.

    ``clock`` is the time source of the time budget, the periodic saves and the throughput log:
    a test hands in a clock that advances by a fixed amount per reading, so the schedule a time
    budget fixes is the same on any machine, idle or loaded.
    """
    import torch  # noqa: PLC0415

    options.validate()
    config = AlbertConfig.from_json_file(options.config)
    out = Path(options.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(options.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    rows = load_rows(options.train_files, device)
    if rows.vocab_size != config.vocab_size:
        raise TorchPretrainError(f"the pairs were made with a {rows.vocab_size}-entry vocabulary "
                                 f"but {options.config} has vocab_size {config.vocab_size}")
    if rows.tokens.shape[1] > config.max_position_embeddings:
        raise TorchPretrainError(f"rows of {rows.tokens.shape[1]} tokens exceed "
                                 f"max_position_embeddings {config.max_position_embeddings}")

    torch.manual_seed(options.seed)
    model = build_model(config).to(device)
    optimizer = _optimizer(model, options, fused=cuda)
    generator = torch.Generator(device=device)
    generator.manual_seed(options.seed)
    step, total, warmup, elapsed_before = 0, options.num_train_steps, options.num_warmup_steps, 0.0
    state_path = out / STATE_FILE
    if state_path.is_file():
        state = load_state(state_path, device)
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError) as err:
            raise TorchPretrainError(
                f"{state_path} was written by a run with another --config "
                f"({str(err).splitlines()[0]}): use a new --output-dir, or the old config") from None
        generator.set_state(state["generator"].cpu())      # set_state takes a CPU ByteTensor
        torch.set_rng_state(state["torch_rng"].cpu())      # dropout in the SOP head
        if cuda and state.get("cuda_rng"):
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        step, warmup = state["step"], state["warmup_steps"]
        if state["total_steps"] is not None:   # the schedule a run fixed stays fixed
            if total is not None and total != state["total_steps"]:
                logger.warning("resuming with the stored schedule of %d steps, not "
                               "--num-train-steps %d", state["total_steps"], total)
            total = state["total_steps"]
        elapsed_before = state["elapsed_seconds"]
        logger.info("resumed from %s at step %d", state_path, step)
    elif options.init_checkpoint:
        load_init_checkpoint(model, options.init_checkpoint)
    if total is not None and warmup >= total:
        warmup = max(1, total // 10)
        logger.warning("--num-warmup-steps is not shorter than the schedule: warm-up %d steps", warmup)
    bf16 = options.bf16 and cuda and torch.cuda.is_bf16_supported()
    if options.bf16 and cuda and not bf16:
        logger.warning("this GPU has no bf16: training in fp32")
    autocast = ((lambda: torch.autocast("cuda", dtype=torch.bfloat16))
                if bf16 else contextlib.nullcontext)
    resume_step = step

    log = open_append(out / LOG_FILE)   # a symlink in its place is replaced, never followed
    stop_signal: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: stop_signal.append(signum))
                for s in (signal.SIGTERM, signal.SIGINT)}
    logger.info("pretraining %d parameters on %s: %d train / %d eval rows of %d tokens",
                sum(p.numel() for p in model.parameters()), device, rows.tokens.shape[0],
                rows.eval_tokens.shape[0], rows.tokens.shape[1])
    start = clock()
    last_save = start
    window_start, window_steps = start, 0
    calibration_start: Optional[float] = None
    calibration_from = 0
    loss = None                                   # the last step's loss, checked before any save

    def save() -> None:
        """training_state.pt + the Hugging Face folder; never a diverged model."""
        if loss is not None and not torch.isfinite(loss):
            raise TorchPretrainError(f"loss became non-finite by step {step}: lower "
                                     "--learning-rate (the last saved state is kept)")
        save_state(state_path, model, optimizer, generator, step, total, warmup,
                    elapsed_before + clock() - start)
        save_hf_folder(model, config, out)

    model.train()
    try:
        while total is None or step < total:
            now = clock()
            elapsed = elapsed_before + now - start
            if stop_signal or (options.train_seconds is not None and elapsed >= options.train_seconds):
                break
            if options.stop_after_steps is not None and step - resume_step >= options.stop_after_steps:
                break
            lr = learning_rate(step, options.learning_rate, warmup, total)
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = torch.randint(rows.tokens.shape[0], (options.batch_size,), generator=generator,
                                  device=device)
            batch = dynamic_batch(rows.tokens[index], rows.a_len[index], generator,
                                  masked_lm_prob=options.masked_lm_prob,
                                  max_predictions=options.max_predictions_per_seq,
                                  vocab_size=rows.vocab_size, special=rows.special)
            with autocast():
                result = pretraining_losses(model, batch)
            optimizer.zero_grad(set_to_none=True)
            result["loss"].backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), options.max_grad_norm)
            optimizer.step()
            step += 1
            window_steps += 1
            loss = result["loss"].detach()

            if total is None and calibration_start is None and step >= resume_step + 10:
                if cuda:                                       # kernels are warm now
                    torch.cuda.synchronize(device)
                calibration_start, calibration_from = clock(), step
            elif (total is None and calibration_start is not None
                  and step - calibration_from >= options.calibration_steps):
                if cuda:
                    torch.cuda.synchronize(device)
                rate = options.calibration_steps / (clock() - calibration_start)
                left = options.train_seconds - (elapsed_before + clock() - start)
                total = step + max(1, int(left * rate * 0.97))   # 3 %: evaluations and saves
                if warmup >= total:
                    warmup = max(1, total // 10)
                logger.info("measured %.1f steps/s: schedule fixed at %d steps (warm-up %d)",
                            rate, total, warmup)
            if step % options.log_every == 0 or step == total:
                now = clock()
                record = {"step": step, "total_steps": total, "lr": lr,
                          "loss": round(float(result["loss"].detach()), 4),
                          "mlm_loss": round(float(result["mlm_loss"].detach()), 4),
                          "mlm_accuracy": round(float(result["mlm_accuracy"].detach()), 4),
                          "sop_accuracy": round(float(result["sop_accuracy"].detach()), 4),
                          "grad_norm": round(float(grad_norm), 3),
                          "seq_per_s": round(window_steps * options.batch_size / (now - window_start), 1),
                          "elapsed_s": round(elapsed_before + now - start, 1)}
                if not math.isfinite(record["loss"]):
                    raise TorchPretrainError(f"loss became {record['loss']} at step {step}: lower "
                                             "--learning-rate or raise --num-warmup-steps")
                if step % options.eval_every == 0 or step == total:
                    record.update(evaluate(model, rows, options, device, autocast))
                logger.info("%s", json.dumps(record))
                log.write(json.dumps(record) + "\n")
                log.flush()
                window_start, window_steps = clock(), 0
            if clock() - last_save >= options.save_every_seconds:
                save()
                last_save = clock()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        log.close()
    save()
    elapsed = elapsed_before + clock() - start
    if stop_signal:
        stopped_by = signal.Signals(stop_signal[0]).name
    elif total is not None and step >= total:
        stopped_by = "schedule"
    elif options.stop_after_steps is not None and step - resume_step >= options.stop_after_steps:
        stopped_by = "stop_after_steps"
    else:
        stopped_by = "time"
    final = {"step": step, "total_steps": total, "elapsed_s": round(elapsed, 1),
             "completed": total is not None and step >= total, "stopped_by": stopped_by,
             **evaluate(model, rows, options, device, autocast)}
    info = {"final": final, "options": dataclasses.asdict(options)}
    write_bytes_atomic(out / "train_info.json", (json.dumps(info, indent=2, default=str) + "\n").encode())
    logger.info("final: %s", json.dumps(final))
    return final
