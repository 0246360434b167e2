"""Concat pooling of encoder outputs over the real (non-pad) tokens (ULMFiT, section 3.3).

The classifier head of ULMFiT (fastai v1 `PoolingLinearClassifier`) reads the
last layer's outputs `H = [h_1, ..., h_T]` of a document through

    h_c = [h_last, maxpool(H), meanpool(H)]                        # [batch, 3 * units]

where, for each row, `h_last` is the output at the *last real position* (the
last `t` with `mask[b, t]` True, so right-, left- or both-side padding all
give the right token) and the max / mean run over the real positions only.
Pads change neither the result nor get any gradient (exactly zero there).

    import numpy as np
    import tensorflow as tf
    from awdrnn.tasks import pooling

    with tf.Graph().as_default():
        ids = tf.constant([[5, 6, 7], [8, 1, 1]])           # pad id 1
        outputs = tf.constant(np.arange(12, dtype=np.float32).reshape(2, 3, 2))
        pooled = pooling.concat_pooling(outputs, pooling.padding_mask(ids))
        with tf.compat.v1.Session() as sess:
            print(sess.run(pooled))
    # [[4. 5. 4. 5. 2. 3.]
    #  [6. 7. 6. 7. 6. 7.]]
"""

import tensorflow as tf

from awdrnn import shapes

PAD_ID = 1  # fastai's padding id (`awdrnn.tasks.bpt3c.PAD_ID`)


def padding_mask(ids, pad_id=PAD_ID):
    """True on the real tokens of a batch of ids.

    Args:
      ids: `[batch, time]` integer ids.
      pad_id: the padding id (fastai: 1).

    Returns:
      `[batch, time]` bool, `mask[b, t] = ids[b, t] != pad_id`.

    Raises:
      TypeError: `ids` not integers.
      ValueError: `ids` not of rank 2.
    """
    ids = tf.convert_to_tensor(ids, name="ids")
    if not ids.dtype.is_integer:
        raise TypeError(f"ids must be integers, got dtype {ids.dtype.name}.")
    if ids.shape.rank not in (None, 2):
        raise ValueError(f"ids must be [batch, time], got shape {ids.shape}.")
    return tf.not_equal(ids, tf.cast(pad_id, ids.dtype), name="padding_mask")


def _check_inputs(outputs, mask):
    outputs = tf.convert_to_tensor(outputs, name="outputs")
    mask = tf.convert_to_tensor(mask, name="mask")
    if not outputs.dtype.is_floating:
        raise TypeError(f"outputs must be floating point, got dtype {outputs.dtype.name}.")
    if outputs.shape.rank != 3:
        raise ValueError(
            f"outputs must be [batch, time, units] (rank 3), got shape {outputs.shape}.")
    if mask.dtype != tf.bool:
        raise TypeError(
            f"mask must be a bool tensor (True on real tokens, e.g. padding_mask(ids)), "
            f"got dtype {mask.dtype.name}.")
    if mask.shape.rank != 2:
        raise ValueError(f"mask must be [batch, time] (rank 2), got shape {mask.shape}.")
    for axis, what in ((0, "batch"), (1, "time")):
        have, want = shapes.dim(mask, axis), shapes.dim(outputs, axis)
        if have is not None and want is not None and have != want:
            raise ValueError(
                f"mask {mask.shape} and outputs {outputs.shape} differ in the {what} "
                f"axis ({have} vs {want}); the mask needs one entry per output step.")
    return outputs, mask


def concat_pooling(outputs, mask, name="concat_pooling"):
    """ULMFiT's `[h_last, max-pool, mean-pool]` over the real positions of each row.

    For row `b`, with `R_b = {t : mask[b, t]}` and `last_b = max R_b`:

        h_last[b] = outputs[b, last_b]
        max[b]    = max_{t in R_b} outputs[b, t]                   (per unit)
        mean[b]   = sum_{t in R_b} outputs[b, t] / |R_b|

    A row with no real token (`R_b` empty) pools to zeros (all three parts),
    with zero gradient: no NaN or inf. The values at pads may be anything
    (even inf or NaN): they reach neither the result nor, through
    `tf.where`, the gradient, which is exactly zero at every pad.

    Args:
      outputs: `[batch, time, units]` float; batch and time may be dynamic.
      mask: `[batch, time]` bool, True on real tokens (`padding_mask(ids)`).
      name: name scope of the ops.

    Returns:
      `[batch, 3 * units]`, the static `units` kept (`3 * units` when known).

    Raises:
      TypeError: `outputs` not floating point or `mask` not bool.
      ValueError: ranks other than 3 / 2, or static batch / time that differ.
    """
    outputs, mask = _check_inputs(outputs, mask)
    with tf.compat.v1.name_scope(name):
        dtype = outputs.dtype
        real = mask[:, :, None]                                     # [batch, time, 1]
        any_real = tf.reduce_any(mask, axis=1, keepdims=True)       # [batch, 1]
        zeros = tf.zeros_like(outputs)
        # h_last: the output at the last True position (-1 for an empty row, clipped
        # to 0 for the gather, then replaced by zeros).
        positions = tf.range(tf.shape(mask)[1])[None, :]
        last = tf.reduce_max(tf.where(mask, positions, -tf.ones_like(positions)), axis=1)
        h_last = tf.gather(outputs, tf.maximum(last, 0), axis=1, batch_dims=1)
        h_last = tf.where(any_real, h_last, tf.zeros_like(h_last))
        # max over the real positions (pads replaced by the lowest value).
        lowest = tf.fill(tf.shape(outputs), tf.constant(dtype.min, dtype))
        max_pool = tf.reduce_max(tf.where(real, outputs, lowest), axis=1)
        max_pool = tf.where(any_real, max_pool, tf.zeros_like(max_pool))
        # mean over the real positions (an empty row: 0 / 1).
        count = tf.reduce_sum(tf.cast(mask, dtype), axis=1, keepdims=True)
        mean_pool = (tf.reduce_sum(tf.where(real, outputs, zeros), axis=1)
                     / tf.maximum(count, tf.ones_like(count)))
        pooled = tf.concat([h_last, max_pool, mean_pool], axis=-1)
        units = shapes.dim(outputs, -1)
        if units is not None:
            pooled.set_shape([None, 3 * units])
        return pooled
