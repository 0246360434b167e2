"""Discriminative learning rates (awdrnn/training/discriminative.py).

Expected updates are hand-computed in NumPy from each optimizer's documented
rule, with the group rate lr / 2.6 ** (n - 1 - g) of ULMFiT's section 3.2:
SGD `w - lr_g * g`; TF's Adam (`tf.compat.v1.train.AdamOptimizer` docstring)
`lr_t = lr_g * sqrt(1 - b2^t) / (1 - b1^t)`, `w - lr_t * m / (sqrt(v) + eps)`;
AdamW as torch.optim.AdamW (tests/test_adamw.py's NumPy reference).
"""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm import model as lm_model
from awdrnn.training import discriminative, layer_groups
from awdrnn.training.adamw import AdamWOptimizer
from test_adamw import NumpyAdamW
from tf_session import new_session

LR = 0.5


def test_group_factors_by_hand():
    np.testing.assert_allclose(discriminative.group_lr_factors(3),
                               [1 / 6.76, 1 / 2.6, 1.0], rtol=1e-12)
    assert discriminative.group_lr_factors(1) == [1.0]
    np.testing.assert_allclose(discriminative.group_lr_factors(2, factor=4.0), [0.25, 1.0])


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_bad_group_count(bad):
    with pytest.raises(ValueError, match="n_groups must be a positive int"):
        discriminative.group_lr_factors(bad)


def _run_steps(make_optimizer, grads_per_step, lr=LR):
    """(weights before, [weights after each step], groups' variable names, step)."""
    with tf.Graph().as_default() as graph:
        model = lm_model.LanguageModel(lm_model.LMConfig(
            vocab_size=7, emsize=3, nhid=4, nlayers=2, tie_weights=False), seed=3)
        model(tf.compat.v1.placeholder(tf.int32, [None, None]))
        variables = tf.compat.v1.trainable_variables()
        groups = layer_groups.lm_layer_groups(variables)
        lr_t = tf.compat.v1.placeholder(tf.float32, [])
        opt = discriminative.DiscriminativeOptimizer(make_optimizer, lr_t, groups)
        step = tf.compat.v1.train.get_or_create_global_step()
        grads = [tf.compat.v1.placeholder(tf.float32, v.shape) for v in variables]
        train_op = opt.apply_gradients(zip(grads, variables), global_step=step)
        names = [v.op.name for v in variables]
        group_of = {v.op.name: g for g, group in enumerate(groups) for v in group.variables}
        with new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            before = dict(zip(names, sess.run(variables)))
            after = []
            for grad_values in grads_per_step:
                feed = {lr_t: lr}
                feed.update({grads[i]: grad_values[n] for i, n in enumerate(names)})
                sess.run(train_op, feed)
                after.append(dict(zip(names, sess.run(variables))))
            global_step = sess.run(step)
    return before, after, group_of, global_step


def _group_lr(g, n_groups=3):
    return LR / 2.6 ** (n_groups - 1 - g)


def _sgd_shapes():
    with tf.Graph().as_default():
        model = lm_model.LanguageModel(lm_model.LMConfig(
            vocab_size=7, emsize=3, nhid=4, nlayers=2, tie_weights=False), seed=3)
        model(tf.compat.v1.placeholder(tf.int32, [None, None]))
        return {v.op.name: v.shape.as_list() for v in tf.compat.v1.trainable_variables()}


def _fixed_grads(seed, steps):
    rng = np.random.RandomState(seed)
    shapes = _sgd_shapes()
    return [{n: rng.randn(*s).astype(np.float32) for n, s in shapes.items()}
            for _ in range(steps)]


def test_one_sgd_step_scales_each_group(tf1_flavour):
    grads = _fixed_grads(0, 1)
    before, after, group_of, step = _run_steps(tf.compat.v1.train.GradientDescentOptimizer,
                                               grads)
    assert step == 1
    assert sorted(set(group_of.values())) == [0, 1, 2]
    for name, w in before.items():
        expected = w - _group_lr(group_of[name]) * grads[0][name]
        np.testing.assert_allclose(after[0][name], expected, rtol=1e-6, atol=1e-7,
                                   err_msg=name)


def test_adam_steps_scale_each_group(tf1_flavour):
    b1, b2, eps = 0.8, 0.99, 1e-8
    grads = _fixed_grads(1, 2)
    before, after, group_of, step = _run_steps(
        lambda lr: tf.compat.v1.train.AdamOptimizer(lr, beta1=b1, beta2=b2, epsilon=eps), grads)
    assert step == 2
    for name, w in before.items():
        w = w.astype(np.float64)
        m = v = np.zeros_like(w)
        lr_g = _group_lr(group_of[name])
        for t, g in enumerate(grads, 1):
            g = g[name].astype(np.float64)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            w = w - lr_g * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
            np.testing.assert_allclose(after[t - 1][name], w, rtol=2e-6, atol=2e-7,
                                       err_msg=f"{name} after step {t}")


def test_adamw_step_scales_each_group_and_its_decay():
    grads = _fixed_grads(2, 1)
    before, after, group_of, _ = _run_steps(
        lambda lr: AdamWOptimizer(lr, beta1=0.9, beta2=0.99, weight_decay=0.3), grads)
    for name, w in before.items():
        ref = NumpyAdamW(w)
        ref.update(grads[0][name].astype(np.float64), _group_lr(group_of[name]), 0.9, 0.99, 0.3)
        np.testing.assert_allclose(after[0][name], ref.param, rtol=2e-6, atol=2e-7,
                                   err_msg=name)


def test_a_variable_outside_the_groups_is_named():
    with tf.Graph().as_default():
        a = tf.compat.v1.get_variable("a", [2])
        b = tf.compat.v1.get_variable("b", [2])
        opt = discriminative.DiscriminativeOptimizer(
            tf.compat.v1.train.GradientDescentOptimizer, 0.1, [[a]])
        with pytest.raises(ValueError, match="variable 'b' is in none of the 1 layer groups"):
            opt.apply_gradients([(tf.ones([2]), a), (tf.ones([2]), b)])
        with pytest.raises(ValueError, match="group index 1 out of range"):
            opt.apply_gradients([(tf.ones([2]), a)], groups=[1])


def test_a_variable_in_two_groups_is_refused():
    with tf.Graph().as_default():
        a = tf.compat.v1.get_variable("a", [2])
        with pytest.raises(ValueError, match="'a' is in layer groups 0 and 1"):
            discriminative.DiscriminativeOptimizer(
                tf.compat.v1.train.GradientDescentOptimizer, 0.1, [[a], [a]])
