"""VariationalDropout, locked_dropout and embedding_dropout: masks, axes, errors."""

import numpy as np
import pytest
import tensorflow as tf

import awdrnn
from tf_session import init_variables, new_session


def _x(shape, seed=0):
    # Strictly positive, so a zero output means "dropped".
    return (np.random.RandomState(seed).rand(*shape) + 0.5).astype(np.float32)


def test_variational_dropout_mask_fixed_over_time_and_runs_until_update():
    keep, x_val = 0.5, _x([6, 5, 40])
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(1)
        vd = awdrnn.VariationalDropout([6, 40], keep)
        y = vd(tf.constant(x_val))
        update = vd.get_update_mask_op()
        with new_session() as sess:
            init_variables(sess)
            y1, mask = sess.run([y, vd.mask_variable])
            y2 = sess.run(y)
            sess.run(update)
            y3 = sess.run(y)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_allclose(y1, x_val * mask[:, None, :] / keep, rtol=1e-6)
    kept = y1 != 0
    assert np.all(kept == kept[:, :1, :])          # same mask at every time step
    assert (kept[0, 0] != kept[1, 0]).any()          # one mask per example
    assert (kept != (y3 != 0)).any()                 # update draws a new mask


def test_variational_dropout_inside_a_loop_uses_one_mask_per_run():
    keep, x_val = 0.5, _x([4, 7, 30])
    with tf.Graph().as_default():
        vd = awdrnn.VariationalDropout([4, 30], keep)
        xs = tf.constant(x_val)

        def body(t, acc):
            return t + 1, acc.write(t, vd(xs[:, t]))

        _, acc = tf.while_loop(lambda t, acc: t < 7, body,
                               [tf.constant(0), tf.TensorArray(tf.float32, 7)])
        y = tf.transpose(acc.stack(), [1, 0, 2])
        with new_session() as sess:
            init_variables(sess)
            y_val, mask = sess.run([y, vd.mask_variable])
    np.testing.assert_allclose(y_val, x_val * mask[:, None, :] / keep, rtol=1e-6)


def test_variational_dropout_shared_mask_and_fraction():
    keep = 0.8
    with tf.Graph().as_default():
        vd = awdrnn.VariationalDropout([100000], keep)
        y = vd(tf.ones([3, 100000]))
        with new_session() as sess:
            init_variables(sess)
            y_val = sess.run(y)
    assert np.all(y_val == y_val[0])                 # [depth] mask: shared by the batch
    assert abs((y_val[0] != 0).mean() - keep) < 0.01
    np.testing.assert_allclose(y_val[0][y_val[0] != 0], 1 / keep, rtol=1e-6)


def test_keep_prob_placeholder_serves_training_and_evaluation():
    x_val = _x([5, 3, 20])
    with tf.Graph().as_default():
        keep = tf.compat.v1.placeholder_with_default(0.5, [])
        vd = awdrnn.VariationalDropout([5, 20], keep)
        y = vd(tf.constant(x_val))
        z = awdrnn.locked_dropout(tf.constant(x_val), keep)
        with new_session() as sess:
            init_variables(sess)
            y_train, mask = sess.run([y, vd.mask_variable])
            y_eval, z_eval = sess.run([y, z], {keep: 1.0})
    np.testing.assert_allclose(y_train, x_val * mask[:, None, :] / 0.5, rtol=1e-6)
    np.testing.assert_array_equal(y_eval, x_val)
    np.testing.assert_array_equal(z_eval, x_val)


def test_training_false_passes_inputs_through():
    x_val = _x([2, 3, 4])
    with tf.Graph().as_default():
        training = tf.compat.v1.placeholder_with_default(False, [])
        outs = [awdrnn.VariationalDropout([2, 4], 0.5, training=training)(x_val),
                awdrnn.locked_dropout(x_val, 0.5, training=training),
                awdrnn.VariationalDropout([2, 4], 0.5, training=False)(x_val)]
        with new_session() as sess:
            init_variables(sess)
            for value in sess.run(outs):
                np.testing.assert_array_equal(value, x_val)


@pytest.mark.parametrize("time_major", [False, True])
def test_locked_dropout_axis_dynamic_batch_and_fresh_masks(time_major):
    keep = 0.6
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(4)                  # deterministic; bounds below hold
        shape = [None, None, 300]                        # for any seed but 1 in ~10^6
        x = tf.compat.v1.placeholder(tf.float32, shape)
        y = awdrnn.locked_dropout(x, keep, time_major=time_major, seed=9)
        grad = tf.gradients(tf.reduce_sum(y), x)[0]
        with new_session() as sess:
            for batch in (3, 8):
                x_val = _x([batch, 9, 300] if not time_major else [9, batch, 300])
                y1, g = sess.run([y, grad], {x: x_val})
                y2 = sess.run(y, {x: x_val})
                kept = y1 != 0
                time_axis = 0 if time_major else 1
                first = np.take(kept, [0], axis=time_axis)
                assert np.all(kept == first)            # locked along time
                np.testing.assert_allclose(y1[kept], x_val[kept] / keep, rtol=1e-6)
                np.testing.assert_array_equal(g[~kept], 0)
                n = batch * 300                             # independent mask entries
                assert abs(kept.mean() - keep) < 5 * np.sqrt(keep * (1 - keep) / n)
                # a fresh mask per run: entries differ with probability 2 * 0.6 * 0.4
                assert (kept != (y2 != 0)).mean() > 0.48 - 5 * np.sqrt(0.48 * 0.52 / n)


def test_embedding_dropout_drops_whole_words():
    keep, vocab, dim = 0.5, 50, 8
    params_val = np.random.RandomState(0).randn(vocab, dim).astype(np.float32)
    ids_val = np.random.RandomState(1).randint(vocab, size=(6, 40))
    with tf.Graph().as_default():
        params = tf.Variable(params_val)
        emb = awdrnn.embedding_dropout(params, ids_val, keep)
        grad = tf.gradients(tf.reduce_sum(emb), params)[0]
        plain = awdrnn.embedding_dropout(params, ids_val, keep, training=False)
        with new_session() as sess:
            init_variables(sess)
            e, e_eval = sess.run([emb, plain])
            e2 = sess.run(emb)
    assert isinstance(grad, tf.IndexedSlices)
    np.testing.assert_array_equal(e_eval, params_val[ids_val])
    dropped = np.all(e == 0, axis=-1)
    for word in np.unique(ids_val):
        where = ids_val == word
        assert dropped[where].all() or not dropped[where].any()   # every occurrence
        if not dropped[where].any():
            np.testing.assert_allclose(e[where], params_val[word] / keep + 0 * e[where], rtol=1e-6)
    words_dropped = np.mean([dropped[ids_val == w][0] for w in np.unique(ids_val)])
    assert 0.2 < words_dropped < 0.8
    assert (dropped != np.all(e2 == 0, axis=-1)).any()


def test_embedding_dropout_fraction_of_rows():
    keep, vocab = 0.75, 20000
    with tf.Graph().as_default():
        params = tf.ones([vocab, 2])
        emb = awdrnn.embedding_dropout(params, tf.range(vocab), keep)
        with new_session() as sess:
            e = sess.run(emb)
    assert abs((e[:, 0] != 0).mean() - keep) < 0.015


@pytest.mark.parametrize("make, fragment", [
    (lambda: awdrnn.VariationalDropout([4, 5], 0.0), "keep_prob must be in (0, 1]"),
    (lambda: awdrnn.VariationalDropout([4, 5], 1.2), "got 1.2"),
    (lambda: awdrnn.VariationalDropout([None, 5], 0.5), "fully defined"),
    (lambda: awdrnn.VariationalDropout([4, 5], 0.5, dtype=tf.int32), "got int32"),
    (lambda: awdrnn.VariationalDropout([4, 5], 0.5)(tf.zeros([4, 6])), "axis 1: mask 5, inputs 6"),
    (lambda: awdrnn.VariationalDropout([4, 5], 0.5)(tf.zeros([3, 2, 5])), "axis 0: mask 4, inputs 3"),
    (lambda: awdrnn.VariationalDropout([4, 5], 0.5)(tf.zeros([4, 1, 2, 5])), "mask of shape (4, 5) does not broadcast to inputs of shape (4, 1, 2, 5)"),
    (lambda: awdrnn.VariationalDropout([4, 5], 0.5)(tf.zeros([4, 5], tf.int32)), "dtype int32"),
    (lambda: awdrnn.locked_dropout(tf.zeros([4, 5]), 0.5), "rank 3"),
    (lambda: awdrnn.locked_dropout(tf.zeros([2, 4, 5]), -0.5), "got -0.5"),
    (lambda: awdrnn.locked_dropout(tf.zeros([2, 4, 5]), tf.constant(1)), "floating-point tensor"),
    (lambda: awdrnn.embedding_dropout(tf.zeros([4, 5]), [1.0], 0.5), "ids must be integers"),
    (lambda: awdrnn.embedding_dropout(tf.zeros([4]), [1], 0.5), "params must be [vocab_size"),
])
def test_bad_input_errors(make, fragment):
    with tf.Graph().as_default():
        with pytest.raises((ValueError, TypeError)) as info:
            make()
    assert fragment in str(info.value)


@pytest.mark.parametrize("mask_shape, x_shape, expand", [
    ([5], [5], lambda m: m),                                   # the TF1 cell's own example
    ([6, 4], [6, 4], lambda m: m),                             # a weight matrix
    ([2, 1, 1, 3], [2, 4, 5, 3], lambda m: m),                 # one mask per map and channel
    ([3], [2, 4, 5, 3], lambda m: m),                          # per channel, shared by all
    ([1, 7, 4], [2, 7, 4], lambda m: m),                       # per step, shared by the batch
    ([2, 4], [2, 7, 4], lambda m: m[:, None, :]),              # [batch, depth] over time
])
def test_variational_dropout_broadcasts_any_mask_shape(mask_shape, x_shape, expand):
    keep, x_val = 0.5, _x(x_shape)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(3)
        vd = awdrnn.VariationalDropout(mask_shape, keep)
        y = vd(tf.constant(x_val))
        assert y.shape.as_list() == x_shape
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            y_val = sess.run(y)
            mask = sess.run(vd.mask_variable)
    assert mask.shape == tuple(mask_shape)
    np.testing.assert_allclose(y_val, x_val * expand(mask) / keep, rtol=1e-6)


def test_variational_dropout_unknown_batch_is_checked_at_run_time():
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4])
        y = awdrnn.VariationalDropout([3, 4], 0.5)(x)
        assert y.shape.as_list() == [3, 4]
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            assert sess.run(y, {x: _x([3, 4])}).shape == (3, 4)
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run(y, {x: _x([1, 4])})  # would silently broadcast to [3, 4]


@pytest.mark.parametrize("mask_shape, x_shape, fragment", [
    ([5], [4], "mask of shape (5,) does not broadcast to inputs of shape (4,) (axis 0: mask 5, inputs 4)"),
    ([2, 5], [5], "mask of shape (2, 5) cannot be applied to inputs of shape (5,)"),
    ([2, 1, 3], [2, 4, 5, 3], "inputs of shape (2, 4, 5, 3) (axis 1: mask 2, inputs 4)"),
])
def test_variational_dropout_shape_errors_name_both_shapes(mask_shape, x_shape, fragment):
    with tf.Graph().as_default():
        vd = awdrnn.VariationalDropout(mask_shape, 0.5)
        with pytest.raises(ValueError) as info:
            vd(tf.zeros(x_shape))
    assert fragment in str(info.value)
