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
from awdrnn import shapes
from awdrnn.kernels.graph_context import GraphCache


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
      input_shape: shape of the mask, any fully defined shape: `[batch, depth]`
        (one mask per example), `[depth]` (one mask shared by the batch), the
        shape of a weight matrix, `[batch, 1, 1, channels]` for feature maps...
      keep_prob: keep rate, Python float in (0, 1] or scalar float tensor (a
        placeholder lets one graph serve training and evaluation; when it is 1
        the input passes unchanged).
      dtype: floating dtype of the mask and of the inputs.
      training: Python bool or scalar bool tensor; False passes inputs through.
      name: name of the mask variable.
      seed: optional op seed.

    Applied as `x * mask / keep_prob` to any `x` the mask broadcasts to
    (NumPy rules: trailing axes aligned, mask axes of size 1 repeated), the
    output having `x`'s shape. One addition: a `[batch, depth]` mask over a
    `[batch, time, depth]` input is read as `[batch, 1, depth]`, the same mask
    at every step (for a per-step mask over rank-3 inputs give
    `[1, time, depth]`). The mask variable is a local variable, see
    `awdrnn.dropout_masks`.

    Raises:
      ValueError: `input_shape` not fully defined; at call time, an input the
        mask cannot broadcast to (both shapes in the message).
    """

    def __init__(self, input_shape, keep_prob, dtype=tf.float32, training=True,
                 name="variational_dropout_mask", seed=None):
        try:
            shape = tf.TensorShape(input_shape)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"input_shape must be a fully defined shape, got {input_shape!r} "
                f"({error}).") from None
        if not shape.is_fully_defined():
            raise ValueError(f"input_shape must be a fully defined shape, got {input_shape!r}.")
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

    def _mask_dims(self, x):
        """The mask's dims as applied to `x` (`[b, d]` over rank 3 -> `[b, 1, d]`)."""
        mask_dims = shapes.dims(self._mask.shape)
        if len(mask_dims) == 2 and x.shape.rank == 3:
            return [mask_dims[0], 1, mask_dims[1]]
        return mask_dims

    def _check_shape(self, x):
        """Checks that the mask broadcasts to `x`; returns `x`'s shape with the
        unknown axes the mask fixes filled in (for a run-time check)."""
        if x.dtype != self._dtype:
            raise TypeError(
                f"input dtype {x.dtype.name} differs from the mask dtype "
                f"{self._dtype.name}; pass dtype= to VariationalDropout.")
        x_dims = shapes.dims(x)
        mask_dims = self._mask_dims(x) if x_dims is not None else None
        if x_dims is None or len(mask_dims) > len(x_dims):
            raise ValueError(
                f"VariationalDropout's mask of shape {self._mask.shape} cannot be "
                f"applied to inputs of shape {x.shape}: the inputs need a known rank "
                f"of at least {self._mask.shape.rank}.")
        needed = list(x_dims)
        for axis in range(1, len(mask_dims) + 1):
            want, have = mask_dims[-axis], x_dims[-axis]
            if want == 1:
                continue
            if have is None:
                needed[-axis] = want
            elif have != want:
                raise ValueError(
                    f"VariationalDropout's mask of shape {self._mask.shape} does not "
                    f"broadcast to inputs of shape {x.shape} (axis {len(x_dims) - axis}: "
                    f"mask {want}, inputs {have}); give a mask shape whose axes "
                    "equal the inputs' or are 1.")
        return needed

    def __call__(self, x):
        """Returns `x * mask / keep_prob`, with `x`'s shape."""
        x = _check_dropout_input(x, "x")
        needed = self._check_shape(x)
        if needed != shapes.dims(x):
            x = tf.ensure_shape(x, needed)  # unknown axes that the mask fixes

        def drop():
            mask = self._read_cache.get("mask", self._mask.read)
            return _scale(x, tf.reshape(mask, self._mask_dims(x)), self._keep_prob)

        return _maybe_drop(self._keep_prob, self._training, drop, x)

    def get_update_mask_op(self):
        """The update that resamples the mask: a `dropout_masks.MaskUpdate` (a new
        list around one cached op; same ordering rules as the cells'
        `get_vd_update_op()`)."""
        return dropout_masks.MaskUpdate(self._mask.update_op())


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
