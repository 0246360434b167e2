"""awdrnn.training.loop with a task that is not a language model: linear regression.

`Regression` fits `y = x . w + b` by plain SGD on the mean squared error, over
fixed mini-batches of a fixed NumPy dataset, in order. Every expectation is a
NumPy replay of the same updates (`w <- w - lr * 2/n X^T (X w + b - y)`), not
another run of the loop: the weights after each step, the epoch losses, the
validation losses, which epoch's model is the best.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.training import checkpoints
from awdrnn.lm.errors import CheckpointMismatch, DataError, Interrupted, NaNLoss
from awdrnn.training import loop

RNG = np.random.RandomState(0)
W_TRUE, B_TRUE = np.array([1.5, -2.0, 0.5]), 0.7
X = RNG.normal(size=(26, 3))
Y = X @ W_TRUE + B_TRUE + 0.1 * RNG.normal(size=26)
X_VALID = RNG.normal(size=(12, 3))
# Validation targets from 3/4 of the true weights: the validation loss first falls
# as w moves from 0 towards W_TRUE, then rises again (the best epoch, 3, is inside).
Y_VALID = 0.75 * (X_VALID @ W_TRUE + B_TRUE)
BATCH, LR = 4, 0.05
STEPS_PER_EPOCH = -(-len(X) // BATCH)           # 7: the last batch has 2 examples


def _batch(i):
    return X[i * BATCH:(i + 1) * BATCH], Y[i * BATCH:(i + 1) * BATCH]


class Regression(loop.Task):
    """Least squares by SGD; `poison` = (epoch, batch) whose targets are NaN;
    `plots=False` skips curves.png (matplotlib takes seconds per figure here)."""

    def __init__(self, poison=None, plots=False):
        self.poison, self.plots = poison, plots

    def plot_curves(self, metrics, path, log):
        if self.plots:
            super().plot_curves(metrics, path, log)

    def build_graph(self, graph_seed):
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.set_random_seed(graph_seed)
            self.x = tf.compat.v1.placeholder(tf.float64, [None, 3])
            self.y = tf.compat.v1.placeholder(tf.float64, [None])
            self.w = tf.compat.v1.get_variable("w", initializer=np.zeros(3))
            self.b = tf.compat.v1.get_variable("b", initializer=np.float64(0.0))
            pred = tf.linalg.matvec(self.x, self.w) + self.b
            self.loss = tf.reduce_mean(tf.square(pred - self.y))
            self.lr = tf.compat.v1.placeholder(tf.float64, [])
            self.step_op = tf.compat.v1.train.GradientDescentOptimizer(self.lr).minimize(self.loss)
            self.saved_vars = tf.compat.v1.global_variables()
            self.saver = tf.compat.v1.train.Saver(self.saved_vars)
            self.init_op = tf.compat.v1.global_variables_initializer()

    def fresh_state(self):
        return {"batch": 0}

    def train_step(self, sess, state):
        i = state["batch"]
        if i == STEPS_PER_EPOCH:
            return None
        x, y = _batch(i)
        if self.poison == (state["epoch"], i):
            y = np.full_like(y, np.nan)
        loss, _ = sess.run([self.loss, self.step_op], {self.x: x, self.y: y, self.lr: LR})
        state["batch"] = i + 1
        return loop.Step(loss, len(y), f"batch {i}")

    def advance_epoch(self, sess, state):
        state["batch"] = 0

    def evaluate(self, sess, state):
        return {"valid_loss": float(sess.run(self.loss, {self.x: X_VALID, self.y: Y_VALID}))}


def _mse(x, y, w, b):
    return float(np.mean((x @ w + b - y) ** 2))


def _replay(steps):
    """NumPy SGD over the same batches: `[(w, b, loss)]` after each step (index 0: start)."""
    w, b = np.zeros(3), 0.0
    out = [(w, b, None)]
    for k in range(steps):
        x, y = _batch(k % STEPS_PER_EPOCH)
        err = x @ w + b - y
        loss = float(np.mean(err ** 2))
        w, b = w - LR * 2 * x.T @ err / len(y), b - LR * 2 * err.mean()
        out.append((w, b, loss))
    return out


def _saved(folder):
    reader = tf.train.load_checkpoint(os.path.join(folder, "model"))
    return reader.get_tensor("w"), reader.get_tensor("b")


def _run(folder, task=None, **kw):
    kw.setdefault("log", lambda line: None)
    return loop.TrainingLoop(task or Regression(), str(folder), **kw).run()


def _latest(folder, store="checkpoints"):
    return checkpoints.CheckpointStore(os.path.join(folder, store)).latest()


def test_trains_to_the_numpy_sgd_replay(tmp_path):
    epochs = 6
    metrics = _run(tmp_path, epochs=epochs, log_interval=2)
    replay = _replay(epochs * STEPS_PER_EPOCH)
    w, b = _saved(_latest(tmp_path))
    np.testing.assert_allclose(w, replay[-1][0], rtol=1e-10)
    np.testing.assert_allclose(b, replay[-1][1], rtol=1e-10)
    assert metrics["steps"] == epochs * STEPS_PER_EPOCH and metrics["status"] == "completed"
    for e, record in enumerate(metrics["epochs"], 1):
        first_step, last_step = (e - 1) * STEPS_PER_EPOCH + 1, e * STEPS_PER_EPOCH
        losses = [loss for _, _, loss in replay[first_step:last_step + 1]]
        sizes = [len(_batch(i)[1]) for i in range(STEPS_PER_EPOCH)]   # weighted by batch size
        assert record["train_loss"] == pytest.approx(np.average(losses, weights=sizes), rel=1e-10)
        w_e, b_e, _ = replay[e * STEPS_PER_EPOCH]
        assert record["valid_loss"] == pytest.approx(_mse(X_VALID, Y_VALID, w_e, b_e), rel=1e-10)
    # The training loss falls, and w approaches the least-squares solution.
    first, last = metrics["epochs"][0]["train_loss"], metrics["epochs"][-1]["train_loss"]
    assert last < 0.02 * first
    least_squares = np.linalg.lstsq(np.c_[X, np.ones(len(X))], Y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[w, b], least_squares, atol=0.15)
    # Progress every 2 steps: the interval's mean loss.
    assert metrics["train_curve"][0] == [2, pytest.approx(np.mean([replay[1][2], replay[2][2]]))]
    assert checkpoints.read_json(str(tmp_path / "metrics.json"))["steps"] == metrics["steps"]


def test_writes_curves_tensorboard_and_log_lines(tmp_path):
    lines = []
    _run(tmp_path, Regression(plots=True), epochs=1, log_interval=3, log=lines.append)
    assert os.path.getsize(tmp_path / "curves.png") > 1000
    assert any(f.startswith("events") for f in os.listdir(tmp_path / "tb"))
    assert [line.split(" |")[0] for line in lines] == ["| epoch   1", "| epoch   1",
                                                       "-- end of epoch   1"]
    assert lines[-1].endswith(" *")               # the first evaluation is the best so far


def test_the_best_model_is_the_one_with_the_best_validation_loss(tmp_path):
    epochs = 8
    _run(tmp_path, epochs=epochs)
    replay = _replay(epochs * STEPS_PER_EPOCH)
    valid = [_mse(X_VALID, Y_VALID, *replay[e * STEPS_PER_EPOCH][:2]) for e in range(1, epochs + 1)]
    best_epoch = int(np.argmin(valid)) + 1
    assert 1 < best_epoch < epochs, valid           # the data make the best one inside
    best = _latest(tmp_path, "best")
    assert os.path.basename(best) == f"best-{best_epoch * STEPS_PER_EPOCH}"
    w, b = _saved(best)
    np.testing.assert_allclose(w, replay[best_epoch * STEPS_PER_EPOCH][0], rtol=1e-10)
    np.testing.assert_allclose(b, replay[best_epoch * STEPS_PER_EPOCH][1], rtol=1e-10)


def test_budget_stop_and_interrupt_then_resume_continue_exactly(tmp_path):
    # A step budget stops inside epoch 2; a stop request (Ctrl-C) at step 10
    # inside it; the resumed runs end where 3 uninterrupted epochs end.
    total = 3 * STEPS_PER_EPOCH
    metrics = _run(tmp_path, epochs=3, max_steps=8)
    assert metrics["status"] == "stopped by budget" and metrics["steps"] == 8
    holder = {}

    def stop_at_10(line):
        if line.startswith("| epoch") and holder["loop"].state["step"] == 10:
            holder["loop"].stop_requested = 2
    holder["loop"] = loop.TrainingLoop(Regression(), str(tmp_path), epochs=3, log_interval=1,
                                       resume=True, log=stop_at_10)
    with pytest.raises(Interrupted, match="interrupted at step 10"):
        holder["loop"].run()
    state = checkpoints.read_json(os.path.join(_latest(tmp_path), "state.json"))
    assert (state["step"], state["epoch"], state["batch"]) == (10, 2, 3)
    metrics = _run(tmp_path, epochs=3, resume=True)
    assert metrics["steps"] == total and metrics["status"] == "completed"
    w, b = _saved(_latest(tmp_path))
    np.testing.assert_allclose(w, _replay(total)[-1][0], rtol=1e-10)
    np.testing.assert_allclose(b, _replay(total)[-1][1], rtol=1e-10)
    full = [e for e in metrics["epochs"] if not e["partial"]]
    assert [e["epoch"] for e in full] == [1, 2, 3]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    with pytest.raises(NaNLoss, match=r"loss is nan at step 10 \(epoch 2, batch 2\); training "
                                      r"stopped\. The last good checkpoint is kept: .*ckpt-7") as e:
        _run(tmp_path, Regression(poison=(2, 2)), epochs=3)
    assert e.value.exit_code == 3
    latest = _latest(tmp_path)
    assert os.path.basename(latest) == "ckpt-7"
    assert checkpoints.read_json(os.path.join(latest, "state.json"))["step"] == 7
    w, b = _saved(latest)
    np.testing.assert_allclose(w, _replay(7)[-1][0], rtol=1e-10)
    assert np.isfinite(w).all() and np.isfinite(b)
    left = [os.path.join(d, f) for d, dirs, files in os.walk(tmp_path) for f in files + dirs
            if ".tmp" in f]
    assert not left, left
    assert checkpoints.read_json(str(tmp_path / "metrics.json"))["status"] == "nan loss at step 10"


def test_a_used_folder_is_refused_and_resume_needs_a_run(tmp_path):
    _run(tmp_path / "run", epochs=1)
    with pytest.raises(DataError, match="already holds a run; pass resume=True"):
        loop.TrainingLoop(Regression(), str(tmp_path / "run"), epochs=2)
    with pytest.raises(CheckpointMismatch, match="cannot resume: .*config.json' does not exist"):
        loop.TrainingLoop(Regression(), str(tmp_path / "empty"), epochs=2, resume=True)


class _NoRewind(Regression):
    def advance_epoch(self, sess, state):
        pass


def test_an_epoch_without_data_is_an_error_not_an_endless_loop(tmp_path):
    with pytest.raises(DataError, match=r"epoch 2 has no data: _NoRewind.train_step returned None"):
        _run(tmp_path, _NoRewind(), epochs=2)
