"""NumPy LSTMs written from the equations (Hochreiter & Schmidhuber), used as the
independent references in tests: TF's layout (gate order i, j, f, o as in
TF's LSTMCell, `lstm_forward`) and PyTorch's (`pytorch_lstm_forward`)."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_forward(x, w_x, w_h, b, forget_bias=1.0, c0=None, h0=None, lengths=None):
    """Runs an LSTM over `x` [batch, time, in] with fixed weights.

    w_x: [in, 4u], w_h: [u, 4u], b: [4u]. Past `lengths[b]` the state is frozen
    and the output is zero (as tf.compat.v1.nn.dynamic_rnn does).
    Returns (outputs [batch, time, u], c [batch, u], h [batch, u]).
    """
    batch, steps, _ = x.shape
    units = w_h.shape[0]
    c = np.zeros((batch, units)) if c0 is None else c0.copy()
    h = np.zeros((batch, units)) if h0 is None else h0.copy()
    outputs = np.zeros((batch, steps, units))
    for t in range(steps):
        z = x[:, t] @ w_x + h @ w_h + b
        i, j, f, o = np.split(z, 4, axis=1)
        c_new = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
        h_new = sigmoid(o) * np.tanh(c_new)
        live = np.ones((batch, 1), bool) if lengths is None else (t < np.asarray(lengths))[:, None]
        c = np.where(live, c_new, c)
        h = np.where(live, h_new, h)
        outputs[:, t] = np.where(live, h_new, 0.0)
    return outputs, c, h


def pytorch_lstm_forward(x, weight_ih, weight_hh, bias_ih, bias_hh):
    """`torch.nn.LSTM` (one layer, batch first) from its documented equations, in
    its own layout: `weight_ih [4H, in]`, `weight_hh [4H, H]`, biases `[4H]`,
    gate blocks i, f, g, o, no forget-gate offset, zero initial state.

        i, f, g, o = split(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g),   h_t = sigmoid(o) tanh(c_t)

    Returns outputs `[batch, time, H]`.
    """
    batch, steps, _ = x.shape
    units = weight_hh.shape[1]
    c = np.zeros((batch, units))
    h = np.zeros((batch, units))
    outputs = np.zeros((batch, steps, units))
    for t in range(steps):
        gates = x[:, t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs[:, t] = h
    return outputs
