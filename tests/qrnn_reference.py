"""NumPy QRNN written from the equations (Bradbury et al., 2016, fo-pooling as in
the salesforce QRNN), with the weight in PyTorch's `nn.Linear` layout, used as
the independent reference in tests."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def qrnn_forward(x, weight, bias, window=1, output_gate=True, zoneout=0.0, c0=None,
                 x_prev0=None, lengths=None):
    """Runs a QRNN layer over `x` [batch, time, in] in evaluation mode.

    weight: `[k * u, window * in]` (PyTorch `linear.weight`, rows z | f | o,
    columns `[x_t; x_{t-1}]`), bias `[k * u]`, k = 3 (2 without output gate).
    Forget gates are scaled by `1 - zoneout`. Past `lengths[b]` the state is
    frozen and the output is zero. Returns (outputs [batch, time, u], c, x_prev).
    """
    batch, steps, depth = x.shape
    units = weight.shape[0] // (3 if output_gate else 2)
    c = np.zeros((batch, units)) if c0 is None else c0.copy()
    x_prev = np.zeros((batch, depth)) if x_prev0 is None else x_prev0.copy()
    outputs = np.zeros((batch, steps, units))
    for t in range(steps):
        source = x[:, t] if window == 1 else np.concatenate([x[:, t], x_prev], axis=1)
        y = source @ weight.T + bias
        z = np.tanh(y[:, :units])
        f = sigmoid(y[:, units:2 * units]) * (1.0 - zoneout)
        c_new = f * z + (1.0 - f) * c
        h = sigmoid(y[:, 2 * units:]) * c_new if output_gate else c_new
        live = np.ones((batch, 1), bool) if lengths is None else (t < np.asarray(lengths))[:, None]
        c = np.where(live, c_new, c)
        x_prev = np.where(live, x[:, t], x_prev)
        outputs[:, t] = np.where(live, h, 0.0)
    return outputs, c, x_prev
