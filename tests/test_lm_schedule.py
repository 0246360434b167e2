"""Learning-rate schedules and optimizers of the language-model graph
(awdrnn/lm/graph.py `learning_rate`, `TrainConfig.lr_schedule` / `optimizer`).

Expected rates are the published formulas written here in NumPy: ULMFiT's
slanted triangular rate (Howard & Ruder 2018, eq. 3) and fastai v1's
one-cycle (cosine halves for the rate and for Adam's beta1). The rate is
read from the graph at corner steps, and one AdamW step on a known gradient
shows the optimizer applies that rate.
"""

import math
import re

import numpy as np
import pytest

from awdrnn.lm import graph as lm_graph, model as lm_model, training as lm_training
import lm_test_data
from lm_test_data import NO_DROPOUT
from tf_session import new_session

T = 100


def stlr(t, max_lr, cut_frac=0.1, ratio=32.0, total=T):
    cut = math.floor(total * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return max_lr * (1 + p * (ratio - 1)) / ratio


def cos_anneal(start, end, x):
    return end + (start - end) / 2 * (1 + math.cos(math.pi * x))


def one_cycle(t, max_lr, moms, pct=0.3, div=25.0):
    n1 = math.floor(T * pct)
    if t < n1:
        return (cos_anneal(max_lr / div, max_lr, t / n1),
                cos_anneal(moms[0], moms[1], t / n1))
    x = (t - n1) / (T - n1)
    return cos_anneal(max_lr, max_lr / (div * 1e4), x), cos_anneal(moms[1], moms[0], x)


def _graph(**train):
    model = lm_model.LMConfig(vocab_size=11, emsize=4, nhid=6, nlayers=1, **NO_DROPOUT)
    cfg = lm_training.TrainConfig(batch_size=2, bptt=4, seed=3, **train).validate()
    return lm_graph.LMGraph(model, cfg, graph_seed=3, total_steps=T)


def _feed(g, lr):
    rng = np.random.RandomState(0)
    x = rng.randint(0, 11, [2, 4]).astype(np.int32)
    y = rng.randint(0, 11, [2, 4]).astype(np.int32)
    feed = g.feed(x, g.model.zero_state(2), y, training=True)
    feed[g.lr] = lr
    return feed


def test_stlr_rate_at_corner_steps():
    g = _graph(lr_schedule="stlr", lr=2.0)
    with new_session(g.graph) as sess:
        sess.run(g.init)
        for step in [0, 5, 10, 11, 55, 100, 130]:
            g.global_step.load(step, sess)
            # The fed rate is lr * seq_len / bptt: a 3-long segment of bptt 4.
            lr = sess.run(g.lr_applied, {g.lr: 2.0 * 3 / 4})
            assert lr == pytest.approx(stlr(min(step, T), 2.0) * 3 / 4, rel=1e-5), step


def test_one_cycle_rate_and_beta1_at_corner_steps():
    g = _graph(lr_schedule="one_cycle", lr=0.01, optimizer="adamw", moms=(0.8, 0.7))
    with new_session(g.graph) as sess:
        sess.run(g.init)
        for step in [0, 15, 29, 30, 31, 65, 99, 100]:
            g.global_step.load(step, sess)
            lr, beta1 = sess.run([g.lr_applied, g.beta1], {g.lr: 0.01})
            want_lr, want_beta1 = one_cycle(step, 0.01, (0.8, 0.7))
            assert lr == pytest.approx(want_lr, rel=1e-4), step  # float32 near lr/250,000
            assert beta1 == pytest.approx(want_beta1, rel=1e-6), step


def test_constant_schedule_is_the_fed_rate():
    g = _graph(lr=30.0)
    with new_session(g.graph) as sess:
        sess.run(g.init)
        g.global_step.load(50, sess)
        assert sess.run(g.lr_applied, {g.lr: 7.5}) == pytest.approx(7.5)
    assert g.beta1 == 0.9


@pytest.mark.parametrize("optimizer,wdecay", [("adamw", 0.5), ("adam", 0.0)])
def test_one_step_applies_the_scheduled_rate(optimizer, wdecay):
    # Adam's first step moves each weight by lr * g / (|g| + eps'): -lr * sign(g)
    # wherever |g| >> eps, whatever beta1 (m-hat = g at t = 1); AdamW first
    # shrinks it by lr * wdecay (decoupled: the gradient is the loss's). No clipping.
    g = _graph(lr_schedule="one_cycle", lr=0.01, optimizer=optimizer, wdecay=wdecay, clip=0.0)
    feed = _feed(g, 0.01 * 3 / 4)
    index = [v.op.name for v in g.model_vars].index("lm/embedding")  # tied: all rows
    var = g.model_vars[index]
    with new_session(g.graph) as sess:
        sess.run(g.init)
        g.global_step.load(40, sess)
        before, grad = sess.run([var, g.dense_grads[index]], feed)
        sess.run(g.step_op, feed)
        after = sess.run(var)
    big = np.abs(grad) > 1e-4
    assert big.sum() >= 5
    lr = one_cycle(40, 0.01, (0.95, 0.85))[0] * 3 / 4
    want = -lr * wdecay * before[big] - lr * np.sign(grad[big])
    np.testing.assert_allclose(after[big] - before[big], want, rtol=1e-3)


def test_progress_lines_show_the_scheduled_rate(tmp_path):
    """The `lr` of the progress lines (and of their TensorBoard summary) is the
    schedule's rate at that step, not the peak `--lr`."""
    data = lm_test_data.tiny_corpus(tmp_path / "corpus")
    # 1,200 tokens, batch 8, bptt 14: T = (150 - 1) // 14 = 10 steps, cut 1 (eq. 3 as
    # written needs T * cut_frac whole).
    mcfg, tcfg = lm_test_data.tiny_configs(data, NO_DROPOUT, lr_schedule="stlr", epochs=1,
                                           bptt=14, optimizer="adam", lr=0.01,
                                           log_interval=1, evaluate=False)
    total = tcfg.schedule_steps(len(data.train))
    assert total == 10
    lines = []
    lm_training.Trainer(mcfg, tcfg, data, str(tmp_path / "run"), log=lines.append).run()
    rates = [float(re.search(r"\| lr ([\d.e-]+) \|", line)[1]) for line in lines
             if line.startswith("| epoch")][:total + 1]   # past T the rate holds
    assert len(rates) >= 8
    # Line k follows update k (k - 1 updates done before it).
    want = [stlr(k, 0.01, total=total) for k in range(len(rates))]
    np.testing.assert_allclose(rates, want, rtol=2e-3)


def test_schedule_too_short_is_a_clear_error():
    cfg = lm_training.TrainConfig(lr_schedule="one_cycle", epochs=1)
    with pytest.raises(ValueError, match=r"lr_schedule='one_cycle' over 2 steps .*pct_start"):
        lm_graph.LMGraph(lm_model.LMConfig(vocab_size=5, emsize=2, nhid=2, nlayers=1), cfg,
                         total_steps=2)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        lm_training.TrainConfig(lr_schedule="cosine").validate()
    with pytest.raises(ValueError, match=r"adam_beta2 must be in \[0, 1\), got 1.0"):
        lm_training.TrainConfig(adam_beta2=1.0).validate()
    with pytest.raises(ValueError, match="moms must be a pair"):
        lm_training.TrainConfig(moms=(0.9, 0.8, 0.7)).validate()
    assert lm_training.TrainConfig(epochs=3, batch_size=4, bptt=10).schedule_steps(
        4 * 101) == 3 * 10
