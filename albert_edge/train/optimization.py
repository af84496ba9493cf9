"""Optimizers and learning-rate schedule, as albert_zh's ``optimization.py`` / ``lamb_optimizer.py``.

* :class:`WarmupLinearDecay` — linear warm-up from 0 to the peak rate, then polynomial (power 1 =
  linear) decay to ``end_lr`` at ``num_train_steps``; albert_zh's ``create_optimizer`` schedule.
* :class:`AdamWeightDecay` — BERT's "AdamW": Adam *without* bias correction and with decoupled
  weight decay (``w -= lr * (m / (sqrt(v) + eps) + wd * w)``). albert_zh fine-tunes with it.
* :class:`Lamb` — layer-wise adaptive moments (You et al. 2019), albert_zh's choice for large-batch
  pretraining: the Adam update of each variable is rescaled by ``||w|| / ||update||``.

Weight decay (and LAMB's trust ratio) skips LayerNorm parameters and biases, exactly as albert_zh's
``exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]``; we also match Keras' ``gamma`` /
``beta`` names because our LayerNorm variables are named like Keras', not like TF1 scopes.

Both are ``tf_keras`` optimizers, so their slots live in ``tf.train.Checkpoint`` (resumable jobs)
and they run under any ``tf.distribute`` strategy. Gradient clipping is done by the caller *after*
the cross-replica all-reduce (:func:`clip_gradients`) so that it clips the global gradient, as on
one device.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

import tensorflow as tf
import tf_keras as keras

from albert_edge.train.options import OPTIMIZERS

DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "gamma", "beta", "bias")


class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = peak * step / warmup while step < warmup, else linear decay to ``end_lr``."""

    def __init__(self, peak_lr: float, num_train_steps: int, num_warmup_steps: int = 0,
                 end_lr: float = 0.0, power: float = 1.0, name: str = "WarmupLinearDecay"):
        super().__init__()
        if num_train_steps < 1:
            raise ValueError(f"num_train_steps must be >= 1, got {num_train_steps}")
        self.peak_lr = float(peak_lr)
        self.num_train_steps = int(num_train_steps)
        self.num_warmup_steps = int(num_warmup_steps)
        self.end_lr = float(end_lr)
        self.power = float(power)
        self.name = name

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        total = float(self.num_train_steps)
        decay = (self.peak_lr - self.end_lr) * tf.pow(
            1.0 - tf.minimum(step, total) / total, self.power) + self.end_lr
        if self.num_warmup_steps <= 0:
            return decay
        warm = self.peak_lr * step / float(self.num_warmup_steps)
        return tf.where(step < float(self.num_warmup_steps), warm, decay)

    def get_config(self) -> dict:
        return dict(peak_lr=self.peak_lr, num_train_steps=self.num_train_steps,
                    num_warmup_steps=self.num_warmup_steps, end_lr=self.end_lr,
                    power=self.power, name=self.name)


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(re.search(p, name) for p in patterns)


class _DecayingOptimizer(keras.optimizers.Optimizer):
    """Shared slots (m, v) and weight-decay selection for the two optimizers below."""

    def __init__(self, learning_rate, weight_decay_rate: float = 0.01, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-6,
                 exclude_from_weight_decay: Sequence[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
                 name: str = "optimizer", **kwargs):
        super().__init__(name=name, jit_compile=False, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.weight_decay_rate = float(weight_decay_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.exclude_from_weight_decay = tuple(exclude_from_weight_decay)

    def build(self, var_list):
        super().build(var_list)
        if getattr(self, "_built", False):
            return
        self._built = True
        self._m = [self.add_variable_from_reference(v, "m") for v in var_list]
        self._v = [self.add_variable_from_reference(v, "v") for v in var_list]
        # Decided once per variable, by name, when the slots are created.
        self._decays = {self._var_key(v): not _matches(v.name, self.exclude_from_weight_decay)
                        for v in var_list}

    def uses_weight_decay(self, variable) -> bool:
        return self.weight_decay_rate > 0 and self._decays.get(self._var_key(variable), False)

    def _moments(self, gradient, variable):
        index = self._index_dict[self._var_key(variable)]
        m, v = self._m[index], self._v[index]
        if isinstance(gradient, tf.IndexedSlices):  # embedding lookups: densify (V x E is small)
            gradient = tf.convert_to_tensor(gradient)
        m.assign(self.beta_1 * m + (1.0 - self.beta_1) * gradient)
        v.assign(self.beta_2 * v + (1.0 - self.beta_2) * tf.square(gradient))
        return m, v

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(learning_rate=self._serialize_hyperparameter(self._learning_rate),
                   weight_decay_rate=self.weight_decay_rate, beta_1=self.beta_1,
                   beta_2=self.beta_2, epsilon=self.epsilon,
                   exclude_from_weight_decay=list(self.exclude_from_weight_decay))
        return cfg


class AdamWeightDecay(_DecayingOptimizer):
    """albert_zh / BERT ``AdamWeightDecayOptimizer``: no bias correction, decoupled decay."""

    def __init__(self, learning_rate, name: str = "AdamWeightDecay", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)

    def update_step(self, gradient, variable):
        lr = tf.cast(self.learning_rate, variable.dtype)
        m, v = self._moments(gradient, variable)
        update = m / (tf.sqrt(v) + self.epsilon)
        if self.uses_weight_decay(variable):
            update += self.weight_decay_rate * variable
        variable.assign_sub(lr * update)


class Lamb(_DecayingOptimizer):
    """LAMB (albert_zh ``lamb_optimizer.py``): bias-corrected Adam step scaled by a trust ratio.

    The ratio ``||w|| / ||update||`` is 1 for excluded variables (LayerNorm, biases) and when
    either norm is zero.
    """

    def __init__(self, learning_rate, name: str = "Lamb", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)

    def update_step(self, gradient, variable):
        lr = tf.cast(self.learning_rate, variable.dtype)
        step = tf.cast(self.iterations + 1, variable.dtype)
        m, v = self._moments(gradient, variable)
        m_hat = m / (1.0 - tf.pow(self.beta_1, step))
        v_hat = v / (1.0 - tf.pow(self.beta_2, step))
        update = m_hat / (tf.sqrt(v_hat) + self.epsilon)
        if self.uses_weight_decay(variable):
            update += self.weight_decay_rate * variable
            w_norm = tf.norm(variable)
            u_norm = tf.norm(update)
            ratio = tf.where(w_norm > 0, tf.where(u_norm > 0, w_norm / u_norm, 1.0), 1.0)
        else:
            ratio = 1.0
        variable.assign_sub(ratio * lr * update)


def create_optimizer(name: str, peak_lr: float, num_train_steps: int, num_warmup_steps: int,
                     weight_decay_rate: float = 0.01, end_lr: float = 0.0,
                     epsilon: float = 1e-6) -> _DecayingOptimizer:
    """albert_zh's ``create_optimizer``: schedule + AdamW (fine-tuning) or LAMB (pretraining)."""
    schedule = WarmupLinearDecay(peak_lr, num_train_steps, num_warmup_steps, end_lr=end_lr)
    if name == "adamw":
        return AdamWeightDecay(schedule, weight_decay_rate=weight_decay_rate, epsilon=epsilon)
    if name == "lamb":
        return Lamb(schedule, weight_decay_rate=weight_decay_rate, epsilon=epsilon)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")


def clip_gradients(grads: Iterable, clip_norm: float | None) -> tuple[list, tf.Tensor]:
    """Clip by global norm (albert_zh: 1.0); returns (gradients, norm before clipping)."""
    grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
    if clip_norm is None or clip_norm <= 0:
        return grads, tf.linalg.global_norm(grads)
    clipped, norm = tf.clip_by_global_norm(grads, clip_norm)
    return clipped, norm


def apply_global_gradients(optimizer, tape, loss, variables, clip_norm: float | None) -> tf.Tensor:
    """Inside a replica: gradients → sum over replicas → clip by the global norm → apply once.

    Summing explicitly before clipping is what makes N replicas of batch B/N train exactly like one
    device with batch B (the loss must already be divided by the *global* batch). Returns the norm
    before clipping.
    """
    grads = tape.gradient(loss, variables)
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM,
                               [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                                for g in grads])
    grads, norm = clip_gradients(grads, clip_norm)
    optimizer.apply_gradients(zip(grads, variables), skip_gradients_aggregation=True)
    return norm
