"""Persistent masks as TF1 programs use them: global_variables_initializer()
alone, local initialisers and Scaffold, finalized graphs, the default Saver in
both directions, and the update value in all the forms the TF1 cell allowed."""

import numpy as np
import pytest
import tensorflow as tf

import awdrnn
from awdrnn import rnn_cell
from tf_session import new_session
from update_forms import UPDATE_FORMS as FORMS

UNITS, DEPTH = 5, 4
X = np.random.RandomState(0).randn(3, 6, DEPTH).astype(np.float32)


def _masked_cells():
    """Every kind of persistent mask: (name, build(x) -> (outputs, mask variable, update))."""

    def lstm(x):
        cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, use_vd=True)
        out, _ = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        return out, cell._mask.variable, cell.get_vd_update_op()

    def qrnn(x):
        cell = awdrnn.QRNNCell(UNITS, window=2, weight_drop_kr=0.5, use_vd=True)
        out, _ = awdrnn.dynamic_qrnn(cell, x, dtype=tf.float32)
        return out, cell._mask.variable, cell.get_vd_update_op()

    def variational(x):
        vd = awdrnn.VariationalDropout([3, DEPTH], keep_prob=0.5)
        return vd(x), vd.mask_variable, vd.get_update_mask_op()

    return {"lstm": lstm, "qrnn": qrnn, "variational": variational}


@pytest.mark.parametrize("kind", sorted(_masked_cells()))
def test_global_variables_initializer_alone_is_enough(kind):
    with tf.Graph().as_default() as graph:
        tf.compat.v1.set_random_seed(1)
        out, mask, update = _masked_cells()[kind](tf.constant(X))
        init = tf.compat.v1.global_variables_initializer()
        mask_ready = mask.is_initialized()
        graph.finalize()
        with new_session() as sess:
            sess.run(init)
            assert not sess.run(mask_ready)
            first = sess.run(out)       # initialises the mask, then reads it
            m1 = sess.run(mask)
            np.testing.assert_array_equal(sess.run(out), first)
            np.testing.assert_array_equal(sess.run(mask), m1)
            assert set(np.unique(m1)) == {0.0, 1.0}
            sess.run(update)
            assert not np.array_equal(sess.run(mask), m1)
            assert not np.allclose(sess.run(out), first)


@pytest.mark.parametrize("kind", sorted(_masked_cells()))
def test_masks_are_local_untrainable_and_initialised_by_local_initializer(kind):
    with tf.Graph().as_default():
        _, mask, _ = _masked_cells()[kind](tf.constant(X))
        assert mask in tf.compat.v1.local_variables()
        assert mask not in tf.compat.v1.global_variables()
        assert mask not in tf.compat.v1.trainable_variables()
        with new_session() as sess:
            sess.run(tf.compat.v1.local_variables_initializer())
            assert sess.run(mask.is_initialized())


def test_monitored_training_session_and_scaffold():
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(2)
        out, mask, update = _masked_cells()["lstm"](tf.constant(X))
        step = tf.compat.v1.train.get_or_create_global_step()
        train = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
            tf.reduce_mean(out ** 2), global_step=step)
        with tf.compat.v1.train.MonitoredTrainingSession(
                scaffold=tf.compat.v1.train.Scaffold(), save_checkpoint_secs=None,
                save_summaries_steps=None, log_step_count_steps=None) as sess:
            masks = []
            for _ in range(2):
                m = sess.run(mask)
                sess.run(train)
                np.testing.assert_array_equal(sess.run(mask), m)  # training keeps it
                sess.run(update)
                masks.append(m)
            assert not np.array_equal(masks[0], masks[1])
            assert sess.run(step) == 2


def _lstm_graph(cell_fn, path, save):
    """Builds one LSTM layer, saves or restores it with a default Saver; outputs."""
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(3)
        cell = cell_fn()
        out, _ = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(X), dtype=tf.float32)
        if isinstance(cell, awdrnn.WeightDropLSTMCell):
            cell.get_vd_update_op()
            assert cell._mask is not None
        saver = tf.compat.v1.train.Saver()   # the default: all global variables
        with new_session() as sess:
            if save:
                sess.run(tf.compat.v1.global_variables_initializer())
                saver.save(sess, path)
            else:
                saver.restore(sess, path)    # no initializer: everything comes from it
            return sess.run(out)


@pytest.mark.parametrize("direction", ["stock_to_ours", "ours_to_stock"])
def test_default_saver_moves_checkpoints_both_ways(tmp_path, direction):
    stock = lambda: rnn_cell.LSTMCell(UNITS)
    # training a tensor: the mask exists (and must stay out of the checkpoint),
    # while the outputs (evaluation: training is False) equal LSTMCell's.
    ours = lambda: awdrnn.WeightDropLSTMCell(
        UNITS, weight_drop_kr=0.5, use_vd=True,
        training=tf.compat.v1.placeholder_with_default(False, []))
    path = str(tmp_path / "model")
    first, second = (stock, ours) if direction == "stock_to_ours" else (ours, stock)
    saved = _lstm_graph(first, path, save=True)
    restored = _lstm_graph(second, path, save=False)
    np.testing.assert_allclose(restored, saved, rtol=1e-6, atol=1e-6)
    assert sorted(name for name, _ in tf.train.list_variables(path)) == [
        "rnn/lstm_cell/bias", "rnn/lstm_cell/kernel"]


def _forward_with_mask(keep=0.5):
    """A VariationalDropout forward pass whose output reveals the mask it read."""
    vd = awdrnn.VariationalDropout([64], keep_prob=keep)  # two equal draws: p = 2^-64
    return vd, lambda: vd(tf.ones([64])) * keep


@pytest.mark.parametrize("form", sorted(FORMS))
def test_update_value_runs_and_orders_forward_after_it(form):
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(4)
        vd, forward = _forward_with_mask()
        update = vd.get_update_mask_op()          # before the forward pass is built
        with tf.control_dependencies(FORMS[form](update)):
            seen_mask = forward()
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            assert sess.run(update) == [None]     # sess.run(x), as with a list of ops
            if form == "tf.group(x)":
                sess.run(tf.group(update))
            for _ in range(3):
                before = sess.run(vd.mask_variable)
                seen = sess.run(seen_mask)
                after = sess.run(vd.mask_variable)
                assert not np.array_equal(before, after)   # the run resampled it ...
                np.testing.assert_array_equal(seen, after)  # ... before the forward pass


@pytest.mark.parametrize("form", sorted(FORMS))
def test_update_built_after_forward_pass_leaves_it_the_old_mask(form):
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(5)
        vd, forward = _forward_with_mask()
        seen_mask = forward()
        update = vd.get_update_mask_op()          # after the forward pass
        with tf.control_dependencies(FORMS[form](update)):
            step = tf.identity(seen_mask)
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(seen_mask)                   # the first read initialises the mask
            for _ in range(3):
                before = sess.run(vd.mask_variable)
                seen = sess.run(step)
                assert not np.array_equal(sess.run(vd.mask_variable), before)
                np.testing.assert_array_equal(seen, before)


def test_update_value_is_a_list_of_one_cached_op():
    with tf.Graph().as_default():
        cell = awdrnn.WeightDropLSTMCell(UNITS, weight_drop_kr=0.5, use_vd=True)
        update = cell.get_vd_update_op()
        assert isinstance(update, list) and len(update) == 1
        assert isinstance(update.op, tf.Operation) and update[0] is update.op
        assert update.name == update.op.name and update.graph is update.op.graph
        assert tf.compat.v1.get_default_graph().as_graph_element(update) is update.op
        again = cell.get_vd_update_op()
        assert again.op is update.op and again is not update
        again += awdrnn.VariationalDropout([2], 0.5).get_update_mask_op()
        assert len(again) == 2 and len(cell.get_vd_update_op()) == 1  # nothing shared
        with pytest.raises(TypeError, match="pass it as tf.control_dependencies"):
            with tf.control_dependencies([again]):
                pass
        with tf.control_dependencies(again):
            tf.no_op()
