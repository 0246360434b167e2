"""Adam with decoupled weight decay (awdrnn/training/adamw.py).

The reference is PyTorch's `torch.optim.AdamW` algorithm (single-tensor,
non-amsgrad path of torch/optim/adamw.py) written here in NumPy. It was
checked once against torch 2.14.1 itself (`foreach=False`, float64) on the
first test's problem, betas changed before each step: weights equal to
1.5e-16 relative after 6 steps.
"""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.training import schedules
from awdrnn.training.adamw import AdamWOptimizer
from tf_session import new_session


class NumpyAdamW:
    """torch.optim.AdamW's update, step by step, for one parameter array."""

    def __init__(self, param, eps=1e-8):
        self.param = np.array(param, dtype=np.float64)
        self.exp_avg = np.zeros_like(self.param)
        self.exp_avg_sq = np.zeros_like(self.param)
        self.step = 0
        self.eps = eps

    def update(self, grad, lr, beta1, beta2, weight_decay):
        self.step += 1
        self.param *= 1 - lr * weight_decay
        self.exp_avg += (grad - self.exp_avg) * (1 - beta1)            # lerp_
        self.exp_avg_sq = self.exp_avg_sq * beta2 + (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1 ** self.step
        bias_correction2 = 1 - beta2 ** self.step
        step_size = lr / bias_correction1
        denom = np.sqrt(self.exp_avg_sq) / np.sqrt(bias_correction2) + self.eps
        self.param -= step_size * self.exp_avg / denom


RNG = np.random.RandomState(0)
W0 = RNG.randn(4, 3)
C = RNG.uniform(0.5, 2.0, size=(4, 3))
D = RNG.randn(4, 3)


def _grad(w):
    """Gradient of 0.5 * sum(C * w^2) + sum(D * w)."""
    return C * w + D


def _run_tf(steps, lr, beta1, beta2, weight_decay, epsilon=1e-8):
    """Weights after each of `steps` updates; lr and beta1 fed per step."""
    with tf.Graph().as_default() as graph:
        w = tf.compat.v1.get_variable("w", initializer=W0.astype(np.float32))
        loss = tf.reduce_sum(0.5 * C.astype(np.float32) * w ** 2 + D.astype(np.float32) * w)
        lr_t = tf.compat.v1.placeholder(tf.float32, [])
        beta1_t = tf.compat.v1.placeholder(tf.float32, [])
        opt = AdamWOptimizer(lr_t, beta1=beta1_t, beta2=beta2, epsilon=epsilon,
                             weight_decay=weight_decay)
        train_op = opt.minimize(loss)
        with new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            out = []
            for t in range(steps):
                sess.run(train_op, {lr_t: lr[t], beta1_t: beta1[t]})
                out.append(sess.run(w))
    return out


def test_matches_pytorch_adamw_with_beta1_changing_every_step(tf1_flavour):
    steps = 6
    lr = [0.1, 0.05, 0.2, 0.01, 0.1, 0.3]
    beta1 = [0.95, 0.9, 0.85, 0.88, 0.93, 0.8]
    got = _run_tf(steps, lr, beta1, beta2=0.99, weight_decay=0.1)
    ref = NumpyAdamW(W0)
    for t in range(steps):
        ref.update(_grad(ref.param), lr[t], beta1[t], 0.99, 0.1)
        np.testing.assert_allclose(got[t], ref.param, rtol=2e-6, atol=2e-6)


def test_decay_is_decoupled_from_the_gradient():
    """With a constant beta1 and weight decay 0, AdamW is Adam; with decay,
    the only change is the multiplicative shrink (a coupled L2 term would
    pass through the moment estimates instead)."""
    lr, beta1 = [0.1] * 4, [0.9] * 4
    plain = _run_tf(4, lr, beta1, beta2=0.999, weight_decay=0.0)
    decayed = _run_tf(4, lr, beta1, beta2=0.999, weight_decay=0.5)
    ref = NumpyAdamW(W0)
    for t in range(4):
        ref.update(_grad(ref.param), 0.1, 0.9, 0.999, 0.5)
    np.testing.assert_allclose(decayed[-1], ref.param, rtol=2e-6, atol=2e-6)
    assert np.abs(decayed[-1] - plain[-1]).max() > 1e-2


def test_stock_adam_when_weight_decay_is_zero():
    """Same as tf.compat.v1.train.AdamOptimizer. TF adds epsilon to sqrt(v)
    before the bias correction, PyTorch after it: epsilon 1e-12 makes that
    difference negligible."""
    def run(make_opt):
        with tf.Graph().as_default() as graph:
            w = tf.compat.v1.get_variable("w", initializer=W0.astype(np.float32))
            loss = tf.reduce_sum(0.5 * C.astype(np.float32) * w ** 2
                                 + D.astype(np.float32) * w)
            train_op = make_opt().minimize(loss)
            with new_session(graph) as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                for _ in range(5):
                    sess.run(train_op)
                return sess.run(w)
    ours = run(lambda: AdamWOptimizer(0.05, 0.9, 0.999, epsilon=1e-12, weight_decay=0.0))
    stock = run(lambda: tf.compat.v1.train.AdamOptimizer(0.05, 0.9, 0.999, epsilon=1e-12))
    np.testing.assert_allclose(ours, stock, rtol=1e-5, atol=1e-6)


def test_sparse_gradients_update_like_dense_ones(tf1_flavour):
    """An embedding read with repeated ids: rows summed, every row's moments
    decay and every row is decayed, as PyTorch with a dense gradient. (The
    positions weigh differently so that dropping or scaling a repeated row's
    terms changes the update: Adam is blind to a row's gradient scale.)"""
    table0 = RNG.randn(6, 2)
    ids = np.array([1, 4, 1, 1])
    coef = np.array([1.0, 2.0, -0.5, 3.0])[:, None]
    lin = RNG.randn(4, 2)
    with tf.Graph().as_default() as graph:
        table = tf.compat.v1.get_variable("table", initializer=table0.astype(np.float32))
        rows = tf.gather(table, ids)
        loss = tf.reduce_sum(coef.astype(np.float32) * rows ** 2 + lin.astype(np.float32)
                             * rows)
        train_op = AdamWOptimizer(0.1, weight_decay=0.2).minimize(loss)
        with new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            got = []
            for _ in range(3):
                sess.run(train_op)
                got.append(sess.run(table))
    ref = NumpyAdamW(table0)
    for t in range(3):
        grad = np.zeros_like(ref.param)
        np.add.at(grad, ids, 2 * coef * ref.param[ids] + lin)
        ref.update(grad, 0.1, 0.9, 0.999, 0.2)
        np.testing.assert_allclose(got[t], ref.param, rtol=2e-6, atol=2e-6)


def test_with_one_cycle_schedule_on_the_global_step(tf1_flavour):
    """lr and beta1 as tensors of the global step: step t uses the values at t."""
    total = 10
    with tf.Graph().as_default() as graph:
        step = tf.compat.v1.train.get_or_create_global_step()
        lr, beta1 = schedules.one_cycle(step, total, max_lr=0.5)
        w = tf.compat.v1.get_variable("w", initializer=W0.astype(np.float32))
        loss = tf.reduce_sum(0.5 * C.astype(np.float32) * w ** 2 + D.astype(np.float32) * w)
        train_op = AdamWOptimizer(lr, beta1=beta1, beta2=0.99,
                                  weight_decay=0.01).minimize(loss, global_step=step)
        with new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for _ in range(total):
                sess.run(train_op)
            got, final_step = sess.run([w, step])
    ref = NumpyAdamW(W0)
    for t in range(total):
        lr_t, mom_t = schedules.one_cycle(t, total, max_lr=0.5)
        ref.update(_grad(ref.param), lr_t, mom_t, 0.99, 0.01)
    assert final_step == total
    np.testing.assert_allclose(got, ref.param, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs,message", [
    (dict(beta1=1.0), r"beta1 must be in \[0.0, 1.0\), got 1.0"),
    (dict(beta2=-0.1), r"beta2 must be in \[0.0, 1.0\), got -0.1"),
    (dict(weight_decay=-1e-3), r"weight_decay must be in \[0.0, inf\), got -0.001")])
def test_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdamWOptimizer(0.1, **kwargs)
