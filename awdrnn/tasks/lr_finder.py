"""The learning-rate finder (Smith 2017; fastai's `lr_find`): a short sweep of rising rates.

One training step per rate, the rates growing geometrically from `start_lr`
to `end_lr`; the loss is smoothed and the sweep stops when it diverges. The
weights (and optimizer slots, global step) are put back afterwards, so the
sweep leaves the model as it was. The core is framework-agnostic: `find_lr`
calls `run_step(lr) -> loss`; `VariableSnapshot` saves and restores the
variables of a TF1 graph:

    import numpy as np
    import tensorflow as tf
    from awdrnn.tasks import lr_finder

    with tf.Graph().as_default() as graph:
        x = tf.constant(np.random.default_rng(0).normal(size=[64, 4]), tf.float32)
        y = tf.reduce_sum(x, axis=1, keepdims=True)
        w = tf.compat.v1.get_variable("w", [4, 1], initializer=tf.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
        lr = tf.compat.v1.placeholder(tf.float32, [])
        train_op = tf.compat.v1.train.AdamOptimizer(lr).minimize(
            loss, global_step=tf.compat.v1.train.get_or_create_global_step())
        snapshot = lr_finder.VariableSnapshot(tf.compat.v1.global_variables())
        init = tf.compat.v1.global_variables_initializer()
    graph.finalize()
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init)
        result = lr_finder.find_lr(
            lambda rate: sess.run([train_op, loss], {lr: rate})[1],
            start_lr=1e-4, end_lr=100.0, num_steps=60,
            snapshot=snapshot.in_session(sess))
        print(f"{result.suggested_lr:.2g}", sess.run(w).ravel())  # weights back: [0 0 0 0]

Rates (step `i` of `N`) and the smoothed loss (fastai's `SmoothenValue`, a
debiased exponential moving average, `avg_{-1} = 0`):

    lr_i       = start_lr * (end_lr / start_lr) ** (i / (N - 1))
    avg_i      = beta * avg_{i-1} + (1 - beta) * loss_i
    smoothed_i = avg_i / (1 - beta ** (i + 1))

The sweep stops after step `i > 0` when `smoothed_i > stop_factor *
min_{j <= i} smoothed_j` (that step is kept), or at a non-finite loss
(that step is dropped). Two rates are suggested (fastai v1's `Recorder.plot`,
v2's `steep` and `minimum`; `suggest_lrs`): the rate of the steepest descent
of the smoothed loss against `log(lr)`, and the rate of its minimum / 10.
"""

import collections
import math
import numbers

import numpy as np
import tensorflow as tf

from awdrnn.lm import errors as lm_errors
from awdrnn.text import text_files

MIN_POINTS = 5   # the fewest points a suggestion is computed from
SKIP_START = 10  # fastai v1 `Recorder.plot(skip_start=10, skip_end=5)`
SKIP_END = 5

LRFinderResult = collections.namedtuple(
    "LRFinderResult", ["lrs", "losses", "smoothed", "suggested_lr", "min_loss_lr",
                       "stopped_early"])
LRFinderResult.__doc__ = (
    "A sweep: `lrs`, `losses` (raw), `smoothed` (`[n]` float64, one per recorded step); "
    "`suggested_lr` (steepest descent) and `min_loss_lr` (minimum / 10), see `suggest_lrs`; "
    "`stopped_early`: the sweep was stopped (the loss diverged, or was non-finite).")


def exponential_lrs(start_lr=1e-7, end_lr=10.0, num_steps=100):
    """`[num_steps]` float64 rates `start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))`.

    Raises:
      ValueError: rates not `0 < start_lr < end_lr`, or `num_steps` not an int >= 2.
    """
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not (value > 0 and math.isfinite(value))):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if not start_lr < end_lr:
        raise ValueError(f"start_lr must be below end_lr, got start_lr={start_lr!r}, "
                         f"end_lr={end_lr!r}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral) \
            or num_steps < 2:
        raise ValueError(f"num_steps must be an int >= 2, got {num_steps!r}")
    i = np.arange(num_steps, dtype=np.float64)
    return start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))


def suggest_lrs(lrs, smoothed, skip_start=SKIP_START, skip_end=SKIP_END):
    """The two suggested rates of a sweep (fastai v1's `Recorder.plot(suggestion=True)`).

    On the points `[s, e)`, the first `skip_start` and the last `skip_end`
    left out as long as `MIN_POINTS` (5) remain (the first smoothed values
    are averages of few losses, the last ones where it shoots up as the sweep
    stops):

      suggested = lrs[argmin_i d smoothed / d log(lr)]  (`numpy.gradient`:
                  the steepest descent; fastai v1 "Min numerical gradient",
                  fastai v2 `steep`)
      min_loss  = lrs[argmin_i smoothed_i] / 10         (fastai "Min loss
                  divided by 10", v2 `minimum`)

    Args:
      lrs, smoothed: `[n]` rates (rising) and smoothed losses of a sweep.
      skip_start, skip_end: points left out at the start and the end.

    Returns:
      `(suggested, min_loss)` floats.

    Raises:
      TrainingError: fewer than 5 points (the sweep was too short, or the loss
        diverged at once).
    """
    lrs, smoothed = np.asarray(lrs, np.float64), np.asarray(smoothed, np.float64)
    n = len(smoothed)
    if n < MIN_POINTS or len(lrs) != n:
        raise lm_errors.TrainingError(
            f"lr finder: {n} points recorded, too few to suggest a rate (at least "
            f"{MIN_POINTS}); the loss diverged or was NaN at once, or the sweep was too "
            f"short: start at a lower start_lr, or give more num_steps")
    end = max(n - skip_end, MIN_POINTS)
    start = max(min(skip_start, end - MIN_POINTS), 0)
    window = slice(start, end)
    slope = np.gradient(smoothed[window], np.log(lrs[window]))
    suggested = lrs[window][int(np.argmin(slope))]
    min_loss = lrs[window][int(np.argmin(smoothed[window]))] / 10.0
    return float(suggested), float(min_loss)


def find_lr(run_step, start_lr=1e-7, end_lr=10.0, num_steps=100, beta=0.98, stop_factor=4.0,
            snapshot=None):
    """Runs one training step per rate of `exponential_lrs` until the loss diverges.

    Args:
      run_step: `f(lr) -> loss`: one training step at rate `lr` (a float),
        returning its loss (a number).
      start_lr, end_lr, num_steps: the rates, as `exponential_lrs`.
      beta: smoothing of the loss (module docstring), in `[0, 1)`.
      stop_factor: stop once the smoothed loss exceeds this times its minimum (> 1).
      snapshot: None, or an object with `save()` and `restore()` (e.g.
        `VariableSnapshot(...).in_session(sess)`): `save()` is called before
        the first step and `restore()` afterwards, also when a step raises
        (an exception, KeyboardInterrupt), so the weights are as before.

    Returns:
      an `LRFinderResult`; the suggestions by `suggest_lrs`.

    Raises:
      ValueError: a bad argument.
      TrainingError: fewer than 5 points recorded (as `suggest_lrs`).
    """
    lrs = exponential_lrs(start_lr, end_lr, num_steps)
    if num_steps < MIN_POINTS:
        raise ValueError(f"num_steps must be >= {MIN_POINTS}, got {num_steps!r}")
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < 1:
        raise ValueError(f"beta must be a number in [0, 1) (fastai: 0.98), got {beta!r}")
    if (isinstance(stop_factor, bool) or not isinstance(stop_factor, numbers.Real)
            or not stop_factor > 1):
        raise ValueError(f"stop_factor must be a number > 1 (fastai: 4), got "
                         f"{stop_factor!r}")
    losses, smoothed = [], []
    avg, best, stopped = 0.0, math.inf, False
    if snapshot is not None:
        snapshot.save()
    try:
        for i, lr in enumerate(lrs):
            loss = float(run_step(float(lr)))
            if not math.isfinite(loss):
                stopped = True
                break
            avg = beta * avg + (1.0 - beta) * loss
            value = avg / (1.0 - beta ** (i + 1))
            losses.append(loss)
            smoothed.append(value)
            best = min(best, value)
            if i > 0 and value > stop_factor * best:
                stopped = True
                break
    finally:
        if snapshot is not None:
            snapshot.restore()
    n = len(losses)
    suggested, min_loss = suggest_lrs(lrs[:n], smoothed)
    return LRFinderResult(lrs[:n], np.array(losses, np.float64),
                          np.array(smoothed, np.float64), suggested, min_loss, stopped)


class VariableSnapshot:
    """Saves and restores the values of variables of a TF1 graph, bit for bit.

    The placeholders and assign ops are made here, at graph-construction
    time, so saving and restoring work on a finalized graph. Works with ref
    variables (TF1) and resource variables alike. Give every variable a
    training step changes: weights, optimizer slots (Adam's m and v, its
    `beta1_power` / `beta2_power`) and the global step;
    `tf.compat.v1.global_variables()` (the default) holds them all.

        snapshot = VariableSnapshot(tf.compat.v1.global_variables())  # building
        ...
        saved = snapshot.in_session(sess)    # running: has save() and restore()
        saved.save(); ...; saved.restore()

    Args:
      variables: the variables (of the default graph); None: all global ones.

    Raises:
      ValueError: no variables.
    """

    def __init__(self, variables=None):
        if variables is None:
            variables = tf.compat.v1.global_variables()
        unique = {}
        for v in variables:
            unique.setdefault(id(v), v)
        self.variables = list(unique.values())
        if not self.variables:
            raise ValueError("VariableSnapshot: no variables; build the model first, or "
                             "give its variables")
        self.graph = self.variables[0].graph
        with self.graph.as_default(), tf.name_scope("variable_snapshot"):
            self._placeholders = [
                tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape) for v in self.variables]
            self._restore_op = tf.group(*[
                tf.compat.v1.assign(v, p) for v, p in zip(self.variables, self._placeholders)])

    def values(self, sess):
        """The current values: a list of NumPy arrays (copies), one per variable."""
        return [np.array(value, copy=True) for value in sess.run(self.variables)]

    def assign(self, sess, values):
        """Sets the variables to `values` (as returned by `values`)."""
        sess.run(self._restore_op, dict(zip(self._placeholders, values)))

    def in_session(self, sess):
        """An object with `save()` (keeps the current values) and `restore()`
        (puts them back) in `sess`, as `find_lr`'s `snapshot` wants.

        Raises:
          ValueError: `sess` runs another graph.
        """
        if sess.graph is not self.graph:
            raise ValueError("VariableSnapshot.in_session: the session runs another graph "
                             "than the one the variables are in")
        return _SessionSnapshot(self, sess)


class _SessionSnapshot:
    """`save()` / `restore()` of a `VariableSnapshot` in one session."""

    def __init__(self, snapshot, sess):
        self._snapshot, self._sess, self._saved = snapshot, sess, None

    def save(self):
        self._saved = self._snapshot.values(self._sess)

    def restore(self):
        if self._saved is None:
            raise RuntimeError("restore() before save(): nothing saved to restore")
        self._snapshot.assign(self._sess, self._saved)


def plot_lr_finder(result, path, log=print):
    """Writes a PNG of the sweep (atomically): the raw loss (faint) and the
    smoothed loss against the rate, on a log x axis, with the suggested rate
    (steepest descent) marked and the minimum / 10 as a dotted line; both
    rates are in the legend.

    Needs matplotlib (`pip install awdrnn[examples]`); without it, logs how to
    get it and writes nothing.

    Args:
      result: an `LRFinderResult`.
      path: the PNG file.
      log: `f(str)` for the message when matplotlib is missing.

    Returns:
      True if the file was written.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        log(f"  (matplotlib is not installed: no {path}; pip install awdrnn[examples])")
        return False
    lrs, losses, smoothed = (np.asarray(a, np.float64) for a in result[:3])
    fig = Figure(figsize=(7, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(lrs, losses, color="C0", alpha=0.3, lw=1, label="loss")
    ax.plot(lrs, smoothed, color="C0", lw=2, label="smoothed loss")
    at = int(np.argmin(np.abs(np.log(lrs) - math.log(result.suggested_lr))))
    ax.plot([result.suggested_lr], [smoothed[at]], "o", color="C3", ms=8,
            label=f"steepest descent: lr {result.suggested_lr:.2g}")
    ax.axvline(result.min_loss_lr, color="C2", ls=":",
               label=f"minimum / 10: lr {result.min_loss_lr:.2g}")
    low, high = min(losses.min(), smoothed.min()), smoothed.max()
    margin = 0.05 * (high - low) or 0.05 * abs(high) or 1.0
    ax.set_ylim(low - margin, high + margin)  # raw losses at the divergence are cut
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    title = "learning-rate finder"
    if result.stopped_early:
        title += " (stopped: the loss diverged)"
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with text_files.atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=80)
    return True
