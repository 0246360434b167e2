"""Concat pooling against NumPy: any side of padding, lengths 0 and 1, gradients at pads."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn import shapes
from awdrnn.tasks import pooling
from tf_session import new_session

UNITS = 4
PAD_VALUE = 100.0  # larger than every real output: a pad leaking into max/mean/last shows


def np_pool(outputs, mask):
    """`[h_last, max, mean]` over the True positions of each row, zeros for an empty row."""
    rows = []
    for out, m in zip(outputs, mask):
        real = np.nonzero(m)[0]
        if real.size == 0:
            rows.append(np.zeros(3 * out.shape[-1]))
            continue
        rows.append(np.concatenate([out[real[-1]], out[real].max(0), out[real].mean(0)]))
    return np.array(rows)


def np_grad(outputs, mask, weights):
    """d sum(weights * pooled) / d outputs (maxima unique: random real outputs)."""
    grad = np.zeros_like(outputs)
    w_last, w_max, w_mean = np.split(weights, 3, axis=-1)
    for b, m in enumerate(mask):
        real = np.nonzero(m)[0]
        if real.size == 0:
            continue
        grad[b, real[-1]] += w_last[b]
        top = real[np.argmax(outputs[b, real], axis=0)]
        grad[b, top, np.arange(outputs.shape[-1])] += w_max[b]
        grad[b, real] += w_mean[b] / real.size
    return grad


def mask_of(rows, time):
    """A `[batch, time]` mask from `(start, stop)` spans of real tokens per row."""
    mask = np.zeros([len(rows), time], dtype=bool)
    for b, (start, stop) in enumerate(rows):
        mask[b, start:stop] = True
    return mask


LAYOUTS = {
    "right": mask_of([(0, 5), (0, 3), (0, 2)], 5),
    "left": mask_of([(0, 5), (2, 5), (4, 5)], 5),
    "both": mask_of([(1, 4), (2, 3), (0, 5)], 5),
    "mixed_with_length_1": mask_of([(0, 1), (0, 4), (3, 5), (1, 2)], 5),
}


def _outputs(mask, seed=0, pad_value=PAD_VALUE):
    out = np.random.RandomState(seed).randn(*mask.shape, UNITS).astype(np.float32)
    out[~mask] = pad_value
    return out


def _build():
    outputs = tf.compat.v1.placeholder(tf.float32, [None, None, UNITS])
    mask = tf.compat.v1.placeholder(tf.bool, [None, None])
    pooled = pooling.concat_pooling(outputs, mask)
    return outputs, mask, pooled


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_pooling_matches_numpy(layout):
    mask = LAYOUTS[layout]
    out = _outputs(mask)
    with tf.Graph().as_default():
        outputs, mask_ph, pooled = _build()
        assert shapes.dims(pooled) == [None, 3 * UNITS]
        with new_session() as sess:
            got = sess.run(pooled, {outputs: out, mask_ph: mask})
    np.testing.assert_allclose(got, np_pool(out, mask), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_gradient_is_zero_at_pads_and_numpy_at_real_positions(layout):
    mask = LAYOUTS[layout]
    out = _outputs(mask, seed=1)
    weights = np.random.RandomState(2).randn(mask.shape[0], 3 * UNITS).astype(np.float32)
    with tf.Graph().as_default():
        outputs, mask_ph, pooled = _build()
        grad, = tf.gradients(tf.reduce_sum(pooled * weights), outputs)
        with new_session() as sess:
            got = sess.run(grad, {outputs: out, mask_ph: mask})
    assert np.all(got[~mask] == 0.0)
    np.testing.assert_allclose(got, np_grad(out, mask, weights), rtol=1e-6, atol=1e-6)


def test_empty_row_pools_to_zeros_without_nan_even_with_non_finite_pads():
    mask = mask_of([(0, 0), (1, 3)], 4)
    out = _outputs(mask, seed=3)
    out[0, 0] = np.inf
    out[0, 1] = -np.inf
    out[0, 2] = np.nan
    out[1, 3] = np.nan
    with tf.Graph().as_default():
        outputs, mask_ph, pooled = _build()
        grad, = tf.gradients(tf.reduce_sum(pooled), outputs)
        with new_session() as sess:
            got, g = sess.run([pooled, grad], {outputs: out, mask_ph: mask})
    np.testing.assert_array_equal(got[0], np.zeros(3 * UNITS))
    np.testing.assert_allclose(got[1], np_pool(out[1:], mask[1:])[0], rtol=1e-6)
    assert np.all(np.isfinite(g)) and np.all(g[~mask] == 0.0)


def test_static_shapes_are_kept():
    with tf.Graph().as_default():
        pooled = pooling.concat_pooling(tf.zeros([3, 5, UNITS]), tf.ones([3, 5], tf.bool))
        assert shapes.dims(pooled) == [3, 3 * UNITS]
        unknown_units = tf.compat.v1.placeholder(tf.float32, [None, None, None])
        pooled = pooling.concat_pooling(unknown_units, tf.ones([2, 3], tf.bool))
        assert shapes.dims(pooled) == [2, None]   # batch from the mask, units unknown


def test_padding_mask_is_true_on_real_tokens():
    ids = np.array([[5, 6, 1, 1], [1, 1, 7, 8], [0, 1, 2, 3]], dtype=np.int32)
    with tf.Graph().as_default():
        default = pooling.padding_mask(tf.constant(ids))
        other = pooling.padding_mask(tf.constant(ids), pad_id=0)
        with new_session() as sess:
            got_default, got_other = sess.run([default, other])
    np.testing.assert_array_equal(got_default, ids != 1)
    np.testing.assert_array_equal(got_other, ids != 0)


def test_argument_errors():
    with tf.Graph().as_default():
        out, mask = tf.zeros([2, 5, UNITS]), tf.ones([2, 5], tf.bool)
        with pytest.raises(TypeError, match="mask must be a bool tensor"):
            pooling.concat_pooling(out, tf.ones([2, 5]))
        with pytest.raises(ValueError, match="outputs must be .batch, time, units. .rank 3"):
            pooling.concat_pooling(tf.zeros([2, 5]), mask)
        with pytest.raises(ValueError, match="mask must be .batch, time. .rank 2"):
            pooling.concat_pooling(out, tf.ones([2, 5, 1], tf.bool))
        with pytest.raises(ValueError, match="differ in the time axis .4 vs 5."):
            pooling.concat_pooling(out, tf.ones([2, 4], tf.bool))
        with pytest.raises(TypeError, match="outputs must be floating point"):
            pooling.concat_pooling(tf.zeros([2, 5, UNITS], tf.int32), mask)
        with pytest.raises(TypeError, match="ids must be integers"):
            pooling.padding_mask(tf.zeros([2, 5]))
