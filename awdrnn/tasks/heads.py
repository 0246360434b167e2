"""Classifier and regressor heads (fastai v1 `PoolingLinearClassifier`), their losses and labels.

A head is a stack of blocks on pooled encoder features
(`awdrnn.tasks.pooling.concat_pooling`); block `i` with `(n_out, keep)` is

    x = BatchNorm(x);  x = dropout(x, keep);  x = x W + b;  x = relu(x) but after the last

(fastai's `bn_drop_lin`). BatchNorm follows PyTorch's `BatchNorm1d`: in
training it normalises with the batch mean and biased variance and its update
op moves the running statistics by PyTorch's rule (momentum 0.1, unbiased
variance); in evaluation it uses the running statistics. The update ops are
in `tf.compat.v1.GraphKeys.UPDATE_OPS` and `head_update_ops(scope)` returns a
head's own: the train op must run them (a head whose running statistics are
never updated normalises evaluation batches with mean 0 and variance 1).

    import numpy as np
    import tensorflow as tf
    from awdrnn.tasks import heads

    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 12])
        training = tf.compat.v1.placeholder_with_default(False, [])
        logits = heads.linear_blocks(x, sizes=[8, 3], keep_probs=[0.6, 0.9],
                                     training=training, seed=1)
        labels = tf.constant([0, 2, 1, 1])
        loss = heads.classification_loss(logits, labels, label_smoothing=0.1)
        step = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(loss)
        train_op = tf.group(step, *heads.head_update_ops("head"))
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(train_op, {x: np.ones([4, 12]), training: True})
    scaler = heads.LabelScaler.fit([1.0, 5.0, 3.0])
    print(scaler.scale(np.array([1.0, 3.0, 5.0])), scaler.to_dict())
    # [0.  0.5 1. ] {'low': 1.0, 'high': 5.0}
"""

import collections
import math
import numbers
import re

import numpy as np
import tensorflow as tf

from awdrnn import dropout_masks
from awdrnn import shapes

LOSS_KINDS = ("mse", "mae")
UPDATE_OP_NAME = "update_moving_stats"

BatchNormOutput = collections.namedtuple("BatchNormOutput", ["output", "update_op"])
BatchNormOutput.__doc__ = ("`batch_norm`'s value: the normalised `output` `[batch, features]` "
                           "and the `update_op` of the running statistics.")


def _check_features(x, name):
    x = tf.convert_to_tensor(x, name=name)
    if not x.dtype.is_floating:
        raise TypeError(f"{name} must be floating point, got dtype {x.dtype.name}.")
    if x.shape.rank != 2 or shapes.dim(x, -1) is None:
        raise ValueError(
            f"{name} must be [batch, features] with a known number of features, got "
            f"shape {x.shape}.")
    return x


def _number(name, value, low, high, high_open=True, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    value = float(value)
    bad_low = value <= low if low_open else value < low
    bad_high = value >= high if high_open else value > high
    if math.isnan(value) or bad_low or bad_high:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}.")
    return value


def batch_norm(x, training, momentum=0.1, epsilon=1e-5, name="batch_norm"):
    """PyTorch's `BatchNorm1d` on `[batch, features]`, with its update op.

    With the batch mean `mu`, biased variance `var = mean((x - mu)^2)` and
    unbiased variance `var * n / (n - 1)` over the `n` rows:

        training:   y = gamma * (x - mu) / sqrt(var + epsilon) + beta
        evaluation: y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta
        update (training):
            moving_mean     <- (1 - momentum) * moving_mean     + momentum * mu
            moving_variance <- (1 - momentum) * moving_variance + momentum * var * n / (n - 1)

    In evaluation the update op leaves both unchanged (with a tensor
    `training` fed False it writes their own values back; with the Python
    bool False it is a `no_op`). A batch of one row in training takes
    `n - 1` as 1 (PyTorch refuses such a batch), so its unbiased variance is 0.

    Variables, under the variable scope `name`: `gamma` (ones) and `beta`
    (zeros), trainable; `moving_mean` (zeros) and `moving_variance` (ones),
    not trainable but global, so a default `tf.compat.v1.train.Saver()` saves
    them.

    The update op is returned (`BatchNormOutput.update_op`) and added to
    `tf.compat.v1.GraphKeys.UPDATE_OPS`, named `<variable scope>/
    update_moving_stats`, so `head_update_ops(scope)` (or
    `tf.compat.v1.get_collection(UPDATE_OPS, scope)`) finds it by the name
    its variables start with. Run it with the train op, e.g.
    `tf.group(train_op, update_op)`: it reads `x`, so it needs the same feed.

    Args:
      x: `[batch, features]` float, `features` known statically.
      training: Python bool or scalar bool tensor.
      momentum: PyTorch's momentum in [0, 1] (the weight of the new batch).
      epsilon: added to the variance, > 0.
      name: variable scope.

    Returns:
      `BatchNormOutput(output, update_op)`; `output` is `[batch, features]`.

    Raises:
      TypeError / ValueError: bad `x`, `training`, `momentum` or `epsilon`.
    """
    x = _check_features(x, "x")
    training = dropout_masks.check_training(training)
    momentum = _number("momentum", momentum, 0.0, 1.0, high_open=False)
    epsilon = _number("epsilon", epsilon, 0.0, math.inf, low_open=True)
    dtype = x.dtype.base_dtype
    features = shapes.dim(x, -1)
    with tf.compat.v1.variable_scope(name) as scope:
        def var(var_name, init, trainable):
            return tf.compat.v1.get_variable(
                var_name, [features], dtype=dtype, initializer=init, trainable=trainable)

        gamma = var("gamma", tf.compat.v1.ones_initializer(), True)
        beta = var("beta", tf.compat.v1.zeros_initializer(), True)
        moving_mean = var("moving_mean", tf.compat.v1.zeros_initializer(), False)
        moving_variance = var("moving_variance", tf.compat.v1.ones_initializer(), False)

        def batch_moments():
            mean, variance = tf.nn.moments(x, axes=[0])
            return mean, variance

        def moving_moments():
            return tf.identity(moving_mean), tf.identity(moving_variance)

        def normalise(moments_fn):
            mean, variance = moments_fn()
            return tf.nn.batch_normalization(x, mean, variance, beta, gamma, epsilon)

        output = dropout_masks.select_training(
            training, lambda: normalise(batch_moments), lambda: normalise(moving_moments))

        def new_moments():
            mean, variance = batch_moments()
            n = tf.cast(tf.shape(x)[0], dtype)
            unbiased = variance * n / tf.maximum(n - 1, tf.ones_like(n))
            return ((1 - momentum) * moving_mean + momentum * mean,
                    (1 - momentum) * moving_variance + momentum * unbiased)

        with tf.compat.v1.name_scope(scope.name + "/"):
            if training is False:
                update = tf.no_op(name=UPDATE_OP_NAME)
            else:
                mean, variance = dropout_masks.select_training(
                    training, new_moments, moving_moments)
                update = tf.group(
                    tf.compat.v1.assign(moving_mean, mean),
                    tf.compat.v1.assign(moving_variance, variance),
                    name=UPDATE_OP_NAME)
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, update)
    return BatchNormOutput(output, update)


def head_update_ops(scope="head", graph=None):
    """The BatchNorm update ops of the head built under variable scope `scope`.

    Args:
      scope: the full name of the head's variable scope (what its variables'
        names start with, e.g. "head" or "classifier/head"), or a
        `tf.compat.v1.VariableScope`.
      graph: the graph (default: the default graph).

    Returns:
      The list of ops of `UPDATE_OPS` whose names start with `scope + "/"`,
      in creation order; group them with the train op.
    """
    if isinstance(scope, tf.compat.v1.VariableScope):
        scope = scope.name
    if not isinstance(scope, str) or not scope:
        raise ValueError(f"scope must be a non-empty variable scope name, got {scope!r}.")
    graph = graph or tf.compat.v1.get_default_graph()
    prefix = re.escape(scope.rstrip("/") + "/")
    return graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, prefix)


def _dropout(x, keep_prob, training, seed):
    """Inverted dropout `x * m / keep`, `m ~ Bernoulli(keep)` per element, in training only."""
    if dropout_masks.is_one(keep_prob) or training is False:
        return x

    def drop():
        mask = dropout_masks.bernoulli_mask(tf.shape(x), keep_prob, x.dtype, seed)
        return x * (mask / tf.cast(keep_prob, x.dtype))

    return dropout_masks.select_training(training, drop, lambda: tf.identity(x))


def _check_sizes(sizes, keep_probs):
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (list, tuple)) or not sizes:
        raise ValueError(f"sizes must be a non-empty list of positive ints, got {sizes!r}.")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(
                f"sizes must be a non-empty list of positive ints, got {sizes!r} "
                f"(bad entry {size!r}).")
    if isinstance(keep_probs, (str, bytes)) or not isinstance(keep_probs, (list, tuple)):
        raise ValueError(f"keep_probs must be a list of keep rates, got {keep_probs!r}.")
    if len(keep_probs) != len(sizes):
        raise ValueError(
            f"sizes and keep_probs must have the same length (one keep rate per block), "
            f"got {len(sizes)} sizes {list(sizes)} and {len(keep_probs)} keep rates "
            f"{list(keep_probs)}.")
    return [int(s) for s in sizes], [
        dropout_masks.check_keep_prob(k, f"keep_probs[{i}]") for i, k in enumerate(keep_probs)]


def linear_blocks(x, sizes, keep_probs, training, seed=None, scope="head"):
    """fastai's `PoolingLinearClassifier` body: BatchNorm, dropout, dense, ReLU per block.

    For block `i` with `n_out = sizes[i]` and `keep = keep_probs[i]`:

        x = batch_norm(x, training)                     # see `batch_norm`
        x = x * m / keep,  m ~ Bernoulli(keep)          # training only
        x = x W_i + b_i,   W_i [n_in, n_out], b_i [n_out]
        x = relu(x)                                     # all blocks but the last

    `W_i` and `b_i` start as PyTorch's `nn.Linear`: U(-1/sqrt(n_in),
    1/sqrt(n_in)). Variables: `scope/block<i>/batch_norm/{gamma, beta,
    moving_mean, moving_variance}` and `scope/block<i>/dense/{kernel, bias}`.
    The BatchNorm update ops: `head_update_ops(scope)` (see `batch_norm`).

    Args:
      x: `[batch, n_in]` float, e.g. `concat_pooling`'s output.
      sizes: output units of each block, e.g. `[50, n_classes]`.
      keep_probs: keep rate of each block's dropout (1 - fastai's `ps`), each
        a Python float in (0, 1] or a scalar float tensor.
      training: Python bool or scalar bool tensor (dropout and batch statistics).
      seed: optional op seed; each initializer and dropout op gets its own
        seed derived from it (`dropout_masks.derive_seed`).
      scope: variable scope of the head.

    Returns:
      The last block's output `[batch, sizes[-1]]` (logits or scores).

    Raises:
      ValueError / TypeError: bad `x`, `sizes`, `keep_probs` or `training`.
    """
    x = _check_features(x, "x")
    sizes, keep_probs = _check_sizes(sizes, keep_probs)
    training = dropout_masks.check_training(training)
    dtype = x.dtype.base_dtype
    with tf.compat.v1.variable_scope(scope):
        for i, (n_out, keep) in enumerate(zip(sizes, keep_probs)):
            with tf.compat.v1.variable_scope(f"block{i}"):
                x = batch_norm(x, training).output
                x = _dropout(x, keep, training, dropout_masks.derive_seed(seed, 3 * i + 3))
                n_in = shapes.dim(x, -1)
                bound = 1.0 / math.sqrt(n_in)
                with tf.compat.v1.variable_scope("dense"):
                    def init(salt):
                        return tf.compat.v1.random_uniform_initializer(
                            -bound, bound, seed=dropout_masks.derive_seed(seed, salt))

                    kernel = tf.compat.v1.get_variable(
                        "kernel", [n_in, n_out], dtype=dtype, initializer=init(3 * i + 1))
                    bias = tf.compat.v1.get_variable(
                        "bias", [n_out], dtype=dtype, initializer=init(3 * i + 2))
                    x = tf.matmul(x, kernel) + bias
                if i < len(sizes) - 1:
                    x = tf.nn.relu(x)
    return x


def classification_loss(logits, labels, label_smoothing=0.0):
    """Mean (label-smoothed) softmax cross-entropy over the batch.

    fastai's `LabelSmoothingCrossEntropy` (as MultiFiT trains with), for
    `K` classes and `eps = label_smoothing`:

        loss = mean_b [(1 - eps) * -log p_b[labels_b] + eps * mean_k -log p_b[k]]

    with `p_b = softmax(logits_b)`; `eps = 0` is plain sparse softmax
    cross-entropy.

    Args:
      logits: `[batch, K]` float.
      labels: `[batch]` ints in [0, K).
      label_smoothing: `eps` in [0, 1).

    Returns:
      A scalar.

    Raises:
      TypeError / ValueError: bad dtypes or ranks, or `eps` outside [0, 1).
    """
    eps = _number("label_smoothing", label_smoothing, 0.0, 1.0)
    logits = tf.convert_to_tensor(logits, name="logits")
    labels = tf.convert_to_tensor(labels, name="labels")
    if not logits.dtype.is_floating or logits.shape.rank != 2:
        raise ValueError(
            f"logits must be a float [batch, classes] tensor, got {logits.dtype.name} "
            f"of shape {logits.shape}.")
    if not labels.dtype.is_integer or labels.shape.rank != 1:
        raise ValueError(
            f"labels must be an int [batch] tensor of class ids, got {labels.dtype.name} "
            f"of shape {labels.shape}.")
    with tf.compat.v1.name_scope("classification_loss"):
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        if eps == 0.0:
            return tf.reduce_mean(nll)
        smooth = -tf.reduce_mean(tf.nn.log_softmax(logits), axis=-1)
        return tf.reduce_mean((1.0 - eps) * nll + eps * smooth)


def regression_loss(predictions, targets, kind="mse"):
    """Mean squared ("mse") or absolute ("mae") error over the batch.

        mse = mean_b (predictions_b - targets_b)^2,   mae = mean_b |predictions_b - targets_b|

    Args:
      predictions: `[batch]` float.
      targets: `[batch]` (cast to the predictions' dtype).
      kind: "mse" or "mae".

    Returns:
      A scalar.

    Raises:
      ValueError: `kind` unknown, or a rank other than 1 (a `[batch, 1]`
        against a `[batch]` would broadcast to `[batch, batch]`).
    """
    if kind not in LOSS_KINDS:
        raise ValueError(f"kind must be one of {LOSS_KINDS}, got {kind!r}.")
    predictions = tf.convert_to_tensor(predictions, name="predictions")
    if not predictions.dtype.is_floating:
        raise TypeError(
            f"predictions must be floating point, got dtype {predictions.dtype.name}.")
    targets = tf.cast(targets, predictions.dtype)
    for what, tensor in (("predictions", predictions), ("targets", targets)):
        if tensor.shape.rank != 1:
            raise ValueError(
                f"{what} must be [batch] (rank 1), got shape {tensor.shape}; take "
                "scores[:, 0] of a [batch, 1] head output.")
    with tf.compat.v1.name_scope(f"regression_loss_{kind}"):
        error = predictions - targets
        return tf.reduce_mean(tf.square(error) if kind == "mse" else tf.abs(error))


class LabelScaler:
    """Regression labels scaled to [0, 1] and back.

        scale(y)   = (y - low) / (high - low)
        unscale(s) = low + s * (high - low)

    `LabelScaler.fit(train_labels)` takes `low, high` = min, max;
    `LabelScaler.identity()` (low 0, high 1) changes nothing, for training on
    raw labels. `to_dict()` / `from_dict()` store it as JSON.

    Args:
      low, high: finite numbers, `low < high`.
    """

    def __init__(self, low, high):
        for name, value in (("low", low), ("high", high)):
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value)):
                raise ValueError(f"LabelScaler {name} must be a finite number, got {value!r}.")
        if not low < high:
            raise ValueError(
                f"LabelScaler needs low < high, got low={low!r}, high={high!r}.")
        self.low = float(low)
        self.high = float(high)

    @classmethod
    def identity(cls):
        """The scaler that changes nothing (low 0, high 1)."""
        return cls(0.0, 1.0)

    @classmethod
    def fit(cls, labels):
        """The scaler from the smallest to the largest of `labels`.

        Raises:
          ValueError: no labels, non-finite labels, or all labels equal (nothing
            to scale between; train on raw labels with `LabelScaler.identity()`).
        """
        values = np.asarray(labels, dtype=np.float64).ravel()
        if values.size == 0:
            raise ValueError("LabelScaler.fit needs at least one label, got none.")
        if not np.all(np.isfinite(values)):
            bad = float(values[~np.isfinite(values)][0])
            raise ValueError(f"LabelScaler.fit needs finite labels, got {bad!r}.")
        low, high = float(values.min()), float(values.max())
        if low == high:
            raise ValueError(
                f"LabelScaler.fit: all {values.size} labels are equal ({low!r}), so there "
                "is no range to scale to [0, 1]; use LabelScaler.identity() (no "
                "normalisation) or labels with at least two distinct values.")
        return cls(low, high)

    @property
    def is_identity(self):
        return self.low == 0.0 and self.high == 1.0

    def scale(self, y):
        """`(y - low) / (high - low)` of a NumPy array (or number), as floats."""
        y = np.asarray(y)
        if not np.issubdtype(y.dtype, np.floating):
            y = y.astype(np.float64)
        return (y - self.low) / (self.high - self.low)

    def unscale(self, s):
        """`low + s * (high - low)`: scaled values (e.g. predictions) back to labels."""
        s = np.asarray(s)
        if not np.issubdtype(s.dtype, np.floating):
            s = s.astype(np.float64)
        return self.low + s * (self.high - self.low)

    def to_dict(self):
        """`{"low": low, "high": high}` (JSON-able)."""
        return {"low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, d):
        """The scaler of `to_dict()`'s value.

        Raises:
          ValueError: not a dict with numbers "low" and "high".
        """
        if not isinstance(d, dict) or not {"low", "high"} <= set(d):
            raise ValueError(
                f"LabelScaler.from_dict needs a dict with keys 'low' and 'high', got {d!r}.")
        return cls(d["low"], d["high"])

    def __eq__(self, other):
        return (isinstance(other, LabelScaler)
                and (self.low, self.high) == (other.low, other.high))

    def __hash__(self):
        return hash((self.low, self.high))

    def __repr__(self):
        return f"LabelScaler(low={self.low!r}, high={self.high!r})"
