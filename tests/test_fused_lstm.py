"""lstm_sequence against a NumPy LSTM written from the equations, and its
hand-written gradient against finite differences (float64) and against
TensorFlow's own gradient of a step-by-step LSTM."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.kernels.fused_lstm import lstm_sequence

T, B, D, U = 5, 3, 4, 6

# lstm_sequence's three forward passes: training (keeps the gate activations
# for the hand-written backward), inference (keeps nothing; a gradient re-runs
# the training forward) and inference compiled with XLA.
MODES = {"training": {}, "inference": {"inference": True},
         "inference_xla": {"inference": True, "xla": True}}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_lstm(x, kernel, b, c, h, forget_bias):
    """Hochreiter & Schmidhuber LSTM, gates i, j, f, o as TF's LSTMCell."""
    hs, cs = [], []
    w_x, w_h = kernel[:x.shape[2]], kernel[x.shape[2]:]
    for x_t in x:
        z = x_t @ w_x + h @ w_h + b
        i, j, f, o = np.split(z, 4, axis=1)
        c = _sigmoid(f + forget_bias) * c + _sigmoid(i) * np.tanh(j)
        h = _sigmoid(o) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs), np.stack(cs)


def _arrays(dtype, seed=0):
    rng = np.random.RandomState(seed)
    shapes = [(T, B, D), (D + U, 4 * U), (4 * U,), (B, U), (B, U)]
    return [(0.5 * rng.randn(*s)).astype(dtype) for s in shapes]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_forward_matches_numpy(dtype, tol, mode):
    arrays = _arrays(dtype)
    with tf.Graph().as_default():
        h_seq, c_seq = lstm_sequence(*[tf.constant(a) for a in arrays], forget_bias=0.7,
                                     **MODES[mode])
        assert h_seq.shape.as_list() == [T, B, U]
        with tf.compat.v1.Session() as sess:
            h, c = sess.run([h_seq, c_seq])
    want_h, want_c = numpy_lstm(*arrays, forget_bias=0.7)
    np.testing.assert_allclose(h, want_h, rtol=0, atol=tol)
    np.testing.assert_allclose(c, want_c, rtol=0, atol=tol)


def test_gradient_matches_finite_differences():
    arrays = _arrays(np.float64, seed=1)
    rng = np.random.RandomState(2)
    w_out, w_c = rng.randn(T, B, U), rng.randn(T, B, U)
    with tf.Graph().as_default():
        tensors = [tf.constant(a) for a in arrays]
        h_seq, c_seq = lstm_sequence(*tensors, forget_bias=1.0)
        # Both outputs carry gradient: h at every step, c at every step.
        loss = tf.reduce_sum(h_seq * w_out) + tf.reduce_sum(c_seq * w_c)
        with tf.compat.v1.Session() as sess:
            for k, (tensor, value) in enumerate(zip(tensors, arrays)):
                theoretical, numerical = tf.compat.v1.test.compute_gradient(
                    tensor, value.shape, loss, [], x_init_value=value, delta=1e-6)
                np.testing.assert_allclose(theoretical, numerical, rtol=0, atol=1e-7,
                                           err_msg=f"input {k}")


def _stepwise(x, kernel, b, c, h, forget_bias):
    """The same LSTM as plain TF ops, unrolled in Python (autodiff reference)."""
    hs, cs = [], []
    for t in range(T):
        z = tf.matmul(tf.concat([x[t], h], axis=1), kernel) + b
        i, j, f, o = tf.split(z, 4, axis=1)
        c = tf.sigmoid(f + forget_bias) * c + tf.sigmoid(i) * tf.tanh(j)
        h = tf.sigmoid(o) * tf.tanh(c)
        hs.append(h)
        cs.append(c)
    return tf.stack(hs), tf.stack(cs)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("upstream", ["h_and_c", "h_only", "last_c_only"])
def test_gradient_matches_autodiff(upstream, tf1_flavour, mode):
    # tf1_flavour "v1": v1 TensorArrays clear an index after its first read,
    # and the backward loop reads each c_t twice.
    arrays = _arrays(np.float32, seed=3)
    rng = np.random.RandomState(4)
    w_out = rng.randn(T, B, U).astype(np.float32)
    results = []
    with tf.Graph().as_default():
        tensors = [tf.constant(a) for a in arrays]
        for fn in (lstm_sequence, _stepwise):
            h_seq, c_seq = fn(*tensors, forget_bias=1.0,
                              **(MODES[mode] if fn is lstm_sequence else {}))
            loss = {"h_and_c": tf.reduce_sum(h_seq * w_out) + tf.reduce_sum(c_seq ** 2),
                    "h_only": tf.reduce_sum(h_seq * w_out),
                    "last_c_only": tf.reduce_sum(c_seq[-1] * w_out[0])}[upstream]
            results.append(tf.gradients(loss, tensors))
        with tf.compat.v1.Session() as sess:
            fused, reference = sess.run(results)
    for k, (got, want) in enumerate(zip(fused, reference)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5, err_msg=f"input {k}")
        assert np.abs(want).max() > 1e-3  # every input really gets a gradient


@pytest.mark.parametrize("mode", MODES)
def test_dynamic_time_and_batch(mode):
    arrays = _arrays(np.float32, seed=5)
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, D])
        c0 = tf.compat.v1.placeholder(tf.float32, [None, U])  # dynamic batch
        h0 = tf.compat.v1.placeholder(tf.float32, [None, U])
        h_seq, _ = lstm_sequence(x, *[tf.constant(a) for a in arrays[1:3]], c0, h0,
                                 **MODES[mode])
        grad = tf.gradients(tf.reduce_sum(h_seq), x)[0]
        with tf.compat.v1.Session() as sess:
            for t, b in [(T, B), (2, 1)]:
                feed = {x: arrays[0][:t, :b], c0: arrays[3][:b], h0: arrays[4][:b]}
                h, g = sess.run([h_seq, grad], feed)
                want, _ = numpy_lstm(arrays[0][:t, :b], *arrays[1:3], arrays[3][:b],
                                     arrays[4][:b], forget_bias=1.0)
                np.testing.assert_allclose(h, want, rtol=0, atol=1e-5)
                assert g.shape == (t, b, D)


def test_shape_errors():
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [T, B, None])
        kernel, b, zeros = tf.zeros([D + U, 4 * U]), tf.zeros([4 * U]), tf.zeros([B, U])
        with pytest.raises(ValueError, match="static input depth"):
            lstm_sequence(x, kernel, b, zeros, zeros)
        with pytest.raises(ValueError, match=r"kernel must be \[input_depth \+ num_units"):
            lstm_sequence(tf.zeros([T, B, D + 1]), kernel, b, zeros, zeros)
        with pytest.raises(ValueError, match="xla=True.*needs inference=True"):
            lstm_sequence(tf.zeros([T, B, D]), kernel, b, zeros, zeros, xla=True)


def test_inference_pass_uses_the_kernel_as_stored():
    """The inference pass neither rescales nor splits a copy of the kernel per run
    (a third of a batch-1 run at the AWD-LSTM size): the only ops on the kernel
    before the loop are reshapes and 1-D slices of its buffer, which TF hands out
    without a copy at 64-byte boundaries. (Broken on purpose: the training pass's
    `tf.split` and `w * scale` in the inference pass fail it.)"""
    with tf.Graph().as_default():
        kernel = tf.compat.v1.placeholder(tf.float32, [D + U, 4 * U], name="kernel")
        zeros = tf.zeros([B, U])
        lstm_sequence(tf.zeros([T, B, D]), kernel, tf.zeros([4 * U]), zeros, zeros,
                      inference=True)
        reached, frontier = set(), [kernel.op]
        while frontier:   # the ops fed by the kernel, up to a matrix product or the loop
            op = frontier.pop()
            for out in op.outputs:
                for consumer in out.consumers():
                    if consumer.type not in ("MatMul", "While", "StatelessWhile", "Enter") and \
                            consumer not in reached:
                        reached.add(consumer)
                        frontier.append(consumer)
        types = {op.type for op in reached}
    assert types <= {"Identity", "IdentityN", "Reshape", "Slice"}, types
