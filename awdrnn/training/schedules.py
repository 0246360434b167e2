"""Learning-rate and momentum schedules of ULMFiT and MultiFiT, for TF1 graphs.

Each schedule is a function of the step `t` (the number of updates done so
far, 0 before the first). Called with a tensor (e.g. the global step) it
returns float32 graph tensors, read afresh at every `session.run`; called with
a Python number it returns floats (the same formula, evaluated by NumPy):

    import tensorflow as tf
    from awdrnn.training import schedules
    from awdrnn.training.adamw import AdamWOptimizer

    with tf.Graph().as_default():
        step = tf.compat.v1.train.get_or_create_global_step()
        lr, beta1 = schedules.one_cycle(step, total_steps=1000, max_lr=2e-3)
        w = tf.compat.v1.get_variable("w", [3], initializer=tf.ones_initializer())
        loss = tf.reduce_sum(w ** 2)
        train_op = AdamWOptimizer(lr, beta1=beta1, beta2=0.99,
                                  weight_decay=0.01).minimize(loss, global_step=step)
    print(schedules.slanted_triangular(100, total_steps=1000, max_lr=0.01))  # 0.01

Slanted triangular (Howard & Ruder 2018, eq. 3), with T = `total_steps`:

    cut = floor(T * cut_frac)
    p   = t / cut                    if t < cut
          1 - (t - cut) / (T - cut)  otherwise
    lr  = max_lr * (1 + p * (ratio - 1)) / ratio

The paper writes the second denominator `cut * (1 / cut_frac - 1)`, equal to
`T - cut` when `T * cut_frac` is a whole number; otherwise the paper's form
ends below zero at t = T, while `T - cut` ends exactly at `max_lr / ratio`.

One-cycle (Smith 2018, as fastai v1's `fit_one_cycle`), with
`cos_anneal(a, b, x) = b + (a - b) / 2 * (1 + cos(pi * x))` and
`n1 = floor(T * pct_start)`:

    t < n1:  lr = cos_anneal(max_lr / div_factor, max_lr, t / n1)
             mom = cos_anneal(moms[0], moms[1], t / n1)
    t >= n1: lr = cos_anneal(max_lr, max_lr / final_div, (t - n1) / (T - n1))
             mom = cos_anneal(moms[1], moms[0], (t - n1) / (T - n1))

`final_div` defaults to `div_factor * 1e4` (lr/25 up to lr, down to
lr/250,000); `mom` is Adam's beta1 (fastai cycles it from 0.95 down to 0.85
and back). For t > T both schedules stay at their value at T.
"""

import math
import types

import numpy as np
import tensorflow as tf

_NUMPY = types.SimpleNamespace(cos=np.cos, where=np.where, minimum=np.minimum,
                               maximum=np.maximum)
_TF = types.SimpleNamespace(cos=tf.cos, where=tf.compat.v1.where_v2, minimum=tf.minimum,
                            maximum=tf.maximum)


def _ops_and_step(step):
    """The op namespace (NumPy or TF) and the step as float (array or tensor)."""
    if tf.is_tensor(step) or isinstance(step, tf.Variable):
        return _TF, tf.cast(step, tf.float32)
    return _NUMPY, np.float64(step)


def _result(ops, value):
    return float(value) if ops is _NUMPY else value


def _turning_step(name, total_steps, frac_name, frac):
    """`floor(total_steps * frac)`, checked to leave both phases non-empty."""
    if not (isinstance(total_steps, (int, np.integer)) and total_steps >= 1):
        raise ValueError(f"{name}: total_steps must be a positive int, got {total_steps!r}")
    if not 0.0 < frac < 1.0:
        raise ValueError(f"{name}: {frac_name} must be in (0, 1), got {frac!r}")
    turn = math.floor(total_steps * frac)
    if not 1 <= turn < total_steps:
        raise ValueError(
            f"{name}: total_steps={total_steps} with {frac_name}={frac} turns at step "
            f"{turn}; need 1 <= turn < total_steps (more steps, or another {frac_name})")
    return turn


def _clamped_step(step, total_steps):
    """The op namespace and the step as float, held within [0, total_steps]."""
    ops, t = _ops_and_step(step)
    return ops, ops.minimum(ops.maximum(t, 0.0), float(total_steps))


def slanted_triangular(step, total_steps, max_lr, cut_frac=0.1, ratio=32.0):
    """Slanted triangular learning rate (ULMFiT, eq. 3); formula in the module doc.

    Args:
      step: updates done so far: int tensor (e.g. the global step) or number.
      total_steps: T, the number of updates of the whole schedule.
      max_lr: the peak rate, reached at step `cut = floor(T * cut_frac)`.
      cut_frac: fraction of the steps spent increasing the rate.
      ratio: how much smaller the lowest rate is than `max_lr`.

    Returns:
      float32 scalar tensor if `step` is a tensor, else a Python float.

    Raises:
      ValueError: `cut` would be 0 or T (too few steps for `cut_frac`), or a
        bad argument.
    """
    cut = _turning_step("slanted_triangular", total_steps, "cut_frac", cut_frac)
    if not ratio >= 1.0:
        raise ValueError(f"slanted_triangular: ratio must be >= 1, got {ratio!r}")
    ops, t = _clamped_step(step, total_steps)
    p = ops.where(t < cut, t / cut, 1.0 - (t - cut) / (total_steps - cut))
    return _result(ops, max_lr * (1.0 + p * (ratio - 1.0)) / ratio)


def _cos_anneal(ops, start, end, x):
    return end + (start - end) / 2.0 * (1.0 + ops.cos(math.pi * x))


def one_cycle(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div=None,
              moms=(0.95, 0.85)):
    """One-cycle learning rate and momentum (fastai v1); formula in the module doc.

    Args:
      step: updates done so far: int tensor (e.g. the global step) or number.
      total_steps: T, the number of updates of the whole cycle.
      max_lr: the peak rate, reached at step `floor(T * pct_start)`.
      pct_start: fraction of the steps spent warming up.
      div_factor: the rate starts at `max_lr / div_factor`.
      final_div: the rate ends at `max_lr / final_div` (default `div_factor * 1e4`).
      moms: (start/end momentum, momentum at the peak rate): Adam's beta1.

    Returns:
      `(lr, momentum)`: float32 scalar tensors if `step` is a tensor, else floats.

    Raises:
      ValueError: a phase would be empty (too few steps for `pct_start`), or a
        bad argument.
    """
    n1 = _turning_step("one_cycle", total_steps, "pct_start", pct_start)
    if len(moms) != 2:
        raise ValueError(f"one_cycle: moms must be a pair (high, low), got {moms!r}")
    if final_div is None:
        final_div = div_factor * 1e4
    if not (div_factor > 0 and final_div > 0):
        raise ValueError(f"one_cycle: div_factor and final_div must be > 0, got "
                         f"{div_factor!r} and {final_div!r}")
    ops, t = _clamped_step(step, total_steps)
    warm = t < n1
    x = ops.where(warm, t / n1, (t - n1) / (total_steps - n1))
    lr = ops.where(warm, _cos_anneal(ops, max_lr / div_factor, max_lr, x),
                   _cos_anneal(ops, max_lr, max_lr / final_div, x))
    mom = ops.where(warm, _cos_anneal(ops, moms[0], moms[1], x),
                    _cos_anneal(ops, moms[1], moms[0], x))
    return _result(ops, lr), _result(ops, mom)
