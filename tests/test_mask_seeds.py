"""Seeded dropout masks: a persistent mask changes at its first update, and every
mask of a cell draws from its own random stream."""

import numpy as np
import pytest
import tensorflow as tf

import awdrnn
from awdrnn import dropout_masks

from random_ops import random_op_seeds
from tf_session import init_variables, new_session


def _wd_lstm():
    cell = awdrnn.WeightDropLSTMCell(16, weight_drop_kr=0.5, use_vd=True, seed=3)
    tf.compat.v1.nn.dynamic_rnn(cell, tf.zeros([2, 3, 8]), dtype=tf.float32)
    return cell._mask.variable, cell.get_vd_update_op()


def _variational():
    vd = awdrnn.VariationalDropout([8, 32], 0.5, seed=3)
    return vd.mask_variable, vd.get_update_mask_op()


def _qrnn():
    cell = awdrnn.QRNNCell(16, weight_drop_kr=0.5, use_vd=True, zoneout=0.5, seed=3,
                           input_size=8)
    tf.compat.v1.nn.dynamic_rnn(cell, tf.zeros([2, 3, 8]), dtype=tf.float32)
    return cell._mask.variable, cell.get_vd_update_op()


def _persistent_mask():
    mask = dropout_masks.PersistentMask([16, 16], 0.5, tf.float32, name="m", seed=3)
    return mask.variable, mask.update_op()


@pytest.mark.parametrize("build", [_wd_lstm, _variational, _qrnn, _persistent_mask])
def test_seeded_mask_changes_at_the_first_update(build, tf1_flavour):
    # The initial sample and the update op used to share one op seed, so the
    # first update drew the initial mask again.
    masks = []
    for _ in range(2):                  # same seeds, same masks in a second graph
        with tf.Graph().as_default():
            tf.compat.v1.set_random_seed(1)
            variable, update = build()
            with new_session() as sess:
                init_variables(sess)
                first = sess.run(variable)
                sess.run(update)
                second = sess.run(variable)
                sess.run(update)
                third = sess.run(variable)
        masks.append((first, second, third))
        assert set(np.unique(first)) == {0.0, 1.0}
        assert (first != second).mean() > 0.25      # P(differ) = 0.5 per entry, >= 256 entries
        assert (second != third).mean() > 0.25
    for a, b in zip(*masks):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("use_vd", [False, True])
def test_qrnn_dropconnect_and_zoneout_masks_have_their_own_seeds(use_vd):
    # With one op seed the DropConnect and zoneout masks drew the same stream.
    # Draws: zoneout, the DropConnect mask, and with use_vd its update; each
    # needs a seed of its own (ops drawing the same initial value may share).
    with tf.Graph().as_default() as graph:
        tf.compat.v1.set_random_seed(1)
        cell = awdrnn.QRNNCell(16, weight_drop_kr=0.5, use_vd=use_vd, zoneout=0.3, seed=3,
                               input_size=8, kernel_initializer=tf.compat.v1.zeros_initializer())
        tf.compat.v1.nn.dynamic_rnn(cell, tf.zeros([2, 3, 8]), dtype=tf.float32)
        cell.get_vd_update_op()
    seeds = random_op_seeds(graph)
    assert len(seeds) >= (3 if use_vd else 2), seeds
