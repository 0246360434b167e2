"""Gradual unfreezing (awdrnn/training/unfreezing.py).

Stage s trains the top s + 1 layer groups (ULMFiT section 3.3); the frozen
groups' weights and their Adam moments must stay bit for bit unchanged.
"""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm import model as lm_model
from awdrnn.training import discriminative, layer_groups, unfreezing
from tf_session import new_session


def test_stages_by_hand():
    assert [unfreezing.unfrozen_groups(s, 3) for s in range(4)] == [
        [2], [1, 2], [0, 1, 2], [0, 1, 2]]
    assert unfreezing.unfrozen_groups(0, 1) == [0]


@pytest.mark.parametrize("stage,n,message", [(-1, 3, "stage must be an int >= 0"),
                                             (0, 0, "n_groups must be >= 1"),
                                             (1.0, 3, "stage must be an int >= 0")])
def test_bad_stage_arguments(stage, n, message):
    with pytest.raises(ValueError, match=message):
        unfreezing.unfrozen_groups(stage, n)


def test_frozen_groups_and_their_adam_slots_do_not_change(tf1_flavour):
    _check_stages(per_stage_gradients=False)


def test_per_stage_gradients_train_the_same_groups():
    _check_stages(per_stage_gradients=True)


def _check_stages(per_stage_gradients):
    with tf.Graph().as_default() as graph:
        model = lm_model.LanguageModel(lm_model.LMConfig(
            vocab_size=7, emsize=3, nhid=4, nlayers=2, tie_weights=False), seed=5)
        ids = tf.constant(np.random.RandomState(0).randint(0, 7, size=(2, 5)), tf.int32)
        out = model(ids)
        loss = tf.reduce_mean(lm_model.token_losses(out.logits[:, :-1], ids[:, 1:]))
        variables = tf.compat.v1.trainable_variables()
        groups = layer_groups.lm_layer_groups(variables)
        opt = discriminative.DiscriminativeOptimizer(
            lambda lr: tf.compat.v1.train.AdamOptimizer(lr), 0.01, groups)
        step = tf.compat.v1.train.get_or_create_global_step()
        if per_stage_gradients:
            grads_and_vars = lambda vs: zip(tf.gradients(loss, vs), vs)  # noqa: E731
        else:
            grads_and_vars = zip(tf.gradients(loss, variables), variables)
        ops = unfreezing.stage_train_ops(opt, grads_and_vars, global_step=step)
        assert len(ops) == 3
        # Each group's weights and moments, keyed by group.
        tracked = {g: [t for v in group.variables
                       for t in (v, opt.optimizers[g].get_slot(v, "m"),
                                 opt.optimizers[g].get_slot(v, "v"))]
                   for g, group in enumerate(groups)}
        state = model.state_feed(out.initial_state, model.zero_state(2))
        with new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for stage in range(3):
                before = {g: sess.run(ts) for g, ts in tracked.items()}
                sess.run(ops[stage], state)
                after = {g: sess.run(ts) for g, ts in tracked.items()}
                for g in range(3):
                    changed = [not np.array_equal(b, a) for b, a in zip(before[g], after[g])]
                    if g in [[2], [1, 2], [0, 1, 2]][stage]:  # by hand: top group first
                        assert all(changed), (stage, g, changed)
                    else:
                        assert not any(changed), (stage, g, changed)
                assert sess.run(step) == stage + 1
