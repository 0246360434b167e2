"""Gradient clipping by global norm, with sparse gradients counted per row.

PyTorch's `clip_grad_norm_` (what the AWD-LSTM recipe uses) sees the dense
gradient of an embedding, in which the contributions of a word that occurs
several times in the batch are already summed. TF gives that gradient as
`IndexedSlices` with one row *per occurrence*, and `tf.clip_by_global_norm`
squares those rows one by one, so

    ||g||^2 = sum_w (sum_{occurrences of w} r)^2     (dense, PyTorch)
    !=        sum_{occurrences} ||r||^2              (IndexedSlices as given)

whenever a word repeats. `deduplicate` sums the rows of each id first (cheap:
one `unique` and one `unsorted_segment_sum` over the batch's rows, never a
`[vocab, dim]` tensor), after which both norms agree:

    grads, norm = clipping.clip_by_global_norm(tf.gradients(loss, params), 0.25)
"""

import tensorflow as tf


def deduplicate(grad):
    """`IndexedSlices` with the rows of repeated indices summed; other values unchanged.

    Args:
      grad: a gradient: tensor, `tf.IndexedSlices` (values `[n, ...]`, indices
        `[n]`) or None.

    Returns:
      `grad`, or `IndexedSlices(values [u, ...], unique indices [u])` with the
      same dense value.
    """
    if not isinstance(grad, tf.IndexedSlices):
        return grad
    ids, slot = tf.unique(grad.indices)
    values = tf.math.unsorted_segment_sum(grad.values, slot, tf.size(ids))
    return tf.IndexedSlices(values, ids, grad.dense_shape)


def clip_by_global_norm(grads, clip_norm):
    """`tf.clip_by_global_norm` on the dense values of `grads` (PyTorch's norm).

    Args:
      grads: list of gradients (tensors, `IndexedSlices` or None).
      clip_norm: float >= 0; 0 leaves the gradients unclipped.

    Returns:
      `(grads, global_norm)`: the (deduplicated, clipped) gradients and the norm
      before clipping, `sqrt(sum_i ||dense(g_i)||^2)`.
    """
    grads = [deduplicate(g) for g in grads]
    if clip_norm > 0:
        return tf.clip_by_global_norm(grads, clip_norm)
    return grads, tf.linalg.global_norm(grads)
