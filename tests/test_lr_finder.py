"""The learning-rate finder (awdrnn/tasks/lr_finder.py).

The rates are checked against `numpy.geomspace`, the smoothing and the stop
rule against a vectorised NumPy version of the equations on scripted loss
sequences, the suggestions on synthetic curves whose steepest point and
minimum are known by construction, and the weight snapshot against the
values read from a TF1 session before the sweep.
"""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm.errors import TrainingError
from awdrnn.tasks import lr_finder
from tf_session import new_session


class Scripted:
    """`run_step` returning the losses of a script in turn; records the rates."""

    def __init__(self, losses):
        self.losses, self.rates = list(losses), []

    def __call__(self, lr):
        self.rates.append(lr)
        return self.losses[len(self.rates) - 1]


class Recorder:
    """A snapshot that records its calls."""

    def __init__(self):
        self.calls = []

    def save(self):
        self.calls.append("save")

    def restore(self):
        self.calls.append("restore")


def _reference_smoothing(losses, beta):
    """Debiased EMA as a matrix: avg_i = (1 - beta) sum_{j<=i} beta^(i-j) loss_j."""
    losses = np.asarray(losses, np.float64)
    i = np.arange(len(losses))
    weights = np.where(i[:, None] >= i[None, :], beta ** (i[:, None] - i[None, :]), 0.0)
    return (1 - beta) * weights @ losses / (1 - beta ** (i + 1))


def test_rates_are_geometric():
    lrs = lr_finder.exponential_lrs(1e-7, 10.0, 100)
    np.testing.assert_allclose(lrs, np.geomspace(1e-7, 10.0, 100), rtol=1e-12)
    assert lrs[0] == 1e-7 and abs(lrs[-1] - 10.0) < 1e-12
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], 10 ** (8 / 99), rtol=1e-12)
    for kwargs, message in (({"start_lr": 0.0}, "start_lr must be a finite number > 0"),
                            ({"start_lr": 1.0, "end_lr": 0.5}, "start_lr must be below end_lr"),
                            ({"num_steps": 1}, "num_steps must be an int >= 2, got 1")):
        with pytest.raises(ValueError, match=message):
            lr_finder.exponential_lrs(**kwargs)


def test_smoothing_and_divergence_stop_match_the_equations():
    rng = np.random.default_rng(0)
    script = np.concatenate([np.linspace(3.0, 1.0, 40) + rng.normal(0, 0.05, 40),
                             np.geomspace(1.5, 1e5, 30)])
    beta = 0.9
    want = _reference_smoothing(script, beta)
    stop = next(i for i in range(1, len(want))
                if want[i] > 4.0 * np.minimum.accumulate(want)[i])
    assert 40 < stop < len(script) - 1  # diverges inside the script, not at once
    run = Scripted(script)
    result = lr_finder.find_lr(run, 1e-5, 1.0, num_steps=100, beta=beta)
    assert len(run.rates) == stop + 1  # the step that diverged is the last one run
    np.testing.assert_allclose(run.rates, np.geomspace(1e-5, 1.0, 100)[:stop + 1], rtol=1e-12)
    np.testing.assert_allclose(result.lrs, run.rates, rtol=0)
    np.testing.assert_array_equal(result.losses, script[:stop + 1])
    np.testing.assert_allclose(result.smoothed, want[:stop + 1], rtol=1e-12)
    assert result.stopped_early


def test_a_nan_loss_stops_and_is_dropped():
    script = [4.0, 3.5, 3.0, 2.8, 2.5, 2.4, 2.2, 2.1, float("nan"), 1.0, 1.0]
    run = Scripted(script)
    result = lr_finder.find_lr(run, num_steps=11, beta=0.98)
    assert len(run.rates) == 9 and len(result.lrs) == 8
    np.testing.assert_array_equal(result.losses, script[:8])
    np.testing.assert_allclose(result.smoothed, _reference_smoothing(script[:8], 0.98),
                               rtol=1e-12)
    assert result.stopped_early
    full = lr_finder.find_lr(Scripted(script[:8]), num_steps=8)
    assert len(full.lrs) == 8 and not full.stopped_early


def _curve(lrs):
    """3 - tanh((log10 lr + 3) / 0.4) + 5 max(0, log10 lr + 1)^2: steepest at
    lr = 1e-3, lowest at lr = 0.1 (on rates 10^(-6 + 0.1 i))."""
    x = np.log10(lrs)
    return 3.0 - np.tanh((x + 3.0) / 0.4) + 5.0 * np.maximum(0.0, x + 1.0) ** 2


def test_suggestions_on_a_known_curve():
    lrs = lr_finder.exponential_lrs(1e-6, 1.0, 61)
    result = lr_finder.find_lr(lambda lr: _curve(np.array([lr]))[0], 1e-6, 1.0, 61, beta=0.0)
    assert not result.stopped_early and len(result.lrs) == 61
    np.testing.assert_array_equal(result.smoothed, result.losses)  # beta 0: no smoothing
    assert result.suggested_lr == pytest.approx(1e-3, rel=1e-9)
    assert result.min_loss_lr == pytest.approx(0.1 / 10, rel=1e-9)
    noisy = _curve(lrs)
    noisy[:2] = [9.0, 6.0]    # a steep fall in the first points (skipped: the first 10)
    noisy[-3:] = 0.2          # and in the last ones (skipped: the last 5)
    suggested, min_loss = lr_finder.suggest_lrs(lrs, noisy)
    assert suggested == pytest.approx(1e-3, rel=1e-9)
    assert min_loss == pytest.approx(0.01, rel=1e-9)
    assert lr_finder.suggest_lrs(lrs, noisy, skip_start=0)[0] == lrs[0]
    assert lr_finder.suggest_lrs(lrs, noisy, skip_end=0) == \
        pytest.approx((lrs[-3], lrs[-3] / 10), rel=1e-9)


def test_too_few_points_is_a_clear_error():
    with pytest.raises(TrainingError, match=r"3 points recorded, too few to suggest a rate "
                                            r"\(at least 5\).*lower start_lr"):
        lr_finder.find_lr(Scripted([2.0, 1.0, 1.5, float("inf")]), num_steps=10)
    with pytest.raises(ValueError, match=r"num_steps must be >= 5, got 4"):
        lr_finder.find_lr(Scripted([1.0] * 4), num_steps=4)
    with pytest.raises(ValueError, match=r"beta must be a number in \[0, 1\)"):
        lr_finder.find_lr(Scripted([1.0] * 9), beta=1.0)
    with pytest.raises(ValueError, match=r"stop_factor must be a number > 1"):
        lr_finder.find_lr(Scripted([1.0] * 9), stop_factor=0.5)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_snapshot_restored_after_an_exception(error):
    snapshot = Recorder()

    def run_step(lr):
        if len(snapshot.calls) == 1 and lr > 1e-5:
            raise error("stop")
        return 1.0

    with pytest.raises(error, match="stop"):
        lr_finder.find_lr(run_step, snapshot=snapshot)
    assert snapshot.calls == ["save", "restore"]
    ok = Recorder()
    lr_finder.find_lr(Scripted([1.0] * 10), num_steps=10, snapshot=ok)
    assert ok.calls == ["save", "restore"]


def test_tf1_sweep_leaves_every_variable_bit_for_bit(tf1_flavour, tmp_path):
    rng = np.random.default_rng(0)
    x_value = rng.normal(size=[32, 3]).astype(np.float32)
    y_value = x_value @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3
    with tf.Graph().as_default() as graph:
        x = tf.constant(x_value)
        w = tf.compat.v1.get_variable("w", [3, 1])
        b = tf.compat.v1.get_variable("b", [1], initializer=tf.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y_value))
        lr = tf.compat.v1.placeholder(tf.float32, [])
        step = tf.compat.v1.train.get_or_create_global_step()
        train_op = tf.compat.v1.train.AdamOptimizer(lr, beta1=0.8, beta2=0.99).minimize(
            loss, global_step=step)
        variables = tf.compat.v1.global_variables()
        snapshot = lr_finder.VariableSnapshot(variables)
        init = tf.compat.v1.global_variables_initializer()
    graph.finalize()
    names = sorted(v.op.name for v in variables)
    assert names == ["b", "b/Adam", "b/Adam_1", "beta1_power", "beta2_power", "global_step",
                     "w", "w/Adam", "w/Adam_1"]
    with new_session(graph) as sess:
        sess.run(init)
        for _ in range(3):  # non-trivial slots and beta powers
            sess.run(train_op, {lr: 0.05})
        before = [np.array(v, copy=True) for v in sess.run(variables)]
        seen = []

        def run_step(rate):
            seen.append(sess.run(w).copy())
            return sess.run([train_op, loss], {lr: rate})[1]

        result = lr_finder.find_lr(run_step, 1e-4, 100.0, num_steps=40,
                                   snapshot=snapshot.in_session(sess))
        assert len(seen) > 10 and not np.array_equal(seen[-1], before[names.index("w")])
        after = sess.run(variables)
        for name, old, new in zip([v.op.name for v in variables], before, after):
            assert new.dtype == old.dtype and new.tobytes() == old.tobytes(), name
        assert sess.run(step) == 3
    assert result.stopped_early and 1e-4 < result.suggested_lr < 100.0
    path = tmp_path / "lr_finder.png"
    assert lr_finder.plot_lr_finder(result, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_finder.png"]


def test_snapshot_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="no variables"):
            lr_finder.VariableSnapshot()
        v = tf.compat.v1.get_variable("v", [2])
        snapshot = lr_finder.VariableSnapshot()
    assert snapshot.variables == [v]
    other = tf.Graph()
    with new_session(other) as sess:
        with pytest.raises(ValueError, match="runs another graph"):
            snapshot.in_session(sess)
    with new_session(snapshot.graph) as sess:
        with pytest.raises(RuntimeError, match=r"restore\(\) before save\(\)"):
            snapshot.in_session(sess).restore()
