"""Gradual unfreezing (ULMFiT, Howard & Ruder 2018, section 3.3).

Training starts with only the top layer group unfrozen and unfreezes one
more group at each stage (ULMFiT: each epoch) until all groups train:

    stage s = 0, 1, ...:  groups max(0, n - 1 - s) .. n - 1 train

In graph terms: one train op per stage (`stage_train_ops`), each updating
only its stage's groups through a `DiscriminativeOptimizer`. The op of a
stage never runs the update of a frozen group, so frozen weights *and their
optimizer slots* (Adam's moments) stay exactly as they are. A 0/1 multiplier
on the learning rate would not do: Adam's moments would still move. The
gradients may be computed per stage (pass a function of the stage's
variables), so frozen groups add nothing to a clipping norm, as in fastai
where frozen parameters have no gradient.

    import tensorflow as tf
    from awdrnn.lm import model as lm_model
    from awdrnn.training import discriminative, layer_groups, unfreezing

    with tf.Graph().as_default():
        model = lm_model.LanguageModel(lm_model.LMConfig(vocab_size=50, emsize=8, nhid=16))
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        loss = tf.reduce_mean(model(ids).logits ** 2)
        groups = layer_groups.lm_layer_groups(tf.compat.v1.trainable_variables())
        opt = discriminative.DiscriminativeOptimizer(
            tf.compat.v1.train.GradientDescentOptimizer, 0.1, groups)
        ops = unfreezing.stage_train_ops(
            opt, lambda vs: zip(tf.gradients(loss, vs), vs))
    print([unfreezing.unfrozen_groups(s, 4) for s in range(5)])
    # [[3], [2, 3], [1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]]
"""

import numbers


def _check_index(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}.")


def unfrozen_groups(stage, n_groups):
    """Indices of the groups that train at `stage` (0: the top group only).

    Raises:
      ValueError: `stage` < 0 or `n_groups` < 1.
    """
    _check_index("stage", stage)
    _check_index("n_groups", n_groups)
    if n_groups < 1:
        raise ValueError(f"n_groups must be >= 1, got {n_groups!r}.")
    return list(range(max(0, n_groups - 1 - stage), n_groups))


def stage_train_ops(optimizer, grads_and_vars, global_step=None):
    """One train op per unfreezing stage.

    Args:
      optimizer: a `discriminative.DiscriminativeOptimizer`.
      grads_and_vars: the `(gradient, variable)` pairs of all groups, or a
        function `f(variables) -> (gradient, variable) pairs` called once per
        stage with that stage's unfrozen variables (to compute and clip only
        their gradients).
      global_step: optional variable incremented by each op.

    Returns:
      list of `optimizer.n_groups` ops: op `s` trains `unfrozen_groups(s, n)`;
      run op `min(s, n - 1)` at stage `s`.
    """
    n = optimizer.n_groups
    fixed = None if callable(grads_and_vars) else list(grads_and_vars)
    ops = []
    for stage in range(n):
        groups = unfrozen_groups(stage, n)
        if fixed is None:
            variables = [v for g in groups for v in optimizer.groups[g]]
            pairs = list(grads_and_vars(variables))
        else:
            pairs = fixed
        ops.append(optimizer.apply_gradients(pairs, global_step, groups=groups,
                                             name=f"unfreeze_stage{stage}"))
    return ops
