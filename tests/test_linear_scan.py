"""linear_recurrence against a NumPy loop; its custom gradient against autodiff
and finite differences."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.kernels.linear_scan import linear_recurrence


@pytest.fixture(params=["v2", "v1"])
def control_flow(request):
    """TF2 graph defaults, and TF1's v1 while loops."""
    if request.param == "v1":
        tf.compat.v1.disable_control_flow_v2()
    yield request.param
    if request.param == "v1":
        tf.compat.v1.enable_control_flow_v2()


def _values(steps=7, shape=(3, 4), seed=0):
    rng = np.random.RandomState(seed)
    return (rng.uniform(0.05, 0.95, (steps,) + shape), rng.randn(steps, *shape),
            rng.randn(*shape), rng.randn(steps, *shape))


def _numpy_recurrence(a, b, c0):
    out, c = [], c0
    for a_t, b_t in zip(a, b):
        c = a_t * c + b_t
        out.append(c)
    return np.stack(out)


@pytest.mark.parametrize("steps", [1, 2, 7])
def test_matches_numpy_with_unknown_time_dimension(control_flow, steps):
    a_val, b_val, c_val, _ = _values(steps)
    with tf.Graph().as_default():
        a = tf.compat.v1.placeholder(tf.float64, [None, 3, 4])
        b = tf.compat.v1.placeholder(tf.float64, [None, 3, 4])
        c = linear_recurrence(a, b, tf.constant(c_val))
        with tf.compat.v1.Session() as sess:
            got = sess.run(c, {a: a_val, b: b_val})
    np.testing.assert_allclose(got, _numpy_recurrence(a_val, b_val, c_val), rtol=1e-12)


def test_gradient_equals_autodiff_of_an_unrolled_loop(control_flow):
    a_val, b_val, c_val, w_val = _values()
    with tf.Graph().as_default():
        a, b, c0 = (tf.constant(v) for v in (a_val, b_val, c_val))
        loss = tf.reduce_sum(tf.sin(linear_recurrence(a, b, c0)) * w_val)
        c, unrolled = c0, []
        for t in range(a_val.shape[0]):
            c = a[t] * c + b[t]
            unrolled.append(c)
        loss_ref = tf.reduce_sum(tf.sin(tf.stack(unrolled)) * w_val)
        grads = tf.gradients(loss, [a, b, c0])
        grads_ref = tf.gradients(loss_ref, [a, b, c0])
        with tf.compat.v1.Session() as sess:
            got, want = sess.run([grads, grads_ref])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_gradient_matches_finite_differences():
    a_val, b_val, c_val, w_val = _values(steps=4, shape=(2, 3))
    with tf.Graph().as_default():
        a, b, c0 = (tf.constant(v) for v in (a_val, b_val, c_val))
        y = linear_recurrence(a, b, c0) * w_val
        with tf.compat.v1.Session():
            for var, val in ((a, a_val), (b, b_val), (c0, c_val)):
                theory, numeric = tf.compat.v1.test.compute_gradient(
                    var, val.shape, y, y.shape.as_list(), x_init_value=val, delta=1e-6)
                np.testing.assert_allclose(theory, numeric, rtol=1e-6, atol=1e-8)


def test_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="a and b must have one shape"):
            linear_recurrence(tf.ones([3, 2]), tf.ones([3, 4]), tf.ones([2]))
        with pytest.raises(ValueError, match="initial must have the shape of one step"):
            linear_recurrence(tf.ones([3, 2]), tf.ones([3, 2]), tf.ones([3]))
        with pytest.raises(ValueError, match="a must have rank >= 1"):
            linear_recurrence(tf.ones([]), tf.ones([]), tf.ones([]))
        with pytest.raises(TypeError, match="must share one floating dtype, got float32, float64"):
            linear_recurrence(tf.ones([3, 2]), tf.ones([3, 2], tf.float64), tf.ones([2]))
