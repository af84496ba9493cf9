"""The options of every training job, importable without TensorFlow or PyTorch.

Why a module of its own: each training CLI (`python -m albert_edge.finetune`, `.pretrain`,
`.embedding_init`, `.pretrain_torch`) builds its parser from an options dataclass's defaults, and
`--help` or a mistyped flag must answer at once, without loading TensorFlow (seconds, and its own
start-up lines) — `tests/test_cli_help.py` checks it. With the options here, the modules that run the
jobs (`train/finetune.py`, `train/pretrain.py`, …) import TensorFlow at the top like any other
module, and each of them re-exports its own options class, so
`from albert_edge.train.finetune import FinetuneOptions` keeps working.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from albert_edge import tasks
from albert_edge.cli import positive_float, positive_int, thread_count

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")
# Keras mixed-precision policies by flag value. Variables stay float32 either way; bf16 needs no
# loss scaling (same exponent range as float32) and runs matmuls on AVX-512 BF16 / AMX units.
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}
OPTIMIZERS = ("adamw", "lamb")    # train.optimization builds them by these names
TASKS = tasks.names(trainable=True)
SHARD_MIXES = ("size", "even")   # how train.pretrain.make_dataset weighs training shards: shard_weights


class TrainingError(ValueError):
    """A user mistake (missing files, bad flag combination); printed without a traceback."""


class TorchPretrainError(ValueError):
    """A user mistake (bad data, config or option): reported without a traceback."""


# --------------------------------------------------------------------------- shared by the TF jobs
@dataclasses.dataclass(kw_only=True)
class RunOptions:
    """Options every training job shares (one flag each in `add_run_arguments`)."""
    seed: int = 12345
    strategy: str = "default"
    devices: Sequence[str] | None = None
    tpu: str | None = None
    cpu_devices: int | None = None
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    stop_after_steps: int | None = None   # stop early (tests, time-boxed sessions); resumable
    max_wall_seconds: float | None = None
    precision: str = "fp32"
    progress: bool = True


def add_run_arguments(p, defaults) -> None:
    """The flags every training CLI shares: seed, tf.distribute strategy, threads, stopping, progress."""
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--strategy", choices=STRATEGIES, default=defaults.strategy)
    p.add_argument("--devices", nargs="+", default=None, help="devices for mirrored / one_device")
    p.add_argument("--tpu", default=None, help="TPU name or grpc:// address for --strategy tpu")
    p.add_argument("--cpu-devices", type=thread_count, default=None,
                   help="split the CPU into N logical devices (test the mirrored path on a CPU)")
    p.add_argument("--intra-op-threads", type=thread_count, default=None)
    p.add_argument("--inter-op-threads", type=thread_count, default=None)
    p.add_argument("--stop-after-steps", type=positive_int, default=None,
                   help="train this many steps in this run, then save and exit (resumable)")
    p.add_argument("--max-wall-seconds", type=positive_float, default=None,
                   help="save (and write the model folder) and exit after this much wall time (resumable)")
    p.add_argument("--precision", choices=tuple(PRECISIONS), default=defaults.precision,
                   help="bf16: bfloat16 activations with float32 weights (mixed precision); measure "
                        "first: it pays where the CPU has AVX-512 BF16 or AMX, and on GPUs")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's own log lines")


# --------------------------------------------------------------------------- fine-tuning
@dataclasses.dataclass
class FinetuneOptions(RunOptions):
    """Every fine-tuning setting; each is a ``python -m albert_edge.finetune`` flag."""

    task: str = "pairs"
    train_files: Sequence[str] = ()
    eval_file: str | None = None
    output_dir: str = ""
    config: str | None = None            # preset / json; default: init checkpoint's, else tiny
    init_checkpoint: str | None = None
    vocab_file: str | None = None
    do_lower_case: bool = True
    labels: Sequence[str] | str | None = None   # list, or a labels.txt path; default: inferred
    max_seq_len: int = 128
    batch_size: int = 64
    epochs: float = 5.0
    learning_rate: float = 1e-4
    warmup_proportion: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    dropout: float = 0.1
    max_train_examples: int | None = None
    swap_pairs: bool = False             # pairs task: also train on (b, a) — the relation is symmetric
    transitive_pairs: bool = False       # pairs task: also train on pairs implied by a≡b≡c / a≡b≢c
    edited_pairs: int = 0                # pairs task: add up to N one-edit rewrites per edit kind
    ema_decay: float = 0.0               # > 0: evaluate, keep and ship a moving average of the weights
    eval_every_steps: int | None = None
    eval_batch_size: int = 128
    save_every: int = 200
    log_every: int = 20


# --------------------------------------------------------------------------- pretraining (TensorFlow)
@dataclasses.dataclass
class PretrainOptions(RunOptions):
    """Every pretraining setting; each is a ``python -m albert_edge.pretrain`` flag."""

    train_files: Sequence[str] | str = ()
    output_dir: str = ""
    config: str | None = None            # preset / json; default: the init checkpoint's, else tiny
    eval_files: Sequence[str] | str | None = None
    init_checkpoint: str | None = None
    max_seq_len: int = 128
    max_predictions_per_seq: int = 20
    batch_size: int = 64                 # global batch (split over replicas)
    num_train_steps: int = 1000
    num_warmup_steps: int = 100
    learning_rate: float = 1e-3
    optimizer: str = "lamb"
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    save_every: int = 200
    keep_checkpoints: int = 3
    eval_every: int = 200
    eval_batches: int = 20
    log_every: int = 20
    shuffle_buffer: int = 10000
    shard_mix: str = "size"              # each shard's share of the mix: "size" (bytes) or "even"
    xla: bool = False                    # jit-compile the per-replica step (XLA)
    unigram_output_bias: bool = True     # fresh runs: MLM output bias starts at log P(target)
    unigram_records: int = 20000         # how many training records to count for it


# --------------------------------------------------------------------------- embedding initialisation
@dataclasses.dataclass
class EmbeddingInitOptions:
    """Every setting; each is a ``python -m albert_edge.embedding_init`` flag."""

    corpus: Sequence[str] = ()
    output_dir: str = ""
    config: str = "tiny"
    vocab_file: str | None = None
    do_lower_case: bool = True
    window: int = 5              # context: ±window tokens on the same line
    min_count: int = 5           # rarer tokens keep their random initialisation
    alpha: float = 0.75          # context-distribution smoothing (word2vec's negative-sampling power)
    max_tokens: int = 50_000_000 # corpus prefix used (memory: ~10 bytes per token)
    max_kept: int = 12_000       # most frequent tokens factorised (memory: ~24·max_kept² bytes)
    power_iterations: int = 6
    seed: int = 12345
    progress: bool = True


# --------------------------------------------------------------------------- pretraining (PyTorch)
@dataclasses.dataclass
class TorchPretrainOptions:
    """Every knob of a `python -m albert_edge.pretrain_torch` run (one CLI flag each)."""

    train_files: Sequence[str]
    output_dir: str
    config: str
    batch_size: int = 512
    learning_rate: float = 1e-3
    num_train_steps: Optional[int] = None   # None: fixed from train_seconds and the measured rate
    train_seconds: Optional[float] = None
    num_warmup_steps: int = 1000
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    seed: int = 2026
    log_every: int = 100
    eval_every: int = 1000
    eval_rows: int = 4096
    save_every_seconds: float = 120.0
    calibration_steps: int = 50
    device: str = "auto"
    bf16: bool = True
    init_checkpoint: Optional[str] = None   # a Hugging Face ALBERT folder to continue from
    stop_after_steps: Optional[int] = None  # stop (and save) after this many steps in this process

    def validate(self) -> None:
        if self.num_train_steps is None and self.train_seconds is None:
            raise TorchPretrainError("give --num-train-steps, --train-seconds, or both")
        for name in ("batch_size", "max_predictions_per_seq", "log_every", "eval_every"):
            if getattr(self, name) < 1:
                raise TorchPretrainError(f"--{name.replace('_', '-')} must be >= 1")
        if self.num_train_steps is not None and self.num_train_steps < 1:
            raise TorchPretrainError("--num-train-steps must be >= 1")
        if self.train_seconds is not None and self.train_seconds <= 0:
            raise TorchPretrainError("--train-seconds must be > 0")
        if not 0.0 < self.masked_lm_prob < 1.0:
            raise TorchPretrainError("--masked-lm-prob must be in (0, 1)")
        if self.learning_rate <= 0 or self.num_warmup_steps < 0:
            raise TorchPretrainError("--learning-rate must be > 0 and --num-warmup-steps >= 0")
        if self.calibration_steps < 1 or self.eval_rows < 0:
            raise TorchPretrainError("--calibration-steps must be >= 1 and --eval-rows >= 0")
        if self.save_every_seconds <= 0 or self.max_grad_norm <= 0 or self.weight_decay < 0:
            raise TorchPretrainError("--save-every-seconds and --max-grad-norm must be > 0, "
                                     "--weight-decay >= 0")
        if self.stop_after_steps is not None and self.stop_after_steps < 1:
            raise TorchPretrainError("--stop-after-steps must be >= 1")
