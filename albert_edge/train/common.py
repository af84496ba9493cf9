"""Pieces both training jobs share: threads, devices, strategies, resumable state, logs.

Kept apart from the jobs so that `pretrain.py` and `finetune.py` read as the training recipe only.
TensorFlow is imported by the functions that use it, not at the top: `resolve_config` is also
called by `finetune_data`, which reads and checks the training data before TensorFlow loads.
"""
from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from albert_edge.config import PRESETS, AlbertConfig, ConfigError
from albert_edge.fileio import OutputOverlapError, check_outputs_apart, open_append
from albert_edge.model_dir import ModelDir, ModelDirError
from albert_edge.train.options import PRECISIONS, STRATEGIES, TrainingError

logger = logging.getLogger(__name__)


def load_config(config: Any):
    """A preset name (``tiny``), a json path, or an AlbertConfig."""
    if isinstance(config, AlbertConfig):
        return config
    try:
        if str(config) in PRESETS:
            return AlbertConfig.preset(str(config))
        return AlbertConfig.from_json_file(config)
    except ConfigError as err:
        raise TrainingError(str(err)) from None


def resolve_config(config: Any, init_checkpoint: str | None):
    """``config`` if given; else the config json beside ``init_checkpoint``; else the tiny preset.

    Why: a checkpoint's own config is the only one its variables fit, so starting from one should
    not need it spelled out again (a fine-tuned or embedding-initialised model carries its own).
    """
    if config:
        return load_config(config)
    if init_checkpoint:
        try:
            found = ModelDir.load(init_checkpoint, fallback_preset="tiny").config
        except ModelDirError as err:
            raise TrainingError(f"--init-checkpoint: {err}") from None
        logger.info("config from beside %s", init_checkpoint)
        return found
    return load_config("tiny")


def accumulate(window: dict, sums: dict) -> None:
    """Add one step's summed metrics (tensors or numbers) into the running log window."""
    for k, v in sums.items():
        window[k] = window.get(k, 0.0) + float(v)


def configure_runtime(intra_op_threads: int | None = None, inter_op_threads: int | None = None,
                      cpu_devices: int | None = None) -> None:
    """Threads and logical CPU devices; must run before TensorFlow executes anything.

    ``cpu_devices=2`` splits the host CPU into two logical devices, which is how the mirrored
    (multi-replica) path is exercised on a machine without accelerators.
    """
    import tensorflow as tf  # noqa: PLC0415

    try:
        if intra_op_threads:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
        if inter_op_threads:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)
        if cpu_devices and cpu_devices > 1:
            cpus = tf.config.list_physical_devices("CPU")
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_devices)])
    except RuntimeError as err:  # already initialised (e.g. a second job in one process)
        logger.warning("runtime already initialised, keeping its settings: %s", err)


@contextlib.contextmanager
def precision_policy(precision: str):
    """Layers built inside the block compute in ``precision``; the global policy is restored after.

    Keras layers take their dtype policy when they are constructed, so the policy only has to hold
    while the model is built — and restoring it keeps later models in the same process (an export
    or an evaluation after training) in float32.
    """
    import tf_keras as keras  # noqa: PLC0415

    if precision not in PRECISIONS:
        raise TrainingError(f"unknown precision {precision!r}; choose one of {tuple(PRECISIONS)}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(PRECISIONS[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def make_strategy(name: str = "default", devices: Sequence[str] | None = None,
                  tpu: str | None = None):
    """tf.distribute strategy by name (albert_zh ran on TPUs; we also run on CPUs and GPUs).

    * ``default``: no distribution (one CPU or GPU);
    * ``one_device``: pinned to ``devices[0]``;
    * ``mirrored``: synchronous data parallelism over ``devices`` (default: all GPUs, or all
      logical CPUs when there are no GPUs);
    * ``multi_worker``: MultiWorkerMirroredStrategy, cluster from ``TF_CONFIG``;
    * ``tpu``: TPUStrategy on ``tpu`` (name or grpc address).
    """
    import tensorflow as tf  # noqa: PLC0415

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy((devices or ["/cpu:0"])[0])
    if name == "mirrored":
        if not devices:
            gpus = tf.config.list_logical_devices("GPU")
            devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        # On CPUs NCCL does not exist; the reduction is a plain sum on the host.
        return tf.distribute.MirroredStrategy(
            devices=list(devices), cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise TrainingError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")


def sum_over_replicas(strategy, per_replica: dict) -> dict:
    """{name: per-replica value} → {name: sum over replicas} (call inside a ``tf.function``)."""
    import tensorflow as tf  # noqa: PLC0415

    return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}


def expand_files(patterns: Sequence[str] | str, what: str) -> list[str]:
    """Glob patterns (comma-separated or a list) → sorted files; an empty match is an error."""
    if isinstance(patterns, str):
        patterns = [patterns]
    files: list[str] = []
    for pattern in patterns:
        for part in str(pattern).split(","):
            part = part.strip()
            if part:
                files.extend(sorted(glob.glob(part)) or ([part] if os.path.isfile(part) else []))
    if not files:
        raise TrainingError(f"no {what} files match {list(patterns)}")
    return files


def check_output_dir(output_dir: str | os.PathLike, inputs: dict, init_checkpoint: str | None,
                     replaces_folder: bool = False) -> None:
    """TrainingError before anything is written when `--output-dir` would overwrite an input: a file
    of `inputs` (flag -> paths), the `--init-checkpoint`'s folder, or a bundled model folder."""
    config = inputs.get("--config")
    if config is not None and str(config) in PRESETS:
        inputs = {k: v for k, v in inputs.items() if k != "--config"}
    try:
        check_outputs_apart({"--output-dir": output_dir}, inputs, {"--init-checkpoint": init_checkpoint},
                            replaces_folder=replaces_folder)
    except OutputOverlapError as err:
        raise TrainingError(str(err)) from None


def check_finite_loss(step: int, values: dict, hint: str = "lower --learning-rate") -> None:
    """Stop a run whose loss (or gradient norm) stopped being a number, before it saves anything.

    Why: a NaN step poisons every weight; the checkpoint saved after it loads and predicts `nan`
    with exit 0. The last checkpoint saved before it stays as it was (a rerun resumes from it).
    """
    import math  # noqa: PLC0415

    bad = {k: v for k, v in values.items() if not math.isfinite(float(v))}
    if bad:
        raise TrainingError(f"step {step}: {', '.join(f'{k} = {v}' for k, v in bad.items())} is not finite; "
                            f"training stopped and this step was not saved (earlier checkpoints are kept): "
                            f"{hint}")


def record_error(err: Exception, files: Sequence[str], max_seq_len: int, max_predictions: int) -> TrainingError | None:
    """A TrainingError for TensorFlow's errors on unusable TFRecords (random bytes, truncated, or
    written for other lengths), None for any other error."""
    import tensorflow as tf  # noqa: PLC0415

    names = ", ".join(str(f) for f in files[:3]) + (" …" if len(files) > 3 else "")
    if isinstance(err, tf.errors.DataLossError):
        return TrainingError(f"--train-files / --eval-files ({names}): not a TFRecord file, or truncated "
                             f"({str(err.message).splitlines()[0]}); rebuild it with python -m "
                             f"albert_edge.pretraining_data")
    if isinstance(err, tf.errors.InvalidArgumentError) and any(
            w in str(err.message) for w in ("Key:", "Feature", "Example", "parse")):
        return TrainingError(f"--train-files / --eval-files ({names}): records do not match --max-seq-len "
                             f"{max_seq_len} / --max-predictions-per-seq {max_predictions} "
                             f"({str(err.message).splitlines()[0][:200]}); give the lengths the data was "
                             f"written with (its stats.json)")
    return None


class JsonlLog:
    """Append-only metrics log (``train_log.jsonl``); one json object per line, flushed."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record: Any) -> None:
        record.setdefault("time", round(time.time(), 3))
        with open_append(self.path) as fh:   # a symlink in its place is replaced, never followed
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def prune_tf1_checkpoints(folder: str | os.PathLike, stem: str, keep: int) -> None:
    """Keep the newest ``keep`` ``<stem>-<step>`` TF1 checkpoints in ``folder``."""
    folder = Path(folder)
    steps = sorted({int(p.name[len(stem) + 1:].split(".")[0])
                    for p in folder.glob(f"{stem}-*.index")
                    if p.name[len(stem) + 1:].split(".")[0].isdigit()})
    for step in steps[:-keep] if keep > 0 else []:
        for p in folder.glob(f"{stem}-{step}.*"):
            p.unlink(missing_ok=True)


def current_lr(optimizer) -> float:
    """The optimizer's learning rate now, whatever wraps it (schedule, mirrored variable)."""
    lr = optimizer.learning_rate
    return float(lr.numpy() if hasattr(lr, "numpy") else lr)


class StepTimer:
    """Throughput over a window of steps (examples/s), for logs."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.examples = 0

    def add(self, n: int) -> None:
        self.examples += n

    def rate(self, reset: bool = True) -> float:
        now = time.perf_counter()
        r = self.examples / max(now - self.t0, 1e-9)
        if reset:
            self.t0, self.examples = now, 0
        return r


def run_window(start: int, total: int, stop_after: int | None, desc: str, progress: bool):
    """(last step of this run, tqdm bar): the whole schedule, or `stop_after` steps from `start`
    (resumable slices), with a progress bar that starts where the previous run stopped."""
    last = total if stop_after is None else min(total, start + stop_after)
    bar = tqdm(total=total, initial=start, desc=desc, unit="step", disable=not progress, mininterval=5.0)
    return last, bar
