"""awdrnn.dynamic_rnn against tf.compat.v1.nn.dynamic_rnn on the same cell:
outputs, final state and gradients, sequence_length, masks and update ops,
training=False, variable names and checkpoints, fallback, finalized graphs."""

import warnings

import numpy as np
import pytest
import tensorflow as tf

import awdrnn
from awdrnn import rnn_cell
from awdrnn.kernels import fast_rnn
from awdrnn.weight_drop_lstm import WeightDropLSTMCell

warnings.filterwarnings("ignore", message=".*is deprecated.*")

B, T, D = 3, 6, 4


def _inputs(dtype, time_major=False, seed=0, batch=B):
    x = np.random.RandomState(seed).randn(batch, T, D).astype(dtype)
    return x.transpose(1, 0, 2) if time_major else x


def _cell(kind, dtype, **kwargs):
    init = tf.compat.v1.glorot_uniform_initializer(seed=7)
    kwargs.setdefault("initializer", init)
    if kind == "single":
        return WeightDropLSTMCell(5, dtype=dtype, **kwargs)
    return rnn_cell.MultiRNNCell(
        [WeightDropLSTMCell(5, dtype=dtype, **kwargs),
         WeightDropLSTMCell(3, dtype=dtype, forget_bias=0.5, **kwargs)])


def _both_paths(cell, x, **kwargs):
    """Stock and fast results on the same cell, variables and masks."""
    stock = tf.compat.v1.nn.dynamic_rnn(cell, x, **kwargs)
    fast = awdrnn.dynamic_rnn(cell, x, **kwargs)
    return stock, fast


def _compare(cell, x_value, dtype, tol, feed_extra=None, time_major=False,
             sequence_length=None, initial_state=None, runs=1, static_batch=True):
    x = tf.constant(x_value)
    if not static_batch:
        shape = list(x_value.shape)
        shape[1 if time_major else 0] = None
        x = tf.compat.v1.placeholder_with_default(x, shape)
    kwargs = dict(time_major=time_major, sequence_length=sequence_length)
    if initial_state is None:
        kwargs["dtype"] = dtype
    else:
        kwargs["initial_state"] = initial_state
    (out_s, st_s), (out_f, st_f) = _both_paths(cell, x, **kwargs)
    if static_batch:
        assert out_f.shape.as_list() == out_s.shape.as_list()
    else:  # the fast path may know the batch from sequence_length's shape
        assert out_f.shape.is_compatible_with(out_s.shape)
    tf.nest.assert_same_structure(st_s, st_f)
    assert type(st_f) is type(st_s)
    weights = np.random.RandomState(11).randn(
        *x_value.shape[:2], out_s.shape[-1]).astype(dtype)   # the outputs' shape
    targets = [x] + cell.trainable_variables + (tf.nest.flatten(initial_state)
                                                if initial_state is not None else [])

    def grads(out, st):
        loss = tf.reduce_sum(out * weights) + sum(
            tf.reduce_sum(s * (k + 1.0)) for k, s in enumerate(tf.nest.flatten(st)))
        return tf.gradients(loss, targets)

    fetch = [out_s, st_s, grads(out_s, st_s), out_f, st_f, grads(out_f, st_f)]
    with tf.compat.v1.Session() as sess:
        sess.run([tf.compat.v1.global_variables_initializer(),
                  tf.compat.v1.local_variables_initializer()])
        for _ in range(runs):
            r = sess.run(fetch, feed_extra)
            stock, fast = r[:3], r[3:]
            for got, want in zip(tf.nest.flatten(fast), tf.nest.flatten(stock)):
                np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    return r


@pytest.mark.parametrize("kind", ["single", "stack"])
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("with_length", [False, True])
def test_equal_to_stock_float64(kind, time_major, with_length):
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(1)
        cell = _cell(kind, tf.float64, weight_drop_kr=0.6)
        assert fast_rnn.path_of(cell)[0] == fast_rnn.FUSED_LSTM
        lengths = tf.constant([T, 2, 0]) if with_length else None
        r = _compare(cell, _inputs(np.float64, time_major), np.float64, 1e-10,
                     time_major=time_major, sequence_length=lengths)
        if with_length:
            out = r[3] if time_major else r[3].transpose(1, 0, 2)
            assert np.all(out[2:, 1] == 0) and np.all(out[:, 2] == 0)
            assert np.abs(out[:2, 1]).min() > 0


@pytest.mark.parametrize("kind", ["single", "stack"])
def test_equal_to_stock_float32_with_initial_state_and_vd(kind):
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(2)
        cell = _cell(kind, tf.float32, weight_drop_kr=0.5, use_vd=True)
        rng = np.random.RandomState(3)
        init = tf.nest.map_structure(
            lambda s: tf.constant(rng.randn(B, s).astype(np.float32)),
            cell.state_size)
        _compare(cell, _inputs(np.float32), np.float32, 1e-5,
                 sequence_length=tf.constant([4, T, 1]), initial_state=init, runs=2)


def test_masks_are_the_cells_own_and_update_op_changes_them():
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(3)
        cell = _cell("single", tf.float32, weight_drop_kr=0.5, use_vd=True)
        x = tf.constant(_inputs(np.float32))
        (out_s, _), (out_f, _) = _both_paths(cell, x, dtype=tf.float32)
        update = cell.get_vd_update_op()
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(),
                      tf.compat.v1.local_variables_initializer()])
            first_s, first_f = sess.run([out_s, out_f])
            again = sess.run(out_f)
            sess.run(update)
            second_s, second_f = sess.run([out_s, out_f])
    np.testing.assert_allclose(first_f, first_s, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(again, first_f)        # persistent across runs
    np.testing.assert_allclose(second_f, second_s, atol=1e-5, rtol=0)
    assert np.abs(second_f - first_f).max() > 1e-3       # new mask after update


def test_fresh_mask_per_run_is_shared_with_stock_path():
    with tf.Graph().as_default():
        cell = _cell("stack", tf.float32, weight_drop_kr=0.5, use_vd=False)
        (out_s, _), (out_f, _) = _both_paths(cell, tf.constant(_inputs(np.float32)),
                                             dtype=tf.float32)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            a_s, a_f = sess.run([out_s, out_f])
            b_f = sess.run(out_f)
    np.testing.assert_allclose(a_f, a_s, atol=1e-5, rtol=0)
    assert np.abs(a_f - b_f).max() > 1e-3


@pytest.mark.parametrize("training", [False, "tensor"])
def test_training_false_equals_undropped_lstm_cell(training):
    with tf.Graph().as_default():
        flag = tf.compat.v1.placeholder_with_default(True, []) if training else False
        init = tf.compat.v1.glorot_uniform_initializer(seed=4)
        cell = WeightDropLSTMCell(5, weight_drop_kr=0.3, training=flag, initializer=init)
        stock_cell = rnn_cell.LSTMCell(5, initializer=init)
        x = tf.constant(_inputs(np.float32))
        out_f, st_f = awdrnn.dynamic_rnn(cell, x, dtype=tf.float32)
        out_s, st_s = tf.compat.v1.nn.dynamic_rnn(stock_cell, x, dtype=tf.float32,
                                                  scope="stock")
        feed = {flag: False} if training else None
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            got, want = sess.run([[out_f, st_f], [out_s, st_s]], feed)
            if training:  # the same graph in training mode does drop weights
                dropped = sess.run(out_f)
                assert np.abs(dropped - got[0]).max() > 1e-3
    for g, w in zip(tf.nest.flatten(got), tf.nest.flatten(want)):
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=0)


@pytest.mark.parametrize("batch,path", [
    (1, fast_rnn.FUSED_LSTM_XLA), (fast_rnn.XLA_MAX_BATCH, fast_rnn.FUSED_LSTM_XLA),
    (fast_rnn.XLA_MAX_BATCH + 1, fast_rnn.FUSED_LSTM), (None, fast_rnn.FUSED_LSTM),
    (fast_rnn.STOCK_MIN_BATCH, fast_rnn.STOCK)])
def test_inference_routes_by_batch_and_equals_stock(batch, path):
    """training=False: XLA-compiled at small static batches, the fused
    inference pass in between or when the batch is unknown, stock at large
    batches; outputs, final states and (recomputed) gradients equal stock."""
    n = batch or 6
    with tf.Graph().as_default() as graph:
        cell = _cell("stack", tf.float64, weight_drop_kr=0.6, training=False)
        assert fast_rnn.path_of(cell, batch)[0] == path
        lengths = tf.constant(np.arange(n) % (T + 1))
        _compare(cell, _inputs(np.float64, batch=n), np.float64, 1e-10,
                 sequence_length=lengths, static_batch=batch is not None)
        xla = [op for op in graph.get_operations()
               if "_XlaMustCompile" in op.node_def.attr
               and op.get_attr("_XlaMustCompile")]
        fused = [op for op in graph.get_operations() if "fused_lstm" in op.name]
    assert bool(xla) == (path == fast_rnn.FUSED_LSTM_XLA)
    assert bool(fused) == (path != fast_rnn.STOCK)


def test_training_true_or_tensor_keeps_the_training_pass():
    with tf.Graph().as_default():
        flag = tf.compat.v1.placeholder_with_default(False, [])
        for training in (True, flag):
            cell = _cell("stack", tf.float32, training=training)
            for batch in (None, 1, 64):
                assert fast_rnn.path_of(cell, batch)[0] == fast_rnn.FUSED_LSTM


def _variables(build):
    with tf.Graph().as_default():
        build()
        return {v.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}


@pytest.mark.parametrize("scope", [None, "encoder"])
def test_same_variable_names_as_stock_and_checkpoints_interchange(scope, tmp_path):
    def build(fn):
        cell = _cell("stack", tf.float32, weight_drop_kr=0.5, use_vd=True)
        out, _ = fn(cell, tf.constant(_inputs(np.float32)), dtype=tf.float32, scope=scope)
        return out

    stock = _variables(lambda: build(tf.compat.v1.nn.dynamic_rnn))
    fast = _variables(lambda: build(awdrnn.dynamic_rnn))
    assert fast == stock
    prefix = scope or "rnn"
    assert f"{prefix}/multi_rnn_cell/cell_1/lstm_cell/kernel:0" in fast

    path = str(tmp_path / "ckpt")
    with tf.Graph().as_default():
        cell = _cell("stack", tf.float32, training=False)
        out_s, _ = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(_inputs(np.float32)),
                                               dtype=tf.float32, scope=scope)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            want = sess.run(out_s)
            tf.compat.v1.train.Saver().save(sess, path)
    with tf.Graph().as_default():
        cell = _cell("stack", tf.float32, training=False,
                     initializer=tf.compat.v1.zeros_initializer())
        out_f, _ = awdrnn.dynamic_rnn(cell, tf.constant(_inputs(np.float32)),
                                      dtype=tf.float32, scope=scope)
        with tf.compat.v1.Session() as sess:
            tf.compat.v1.train.Saver().restore(sess, path)
            np.testing.assert_allclose(sess.run(out_f), want, atol=1e-6, rtol=0)


def _fallback_cells():
    yield "lstm", lambda: rnn_cell.LSTMCell(5)
    yield "gru", lambda: rnn_cell.GRUCell(5)
    yield "wrapper", lambda: rnn_cell.DropoutWrapper(WeightDropLSTMCell(5), 1.0)
    yield "peepholes", lambda: WeightDropLSTMCell(5, use_peepholes=True)
    yield "cell_clip", lambda: WeightDropLSTMCell(5, cell_clip=3.0)
    yield "num_proj", lambda: WeightDropLSTMCell(5, num_proj=2)
    yield "activation", lambda: WeightDropLSTMCell(5, activation=tf.nn.relu)
    yield "mixed_stack", lambda: rnn_cell.MultiRNNCell(
        [WeightDropLSTMCell(5), rnn_cell.LSTMCell(5)])
    yield "tensor_forget_bias", lambda: WeightDropLSTMCell(5, forget_bias=tf.constant(0.5))
    yield "qrnn_subclass", lambda: _PerStepQRNN(5)
    yield "qrnn_stack_subclass", lambda: _PerStepStack([awdrnn.QRNNCell(5)])


class _PerStepQRNN(awdrnn.QRNNCell):
    """Overrides call(): dynamic_rnn runs it per step, so must awdrnn's."""

    def call(self, inputs, state):
        inputs.shape.assert_has_rank(2)
        return super().call(inputs, state)


class _PerStepStack(rnn_cell.MultiRNNCell):
    def call(self, inputs, state):
        inputs.shape.assert_has_rank(2)
        return super().call(inputs, state)


@pytest.mark.parametrize("name,make", list(_fallback_cells()), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_other_cells_fall_back_to_stock(name, make):
    with tf.Graph().as_default():
        cell = make()
        path, reason = fast_rnn.path_of(cell)
        assert path == fast_rnn.STOCK and reason
        x = tf.constant(_inputs(np.float32))
        out_f, _ = awdrnn.dynamic_rnn(cell, x, dtype=tf.float32)
        out_s, _ = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        ops = [op.name for op in tf.compat.v1.get_default_graph().get_operations()]
        assert not any("fused_lstm" in n for n in ops)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            got, want = sess.run([out_f, out_s])
        if name != "wrapper":
            np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_finalized_graph_training_steps():
    with tf.Graph().as_default() as graph:
        tf.compat.v1.set_random_seed(5)
        cell = _cell("stack", tf.float32, weight_drop_kr=0.5, use_vd=True)
        x = tf.constant(_inputs(np.float32))
        out, _ = awdrnn.dynamic_rnn(cell, x, dtype=tf.float32,
                                    sequence_length=tf.constant([T, 3, 5]))
        loss = tf.reduce_mean(out ** 2)
        train = tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(loss)
        update = [c.get_vd_update_op() for c in cell._cells]
        init = [tf.compat.v1.global_variables_initializer(),
                tf.compat.v1.local_variables_initializer()]
        graph.finalize()
        with tf.compat.v1.Session() as sess:
            sess.run(init)
            losses = [sess.run([loss, train, update])[0] for _ in range(5)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert any("fused_lstm" in op.name for op in graph.get_operations())


def test_errors_name_the_argument():
    with tf.Graph().as_default():
        cell = WeightDropLSTMCell(5)
        x = tf.constant(_inputs(np.float32))
        with pytest.raises(ValueError, match="argument `dtype`"):
            awdrnn.dynamic_rnn(cell, x)
        with pytest.raises(ValueError, match="sequence_length must be a vector"):
            awdrnn.dynamic_rnn(cell, x, dtype=tf.float32,
                               sequence_length=tf.constant([[1, 2, 3]]))
        with pytest.raises(ValueError, match="inputs must have rank 3"):
            awdrnn.dynamic_rnn(cell, tf.zeros([B, D]), dtype=tf.float32)


@pytest.mark.parametrize("kind", ["single", "stack"])
def test_qrnn_routes_through_dynamic_qrnn_and_equals_stock(kind):
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(6)

        def qrnn(units, window, depth):
            return awdrnn.QRNNCell(units, window=window, weight_drop_kr=0.6,
                                   input_size=depth, dtype=tf.float64)

        cell = (qrnn(5, 2, D) if kind == "single"
                else rnn_cell.MultiRNNCell([qrnn(5, 2, D), qrnn(3, 2, 5)]))
        assert fast_rnn.path_of(cell)[0] == fast_rnn.QRNN
        _compare(cell, _inputs(np.float64), np.float64, 1e-10,
                 sequence_length=tf.constant([T, 2, 4]))
