"""shapes.dim / shapes.dims: plain ints in both worlds."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn import shapes


def test_dims_are_ints_or_none_from_tensors_shapes_and_dimensions():
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 7, 3])
        assert shapes.dims(x) == [None, 7, 3]
        assert shapes.dim(x, -1) == 3 and type(shapes.dim(x, -1)) is int
        assert shapes.dim(x, 0) is None
        v = tf.compat.v1.get_variable("v", [4, 6])
        assert shapes.dims(v) == [4, 6]
        assert all(type(d) is int for d in shapes.dims(v))
    dimensions = [tf.compat.v1.Dimension(2), tf.compat.v1.Dimension(None), 5]
    assert shapes.dims(dimensions) == [2, None, 5]
    assert shapes.dims(tf.TensorShape(None)) is None
    assert shapes.dims(np.zeros([2, 3])) == [2, 3]
    # The failure this helper removes: Dimension arithmetic inside a shape list.
    with tf.Graph().as_default():
        kernel = tf.zeros([6, 8])
        assert [t.shape.as_list() for t in tf.split(
            kernel, [shapes.dim(kernel, 0) - 4, 4], axis=0)] == [[2, 8], [4, 8]]


def test_unknown_rank_is_an_error_for_one_dimension():
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, None)
        with pytest.raises(ValueError, match="rank .* is unknown; cannot read dimension -1"):
            shapes.dim(x, -1)
