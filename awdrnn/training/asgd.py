"""NT-ASGD: non-monotonically triggered averaged SGD (AWD-LSTM, section 3).

Train with plain SGD; after each validation check, switch to averaging when
the validation loss is worse than the best of the checks made more than
`nonmono` checks ago (salesforce `main.py`):

    switch if  len(history) > nonmono  and  val_loss > min(history[:-nonmono])

From the switch on, every SGD step is followed by a running average of the
weights, `avg <- avg + (w - avg) / k` after the k-th step (the uniform
average of the iterates since the switch); evaluation and the saved model use
`avg`. The averages, the step count and the switch are TF variables (global,
non-trainable), so they are in every checkpoint and survive a resume.

    averager = asgd.WeightAverager(tf.compat.v1.trainable_variables())
    with tf.control_dependencies([train_op]):
        train_and_average = averager.update_op()
    trigger = asgd.NonMonotonicTrigger(nonmono=5)
    ...
    if not averager.is_active(sess) and trigger.should_switch(val_loss):
        sess.run(averager.start_op)
    with averager.averaged(sess):        # weights := averages, restored after
        test_loss = evaluate(...)

The paper's fine-tuning stage restarts averaging (a new `start_op`) from the
best saved model.
"""

import contextlib

import tensorflow as tf


class NonMonotonicTrigger:
    """The NT condition over a history of validation losses.

    Args:
      nonmono: non-monotone interval `n` (paper: 5).
    """

    def __init__(self, nonmono=5, history=()):
        if isinstance(nonmono, bool) or not isinstance(nonmono, int) or nonmono < 1:
            raise ValueError(f"nonmono must be a positive int, got {nonmono!r}.")
        self.nonmono = nonmono
        self.history = [float(v) for v in history]

    def stalled(self, val_loss):
        """True if `val_loss` is worse than the best of the checks before the last `nonmono`."""
        return (len(self.history) > self.nonmono
                and val_loss > min(self.history[:-self.nonmono]))

    def should_switch(self, val_loss):
        """`stalled(val_loss)`, then records `val_loss` in the history."""
        switch = self.stalled(val_loss)
        self.history.append(float(val_loss))
        return switch

    def get_state(self):
        return {"nonmono": self.nonmono, "history": list(self.history)}

    @classmethod
    def from_state(cls, state):
        return cls(state["nonmono"], state["history"])


def _copy(variable):
    """The variable's value in a buffer of its own.

    A TF1 ref variable's value aliases the variable's buffer, which its updates
    (`assign`, the optimizers) overwrite in place; a resource variable assigned
    that value would share the buffer and change with it. Resource variables
    copy on write already, so only ref variables get an explicit copy.
    """
    if variable.dtype != variable.dtype.base_dtype:  # float32_ref: a ref variable
        return tf.raw_ops.DeepCopy(x=variable)
    return variable.read_value()


class WeightAverager:
    """Running uniform average of variables, switched on by `start_op`.

    Args:
      variables: the variables to average (usually all trainable ones).
      name: variable scope of the averager's own variables.

    Attributes:
      start_op: turns averaging on and resets the average to the current
        weights with a count of 0 (the next update then sets avg = w).
      stop_op: turns averaging off (back to plain SGD).
      active, count: variables; `averages`: `{variable: average variable}`.
    """

    def __init__(self, variables, name="asgd"):
        self.variables = list(variables)
        if not self.variables:
            raise ValueError("WeightAverager needs at least one variable, got none.")
        # Resource variables in both worlds: update_op() assigns them inside a
        # tf.cond, where a TF1 ref variable loses its reference type.
        with tf.compat.v1.variable_scope(name, use_resource=True):
            self.active = tf.compat.v1.get_variable(
                "active", [], tf.bool, tf.compat.v1.zeros_initializer(), trainable=False)
            self.count = tf.compat.v1.get_variable(
                "count", [], tf.int64, tf.compat.v1.zeros_initializer(), trainable=False)
            self.averages = {}
            self.backups = {}
            for v in self.variables:
                base = v.op.name
                self.averages[v] = tf.compat.v1.get_variable(
                    f"avg/{base}", v.shape, v.dtype.base_dtype,
                    tf.compat.v1.zeros_initializer(), trainable=False)
                self.backups[v] = tf.compat.v1.get_variable(
                    f"backup/{base}", v.shape, v.dtype.base_dtype,
                    tf.compat.v1.zeros_initializer(), trainable=False,
                    collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])
            self.start_op = tf.group(
                [self.active.assign(True), self.count.assign(0)]
                + [a.assign(_copy(v)) for v, a in self.averages.items()], name="start")
            self.stop_op = tf.group(self.active.assign(False), name="stop")
            swap_in = [b.assign(_copy(v)) for v, b in self.backups.items()]
            with tf.control_dependencies(swap_in):
                self._use_average = tf.group(
                    [v.assign(self.averages[v]) for v in self.variables], name="use_average")
            self._restore = tf.group(
                [v.assign(b) for v, b in self.backups.items()], name="restore_weights")

    def update_op(self):
        """Op: if active, `count += 1; avg += (w - avg) / count` for every variable.

        Build it inside `tf.control_dependencies([train_op])` so it reads the
        weights after the step.
        """

        def update():
            count = self.count.assign_add(1)
            k = tf.cast(count, tf.float32)
            ops = []
            for v, a in self.averages.items():
                w = tf.convert_to_tensor(v)
                ops.append(a.assign_add((w - a) / tf.cast(k, w.dtype)))
            with tf.control_dependencies(ops):
                return tf.constant(True)

        return tf.cond(self.active, update, lambda: tf.constant(False), name="asgd_update")

    def is_active(self, session):
        return bool(session.run(self.active))

    @contextlib.contextmanager
    def averaged(self, session):
        """While active, the variables hold the averages inside the block.

        The training weights are restored on exit, also after an exception.
        """
        if not self.is_active(session):
            yield False
            return
        session.run(self._use_average)
        try:
            yield True
        finally:
            session.run(self._restore)
