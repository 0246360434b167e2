"""Variational (locked) dropout and embedding dropout.

Dropout whose mask does not change along time (Gal & Ghahramani, 2016, "A
Theoretically Grounded Application of Dropout in Recurrent Neural Networks";
AWD-LSTM's LockedDropout and embedded_dropout):

    y[b, t, d] = x[b, t, d] * m[b, d] / keep,    m[b, d] ~ Bernoulli(keep)

Three forms:

* `VariationalDropout(input_shape, keep_prob)`: the mask lives in a variable
  and stays fixed across `session.run` calls until `get_update_mask_op()` runs
  (for use inside a cell at every step, or on whole `[batch, time, depth]`
  tensors);
* `locked_dropout(x, keep_prob)`: one fresh mask per run, shaped
  `[batch, 1, depth]` from the dynamic batch size, broadcast over time;
* `embedding_dropout(params, ids, keep_prob)`: drops whole rows of an embedding
  matrix, i.e. every occurrence of a word in the batch.

    import tensorflow as tf
    import awdrnn

    x = tf.random.normal([8, 20, 32])
    vd = awdrnn.VariationalDropout([8, 32], keep_prob=0.75)
    y = vd(x)                            # same mask for all 20 steps and all runs
    update = vd.get_update_mask_op()     # sess.run(update) draws a new one
    z = awdrnn.locked_dropout(x, 0.75)   # fresh mask each run, any batch size
"""

import tensorflow as tf

from awdrnn import dropout_masks
from awdrnn.graph_context import GraphCache


def _scale(x, mask, keep_prob):
    return x * (mask / tf.cast(keep_prob, x.dtype))


def _maybe_drop(keep_prob, training, drop_fn, x):
    """Applies `drop_fn()` unless switched off by `training` or `keep_prob == 1`.

    A tensor `keep_prob` equal to 1 at run time (e.g. fed for evaluation) also
    returns `x` unchanged, whatever mask a variable holds.
    """
    if dropout_masks.is_one(keep_prob) or training is False:
        return x
    active = training
    if not isinstance(keep_prob, float):
        active = tf.less(keep_prob, 1.0)
        if training is not True:
            active = tf.logical_and(active, training)
    if active is True:
        return drop_fn()
    return tf.cond(active, drop_fn, lambda: tf.identity(x))


def _check_dropout_input(x, name):
    x = tf.convert_to_tensor(x, name=name)
    if not x.dtype.is_floating:
        raise TypeError(f"{name} must be floating point, got dtype {x.dtype.name}.")
    return x


class VariationalDropout:
    """Dropout with a mask held in a variable, reused until explicitly resampled.

    Args:
      input_shape: shape of the mask: `[batch, depth]` (one mask per example)
        or `[depth]` (one mask shared by the whole batch). Fully defined.
      keep_prob: keep rate, Python float in (0, 1] or scalar float tensor (a
        placeholder lets one graph serve training and evaluation; when it is 1
        the input passes unchanged).
      dtype: floating dtype of the mask and of the inputs.
      training: Python bool or scalar bool tensor; False passes inputs through.
      name: name of the mask variable.
      seed: optional op seed.

    Applied as `x * mask / keep_prob` to `[batch, depth]` tensors (e.g. inside a
    cell, same mask at every step) or `[batch, time, depth]` tensors (batch-major,
    mask broadcast over time). The mask variable is a local variable, see
    `awdrnn.dropout_masks`.
    """

    def __init__(self, input_shape, keep_prob, dtype=tf.float32, training=True,
                 name="variational_dropout_mask", seed=None):
        shape = tf.TensorShape(input_shape)
        if shape.rank not in (1, 2) or not shape.is_fully_defined():
            raise ValueError(
                "input_shape must be a fully defined [batch, depth] or [depth], got "
                f"{input_shape!r}.")
        self._keep_prob = dropout_masks.check_keep_prob(keep_prob)
        self._dtype = dropout_masks.check_float_dtype(dtype)
        self._training = dropout_masks.check_training(training)
        self._mask = dropout_masks.PersistentMask(
            shape, self._keep_prob, self._dtype, name=name, seed=seed)
        self._read_cache = GraphCache()

    @property
    def mask_variable(self):
        return self._mask.variable

    @property
    def keep_prob(self):
        return self._keep_prob

    def _check_shape(self, x):
        mask_shape = self._mask.shape
        if x.shape.rank not in (2, 3):
            raise ValueError(
                "VariationalDropout inputs must be [batch, depth] or "
                f"[batch, time, depth], got shape {x.shape}.")
        expected = [mask_shape[0], mask_shape[-1]] if mask_shape.rank == 2 else [None, mask_shape[0]]
        got = [x.shape[0], x.shape[-1]]
        for want, have, what in zip(expected, got, ("batch", "depth")):
            if want is not None and have is not None and want != have:
                raise ValueError(
                    f"input shape {x.shape} does not match the mask shape "
                    f"{mask_shape} ({what}: {have} vs {want}).")
        if x.dtype != self._dtype:
            raise TypeError(
                f"input dtype {x.dtype.name} differs from the mask dtype "
                f"{self._dtype.name}; pass dtype= to VariationalDropout.")

    def __call__(self, x):
        """Returns `x * mask / keep_prob` (mask broadcast over time for rank 3)."""
        x = _check_dropout_input(x, "x")
        self._check_shape(x)

        def drop():
            mask = self._read_cache.get("mask", self._mask.read)
            if x.shape.rank == 3:
                mask = mask[:, None, :] if mask.shape.rank == 2 else mask
            return _scale(x, mask, self._keep_prob)

        return _maybe_drop(self._keep_prob, self._training, drop, x)

    def get_update_mask_op(self):
        """The cached op that resamples the mask (same ordering rules as the cells)."""
        return self._mask.update_op()


def locked_dropout(x, keep_prob, training=True, time_major=False, seed=None):
    """Locked dropout: one mask per sequence, the same at every time step.

    Args:
      x: `[batch, time, depth]` (or `[time, batch, depth]` with `time_major`).
      keep_prob: Python float in (0, 1] or scalar float tensor.
      training: Python bool or scalar bool tensor; False returns `x`.
      time_major: layout of `x`.
      seed: optional op seed.

    Returns:
      `x * m / keep_prob` with `m` of shape `[batch, 1, depth]` (`[1, batch,
      depth]` time-major), drawn anew at every `session.run`.
    """
    x = _check_dropout_input(x, "x")
    keep_prob = dropout_masks.check_keep_prob(keep_prob)
    training = dropout_masks.check_training(training)
    if x.shape.rank != 3:
        raise ValueError(
            f"locked_dropout expects x of rank 3 [batch, time, depth], got shape {x.shape}.")

    def drop():
        shape = tf.shape(x)
        if time_major:
            mask_shape = tf.stack([1, shape[1], shape[2]])
        else:
            mask_shape = tf.stack([shape[0], 1, shape[2]])
        mask = dropout_masks.bernoulli_mask(mask_shape, keep_prob, x.dtype, seed)
        return _scale(x, mask, keep_prob)

    return _maybe_drop(keep_prob, training, drop, x)


def embedding_dropout(params, ids, keep_prob, training=True, seed=None):
    """Embedding lookup with whole rows of the embedding matrix dropped.

    Equivalent to `tf.nn.embedding_lookup(params * m[:, None] / keep_prob, ids)`
    with `m ~ Bernoulli(keep_prob)` of shape `[vocab_size]` drawn once per run:
    a dropped word is zero at every occurrence in the batch (AWD-LSTM's
    `embedded_dropout`). Only the looked-up rows are masked, so the gradient to
    `params` stays sparse.

    Args:
      params: embedding matrix `[vocab_size, emb_dim]` (variable or tensor).
      ids: integer ids, any shape `S`.
      keep_prob: Python float in (0, 1] or scalar float tensor.
      training: Python bool or scalar bool tensor.
      seed: optional op seed.

    Returns:
      `[*S, emb_dim]` embeddings.
    """
    keep_prob = dropout_masks.check_keep_prob(keep_prob)
    training = dropout_masks.check_training(training)
    if params.shape.rank != 2:
        raise ValueError(f"params must be [vocab_size, emb_dim], got shape {params.shape}.")
    if not params.dtype.is_floating:
        raise TypeError(f"params must be floating point, got dtype {params.dtype.name}.")
    ids = tf.convert_to_tensor(ids)
    if not ids.dtype.is_integer:
        raise TypeError(f"ids must be integers, got dtype {ids.dtype.name}.")
    emb = tf.nn.embedding_lookup(params, ids)
    dtype = params.dtype.base_dtype

    def drop():
        vocab = tf.shape(params, out_type=ids.dtype)[0]
        row_mask = dropout_masks.bernoulli_mask(tf.reshape(vocab, [1]), keep_prob, dtype, seed)
        return _scale(emb, tf.gather(row_mask, ids)[..., None], keep_prob)

    return _maybe_drop(keep_prob, training, drop, emb)
