"""Adam with decoupled weight decay (AdamW), as a `tf.compat.v1.train.Optimizer`.

Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019), in the
form of PyTorch's `torch.optim.AdamW` (fastai's `true_wd`). For each variable
`w` with gradient `g`, at update `t = 1, 2, ...`:

    w <- w * (1 - lr * weight_decay)                  # decay, not in the gradient
    m <- beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g^2
    w <- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)

The bias corrections use the *current* beta1 and beta2 raised to `t`, as
PyTorch does, so beta1 may change at every step (the momentum of a one-cycle
schedule). `lr`, `beta1`, `beta2`, `weight_decay` may be floats, tensors
(e.g. from `awdrnn.training.schedules`, read at every run) or callables.

    import tensorflow as tf
    from awdrnn.training.adamw import AdamWOptimizer

    with tf.Graph().as_default():
        w = tf.compat.v1.get_variable("w", [3], initializer=tf.ones_initializer())
        step = tf.compat.v1.train.get_or_create_global_step()
        train_op = AdamWOptimizer(1e-3, weight_decay=0.01).minimize(
            tf.reduce_sum(w ** 2), global_step=step)

Works with ref variables (`tf.compat.v1.disable_resource_variables()`, as
`disable_v2_behavior()` gives) and resource variables. Sparse gradients (from
`tf.gather` / embedding lookups) are applied as dense ones: as in PyTorch with
a dense embedding gradient, every row's moments decay and every row is
decayed at every step. `t` counts this optimizer's updates (a non-slot
variable `<name>_step`, saved in checkpoints); PyTorch counts per parameter, which is
the same when every variable gets a gradient at every update.
"""

import tensorflow as tf


class AdamWOptimizer(tf.compat.v1.train.Optimizer):
    """Adam with decoupled weight decay; update rule in the module docstring.

    Args:
      learning_rate: lr (float, tensor or callable).
      beta1, beta2: decay rates of the first and second moments.
      epsilon: added to the denominator (PyTorch's default 1e-8).
      weight_decay: decoupled decay rate (PyTorch's default 0.01); the weights
        shrink by `lr * weight_decay` each step.
      use_locking, name: as `tf.compat.v1.train.Optimizer`.

    Raises:
      ValueError: a numeric hyperparameter out of range.
    """

    def __init__(self, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 weight_decay=0.01, use_locking=False, name="AdamW"):
        super().__init__(use_locking, name)
        for arg, value, low, high in [("beta1", beta1, 0.0, 1.0), ("beta2", beta2, 0.0, 1.0),
                                      ("epsilon", epsilon, 0.0, float("inf")),
                                      ("weight_decay", weight_decay, 0.0, float("inf"))]:
            if isinstance(value, (int, float)) and not low <= value < high:
                raise ValueError(f"AdamWOptimizer: {arg} must be in [{low}, {high}), "
                                 f"got {value!r}")
        self._hyper = {"learning_rate": learning_rate, "beta1": beta1, "beta2": beta2,
                       "epsilon": epsilon, "weight_decay": weight_decay}
        self._hyper_t = None
        self._step_name = f"{name}_step"

    def _prepare(self):
        self._hyper_t = {key: tf.convert_to_tensor(self._call_if_callable(value),
                                                   dtype=tf.float32, name=key)
                         for key, value in self._hyper.items()}

    def _step_variable(self):
        with tf.init_scope():
            graph = None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()
            return self._get_non_slot_variable(self._step_name, graph=graph)

    def _create_slots(self, var_list):
        first_var = min(var_list, key=lambda v: v.name)
        self._create_non_slot_variable(initial_value=0.0, name=self._step_name,
                                       colocate_with=first_var)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _update(self, grad, var):
        """The update of one variable from a dense gradient; returns the op."""
        dtype = var.dtype.base_dtype
        h = {key: tf.cast(value, dtype) for key, value in self._hyper_t.items()}
        t = tf.cast(self._step_variable(), dtype) + 1.0
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_t = h["beta1"] * m + (1.0 - h["beta1"]) * grad
        v_t = h["beta2"] * v + (1.0 - h["beta2"]) * tf.square(grad)
        denom = (tf.sqrt(v_t) / tf.sqrt(1.0 - tf.pow(h["beta2"], t))) + h["epsilon"]
        step_size = h["learning_rate"] / (1.0 - tf.pow(h["beta1"], t))
        w_t = (var * (1.0 - h["learning_rate"] * h["weight_decay"])
               - step_size * m_t / denom)
        lock = self._use_locking
        return tf.group(tf.compat.v1.assign(m, m_t, use_locking=lock),
                        tf.compat.v1.assign(v, v_t, use_locking=lock),
                        tf.compat.v1.assign(var, w_t, use_locking=lock))

    def _apply_dense(self, grad, var):
        return self._update(grad, var)

    def _resource_apply_dense(self, grad, handle):
        return self._update(grad, handle)

    def _apply_sparse_duplicate_indices(self, grad, var):
        return self._update(_dense(grad.values, grad.indices, var), var)

    def _resource_apply_sparse_duplicate_indices(self, grad, handle, indices):
        return self._update(_dense(grad, indices, handle), handle)

    def _finish(self, update_ops, name_scope):
        with tf.control_dependencies(update_ops):
            step = self._step_variable()
            with tf.compat.v1.colocate_with(step):
                count = tf.compat.v1.assign_add(step, 1.0, use_locking=self._use_locking)
        return tf.group(*update_ops, count, name=name_scope)


def _dense(values, indices, var):
    """The dense gradient of `var` from rows `values` at `indices` (summed if repeated)."""
    return tf.math.unsorted_segment_sum(values, indices, tf.shape(var)[0])
