"""Tests of awdrnn.tasks.task_graph: gradual unfreezing and discriminative rates (NumPy
SGD step), the head's BatchNorm updates, and the backward tagger (NumPy cross-entropy,
the reversal of the backward encoder)."""

import numpy as np
import pytest

from awdrnn.lm import model as lm_model
from awdrnn.tasks import task_config, task_graph

from tf_session import new_session

ENC = lm_model.LMConfig(vocab_size=30, emsize=8, nhid=16, nlayers=2)
IDS = [[2, 5, 6, 3, 9], [2, 7, 3, 1, 1], [4, 8, 10, 11, 1]]
LENGTHS = [5, 3, 4]
LABELS = [0, 2, 1]


def _graph(**kwargs):
    cfg = dict(kind="classify", n_outputs=3, head_hidden=6, lr_schedule="constant")
    cfg.update(kwargs)
    return task_graph.TaskGraph(task_config.TaskConfig(**cfg), ENC, graph_seed=4,
                                total_steps=10)


def _values(sess, g):
    return dict(zip([v.op.name for v in g.saved_vars], sess.run(g.saved_vars)))


def _changed(before, after):
    return {name for name in before if not np.array_equal(before[name], after[name])}


def test_gradual_unfreezing_stages():
    g = _graph(optimizer="adam", unfreeze=True)
    assert [grp.name for grp in g.layer_groups][-1] == "head" and len(g.stage_ops) == 4
    feed = g.feed(IDS, LENGTHS, labels=LABELS, training=True)
    with new_session(g.graph) as sess:
        sess.run(g.init_op)
        v0 = _values(sess, g)
        sess.run(g.stage_op(1), feed)                       # stage 0: the head alone
        v1 = _values(sess, g)
        sess.run(g.stage_op(2), feed)                       # stage 1: + layer1
        v2 = _values(sess, g)
        sess.run(g.stage_op(9), feed)                       # past the last stage: all
        v3 = _values(sess, g)
    encoder = {n for n in v0 if n.startswith("encoder/")}
    # Stage 0: every encoder variable and every slot of the encoder's variables is
    # bit-for-bit unchanged; the head's weights and their Adam slots moved.
    stage0 = _changed(v0, v1)
    assert not stage0 & encoder
    head = {n for n in v0 if n.startswith("head/") and "moving" not in n}
    assert head <= stage0
    # Non-slot Adam accumulators: one pair per group optimizer; only the head's moved.
    powers = {n for n in v0 if "_power" in n}
    assert len(powers) == 8 and len(stage0 & powers) == 2
    # Stage 1: the top layer (and its slots) too, nothing below it.
    stage1 = _changed(v1, v2)
    layer1 = {n for n in encoder if n.startswith("encoder/layer1/")}
    assert layer1 and layer1 <= stage1
    assert not stage1 & (encoder - layer1)
    assert len(stage1 & powers) == 4
    # The last stage: everything, embedding and its slots included.
    assert encoder | head | powers <= _changed(v2, v3)


def test_discriminative_rates_of_one_sgd_step():
    lr = 0.5
    g = _graph(optimizer="sgd", weight_decay=0.0, clip=0.0, lr=lr, awd_off=True,
               head_drop=(0.0, 0.0))
    groups = [grp.variables for grp in g.layer_groups]
    variables = [v for grp in groups for v in grp]
    grads = [g.loss_gradients[v.op.name] for v in variables]
    feed = g.feed(IDS, LENGTHS, labels=LABELS, training=True)
    with new_session(g.graph) as sess:
        sess.run(g.init_op)
        before = sess.run(variables)
        grad_values = sess.run(grads, feed)
        sess.run(g.stage_ops[-1], feed)
        after = sess.run(variables)
    n, k = len(groups), 0
    for index, grp in enumerate(groups):
        rate = lr / 2.6 ** (n - 1 - index)
        for _ in grp:
            assert np.abs(grad_values[k]).max() > 0
            np.testing.assert_allclose(after[k] - before[k], -rate * grad_values[k],
                                       rtol=1e-3, atol=1e-7, err_msg=variables[k].op.name)
            k += 1


def test_batch_norm_statistics_move_in_training_only():
    g = _graph(optimizer="sgd", unfreeze=False)
    moving = [v for v in g.saved_vars if "moving_" in v.op.name]
    assert len(moving) == 4                                  # two blocks: mean, variance
    with new_session(g.graph) as sess:
        sess.run(g.init_op)
        v0 = sess.run(moving)
        sess.run([g.outputs, g.loss], g.feed(IDS, LENGTHS, labels=LABELS, training=False))
        v1 = sess.run(moving)
        sess.run(g.stage_op(1), g.feed(IDS, LENGTHS, labels=LABELS, training=True))
        v2 = sess.run(moving)
    assert all(np.array_equal(a, b) for a, b in zip(v0, v1))
    assert all(not np.array_equal(a, b) for a, b in zip(v1, v2))


# --- the backward tagger ------------------------------------------------------------------
TAG_IDS = np.array([[2, 5, 6, 3, 9, 12], [2, 7, 3, 1, 1, 1], [4, 8, 10, 11, 13, 1]])
TAG_LENGTHS = np.array([6, 3, 5])
TAG_LABELS = np.array([[0, -1, 2, 1, -1, 3], [1, 3, -1, -1, -1, -1], [-1, 2, 0, 0, 1, -1]])


def _tagger():
    cfg = task_config.TaskConfig(kind="tag", n_outputs=4, head_hidden=0, head_drop=(0.1,),
                                 backward=True)
    return task_graph.TaskGraph(cfg, ENC, training=False, graph_seed=5)


def _numpy_cross_entropy(logits, labels):
    keep = labels >= 0
    z = logits[keep] - logits[keep].max(-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return -log_p[np.arange(keep.sum()), labels[keep]].mean()


def test_tag_loss_ignores_unlabelled_positions():
    g = _tagger()
    with new_session(g.graph) as sess:
        sess.run(g.init_op)
        feed = g.feed(TAG_IDS, TAG_LENGTHS, labels=TAG_LABELS)
        logits, loss, size = sess.run([g.logits, g.loss, g.size], feed)
        assert size == 10
        np.testing.assert_allclose(loss, _numpy_cross_entropy(logits, TAG_LABELS), rtol=1e-5)
        changed = logits.copy()
        changed[TAG_LABELS < 0] = np.random.RandomState(0).normal(
            0, 10, changed[TAG_LABELS < 0].shape)
        feed[g.logits] = changed
        assert sess.run(g.loss, feed) == pytest.approx(loss, rel=1e-6)
        changed[0, 0, 1] += 5.0                              # a labelled position does count
        feed[g.logits] = changed
        assert abs(sess.run(g.loss, feed) - loss) > 1e-3


def test_backward_encoder_reads_the_reversed_row():
    g = _tagger()
    kernel_var, bias_var = [v for v in g.saved_vars if v.op.name.startswith("head/dense/")]
    fwd_t, bwd_t = (out.raw_output for out in g.encoder_outputs)

    def features(sess, ids):
        fwd, bwd, logits, kernel, bias = sess.run(
            [fwd_t, bwd_t, g.logits, kernel_var, bias_var], g.feed(ids, TAG_LENGTHS))
        bwd_back = np.zeros_like(bwd)                       # position t of the row: L-1-t
        for b, n in enumerate(TAG_LENGTHS):
            bwd_back[b, :n] = bwd[b, :n][::-1]
            assert not bwd[b, n:].any()                      # pads stay on the right
        # The tagger's logits are dense([h_fwd, h_bwd]) with the backward half reversed.
        np.testing.assert_allclose(
            logits, np.concatenate([fwd, bwd_back], -1) @ kernel + bias, atol=1e-5)
        return fwd, bwd_back

    t = 2
    with new_session(g.graph) as sess:
        sess.run(g.init_op)
        fwd, bwd = features(sess, TAG_IDS)
        later = TAG_IDS.copy()
        later[0, 4] = 20                                     # a token after t (row 0)
        fwd_l, bwd_l = features(sess, later)
        earlier = TAG_IDS.copy()
        earlier[0, 1] = 20                                   # a token before t
        fwd_e, bwd_e = features(sess, earlier)
    assert np.abs(bwd_l[0, t] - bwd[0, t]).max() > 1e-5        # right context reaches t
    np.testing.assert_array_equal(fwd_l[0, t], fwd[0, t])      # the forward half can't see it
    np.testing.assert_array_equal(bwd_e[0, t], bwd[0, t])      # left context: not backward
    assert np.abs(fwd_e[0, t] - fwd[0, t]).max() > 1e-5
    np.testing.assert_array_equal(bwd_l[1:], bwd[1:])          # other rows untouched
