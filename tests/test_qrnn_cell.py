"""QRNNCell and dynamic_qrnn against a NumPy QRNN and against each other;
zoneout and weight-drop mask lifecycle; truncated-BPTT carry-over; errors."""

import numpy as np
import pytest
import tensorflow as tf

import awdrnn
from awdrnn import rnn_cell
from qrnn_reference import qrnn_forward
from tf_session import init_variables, new_session

BATCH, STEPS, DEPTH, UNITS = 3, 6, 4, 5
FORMS = ["cell", "sequence"]


def _inputs(dtype=np.float64, batch=BATCH, steps=STEPS, depth=DEPTH, seed=0):
    return np.random.RandomState(seed).randn(batch, steps, depth).astype(dtype)


def _torch_weights(window, output_gate, depth=DEPTH, units=UNITS, seed=1):
    """(weight [k*u, window*depth], bias [k*u]) in PyTorch nn.Linear layout."""
    rng = np.random.RandomState(seed)
    k = 3 if output_gate else 2
    return rng.uniform(-0.6, 0.6, (k * units, window * depth)), rng.uniform(-0.5, 0.5, k * units)


def _cell(weight, bias, units=UNITS, **kwargs):
    """A QRNNCell whose kernel is the documented transpose of `weight`."""
    return awdrnn.QRNNCell(
        units, kernel_initializer=tf.compat.v1.constant_initializer(weight.T),
        bias_initializer=tf.compat.v1.constant_initializer(bias), **kwargs)


def _run(form, cell, inputs, **kwargs):
    if form == "cell":
        return tf.compat.v1.nn.dynamic_rnn(cell, inputs, **kwargs)
    return awdrnn.dynamic_qrnn(cell, inputs, **kwargs)


def _initial_state(window, dtype=np.float64, batch=BATCH, seed=2):
    rng = np.random.RandomState(seed)
    c0 = rng.randn(batch, UNITS).astype(dtype)
    x0 = rng.randn(batch, DEPTH).astype(dtype)
    state = c0 if window == 1 else awdrnn.QRNNStateTuple(c0, x0)
    return state, c0, (None if window == 1 else x0)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("window", [1, 2])
@pytest.mark.parametrize("output_gate", [True, False])
def test_matches_numpy_reference_at_evaluation(form, window, output_gate):
    """Zoneout at evaluation, sequence_length, an initial state, PyTorch layout."""
    x = _inputs()
    weight, bias = _torch_weights(window, output_gate)
    state, c0, x0 = _initial_state(window)
    lengths = [STEPS, 3, 0]
    with tf.Graph().as_default():
        cell = _cell(weight, bias, window=window, output_gate=output_gate, zoneout=0.3,
                     weight_drop_kr=0.5, training=False, input_size=DEPTH, dtype=tf.float64)
        out, final = _run(form, cell, tf.constant(x), initial_state=state,
                          sequence_length=lengths)
        with new_session() as sess:
            init_variables(sess)
            out, final = sess.run([out, final])
    want, c, x_prev = qrnn_forward(x, weight, bias, window, output_gate, zoneout=0.3,
                                   c0=c0, x_prev0=x0, lengths=lengths)
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-12)
    if window == 1:
        np.testing.assert_allclose(final, c, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(final.c, c, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(final.x_prev, x_prev)
    assert np.all(out[2] == 0) and np.all(out[1, 3:] == 0)


@pytest.mark.parametrize("form", FORMS)
def test_matches_reference_under_tf1_and_time_major(tf1_flavour, form):
    x = _inputs()
    weight, bias = _torch_weights(2, True)
    with tf.Graph().as_default():
        cell = _cell(weight, bias, window=2, input_size=DEPTH, dtype=tf.float64)
        out, final = _run(form, cell, tf.constant(x.transpose(1, 0, 2)), time_major=True,
                          dtype=tf.float64)
        with new_session() as sess:
            init_variables(sess)
            out, final = sess.run([out, final])
    want, c, _ = qrnn_forward(x, weight, bias, window=2)
    np.testing.assert_allclose(out, want.transpose(1, 0, 2), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(final.c, c, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("window", [1, 2])
def test_both_forms_same_outputs_states_and_gradients_in_training(tf1_flavour, window):
    """float32, weight drop with a persistent mask (same in both forms), lengths."""
    x_val = _inputs(np.float32, batch=4, steps=9)
    state_val, _, _ = _initial_state(window, np.float32, batch=4)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(5)
        x = tf.constant(x_val)
        state = tf.nest.map_structure(tf.constant, state_val)
        cell = awdrnn.QRNNCell(UNITS, window=window, weight_drop_kr=0.6, use_vd=True,
                               input_size=DEPTH)
        results = []
        for form in FORMS:
            out, final = _run(form, cell, x, initial_state=state, sequence_length=[9, 4, 1, 7])
            loss = tf.reduce_sum(tf.sin(out)) + sum(
                tf.reduce_sum(s ** 2) for s in tf.nest.flatten(final))
            sources = [x] + tf.nest.flatten(state) + cell.trainable_weights
            results.append([out, final, tf.gradients(loss, sources)])
        assert len(tf.compat.v1.trainable_variables()) == 2
        with new_session() as sess:
            init_variables(sess)
            cell_form, seq_form = sess.run(results)
    for got, want in zip(tf.nest.flatten(seq_form), tf.nest.flatten(cell_form)):
        scale = np.abs(want).max()
        assert scale > 0
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale)


def test_window2_lengths_past_the_end_mean_the_last_step():
    """dynamic_rnn accepts sequence_length > max_time (all steps valid); the
    window-2 state's x_prev must then be the last input, not an index error."""
    x_val = _inputs(batch=3, steps=4)
    state_val, _, _ = _initial_state(2, batch=3)
    weight, bias = _torch_weights(2, True)
    with tf.Graph().as_default():
        cell = _cell(weight, bias, window=2, input_size=DEPTH, dtype=tf.float64)
        x = tf.constant(x_val)
        state = tf.nest.map_structure(tf.constant, state_val)
        results = [_run(form, cell, x, initial_state=state, sequence_length=[6, 0, 2])
                   for form in FORMS]
        with new_session() as sess:
            init_variables(sess)
            cell_form, seq_form = sess.run(results)
    np.testing.assert_array_equal(seq_form[1].x_prev, cell_form[1].x_prev)
    np.testing.assert_allclose(seq_form[0], cell_form[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(seq_form[1].c, cell_form[1].c, rtol=1e-10, atol=1e-12)


def test_sequence_length_of_unknown_rank_is_accepted():
    """dynamic_rnn accepts a sequence_length whose rank is unknown at graph
    construction (a shapeless placeholder); dynamic_qrnn must too."""
    x_val = _inputs(batch=3, steps=4)
    weight, bias = _torch_weights(2, True)
    with tf.Graph().as_default():
        cell = _cell(weight, bias, window=2, input_size=DEPTH, dtype=tf.float64)
        lengths = tf.compat.v1.placeholder(tf.int64, shape=None)
        x = tf.constant(x_val)
        results = [_run(form, cell, x, sequence_length=lengths, dtype=tf.float64)
                   for form in FORMS]
        with new_session() as sess:
            init_variables(sess)
            cell_form, seq_form = sess.run(results, {lengths: [4, 0, 2]})
    for got, want in zip(tf.nest.flatten(seq_form), tf.nest.flatten(cell_form)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_sequence_length_must_match_the_batch_at_run_time():
    """dynamic_rnn rejects lengths for another batch size; a batch of 1 must
    not be broadcast to the lengths' size."""
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, DEPTH])
        out, _ = awdrnn.dynamic_qrnn(awdrnn.QRNNCell(UNITS), x, sequence_length=[3, 2],
                                     dtype=tf.float32)
        with new_session() as sess:
            init_variables(sess)
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match="sequence_length must have shape"):
                sess.run(out, {x: np.ones((1, 3, DEPTH), np.float32)})


@pytest.mark.parametrize("forms", [("cell", "cell"), ("sequence", "sequence"),
                                   ("cell", "sequence"), ("sequence", "cell")])
def test_state_carried_across_two_segments_equals_one_run(forms):
    x_val = _inputs()
    weight, bias = _torch_weights(2, True)
    with tf.Graph().as_default():
        cell = _cell(weight, bias, window=2, input_size=DEPTH, dtype=tf.float64)
        x = tf.constant(x_val)
        full, full_state = _run("sequence", cell, x, dtype=tf.float64)
        first, state = _run(forms[0], cell, x[:, :2], dtype=tf.float64)
        second, end_state = _run(forms[1], cell, x[:, 2:], initial_state=state)
        with new_session() as sess:
            init_variables(sess)
            a, b, c, d = sess.run([full, tf.concat([first, second], 1), full_state, end_state])
    np.testing.assert_allclose(b, a, rtol=1e-10)
    np.testing.assert_allclose(d.c, c.c, rtol=1e-10)
    np.testing.assert_array_equal(d.x_prev, x_val[:, -1])


@pytest.mark.parametrize("form", FORMS)
def test_gradients_match_finite_differences(form):
    """float64 tiny layer, window 2, lengths: full Jacobians for the inputs and
    initial state, central differences on every weight through assign ops."""
    x_val = _inputs(batch=2, steps=3, depth=2)
    weight, bias = _torch_weights(2, True, depth=2, units=3)
    rng = np.random.RandomState(3)
    c_val, xp_val = rng.randn(2, 3), rng.randn(2, 2)
    with tf.Graph().as_default():
        x, c0, xp0 = (tf.constant(v) for v in (x_val, c_val, xp_val))
        cell = _cell(weight, bias, units=3, window=2, zoneout=0.2, training=False,
                     input_size=2, dtype=tf.float64)
        out, final = _run(form, cell, x, initial_state=awdrnn.QRNNStateTuple(c0, xp0),
                          sequence_length=[3, 2])
        y = tf.concat([tf.reshape(out, [2, -1]), final.c], 1)
        loss = tf.reduce_sum(y * rng.randn(*y.shape.as_list()))
        weights = cell.trainable_weights
        grads = tf.gradients(loss, weights)
        news = [tf.compat.v1.placeholder(tf.float64, w.shape) for w in weights]
        sets = [w.assign(n) for w, n in zip(weights, news)]
        with new_session() as sess:
            init_variables(sess)
            for var, value in ((x, x_val), (c0, c_val), (xp0, xp_val)):
                theory, numeric = tf.compat.v1.test.compute_gradient(
                    var, value.shape, y, y.shape.as_list(), x_init_value=value, delta=1e-6)
                assert np.abs(theory).max() > 0
                np.testing.assert_allclose(theory, numeric, rtol=1e-6, atol=1e-8)
            for grad, weight_var, set_op, new in zip(sess.run(grads), weights, sets, news):
                start = sess.run(weight_var)
                numeric = np.zeros_like(start)
                for idx in np.ndindex(start.shape):
                    losses = []
                    for sign in (1, -1):
                        moved = start.copy()
                        moved[idx] += sign * 1e-6
                        sess.run(set_op, {new: moved})
                        losses.append(sess.run(loss))
                    numeric[idx] = (losses[0] - losses[1]) / 2e-6
                sess.run(set_op, {new: start})
                np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_stack_same_variables_numbers_and_checkpoint_across_forms(tmp_path):
    """A MultiRNNCell of QRNNCells: names as under dynamic_rnn; save/restore."""
    x_val = _inputs(np.float32)

    def build(form):
        stack = rnn_cell.MultiRNNCell([
            awdrnn.QRNNCell(UNITS, window=2, input_size=DEPTH),
            awdrnn.QRNNCell(3, window=1, zoneout=0.5, training=False, output_gate=False)])
        out, state = _run(form, stack, tf.constant(x_val), dtype=tf.float32)
        return out, state, {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}

    results = {}
    for form in ("sequence", "cell"):
        with tf.Graph().as_default():
            tf.compat.v1.set_random_seed(7)
            out, state, names = build(form)
            saver = tf.compat.v1.train.Saver()
            with new_session() as sess:
                init_variables(sess)
                if form == "sequence":
                    saver.save(sess, str(tmp_path / "ckpt"))
                else:
                    saver.restore(sess, str(tmp_path / "ckpt"))
                results[form] = sess.run([out, state]), names
    assert results["cell"][1] == results["sequence"][1] == {
        "rnn/multi_rnn_cell/cell_0/qrnn_cell/kernel": [2 * DEPTH, 3 * UNITS],
        "rnn/multi_rnn_cell/cell_0/qrnn_cell/bias": [3 * UNITS],
        "rnn/multi_rnn_cell/cell_1/qrnn_cell/kernel": [UNITS, 2 * 3],
        "rnn/multi_rnn_cell/cell_1/qrnn_cell/bias": [2 * 3]}
    for got, want in zip(tf.nest.flatten(results["sequence"][0]),
                         tf.nest.flatten(results["cell"][0])):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_stack_in_one_graph_both_orders_share_variables():
    x = tf.constant(_inputs(np.float32))
    for order in (FORMS, FORMS[::-1]):
        with tf.Graph().as_default():
            stack = rnn_cell.MultiRNNCell([awdrnn.QRNNCell(UNITS, window=2, input_size=size)
                                           for size in (DEPTH, UNITS)])
            x = tf.constant(_inputs(np.float32))
            outs = [_run(form, stack, x, dtype=tf.float32)[0] for form in order]
            assert len(tf.compat.v1.global_variables()) == 4
            with new_session() as sess:
                init_variables(sess)
                a, b = sess.run(outs)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_bidirectional_dynamic_rnn_matches_reference():
    x = _inputs()
    weights = [_torch_weights(2, True, seed=s) for s in (1, 4)]
    with tf.Graph().as_default():
        fw, bw = (_cell(w, b, window=2, input_size=DEPTH, dtype=tf.float64) for w, b in weights)
        (out_fw, out_bw), _ = tf.compat.v1.nn.bidirectional_dynamic_rnn(
            fw, bw, tf.constant(x), dtype=tf.float64)
        with new_session() as sess:
            init_variables(sess)
            out_fw, out_bw = sess.run([out_fw, out_bw])
    np.testing.assert_allclose(out_fw, qrnn_forward(x, *weights[0], window=2)[0], rtol=1e-10)
    want_bw = qrnn_forward(x[:, ::-1], *weights[1], window=2)[0][:, ::-1]
    np.testing.assert_allclose(out_bw, want_bw, rtol=1e-10)


def test_variable_layout_and_unsaved_mask():
    with tf.Graph().as_default():
        cell = awdrnn.QRNNCell(UNITS, window=2, weight_drop_kr=0.5, use_vd=True)
        awdrnn.dynamic_qrnn(cell, tf.zeros([2, 3, DEPTH]), dtype=tf.float32)
        assert [(v.op.name, v.shape.as_list()) for v in tf.compat.v1.global_variables()] == [
            ("rnn/qrnn_cell/kernel", [2 * DEPTH, 3 * UNITS]),
            ("rnn/qrnn_cell/bias", [3 * UNITS])]
        local = tf.compat.v1.local_variables()
        assert [v.op.name for v in local] == ["rnn/qrnn_cell/weight_drop_mask"]
        assert local[0].shape.as_list() == [2 * DEPTH, 3 * UNITS]
        assert cell.state_size == awdrnn.QRNNStateTuple(UNITS, DEPTH)


@pytest.mark.parametrize("form", FORMS)
def test_weight_drop_mask_persists_until_update_and_matches_reference(tf1_flavour, form):
    x_val = _inputs()
    weight, bias = _torch_weights(1, True)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(8)
        cell = _cell(weight, bias, weight_drop_kr=0.5, use_vd=True, dtype=tf.float64)
        out, _ = _run(form, cell, tf.constant(x_val), dtype=tf.float64)
        update = cell.get_vd_update_op()
        assert cell.get_vd_update_op().op is update.op
        with new_session() as sess:
            init_variables(sess)
            first = sess.run(out)
            np.testing.assert_array_equal(sess.run(out), first)
            masks = []
            for _ in range(2):
                mask = sess.run(cell._mask.variable)
                masks.append(mask)
                got = sess.run(out)
                want = qrnn_forward(x_val, (weight.T * mask / 0.5).T, bias)[0]
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
                sess.run(update)
    assert set(np.unique(masks[0])) == {0.0, 1.0}
    assert not np.array_equal(masks[0], masks[1])


def test_update_under_control_dependencies_forward_sees_new_mask():
    x_val = _inputs()
    weight, bias = _torch_weights(1, True)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(9)
        cell = _cell(weight, bias, weight_drop_kr=0.5, use_vd=True, input_size=DEPTH,
                     dtype=tf.float64)
        with tf.control_dependencies([cell.get_vd_update_op()]):
            out, _ = awdrnn.dynamic_qrnn(cell, tf.constant(x_val), dtype=tf.float64)
        with new_session() as sess:
            init_variables(sess)
            outs = []
            for _ in range(2):
                outs.append(sess.run(out))
                mask = sess.run(cell._mask.variable)
                want = qrnn_forward(x_val, (weight.T * mask / 0.5).T, bias)[0]
                np.testing.assert_allclose(outs[-1], want, rtol=1e-10, atol=1e-12)
    assert not np.allclose(outs[0], outs[1])


def test_fresh_mask_per_run_without_vd_shared_by_both_forms_and_kept_fraction():
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(10)
        x = tf.constant(_inputs(np.float32, depth=150))
        cell = awdrnn.QRNNCell(100, weight_drop_kr=0.7, use_vd=False)
        outs = [_run(form, cell, x, dtype=tf.float32)[0] for form in FORMS]
        dropped = cell._gate_kernel()
        grad = tf.gradients(tf.reduce_sum(outs[1]), cell.trainable_weights[0])[0]
        with new_session() as sess:
            init_variables(sess)
            kernel = sess.run(cell.trainable_weights[0])
            (a1, b1, d1, g1), (a2, _, d2, _) = (sess.run(outs + [dropped, grad]) for _ in range(2))
    np.testing.assert_allclose(a1, b1, rtol=1e-5, atol=1e-6)   # one mask per run ...
    assert not np.allclose(a1, a2)                              # ... fresh each run
    mask = d1 != 0
    assert abs(mask.mean() - 0.7) < 0.01                        # 45000 weights
    np.testing.assert_allclose(d1[mask], kernel[mask] / 0.7, rtol=1e-6)
    assert np.all(g1[~mask] == 0) and np.all(g1[mask] != 0)
    assert not np.array_equal(d1 != 0, d2 != 0)


@pytest.mark.parametrize("form", FORMS)
def test_zoneout_in_training_keeps_previous_c_with_probability_zoneout(form):
    """With f = 1 exactly, c_t = z_t unless zoned out (then c_t = c_{t-1}):
    the zoned-out fraction is `zoneout`, the mask is fresh per step and not
    rescaled, and training=False (a bool tensor) gives the evaluation form."""
    units, steps = 64, 40
    x_val = np.random.RandomState(11).uniform(0.5, 1.5, (20, steps, units)).astype(np.float32)
    weight = np.concatenate([np.eye(units), np.zeros((units, units))]).astype(np.float32)
    bias = np.concatenate([np.zeros(units), np.full(units, 40.0)]).astype(np.float32)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(12)
        training = tf.compat.v1.placeholder_with_default(True, [])
        cell = _cell(weight, bias, units=units, output_gate=False, zoneout=0.25,
                     training=training)
        out, _ = _run(form, cell, tf.constant(x_val), dtype=tf.float32)
        with new_session() as sess:
            init_variables(sess)
            c = sess.run(out)
            c_eval = sess.run(out, {training: False})
    z = np.tanh(x_val)
    c_prev = np.concatenate([np.zeros_like(c[:, :1]), c[:, :-1]], 1)
    kept = np.isclose(c, z, rtol=1e-6, atol=0)       # f = 1: c_t = z_t (tanh to 1 ulp)
    zoned = c == c_prev                               # f = 0: c_t = c_{t-1} exactly
    assert np.all(kept ^ zoned)
    assert abs(zoned.mean() - 0.25) < 0.01                          # 51200 gates
    assert abs((zoned[:, 1:] & zoned[:, :-1]).mean() - 0.25 ** 2) < 0.01
    want_eval = qrnn_forward(x_val.astype(np.float64), weight, bias, output_gate=False,
                             zoneout=0.25)[0]
    np.testing.assert_allclose(c_eval, want_eval, rtol=1e-5)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"window": 3}, "window must be 1 or 2, got 3"),
    ({"window": 0}, "window must be 1 or 2"),
    ({"zoneout": 1.0}, "zoneout must be a float in [0, 1)"),
    ({"zoneout": -0.1}, "got -0.1"),
    ({"zoneout": True}, "zoneout must be a float"),
    ({"weight_drop_kr": 0.0}, "weight_drop_kr must be in (0, 1]"),
    ({"weight_drop_kr": tf.constant(0.5)}, "weight_drop_kr must be a Python float"),
    ({"input_size": 0}, "input_size must be None or a positive int, got 0"),
    ({"training": "yes"}, "training must be a Python bool"),
    ({"dtype": tf.int32}, "dtype must be a floating-point type"),
])
def test_constructor_errors(kwargs, fragment):
    with tf.Graph().as_default():
        with pytest.raises((ValueError, TypeError)) as info:
            awdrnn.QRNNCell(UNITS, **kwargs)
    assert fragment in str(info.value)


def test_num_units_error():
    with pytest.raises(ValueError, match="num_units must be a positive int, got 0"):
        awdrnn.QRNNCell(0)


def test_graph_construction_errors():
    with tf.Graph().as_default():
        cell = awdrnn.QRNNCell(UNITS, window=2)
        with pytest.raises(ValueError, match="pass input_size=<depth of the inputs>"):
            tf.compat.v1.nn.dynamic_rnn(cell, tf.zeros([2, 3, DEPTH]), dtype=tf.float32)
        with pytest.raises(ValueError, match="dynamic_qrnn inputs must have rank 3"):
            awdrnn.dynamic_qrnn(cell, tf.zeros([2, DEPTH]), dtype=tf.float32)
        with pytest.raises(ValueError, match="must give a dtype"):
            awdrnn.dynamic_qrnn(cell, tf.zeros([2, 3, DEPTH]))
        with pytest.raises(ValueError, match="sequence_length must be a vector"):
            awdrnn.dynamic_qrnn(cell, tf.zeros([2, 3, DEPTH]), dtype=tf.float32,
                                sequence_length=[[3, 3]])
        with pytest.raises(TypeError, match="dynamic_qrnn needs a QRNNCell"):
            awdrnn.dynamic_qrnn(rnn_cell.GRUCell(3), tf.zeros([2, 3, DEPTH]), dtype=tf.float32)
        with pytest.raises(TypeError, match="inputs must be floating point, got dtype int32"):
            awdrnn.dynamic_qrnn(cell, tf.zeros([2, 3, DEPTH], tf.int32), dtype=tf.float32)
        awdrnn.dynamic_qrnn(cell, tf.zeros([2, 3, DEPTH]), dtype=tf.float32)
        with pytest.raises(ValueError, match=f"inputs have depth {DEPTH + 1} but input_size={DEPTH}"):
            awdrnn.dynamic_qrnn(cell, tf.zeros([2, 3, DEPTH + 1]), dtype=tf.float32)
        with pytest.raises(ValueError, match="QRNNCell inputs must have rank 2"):
            cell(tf.zeros([2, 3, DEPTH]), cell.zero_state(2, tf.float32))
        with pytest.raises(ValueError, match="depth .* to be known"):
            awdrnn.dynamic_qrnn(awdrnn.QRNNCell(UNITS), tf.compat.v1.placeholder(
                tf.float32, [2, 3, None]), dtype=tf.float32)
        assert awdrnn.QRNNCell(UNITS).get_vd_update_op().op.type == "NoOp"


def test_update_op_before_first_call_needs_no_input_size_and_mask_sits_in_cell_scope():
    with tf.Graph().as_default():
        cell = awdrnn.QRNNCell(UNITS, weight_drop_kr=0.5, use_vd=True)
        update = cell.get_vd_update_op()
        with tf.control_dependencies(update):
            awdrnn.dynamic_qrnn(cell, tf.zeros([2, 3, DEPTH]), dtype=tf.float32)
        assert [v.op.name for v in tf.compat.v1.local_variables()] == [
            "rnn/qrnn_cell/weight_drop_mask"]
        assert cell._mask.update_op() in update.op.control_inputs


def test_config_round_trip_and_qrnn_layers():
    with tf.Graph().as_default():
        cell = awdrnn.QRNNCell(UNITS, window=2, output_gate=False, zoneout=0.1,
                               weight_drop_kr=0.5, use_vd=True, input_size=DEPTH, seed=3,
                               training=False, name="q")
        config = cell.get_config()
        clone = awdrnn.QRNNCell.from_config(config)
        assert clone.get_config() == config
        assert config["window"] == 2 and config["zoneout"] == 0.1 and config["training"] is False
        stack = rnn_cell.MultiRNNCell([cell, clone])
        assert awdrnn.qrnn_cell.qrnn_layers(cell) == [cell]
        assert awdrnn.qrnn_cell.qrnn_layers(stack) == [cell, clone]
        assert awdrnn.qrnn_cell.qrnn_layers(rnn_cell.MultiRNNCell([cell, rnn_cell.GRUCell(2)])) is None
        assert awdrnn.qrnn_cell.qrnn_layers(rnn_cell.DropoutWrapper(cell)) is None


@pytest.mark.parametrize("window, state_shapes, fragment", [
    (2, [[2, UNITS]], r"window=2\) state must be QRNNStateTuple"),
    (1, [[2, UNITS], [2, DEPTH]], r"window=1\) state must be the tensor c"),
    (2, [[2, UNITS], [2, UNITS]], f"state x_prev must have shape \\[batch, {DEPTH}\\]"),
    (1, [[2, DEPTH]], f"state c must have shape \\[batch, {UNITS}\\]"),
    ("stack", [[2, UNITS]], "a tuple of (length )?2"),  # ours, or MultiRNNCell's
])
@pytest.mark.parametrize("form", FORMS)
def test_state_structure_and_shape_errors(window, state_shapes, fragment, form):
    with tf.Graph().as_default():
        if window == "stack":
            cell = rnn_cell.MultiRNNCell([awdrnn.QRNNCell(UNITS), awdrnn.QRNNCell(UNITS)])
        else:
            cell = awdrnn.QRNNCell(UNITS, window=window, input_size=DEPTH)
        state = [tf.zeros(shape) for shape in state_shapes]
        state = state[0] if len(state) == 1 else tuple(state)
        with pytest.raises(ValueError, match=fragment):
            _run(form, cell, tf.zeros([2, 3, DEPTH]), initial_state=state)
        if form == "sequence":
            assert not tf.compat.v1.global_variables()
