"""WeightDropLSTMCell against LSTMCell and a NumPy LSTM; mask lifecycle."""

import numpy as np
import pytest
import tensorflow as tf

import awdrnn
from awdrnn import rnn_cell
from conftest import needs_eager
from lstm_reference import lstm_forward
from update_forms import UPDATE_FORMS
from tf_session import init_variables, new_session

BATCH, STEPS, DEPTH, UNITS = 3, 6, 4, 5


def _inputs(dtype=np.float32, batch=BATCH, steps=STEPS, depth=DEPTH, seed=0):
    return np.random.RandomState(seed).randn(batch, steps, depth).astype(dtype)


def _run_pair(stock_kwargs, ours_kwargs, feed_x, dtype=tf.float32, rnn=None):
    """Outputs and states of LSTMCell and WeightDropLSTMCell sharing weights."""
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(3)
        x = tf.constant(feed_x)
        stock = rnn_cell.LSTMCell(UNITS, **stock_kwargs)
        ours = awdrnn.WeightDropLSTMCell(UNITS, **stock_kwargs, **ours_kwargs)
        out_s, st_s = tf.compat.v1.nn.dynamic_rnn(stock, x, dtype=dtype, scope="stock")
        out_o, st_o = tf.compat.v1.nn.dynamic_rnn(ours, x, dtype=dtype, scope="ours")
        copy = [tf.compat.v1.assign(w_o, w_s) for w_s, w_o in zip(stock.weights, ours.weights)]
        with new_session() as sess:
            init_variables(sess)
            sess.run(copy)
            return sess.run([out_s, st_s, out_o, st_o])


@pytest.mark.parametrize("kwargs", [
    {},
    {"use_peepholes": True, "cell_clip": 0.5},
    {"num_proj": 3, "proj_clip": 0.2},
    {"state_is_tuple": False, "forget_bias": 0.3},
])
def test_equals_lstm_cell_at_keep_one(kwargs):
    out_s, st_s, out_o, st_o = _run_pair(kwargs, {}, _inputs())
    np.testing.assert_allclose(out_o, out_s, rtol=1e-6, atol=1e-6)
    for a, b in zip(tf.nest.flatten(st_o), tf.nest.flatten(st_s)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_training_false_equals_lstm_cell_despite_dropping():
    out_s, _, out_o, _ = _run_pair({}, {"weight_drop_kr": 0.3, "training": False}, _inputs())
    np.testing.assert_allclose(out_o, out_s, rtol=1e-6, atol=1e-6)


def test_float64_matches_numpy_reference_with_dropped_mask(tf1_flavour):
    x = _inputs(np.float64)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(1)
        cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.6, use_vd=True, dtype=tf.float64)
        out, state = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float64)
        with new_session() as sess:
            init_variables(sess)
            out_v, c_v, h_v, kernel, bias, mask = sess.run(
                [out, state.c, state.h, cell.weights[0], cell.weights[1], cell._mask.variable])
    assert out_v.dtype == np.float64
    w_h = kernel[DEPTH:] * mask / 0.6
    ref_out, ref_c, ref_h = lstm_forward(x, kernel[:DEPTH], w_h, bias)
    np.testing.assert_allclose(out_v, ref_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_v, ref_c, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_v, ref_h, rtol=1e-10, atol=1e-12)
    # The mask did drop something, so the test would catch an ignored mask.
    assert 0 < (mask == 0).sum() < mask.size


def _names_and_shapes(make_cell):
    with tf.Graph().as_default():
        stack = rnn_cell.MultiRNNCell([make_cell() for _ in range(2)])
        tf.compat.v1.nn.dynamic_rnn(stack, tf.zeros([2, 3, DEPTH]), dtype=tf.float32)
        return {v.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}


def test_variable_names_and_shapes_match_lstm_cell():
    kwargs = {"use_peepholes": True, "num_proj": 3}
    stock = _names_and_shapes(lambda: rnn_cell.LSTMCell(UNITS, **kwargs))
    ours = _names_and_shapes(
        lambda: awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, use_vd=True, **kwargs))
    assert ours == stock
    assert "rnn/multi_rnn_cell/cell_0/lstm_cell/kernel:0" in ours


def _save_or_restore(cell_factory, path, save, feed_x):
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(7 if save else 8)
        out, _ = tf.compat.v1.nn.dynamic_rnn(cell_factory(), tf.constant(feed_x), dtype=tf.float32)
        saver = tf.compat.v1.train.Saver()
        with new_session() as sess:
            init_variables(sess)
            if save:
                saver.save(sess, path)
            else:
                saver.restore(sess, path)
            return sess.run(out)


@pytest.mark.parametrize("direction", ["stock_to_ours", "ours_to_stock"])
def test_checkpoint_interchange(tmp_path, direction):
    x = _inputs()
    stock = lambda: rnn_cell.LSTMCell(UNITS)
    ours = lambda: awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, use_vd=True, training=False)
    src, dst = (stock, ours) if direction == "stock_to_ours" else (ours, stock)
    path = str(tmp_path / "model.ckpt")
    saved = _save_or_restore(src, path, True, x)
    restored = _save_or_restore(dst, path, False, x)
    np.testing.assert_allclose(restored, saved, rtol=1e-6, atol=1e-6)
    assert not any("mask" in name for name, _ in tf.train.list_variables(path))


def test_dropped_kernel_fraction_and_untouched_input_rows():
    keep, depth, units = 0.7, 16, 128
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(2)
        cell = awdrnn.WeightDropLSTMCell(units, weight_drop_kr=keep, use_vd=True)
        tf.compat.v1.nn.dynamic_rnn(cell, tf.zeros([2, 3, depth]), dtype=tf.float32)
        with new_session() as sess:
            init_variables(sess)
            kernel, dropped = sess.run([cell.weights[0], cell._dropped_kernel()])
    np.testing.assert_array_equal(dropped[:depth], kernel[:depth])
    rec, rec_dropped = kernel[depth:], dropped[depth:]
    zero = rec_dropped == 0
    assert abs(zero.mean() - (1 - keep)) < 0.01  # 65,536 weights: std 0.0018
    np.testing.assert_allclose(rec_dropped[~zero], rec[~zero] / keep, rtol=1e-6)


def test_drop_input_weights_masks_whole_kernel():
    keep, depth, units = 0.5, 64, 64
    with tf.Graph().as_default():
        cell = awdrnn.WeightDropLSTMCell(
            units, weight_drop_kr=keep, use_vd=True, drop_input_weights=True, input_size=depth)
        update = cell.get_vd_update_op()  # requested before the first call
        tf.compat.v1.nn.dynamic_rnn(cell, tf.zeros([2, 3, depth]), dtype=tf.float32)
        with new_session() as sess:
            init_variables(sess)
            sess.run(update)
            dropped = sess.run(cell._dropped_kernel())
    assert abs((dropped[:depth] == 0).mean() - keep) < 0.02
    assert abs((dropped[depth:] == 0).mean() - keep) < 0.02


def _grad_graph(use_vd, keep=0.5, units=32, depth=8):
    tf.compat.v1.set_random_seed(5)
    x = tf.constant(_inputs(depth=depth, steps=8, batch=4))
    cell = awdrnn.WeightDropLSTMCell(units, weight_drop_kr=keep, use_vd=use_vd)
    out, _ = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    grad = tf.gradients(tf.reduce_sum(tf.sin(out)), cell.weights[0])[0]
    return cell, out, grad


def test_recurrent_gradient_exactly_zero_where_mask_is_zero():
    with tf.Graph().as_default():
        cell, _, grad = _grad_graph(use_vd=True)
        with new_session() as sess:
            init_variables(sess)
            g, mask = sess.run([grad, cell._mask.variable])
    rec = g[8:]
    assert np.all(rec[mask == 0] == 0)
    assert np.all(rec[mask == 1] != 0)


def test_fresh_mask_per_run_but_one_mask_per_sequence_without_vd(tf1_flavour):
    # use_vd=False: the zero pattern of the recurrent gradient is the mask of
    # that run; one mask for all steps means about half the entries are
    # exactly zero (a per-step mask would leave almost none).
    with tf.Graph().as_default():
        _, out, grad = _grad_graph(use_vd=False)
        with new_session() as sess:
            init_variables(sess)
            g1, o1 = sess.run([grad, out])
            g2, o2 = sess.run([grad, out])
    z1, z2 = g1[8:] == 0, g2[8:] == 0
    assert abs(z1.mean() - 0.5) < 0.05
    assert not np.any(g1[:8] == 0)
    assert (z1 != z2).mean() > 0.3  # new mask each run
    assert not np.allclose(o1, o2)


def test_mask_persists_until_update_op_with_separate_runs(tf1_flavour):
    with tf.Graph().as_default():
        cell, out, _ = _grad_graph(use_vd=True)
        update = cell.get_vd_update_op()
        with new_session() as sess:
            init_variables(sess)
            a, b = sess.run(out), sess.run(out)
            m1 = sess.run(cell._mask.variable)
            sess.run(update)
            c, m2 = sess.run([out, cell._mask.variable])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert (m1 != m2).mean() > 0.3


def _numpy_outputs(x, kernel, bias, mask, keep, depth):
    return lstm_forward(x, kernel[:depth], kernel[depth:] * mask / keep, bias)[0]


@pytest.mark.parametrize("form", sorted(UPDATE_FORMS))
def test_update_under_control_dependencies_forward_sees_new_mask(tf1_flavour, form):
    keep, x = 0.5, _inputs()
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(11)
        cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=keep, use_vd=True)
        update = cell.get_vd_update_op()  # requested before the first call
        with tf.control_dependencies(UPDATE_FORMS[form](update)):
            out, _ = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float32)
        with new_session() as sess:
            init_variables(sess)
            kernel, bias = sess.run(cell.weights)
            seen = []
            for _ in range(3):
                before = sess.run(cell._mask.variable)
                o = sess.run(out)
                after = sess.run(cell._mask.variable)
                assert (before != after).any()  # the run resampled the mask ...
                np.testing.assert_allclose(  # ... and its forward pass used the new one
                    o, _numpy_outputs(x, kernel, bias, after, keep, DEPTH), rtol=1e-5, atol=1e-6)
                seen.append(o)
    assert not np.allclose(seen[0], seen[1])


@pytest.mark.parametrize("form", sorted(UPDATE_FORMS) + ["sess.run([train, x])"])
@pytest.mark.parametrize("requested", ["after_forward", "before_first_call"])
def test_update_under_control_dependencies_of_train_op_forward_sees_old_mask(
        tf1_flavour, form, requested):
    # The forward pass is not built under the update's control dependencies,
    # so it sees the mask from before the update, whenever that was requested.
    keep, x = 0.5, _inputs()
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(12)
        cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=keep, use_vd=True)
        early = cell.get_vd_update_op() if requested == "before_first_call" else None
        out, _ = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float32)
        loss = tf.reduce_sum(out)
        update = early or cell.get_vd_update_op()
        if form in UPDATE_FORMS:
            with tf.control_dependencies(UPDATE_FORMS[form](update)):
                train = tf.compat.v1.train.GradientDescentOptimizer(0.0).minimize(loss)
        else:  # the update fetched beside the train op
            train = [tf.compat.v1.train.GradientDescentOptimizer(0.0).minimize(loss), update]
        with new_session() as sess:
            init_variables(sess)
            kernel, bias = sess.run(cell.weights)
            for _ in range(3):
                before = sess.run(cell._mask.variable)
                o, _ = sess.run([out, train])
                after = sess.run(cell._mask.variable)
                assert (before != after).any()
                np.testing.assert_allclose(
                    o, _numpy_outputs(x, kernel, bias, before, keep, DEPTH), rtol=1e-5, atol=1e-6)


def test_evaluation_mode_is_deterministic_with_bool_tensor():
    with tf.Graph().as_default():
        training = tf.compat.v1.placeholder_with_default(True, [])
        cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, training=training)
        out, _ = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(_inputs()), dtype=tf.float32)
        stock_like = tf.compat.v1.nn.dynamic_rnn(
            rnn_cell.LSTMCell(UNITS, reuse=True, name="lstm_cell"), tf.constant(_inputs()),
            dtype=tf.float32)[0]
        with new_session() as sess:
            init_variables(sess)
            e1 = sess.run(out, {training: False})
            e2 = sess.run(out, {training: False})
            t1 = sess.run(out)
            ref = sess.run(stock_like)
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_allclose(e1, ref, rtol=1e-6, atol=1e-6)
    assert not np.allclose(t1, e1)


def test_gradients_match_finite_differences():
    """Central differences in float64 on a tiny cell with a fixed (vd) mask."""
    x_val = _inputs(np.float64, batch=2, steps=4, depth=3)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(4)
        x = tf.compat.v1.placeholder(tf.float64, x_val.shape)
        cell = awdrnn.WeightDropLSTMCell(4, weight_drop_kr=0.5, use_vd=True, dtype=tf.float64)
        out, state = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float64)
        loss = tf.reduce_sum(out * tf.sin(out)) + tf.reduce_sum(state.c ** 2)
        kernel = cell.weights[0]
        grad_x, grad_k = tf.gradients(loss, [x, kernel])
        new_kernel = tf.compat.v1.placeholder(tf.float64, kernel.shape)
        set_kernel = kernel.assign(new_kernel)
        with new_session() as sess:
            init_variables(sess)
            gx, gk, k0, mask = sess.run([grad_x, grad_k, kernel, cell._mask.variable], {x: x_val})
            f = lambda xv: sess.run(loss, {x: xv})
            eps, rng = 1e-6, np.random.RandomState(0)
            for idx in [tuple(rng.randint(d) for d in x_val.shape) for _ in range(12)]:
                xp, xm = x_val.copy(), x_val.copy()
                xp[idx] += eps
                xm[idx] -= eps
                np.testing.assert_allclose(gx[idx], (f(xp) - f(xm)) / (2 * eps), rtol=1e-5, atol=1e-8)
            for idx in [tuple(rng.randint(d) for d in k0.shape) for _ in range(20)]:
                values = []
                for sign in (1, -1):
                    k = k0.copy()
                    k[idx] += sign * eps
                    sess.run(set_kernel, {new_kernel: k})
                    values.append(f(x_val))
                np.testing.assert_allclose(gk[idx], (values[0] - values[1]) / (2 * eps),
                                           rtol=1e-5, atol=1e-8)
    assert np.any(mask == 0)


def test_finalized_graph_trains_and_updates(tf1_flavour):
    with tf.Graph().as_default() as graph:
        tf.compat.v1.set_random_seed(6)
        cells = [awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, use_vd=True) for _ in range(2)]
        out, _ = tf.compat.v1.nn.dynamic_rnn(
            rnn_cell.MultiRNNCell(cells), tf.constant(_inputs()), dtype=tf.float32)
        loss = tf.reduce_mean(out ** 2)
        train = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        update = tf.group([c.get_vd_update_op() for c in cells])
        init = [tf.compat.v1.global_variables_initializer(),
                tf.compat.v1.local_variables_initializer()]
        graph.finalize()
        masks = tf.compat.v1.local_variables()            # the cells' persistent masks
        assert len(masks) == 2
        with new_session() as sess:
            sess.run(init)
            drawn = []
            for _ in range(3):
                sess.run(update)
                before = sess.run(masks)
                sess.run(train)
                after = sess.run(masks)
                for b, a in zip(before, after):            # the step does not redraw
                    np.testing.assert_array_equal(b, a)
                drawn.append(before)
            assert cells[0].get_vd_update_op().op is cells[0].get_vd_update_op().op
    for layer in range(2):                                 # every update redraws
        for k in range(2):
            first, second = drawn[k][layer], drawn[k + 1][layer]
            assert set(np.unique(first)) == {0.0, 1.0}
            # entries differ with probability 1/2 each; [UNITS, 4 * UNITS] of them
            assert (first != second).mean() > 0.25


def test_multi_rnn_cell_matches_stock_stack_at_keep_one():
    x = _inputs()
    with tf.Graph().as_default():
        stock = rnn_cell.MultiRNNCell([rnn_cell.LSTMCell(UNITS) for _ in range(2)])
        ours = rnn_cell.MultiRNNCell(
            [awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.4, training=False) for _ in range(2)])
        out_s, _ = tf.compat.v1.nn.dynamic_rnn(stock, tf.constant(x), dtype=tf.float32, scope="s")
        out_o, _ = tf.compat.v1.nn.dynamic_rnn(ours, tf.constant(x), dtype=tf.float32, scope="o")
        copy = [tf.compat.v1.assign(b, a) for a, b in zip(stock.weights, ours.weights)]
        with new_session() as sess:
            init_variables(sess)
            sess.run(copy)
            a, b = sess.run([out_s, out_o])
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


def test_sequence_length_matches_numpy_reference(tf1_flavour):
    x, lengths, keep = _inputs(), [6, 2, 4], 0.5
    with tf.Graph().as_default():
        cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=keep, use_vd=True)
        out, state = tf.compat.v1.nn.dynamic_rnn(
            cell, tf.constant(x), sequence_length=lengths, dtype=tf.float32)
        with new_session() as sess:
            init_variables(sess)
            o, c, h, kernel, bias, mask = sess.run(
                [out, state.c, state.h, *cell.weights, cell._mask.variable])
    ref_o, ref_c, ref_h = lstm_forward(
        x.astype(np.float64), kernel[:DEPTH], kernel[DEPTH:] * mask / keep, bias, lengths=lengths)
    np.testing.assert_allclose(o, ref_o, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, ref_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, ref_h, rtol=1e-5, atol=1e-6)
    assert np.all(o[1, 2:] == 0)


def test_bidirectional_static_rnn_and_dropout_wrapper():
    x = _inputs()
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(9)
        fw = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, use_vd=True)
        bw = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, use_vd=True)
        (o_fw, o_bw), _ = tf.compat.v1.nn.bidirectional_dynamic_rnn(
            fw, bw, tf.constant(x), dtype=tf.float32)
        # static_rnn with the forward cell's variables gives the same outputs.
        static_out, _ = tf.compat.v1.nn.static_rnn(
            fw, tf.unstack(tf.constant(x), axis=1), dtype=tf.float32,
            scope="bidirectional_rnn/fw")
        wrapped = rnn_cell.DropoutWrapper(
            awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5), output_keep_prob=1.0)
        o_wrapped, _ = tf.compat.v1.nn.dynamic_rnn(wrapped, tf.constant(x), dtype=tf.float32)
        with new_session() as sess:
            init_variables(sess)
            a, b, s, w = sess.run([o_fw, o_bw, tf.stack(static_out, axis=1), o_wrapped])
    assert a.shape == b.shape == w.shape == (BATCH, STEPS, UNITS)
    np.testing.assert_allclose(s, a, rtol=1e-6, atol=1e-6)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"weight_drop_kr": 0.0}, "weight_drop_kr must be in (0, 1]"),
    ({"weight_drop_kr": 1.5}, "got 1.5"),
    ({"weight_drop_kr": True}, "weight_drop_kr must be a float"),
    ({"dtype": tf.int32}, "dtype must be a floating-point type"),
    ({"training": "yes"}, "training must be a Python bool"),
    ({"input_size": 0}, "input_size must be None or a positive int"),
])
def test_constructor_errors(kwargs, fragment):
    with tf.Graph().as_default():
        with pytest.raises((ValueError, TypeError)) as info:
            awdrnn.WeightDropLSTMCell(UNITS, **kwargs)
    assert fragment in str(info.value)


def test_update_op_before_first_call_mask_sits_under_the_cell_scope():
    # The original report: the mask got its own scope (lstm_cell_1/...) while
    # the cell's variables were under rnn/lstm_cell/.
    with tf.Graph().as_default():
        cells = [awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, use_vd=True,
                                           drop_input_weights=True) for _ in range(2)]
        updates = [c.get_vd_update_op() for c in cells]  # no input_size needed
        with tf.control_dependencies(updates):
            tf.compat.v1.nn.dynamic_rnn(rnn_cell.MultiRNNCell(cells), tf.zeros([2, 3, DEPTH]),
                                        dtype=tf.float32)
        names = {v.op.name: v.shape.as_list() for v in tf.compat.v1.local_variables()}
        assert names == {
            f"rnn/multi_rnn_cell/cell_{i}/lstm_cell/weight_drop_mask": [depth + UNITS, 4 * UNITS]
            for i, depth in enumerate([DEPTH, UNITS])}


def test_input_rank_and_depth_errors():
    with tf.Graph().as_default():
        cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5)
        state = cell.zero_state(BATCH, tf.float32)
        with pytest.raises(ValueError, match="must have rank 2"):
            cell(tf.zeros([BATCH, STEPS, DEPTH]), state)
        cell(tf.zeros([BATCH, DEPTH]), state)
        with pytest.raises(ValueError, match=f"inputs have depth {DEPTH + 1}"):
            cell(tf.zeros([BATCH, DEPTH + 1]), state)
        sized = awdrnn.WeightDropLSTMCell(UNITS, input_size=7)
        with pytest.raises(ValueError, match="input_size=7"):
            sized(tf.zeros([BATCH, DEPTH]), sized.zero_state(BATCH, tf.float32))
        with pytest.raises(TypeError, match="the dtype of inputs must be a floating-point type.*got int32"):
            awdrnn.WeightDropLSTMCell(UNITS)(tf.zeros([BATCH, DEPTH], tf.int32), state)


@needs_eager
def test_eager_execution_is_refused_with_a_clear_error():
    assert tf.executing_eagerly()  # the test process has not disabled eager
    cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5)
    with pytest.raises(RuntimeError, match="needs graph mode"):
        cell(tf.zeros([BATCH, DEPTH]), cell.zero_state(BATCH, tf.float32))
    with pytest.raises(RuntimeError, match="needs graph mode"):
        awdrnn.VariationalDropout([2, 3], 0.5)


@pytest.mark.parametrize("run", [tf.compat.v1.nn.dynamic_rnn, awdrnn.dynamic_rnn],
                         ids=["stock", "fused"])
def test_pytorch_biases_are_one_bias_summed_with_gradient_to_both(run, tf1_flavour):
    # PyTorch's parametrisation: the same function as LSTMCell with
    # bias = bias_ih + bias_hh, and each vector gets the single bias's gradient.
    x = _inputs()
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(4)
        stock = rnn_cell.LSTMCell(UNITS, forget_bias=0.0)
        ours = awdrnn.WeightDropLSTMCell(UNITS, forget_bias=0.0, pytorch_biases=True)
        out_s, _ = tf.compat.v1.nn.dynamic_rnn(stock, tf.constant(x), dtype=tf.float32,
                                               scope="stock")
        out_o, _ = run(ours, tf.constant(x), dtype=tf.float32, scope="ours")
        names = sorted(v.op.name for v in ours.weights)
        assert names == ["ours/lstm_cell/bias_hh", "ours/lstm_cell/bias_ih",
                         "ours/lstm_cell/kernel"]
        copy = [tf.compat.v1.assign(stock.weights[0], ours._kernel),
                tf.compat.v1.assign(stock.weights[1], ours._bias_ih + ours._bias_hh)]
        g_s = tf.gradients(tf.reduce_sum(out_s ** 2), stock.weights[1])[0]
        g_ih, g_hh = tf.gradients(tf.reduce_sum(out_o ** 2), [ours._bias_ih, ours._bias_hh])
        with new_session() as sess:
            init_variables(sess)
            b_ih, b_hh = sess.run([ours._bias_ih, ours._bias_hh])
            sess.run(copy)
            o_s, o_o, gs, gi, gh = sess.run([out_s, out_o, g_s, g_ih, g_hh])
    bound = 1 / np.sqrt(UNITS)           # default draws: U(+-1/sqrt(H)), two of them
    assert np.abs(b_ih).max() <= bound and np.abs(b_hh).max() <= bound
    assert not np.allclose(b_ih, b_hh)
    np.testing.assert_allclose(o_o, o_s, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gi, gs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gh, gs, rtol=1e-5, atol=1e-6)


def test_bias_initializers_and_config():
    const = tf.compat.v1.constant_initializer
    with tf.Graph().as_default():
        one = awdrnn.WeightDropLSTMCell(2, bias_initializer=const(0.5))
        two = awdrnn.WeightDropLSTMCell(2, pytorch_biases=True,
                                        bias_initializer=(const(1.0), const(-2.0)), name="two")
        for cell in (one, two):
            cell(tf.zeros([1, 3]), cell.zero_state(1, tf.float32))
        with new_session() as sess:
            init_variables(sess)
            assert sess.run(one.effective_bias()).tolist() == [0.5] * 8
            assert sess.run([two._bias_ih, two._bias_hh, two.effective_bias()]) == [
                pytest.approx([1.0] * 8), pytest.approx([-2.0] * 8), pytest.approx([-1.0] * 8)]
    assert two.get_config()["pytorch_biases"] is True
    assert "pytorch_biases" not in one.get_config()       # LSTMCell's config, unchanged


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(pytorch_biases=1), "pytorch_biases must be True or False, got 1"),
    (dict(bias_initializer=0.5), "bias_initializer must be an initializer (callable) or None"),
    (dict(pytorch_biases=True, bias_initializer=tf.compat.v1.zeros_initializer()),
     "with pytorch_biases=True, bias_initializer must be a pair"),
])
def test_bias_option_errors(kwargs, fragment):
    with pytest.raises((TypeError, ValueError)) as e:
        awdrnn.WeightDropLSTMCell(UNITS, **kwargs)
    assert fragment in str(e.value)
