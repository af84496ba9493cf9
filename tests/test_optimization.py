"""albert_edge.train.optimization: the warm-up + linear-decay schedule, AdamW / LAMB weight decay,
global-norm clipping."""
from __future__ import annotations

import pytest
import tensorflow as tf

from albert_edge.train import optimization as opt


def test_schedule_warms_up_then_decays_linearly():
    s = opt.WarmupLinearDecay(1e-3, num_train_steps=100, num_warmup_steps=10)
    assert float(s(0)) == 0.0
    assert float(s(5)) == pytest.approx(5e-4)
    assert float(s(10)) == pytest.approx(0.9e-3)
    assert float(s(55)) == pytest.approx(0.45e-3)
    assert float(s(100)) == pytest.approx(0.0)


@pytest.mark.parametrize("name", ["adamw", "lamb"])
def test_weight_decay_skips_layer_norm_and_bias(name):
    kernel = tf.Variable(tf.ones([3, 3]), name="dense/kernel")
    bias = tf.Variable(tf.ones([3]), name="dense/bias")
    gamma = tf.Variable(tf.ones([3]), name="LayerNorm/gamma")
    o = opt.create_optimizer(name, 0.1, num_train_steps=10, num_warmup_steps=0, weight_decay_rate=0.5)
    o.apply_gradients([(tf.zeros_like(v), v) for v in (kernel, bias, gamma)])
    assert float(kernel[0, 0]) < 1.0          # decayed with a zero gradient
    assert float(bias[0]) == 1.0 and float(gamma[0]) == 1.0


def test_clip_gradients_uses_the_global_norm():
    grads, norm = opt.clip_gradients([tf.constant([3.0]), tf.constant([4.0])], 1.0)
    assert float(norm) == pytest.approx(5.0)
    assert float(tf.linalg.global_norm(grads)) == pytest.approx(1.0)
