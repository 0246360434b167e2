"""Learning-rate and momentum schedules (awdrnn/training/schedules.py).

References are written here from the publications, independently of the
module: ULMFiT's eq. 3 as printed (Howard & Ruder 2018), and fastai v1's
`fit_one_cycle` as its code steps it (`annealing_cos`, two `Scheduler`
phases of `int(n * pct_start)` and the remaining batches).
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.training import schedules
from tf_session import new_session


def paper_stlr(t, T, eta_max, cut_frac=0.1, ratio=32):
    """ULMFiT eq. 3, verbatim."""
    cut = math.floor(T * cut_frac)
    if t < cut:
        p = t / cut
    else:
        p = 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return eta_max * (1 + p * (ratio - 1)) / ratio


def fastai_annealing_cos(start, end, pct):
    cos_out = np.cos(np.pi * pct) + 1
    return end + (start - end) / 2 * cos_out


def fastai_one_cycle(n, lr_max, moms=(0.95, 0.85), div_factor=25.0, pct_start=0.3,
                     final_div=None):
    """(lr, mom) of batch 0 .. n-1 as fastai v1's OneCycleScheduler sets them,
    then the value after the last batch (its phase 2 at pct 1)."""
    final_div = final_div or div_factor * 1e4
    a1 = int(n * pct_start)
    a2 = n - a1
    low, end = lr_max / div_factor, lr_max / final_div
    values = [(fastai_annealing_cos(low, lr_max, i / a1),
               fastai_annealing_cos(moms[0], moms[1], i / a1)) for i in range(a1)]
    values += [(fastai_annealing_cos(lr_max, end, i / a2),
                fastai_annealing_cos(moms[1], moms[0], i / a2)) for i in range(a2 + 1)]
    return values


def _graph_values(fn, steps):
    """`fn(global_step)` evaluated with the global step set to each of `steps`."""
    with tf.Graph().as_default() as graph:
        step = tf.compat.v1.train.get_or_create_global_step()
        value = fn(step)
        set_step = tf.compat.v1.placeholder(tf.int64, [])
        assign = tf.compat.v1.assign(step, set_step)
        with new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            out = []
            for s in steps:
                sess.run(assign, {set_step: s})
                out.append(sess.run(value))
    return out


STLR_STEPS = [0, 1, 50, 99, 100, 101, 550, 999, 1000]


def test_stlr_corner_values():
    assert schedules.slanted_triangular(0, 1000, 0.01) == pytest.approx(0.01 / 32)
    assert schedules.slanted_triangular(100, 1000, 0.01) == pytest.approx(0.01)
    assert schedules.slanted_triangular(1000, 1000, 0.01) == pytest.approx(0.01 / 32)


def test_stlr_python_and_graph_match_the_paper(tf1_flavour):
    expected = [paper_stlr(t, 1000, 0.01) for t in STLR_STEPS]
    python = [schedules.slanted_triangular(t, 1000, 0.01) for t in STLR_STEPS]
    graph = _graph_values(lambda s: schedules.slanted_triangular(s, 1000, 0.01),
                          STLR_STEPS)
    np.testing.assert_allclose(python, expected, rtol=1e-12)
    np.testing.assert_allclose(graph, expected, rtol=1e-6)


def test_stlr_other_cut_frac_and_ratio():
    for t in [0, 19, 20, 21, 100, 200]:
        assert schedules.slanted_triangular(t, 200, 3.0, cut_frac=0.1, ratio=10) == \
            pytest.approx(paper_stlr(t, 200, 3.0, 0.1, 10), rel=1e-12)
    for t in [0, 49, 50, 51, 199, 200]:
        assert schedules.slanted_triangular(t, 200, 3.0, cut_frac=0.25) == \
            pytest.approx(paper_stlr(t, 200, 3.0, 0.25), rel=1e-12)


def test_stlr_when_cut_is_not_whole_ends_at_the_lowest_rate():
    """T=105: the paper's form would end negative; ours ends at max_lr/ratio."""
    T, cut = 105, 10
    assert paper_stlr(T, T, 1.0) < 0
    for t in range(cut + 1):
        assert schedules.slanted_triangular(t, T, 1.0) == pytest.approx(paper_stlr(t, T, 1.0))
    assert schedules.slanted_triangular(T, T, 1.0) == pytest.approx(1 / 32)
    after = [schedules.slanted_triangular(t, T, 1.0) for t in range(cut, T + 1)]
    assert all(a > b for a, b in zip(after, after[1:]))


def test_stlr_stays_at_the_end_value_after_T():
    assert schedules.slanted_triangular(5000, 1000, 0.01) == pytest.approx(0.01 / 32)
    graph = _graph_values(lambda s: schedules.slanted_triangular(s, 1000, 0.01), [5000])
    assert graph[0] == pytest.approx(0.01 / 32)


ONE_CYCLE_STEPS = [0, 1, 150, 299, 300, 301, 650, 999, 1000]


def test_one_cycle_corner_values():
    assert schedules.one_cycle(0, 1000, 1e-3) == pytest.approx((1e-3 / 25, 0.95))
    assert schedules.one_cycle(300, 1000, 1e-3) == pytest.approx((1e-3, 0.85))
    assert schedules.one_cycle(1000, 1000, 1e-3) == pytest.approx((1e-3 / 25e4, 0.95))


def test_one_cycle_python_and_graph_match_fastai(tf1_flavour):
    reference = fastai_one_cycle(1000, 1e-3)
    expected = np.array([reference[t] for t in ONE_CYCLE_STEPS])
    python = np.array([schedules.one_cycle(t, 1000, 1e-3) for t in ONE_CYCLE_STEPS])
    graph = np.array(_graph_values(lambda s: schedules.one_cycle(s, 1000, 1e-3),
                                   ONE_CYCLE_STEPS))
    np.testing.assert_allclose(python, expected, rtol=1e-12)
    # float32: 1 + cos(pi x) near x = 1 loses digits; 1e-11 is 1e-8 of max_lr.
    np.testing.assert_allclose(graph, expected, rtol=2e-6, atol=1e-11)


def test_one_cycle_every_step_with_other_arguments():
    """pct_start 0.25 of 10 steps: warm-up int(2.5) = 2 steps; moms given."""
    kwargs = dict(moms=(0.8, 0.7), div_factor=10.0, pct_start=0.25, final_div=100.0)
    reference = fastai_one_cycle(10, 2.0, **kwargs)
    for t in range(11):
        assert schedules.one_cycle(t, 10, 2.0, **kwargs) == pytest.approx(reference[t],
                                                                         rel=1e-12)
    assert schedules.one_cycle(2, 10, 2.0, **kwargs) == pytest.approx((2.0, 0.7))
    assert schedules.one_cycle(10, 10, 2.0, **kwargs) == pytest.approx((0.02, 0.8))


@pytest.mark.parametrize("call,message", [
    (lambda: schedules.slanted_triangular(0, 9, 1.0), r"total_steps=9 with cut_frac=0.1 "
                                                      r"turns at step 0"),
    (lambda: schedules.slanted_triangular(0, 0, 1.0), r"total_steps must be a positive "
                                                      r"int, got 0"),
    (lambda: schedules.slanted_triangular(0, 100, 1.0, cut_frac=1.0), r"cut_frac must be "
                                                                      r"in \(0, 1\)"),
    (lambda: schedules.slanted_triangular(0, 100, 1.0, ratio=0.5), r"ratio must be >= 1"),
    (lambda: schedules.one_cycle(0, 3, 1.0), r"total_steps=3 with pct_start=0.3 turns "
                                             r"at step 0"),
    (lambda: schedules.one_cycle(0, 100, 1.0, pct_start=0), r"pct_start must be in"),
    (lambda: schedules.one_cycle(0, 100, 1.0, moms=(0.9,)), r"moms must be a pair"),
    (lambda: schedules.one_cycle(0, 100.5, 1.0), r"total_steps must be a positive int, "
                                                 r"got 100.5")])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
