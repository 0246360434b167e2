"""Static dimensions as plain Python ints, in both TensorFlow worlds.

Under TensorFlow 2's behaviour `x.shape[i]` is an `int` (or None); under
`tf.compat.v1.disable_v2_behavior()` it is a `tf.compat.v1.Dimension`, which
does not convert to a tensor (`tf.split(x, [x.shape[0] - 4, 4])` raises
`TypeError: Failed to convert elements of [Dimension(6), 4] to Tensor`) and
whose comparisons with an unknown dimension give None instead of a bool. The
library reads every static dimension through this module:

    depth = shapes.dim(x, -1)        # int, or None when unknown
    batch, time = shapes.dims(x)[:2]
"""

import tensorflow as tf


def dims(value):
    """The static dimensions of a tensor, variable or shape as a list of ints/None.

    Args:
      value: anything with a `.shape` (tensor, variable), a `tf.TensorShape`,
        or a list of ints / `Dimension`s / None.

    Returns:
      A list with one `int` or `None` per axis, or None when the rank is unknown.
    """
    shape = tf.TensorShape(getattr(value, "shape", value))
    if shape.rank is None:
        return None
    return [tf.compat.dimension_value(d) for d in shape]


def dim(value, axis):
    """One static dimension of `value` (as for `dims`) as an int, or None if unknown.

    Raises:
      ValueError: the rank of `value` is unknown.
    """
    shape = tf.TensorShape(getattr(value, "shape", value))
    if shape.rank is None:
        raise ValueError(f"the rank of {value!r} is unknown; cannot read dimension {axis}.")
    return tf.compat.dimension_value(shape[axis])
