"""Tests of awdrnn.training.clipping: the global norm of sparse gradients equals the dense one."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.training import clipping

from tf_session import new_session

IDS = np.array([[1, 3, 1], [1, 0, 3]])      # word 1 three times, word 3 twice


def _sparse_grad_graph():
    """Embedding lookup with repeated ids: `tf.gradients` gives IndexedSlices."""
    rng = np.random.RandomState(0)
    table = tf.constant(rng.normal(size=[5, 4]).astype(np.float32))
    weight = tf.constant(rng.normal(size=[2, 3, 4]).astype(np.float32))
    dense_w = tf.constant(rng.normal(size=[4, 2]).astype(np.float32))
    emb = tf.gather(table, IDS)
    loss = tf.reduce_sum(emb * weight) + tf.reduce_sum(tf.matmul(emb[0], dense_w) ** 2)
    grads = tf.gradients(loss, [table, dense_w])
    assert isinstance(grads[0], tf.IndexedSlices)
    return grads


def _numpy_dense(grad_values, indices, rows):
    dense = np.zeros([rows, grad_values.shape[1]], grad_values.dtype)
    np.add.at(dense, indices, grad_values)       # duplicates summed, as a dense gradient
    return dense


@pytest.mark.parametrize("clip", [0.0, 0.5])
def test_norm_and_clipped_values_are_those_of_the_dense_gradient(clip):
    with tf.Graph().as_default():
        grads = _sparse_grad_graph()
        clipped, norm = clipping.clip_by_global_norm(grads, clip)
        dense_clipped = [tf.convert_to_tensor(g) for g in clipped]
        with new_session() as sess:
            (values, indices), g_w, norm_v, out = sess.run(
                [(grads[0].values, grads[0].indices), grads[1], norm, dense_clipped])
    dense = _numpy_dense(values, indices, 5)
    want = np.sqrt(np.sum(dense ** 2) + np.sum(g_w ** 2))
    per_occurrence = np.sqrt(np.sum(values ** 2) + np.sum(g_w ** 2))
    assert abs(want - per_occurrence) > 1e-3 * want      # the case the fix is about
    np.testing.assert_allclose(norm_v, want, rtol=1e-5)
    scale = 1.0 if clip == 0 else min(1.0, clip / want)
    np.testing.assert_allclose(out[0], dense * scale, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out[1], g_w * scale, rtol=1e-5, atol=1e-7)


def test_deduplicate_leaves_dense_gradients_and_none_alone():
    with tf.Graph().as_default():
        t = tf.ones([2])
        assert clipping.deduplicate(t) is t
        assert clipping.deduplicate(None) is None
