"""Tests of awdrnn.training.regularizers against NumPy (AR, TAR, weight decay)."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.training import regularizers


def _run(t):
    with tf.compat.v1.Session() as sess:
        return sess.run(t)


def test_ar_is_alpha_mean_square():
    x = np.random.RandomState(0).randn(3, 5, 4).astype(np.float32)
    with tf.Graph().as_default():
        got = _run(regularizers.activation_regularization(x, 2.0))
    np.testing.assert_allclose(got, 2.0 * np.mean(x ** 2), rtol=1e-6)


def test_tar_differences_along_time():
    x = np.random.RandomState(1).randn(3, 6, 4).astype(np.float32)
    expected = 1.5 * np.mean((x[:, 1:] - x[:, :-1]) ** 2)
    with tf.Graph().as_default():
        got = _run(regularizers.temporal_activation_regularization(x, 1.5))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_tar_axis_is_time_not_batch():
    # Constant in time, different across the batch: zero TAR (time axis 1).
    x = np.repeat(np.random.RandomState(2).randn(4, 1, 3), 5, axis=1).astype(np.float32)
    with tf.Graph().as_default():
        assert _run(regularizers.temporal_activation_regularization(x, 1.0)) == 0.0


def test_zero_coefficients_and_single_step():
    x = np.ones([2, 1, 3], np.float32)
    with tf.Graph().as_default():
        assert _run(regularizers.temporal_activation_regularization(x, 1.0)) == 0.0
        assert _run(regularizers.activation_regularization(x, 0)) == 0.0


def test_weight_decay_adds_wdecay_w_also_to_sparse_gradients():
    with tf.Graph().as_default():
        w = tf.compat.v1.get_variable("w", initializer=np.arange(12.0).reshape(4, 3))
        loss = tf.reduce_sum(tf.nn.embedding_lookup(w, [0, 2, 2]))
        (g, _), = regularizers.add_weight_decay(
            [(tf.gradients(loss, w)[0], w)], 0.1)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            got = sess.run(g)
    dense = np.zeros([4, 3])
    dense[0] += 1
    dense[2] += 2
    np.testing.assert_allclose(got, dense + 0.1 * np.arange(12.0).reshape(4, 3))


def test_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="alpha must be a number >= 0, got -1"):
            regularizers.activation_regularization(tf.zeros([1, 2, 3]), -1)
        with pytest.raises(ValueError, match=r"must be \[batch, time, units\]"):
            regularizers.temporal_activation_regularization(tf.zeros([2, 3]), 1.0)
