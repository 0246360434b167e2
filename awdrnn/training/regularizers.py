"""Activation regularisers and weight decay of AWD-LSTM (section 4.6).

    AR  = alpha * mean(m * h_T ** 2)                 on the *dropped* final output
    TAR = beta  * mean((h_t - h_{t-1}) ** 2)         on the *undropped* final output

with means over every element (batch, time and units), as the salesforce
`main.py` computes them (`dropped_rnn_hs[-1].pow(2).mean()` and
`(rnn_hs[-1][1:] - rnn_hs[-1][:-1]).pow(2).mean()`). Weight decay is the L2
penalty of PyTorch's `weight_decay` argument: its gradient `wdecay * w` is
added to the (clipped) gradient of every parameter.

    import awdrnn.training.regularizers as reg
    loss = xent + reg.activation_regularization(dropped, 2.0) \\
                + reg.temporal_activation_regularization(raw, 1.0)
"""

import tensorflow as tf


def _check_coefficient(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
    return float(value)


def _check_outputs(outputs, name):
    outputs = tf.convert_to_tensor(outputs)
    if outputs.shape.rank != 3:
        raise ValueError(f"{name} must be [batch, time, units], got shape {outputs.shape}.")
    return outputs


def activation_regularization(dropped_outputs, alpha):
    """AR: `alpha * mean(dropped_outputs ** 2)`.

    Args:
      dropped_outputs: `[batch, time, units]` final-layer outputs after dropout.
      alpha: coefficient >= 0 (paper: 2).

    Returns:
      scalar tensor (a constant 0 when `alpha == 0`).
    """
    alpha = _check_coefficient(alpha, "alpha")
    dropped_outputs = _check_outputs(dropped_outputs, "dropped_outputs")
    if alpha == 0.0:
        return tf.zeros([], dropped_outputs.dtype)
    return alpha * tf.reduce_mean(tf.square(dropped_outputs))


def temporal_activation_regularization(outputs, beta):
    """TAR: `beta * mean((outputs[:, 1:] - outputs[:, :-1]) ** 2)`.

    Args:
      outputs: `[batch, time, units]` final-layer outputs before dropout
        (batch-major: differences along axis 1).
      beta: coefficient >= 0 (paper: 1).

    Returns:
      scalar tensor; 0 for one-step segments or `beta == 0`.
    """
    beta = _check_coefficient(beta, "beta")
    outputs = _check_outputs(outputs, "outputs")
    if beta == 0.0:
        return tf.zeros([], outputs.dtype)
    diff = outputs[:, 1:] - outputs[:, :-1]
    mean = tf.math.divide_no_nan(tf.reduce_sum(tf.square(diff)),
                                 tf.cast(tf.size(diff), outputs.dtype))
    return beta * mean


def add_weight_decay(grads_and_vars, wdecay):
    """Adds `wdecay * v` to each gradient (PyTorch `weight_decay`, i.e. L2).

    Sparse gradients (`IndexedSlices`, from embedding lookups) become dense,
    as the whole matrix decays. Pairs with a None gradient are kept as is.
    """
    wdecay = _check_coefficient(wdecay, "wdecay")
    if wdecay == 0.0:
        return list(grads_and_vars)
    out = []
    for g, v in grads_and_vars:
        if g is not None:
            g = tf.convert_to_tensor(g) + wdecay * tf.convert_to_tensor(v)
        out.append((g, v))
    return out
