"""Bernoulli dropout masks: validation, sampling, and masks held in variables.

A *persistent* mask lives in a non-trainable variable and only changes when its
update op runs, so one mask serves many `session.run` calls (the "variational"
masks of Gal & Ghahramani, 2016, as the TF1 AWD-LSTM cells kept them):

    mask = PersistentMask([4, 8], keep_prob=0.75, dtype=tf.float32, name="m")
    x_dropped = x * mask.read() / 0.75     # same mask on every run ...
    sess.run(mask.update_op())             # ... until this resamples it

Mask variables live in the `tf.compat.v1.GraphKeys.LOCAL_VARIABLES`
collection, and in no other: not trainable (optimizers never see them), and
not in `GLOBAL_VARIABLES`, because a default `tf.compat.v1.train.Saver()` saves
every global variable; out of it, checkpoints hold exactly the stock cells'
variables and move both ways between `LSTMCell` and `WeightDropLSTMCell`.
`local_variables_initializer()` (which `MonitoredTrainingSession` and
`tf.compat.v1.train.Scaffold` run) draws their first sample; a program that
runs only `global_variables_initializer()`, as most TF1 code does, works too:
every read of a mask first initialises it if it is not initialised yet (one
`VarIsInitializedOp` and a `tf.cond` per run).
"""

import numbers

import numpy as np
import tensorflow as tf

from awdrnn.kernels.graph_context import outside_loops


def check_keep_prob(value, name="keep_prob"):
    """Validates a keep rate: a Python number in (0, 1] or a scalar float tensor.

    Returns:
      The value, as a Python float or a tensor.

    Raises:
      ValueError: a number outside (0, 1], or a tensor that is not a scalar.
      TypeError: neither a number nor a floating-point tensor.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a float in (0, 1], got the bool {value!r}.")
    if isinstance(value, (numbers.Real, np.floating, np.integer)):
        value = float(value)
        if not 0.0 < value <= 1.0:
            raise ValueError(
                f"{name} must be in (0, 1] (it is a keep rate, not a drop rate), "
                f"got {value!r}.")
        return value
    if isinstance(value, (tf.Tensor, tf.Variable)):
        if not value.dtype.is_floating:
            raise TypeError(
                f"{name} must be a floating-point tensor, got dtype {value.dtype.name}.")
        if value.shape.rank not in (None, 0):
            raise ValueError(f"{name} must be a scalar, got shape {value.shape}.")
        return value
    raise TypeError(
        f"{name} must be a float in (0, 1] or a scalar float tensor, got {value!r}.")


def check_training(value, name="training"):
    """Validates a training switch: a Python bool or a scalar bool tensor."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (tf.Tensor, tf.Variable)):
        if value.dtype != tf.bool:
            raise TypeError(
                f"{name} must be a Python bool or a bool tensor, got dtype "
                f"{value.dtype.name}.")
        if value.shape.rank not in (None, 0):
            raise ValueError(f"{name} must be a scalar, got shape {value.shape}.")
        return value
    raise TypeError(f"{name} must be a Python bool or a scalar bool tensor, got {value!r}.")


def check_float_dtype(dtype, name="dtype"):
    """Returns `tf.as_dtype(dtype)`; raises if it is not a floating type."""
    if dtype is None:
        return None
    dtype = tf.as_dtype(dtype)
    if not dtype.is_floating:
        raise TypeError(
            f"{name} must be a floating-point type (float16, bfloat16, float32 or "
            f"float64), got {dtype.name}.")
    return dtype


def is_one(keep_prob):
    """True when `keep_prob` is the Python number 1 (nothing to drop)."""
    return isinstance(keep_prob, float) and keep_prob == 1.0


def derive_seed(seed, salt):
    """Another op seed from `seed` for a second random op of one object (None stays None).

    Two random ops with the same op seed draw the same stream (their first
    values coincide), so each op of an object gets its own: `salt` 1, 2, ...
    give seeds far from the small ones (`seed`, `seed + 1`, ...) that callers
    hand out to neighbouring objects.
    """
    if seed is None:
        return None
    return (int(seed) * 1000003 + 7919 * int(salt)) % (2 ** 31 - 1)


def bernoulli_mask(shape, keep_prob, dtype, seed=None):
    """Samples a {0, 1} mask with P(1) = keep_prob: `floor(keep + U[0, 1))`."""
    keep = tf.cast(keep_prob, dtype)
    return tf.floor(keep + tf.random.uniform(shape, dtype=dtype, seed=seed))


def select_training(training, train_fn, eval_fn):
    """`train_fn()` or `eval_fn()` as chosen by a bool or a bool tensor."""
    if isinstance(training, bool):
        return train_fn() if training else eval_fn()
    return tf.cond(training, train_fn, eval_fn)


class MaskUpdate(list):
    """The value of `get_vd_update_op()` / `get_update_mask_op()`: a list of ops.

    A list, as the TF1 AWD-LSTM cell returned, that also stands for its
    (single, grouped) op wherever TensorFlow expects one graph element, so all
    of these work:

        sess.run(update)                            # -> [None]
        with tf.control_dependencies(update): ...   # a list of ops
        with tf.control_dependencies([update]): ... # one graph element
        tf.group(update), tf.group([update_a, update_b])
        updates = cell_a.get_vd_update_op(); updates += cell_b.get_vd_update_op()

    Each call of `get_vd_update_op()` returns a new list around the same cached
    op, so extending the list in place changes nothing else.
    """

    def __init__(self, op):
        super().__init__([op])

    @property
    def op(self):
        """The one `tf.Operation` that performs the update."""
        return self[0]

    @property
    def name(self):
        return self[0].name

    @property
    def graph(self):
        return self[0].graph

    def _as_graph_element(self):
        # Used by Graph.as_graph_element, hence by tf.control_dependencies([update]).
        if len(self) != 1:
            raise TypeError(
                f"this list of {len(self)} update ops stands for one graph element "
                "only while it holds one op; pass it as tf.control_dependencies(ops) "
                "or tf.group(ops) instead of inside another list.")
        return self[0]


class PersistentMask:
    """A {0, 1} Bernoulli mask kept in a local variable between runs.

    Args:
      shape: fully defined shape of the mask.
      keep_prob: probability of a 1; Python float in (0, 1] or scalar tensor.
      dtype: floating dtype of the mask.
      name: full variable name (not prefixed by the current name scope).
      seed: optional op seed of the initial sample; the update op draws with
        `derive_seed(seed, 1)`, so its first draw differs from the initial one.

    The variable starts with a sample of its own, drawn by its initializer or,
    if that never ran, by the first run that reads it. `read()` gives the value
    that ops built from it use; `update_op()` gives one cached op that draws a
    new sample. An update op created after reads exists runs after those reads in
    any `session.run` that contains both, so the forward pass of that run sees
    the previous mask and the new one serves the next run. Reads created inside
    `tf.control_dependencies([update_op])` see the new mask of the same run.
    """

    def __init__(self, shape, keep_prob, dtype, name, seed=None):
        self._shape = tf.TensorShape(shape)
        if not self._shape.is_fully_defined():
            raise ValueError(f"mask shape must be fully defined, got {self._shape}.")
        self._keep_prob = keep_prob
        self._dtype = tf.as_dtype(dtype)
        self._seed = seed
        self._reads = []
        self._update_op = None
        with outside_loops(), tf.control_dependencies(None), tf.compat.v1.name_scope(None):
            self.variable = tf.compat.v1.Variable(
                initial_value=lambda: self._sample(),
                trainable=False,
                collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES],
                name=name,
                dtype=self._dtype,
                # Always a resource variable: a ref variable's read aliases the
                # buffer that the update then overwrites in place, so a forward
                # pass ordered before the update could still see the new mask.
                use_resource=True,
            )
            self._ready = self._initialize_if_needed()

    @property
    def shape(self):
        return self._shape

    def _sample(self, salt=0):
        """A new sample; `salt` 0 (the initial value) uses `seed`, others a derived seed."""
        seed = self._seed if salt == 0 else derive_seed(self._seed, salt)
        return bernoulli_mask(self._shape, self._keep_prob, self._dtype, seed)

    def _initialize_if_needed(self):
        """An op that samples the mask when its variable is not initialised yet."""

        def initialize():
            with tf.control_dependencies(
                    [self.variable.assign(self._sample(), read_value=False)]):
                return tf.constant(True)

        with tf.compat.v1.name_scope(self.variable.op.name + "/"):
            return tf.cond(self.variable.is_initialized(), lambda: tf.constant(False),
                           initialize, name="initialize_if_needed").op

    def read(self):
        """The mask's current value, read outside any loop; remembered for ordering.

        The read runs after the mask's variable is initialised (see the module
        docstring), so `global_variables_initializer()` alone is enough.
        """
        with outside_loops(), tf.control_dependencies([self._ready]):
            value = self.variable.read_value()
        self._reads.append(value.op)
        return value

    def update_op(self):
        """One op (created on first call, then cached) that resamples the mask."""
        if self._update_op is None:
            with tf.init_scope():
                with tf.control_dependencies(self._reads):
                    self._update_op = self.variable.assign(
                        self._sample(salt=1), read_value=False)
        return self._update_op
