"""Discriminative learning rates (ULMFiT, Howard & Ruder 2018, section 3.2).

Each layer group `g = 0 .. n-1` (lowest first, `layer_groups.lm_layer_groups`)
trains with its own rate; the top group gets `lr` and each group below it
the rate of the group above divided by 2.6:

    lr_g = lr / 2.6 ** (n - 1 - g)

The rates are applied by **one optimizer per group**, built by
`make_optimizer(lr_g)`, where `lr_g` is `lr` (a float or a tensor, e.g. a
schedule from `awdrnn.training.schedules`) times the group's constant factor.
Scaling each group's *gradient* instead would be right for SGD only: Adam's
step `m / (sqrt(v) + eps)` is (up to eps) the same for `g` and `c * g`, so the
rates would silently not apply. With one optimizer per group, SGD moves by
`lr_g * grad`, Adam and `AdamWOptimizer` by their step with `lr_g` (AdamW's
decoupled decay `lr_g * weight_decay * w` too, as PyTorch parameter groups
do). Each group's optimizer keeps its own slots; `global_step` advances once
per `apply_gradients`.

    import tensorflow as tf
    from awdrnn.lm import model as lm_model
    from awdrnn.training import discriminative, layer_groups

    with tf.Graph().as_default():
        model = lm_model.LanguageModel(lm_model.LMConfig(vocab_size=50, emsize=8, nhid=16))
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        out = model(ids)
        loss = tf.reduce_mean(lm_model.token_losses(out.logits[:, :-1], ids[:, 1:]))
        variables = tf.compat.v1.trainable_variables()
        groups = layer_groups.lm_layer_groups(variables)
        opt = discriminative.DiscriminativeOptimizer(
            lambda lr: tf.compat.v1.train.AdamOptimizer(lr, beta1=0.7, beta2=0.99),
            learning_rate=1e-3, groups=groups)
        step = tf.compat.v1.train.get_or_create_global_step()
        grads = tf.gradients(loss, variables)
        train_op = opt.apply_gradients(zip(grads, variables), global_step=step)
    print(discriminative.group_lr_factors(4))   # [0.0569, 0.148, 0.385, 1.0] (rounded)
"""

import numbers

import tensorflow as tf

from awdrnn.training.layer_groups import variable_name

ULMFIT_FACTOR = 2.6


def group_lr_factors(n_groups, factor=ULMFIT_FACTOR):
    """`[1 / factor ** (n_groups - 1 - g) for g in range(n_groups)]` (top group: 1).

    Raises:
      ValueError: `n_groups` not a positive int or `factor` not a number > 0.
    """
    if isinstance(n_groups, bool) or not isinstance(n_groups, numbers.Integral) or n_groups < 1:
        raise ValueError(f"n_groups must be a positive int, got {n_groups!r}.")
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not factor > 0:
        raise ValueError(f"factor must be a number > 0 (ULMFiT: 2.6), got {factor!r}.")
    return [1.0 / factor ** (n_groups - 1 - g) for g in range(n_groups)]


def _group_variables(group):
    return list(group.variables if hasattr(group, "variables") else group)


class DiscriminativeOptimizer:
    """One optimizer per layer group, group `g` at rate `lr * factors[g]`.

    Args:
      make_optimizer: `f(learning_rate) -> tf.compat.v1.train.Optimizer`,
        called once per group with that group's rate (float or tensor).
      learning_rate: the top group's rate `lr`: float or scalar float tensor.
      groups: layer groups, lowest first: `LayerGroup`s or lists of variables.
      factor: ratio between the rates of neighbouring groups (ULMFiT: 2.6).

    Attributes:
      optimizers: the optimizer of each group.
      learning_rates: each group's rate (float or tensor).

    Raises:
      ValueError: no group, an empty group, or a variable in two groups.
    """

    def __init__(self, make_optimizer, learning_rate, groups, factor=ULMFIT_FACTOR):
        self.groups = [_group_variables(g) for g in groups]
        if not self.groups:
            raise ValueError("groups is empty: give at least one layer group.")
        self._group_of = {}
        for index, variables in enumerate(self.groups):
            if not variables:
                raise ValueError(f"layer group {index} has no variables.")
            for v in variables:
                name = variable_name(v)
                if name in self._group_of:
                    raise ValueError(f"variable {name!r} is in layer groups "
                                     f"{self._group_of[name]} and {index}; give it one group.")
                self._group_of[name] = index
        self.factors = group_lr_factors(len(self.groups), factor)
        self.learning_rates = [learning_rate * f for f in self.factors]
        self.optimizers = [make_optimizer(lr) for lr in self.learning_rates]

    @property
    def n_groups(self):
        return len(self.groups)

    def group_of(self, variable):
        """The index of the group holding `variable`.

        Raises:
          ValueError: the variable is in no group.
        """
        name = variable_name(variable)
        if name not in self._group_of:
            raise ValueError(f"variable {name!r} is in none of the {self.n_groups} layer "
                             "groups; add it to a group (or leave it out of grads_and_vars).")
        return self._group_of[name]

    def apply_gradients(self, grads_and_vars, global_step=None, groups=None, name=None):
        """Updates each group with its own optimizer; returns the train op.

        Args:
          grads_and_vars: `(gradient, variable)` pairs (gradients may be None:
            the variable is not updated).
          global_step: optional variable, incremented by 1 after all updates.
          groups: indices of the groups to update (default: all). Pairs of
            other groups are ignored: those variables, and their optimizer's
            slots, do not change (gradual unfreezing).
          name: optional name of the returned op.

        Raises:
          ValueError: a variable in no group, or a group index out of range.
        """
        selected = range(self.n_groups) if groups is None else sorted(set(groups))
        for g in selected:
            if not 0 <= g < self.n_groups:
                raise ValueError(f"group index {g} out of range: there are {self.n_groups} "
                                 "layer groups.")
        per_group = {g: [] for g in selected}
        for grad, var in grads_and_vars:
            g = self.group_of(var)
            if grad is not None and g in per_group:
                per_group[g].append((grad, var))
        updates = [self.optimizers[g].apply_gradients(pairs)
                   for g, pairs in per_group.items() if pairs]
        if global_step is None:
            return tf.group(*updates, name=name)
        with tf.control_dependencies(updates):
            count = tf.compat.v1.assign_add(global_step, 1)
        return tf.group(*updates, count, name=name)
