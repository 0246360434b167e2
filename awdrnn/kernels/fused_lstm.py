"""A whole-sequence LSTM with a hand-written gradient (the fused path of
`awdrnn.dynamic_rnn`).

`tf.compat.v1.nn.dynamic_rnn(LSTMCell)` does, at every step, a `[x_t, h_{t-1}]`
matrix product of `batch` rows, and its while-loop gradient forms the weight
gradient at every step from those same `batch` rows. `lstm_sequence` computes
the same function as the cell (`LSTMCell` without peepholes, clipping or
projection) with the matrix products arranged as cuDNN and oneDNN arrange
them:

    forward:   Z_x = X . W_x + b                  one product, all T steps
               z_t = Z_x[t] + h_{t-1} . W_h       the only product in the loop
               i, j, f, o = sigmoid(z_i), tanh(z_j), sigmoid(z_f + forget_bias),
                            sigmoid(z_o)
               c_t = f * c_{t-1} + i * j,   h_t = o * tanh(c_t)
    backward:  the loop computes only the gate gradients dz_t (and
               dh_{t-1} = dz_t . W_h^T), from gate derivatives the forward
               loop stored: per step one concatenation and four elementwise
               products besides the matrix product; after it, one product each:
               dW_x = X^T . dZ,  dW_h = H_prev^T . dZ,  dX = dZ . W_x^T,
               db = sum(dZ)           (dW = [X, H_prev]^T . dZ as one product)

so the loops do one `[batch, h] x [h, 4u]` product per step each way, where
the stock loops do three products with `input_depth + h` rows per step, one
of them the weight gradient from `batch` rows.

    import tensorflow as tf
    from awdrnn.kernels.fused_lstm import lstm_sequence

    x = tf.random.normal([35, 8, 32])                 # [time, batch, depth]
    kernel = tf.random.normal([32 + 64, 256])         # [W_x; W_h], gates i j f o
    b, zeros = tf.zeros([256]), tf.zeros([8, 64])
    h_seq, c_seq = lstm_sequence(x, kernel, b, zeros, zeros, forget_bias=1.0)

Gradients flow to every input, so a weight-dropped kernel (the cell's
`_dropped_kernel()` tensor) or any other function of the variables can be
passed as `kernel`. In the training pass one sigmoid activates all four
gates (`tanh(z) = 2 sigmoid(2 z) - 1`, the factor 2 folded into the kernel's
j columns), so the loop body has no per-gate split-activate-concatenate. The
inference pass uses the kernel as stored, neither rescaled nor copied per run
(that per-run work on the weights was a third of a batch-1 run at the
AWD-LSTM size), and a `tanh` for j.
"""

import tensorflow as tf

from awdrnn import shapes


def _gate_scale(units, dtype):
    """Column scale `[1, 2, 1, 1]` per gate block: `tanh(z) = 2 sigmoid(2 z) - 1`
    lets one sigmoid activate all four gates (scaling by 2 is exact)."""
    return tf.concat([tf.ones([units], dtype), tf.fill([units], tf.constant(2, dtype)),
                      tf.ones([2 * units], dtype)], axis=0)


def _forget_offset(units, forget_bias, dtype):
    """`forget_bias` on the f block of a `[4u]` gate vector, zeros elsewhere."""
    return tf.concat([tf.zeros([2 * units], dtype), tf.fill([units], tf.constant(
        forget_bias, dtype)), tf.zeros([units], dtype)], axis=0)


def _forward(x, w_x, w_h, bias, c0, h0, forget_bias, parallel_iterations):
    """The forward loop of the training pass.

    Returns `(h_all, c_all, pd, e, f)`: h and c `[T + 1, B, u]` with the
    initial state at index 0, and what `_backward` needs per step, formed
    here while the step's values are at hand:

        pd = [j, i, c_{t-1}, tanh c_t] * a (1 - a)     [T, B, 4u], a = sigmoid
             (the gate derivatives; the j block is tanh'(z_j) / 4)
        e  = o (1 - tanh^2 c_t),   f                   [T, B, u] each
    """
    dtype = x.dtype
    time, batch = tf.shape(x)[0], tf.shape(x)[1]
    units = shapes.dim(w_h, 1) // 4
    scale = _gate_scale(units, dtype)
    z_x = tf.nn.bias_add(tf.matmul(tf.reshape(x, [-1, shapes.dim(x, 2)]), w_x * scale),
                         (bias + _forget_offset(units, forget_bias, dtype)) * scale)
    # Read by slicing: a step of z_x is a contiguous [B, 4u] block, which TF
    # hands out without a copy (an unstacked TensorArray copies all T steps).
    z_x = tf.reshape(z_x, [time, batch, 4 * units])
    w_h = w_h * scale
    one = tf.constant(1, dtype)

    def array(size, width):
        return tf.TensorArray(dtype, size=size,
                              element_shape=h0.shape[:1].concatenate([width]))

    saved = (array(time + 1, units).write(0, h0), array(time + 1, units).write(0, c0),
             array(time, 4 * units), array(time, units), array(time, units))

    def body(t, c_prev, h, saved):
        acts = tf.sigmoid(z_x[t] + tf.matmul(h, w_h))
        i, s_j, f, o = tf.split(acts, 4, axis=1)
        j = s_j + s_j - one
        c = f * c_prev + i * j
        tanh_c = tf.tanh(c)
        h = o * tanh_c
        pd = tf.concat([j, i, c_prev, tanh_c], axis=1) * (acts * (one - acts))
        values = (h, c, pd, o * (one - tanh_c * tanh_c), f)
        steps = (t + 1,) * 2 + (t,) * 3
        return t + 1, c, h, tuple(ta.write(k, v) for ta, k, v in zip(saved, steps, values))

    _, _, _, saved = tf.while_loop(lambda t, *_: t < time, body, (0, c0, h0, saved),
                                   parallel_iterations=parallel_iterations,
                                   maximum_iterations=time)
    return tuple(ta.stack() for ta in saved)


def _kernel_rows(kernel, depth):
    """`(kernel[:depth], kernel[depth:])` of a `[depth + u, 4u]` kernel, cut from its
    flattened buffer. TF hands out a 1-D slice that starts and ends on a 64-byte
    boundary without copying (here when `depth * u` and `(depth + u) * u` are
    multiples of 4, as at the AWD-LSTM sizes), whereas `tf.split` of the rows copies
    them unless each row is a multiple of 64 bytes (`u` a multiple of 4; the
    AWD-LSTM's 1150 is not: ~9 ms per 1150-unit layer and run). Other sizes get a
    copy, the same numbers."""
    rows, cols = shapes.dims(kernel)
    flat = tf.reshape(kernel, [-1])
    return (tf.reshape(tf.slice(flat, [0], [depth * cols]), [depth, cols]),
            tf.reshape(tf.slice(flat, [depth * cols], [(rows - depth) * cols]),
                       [rows - depth, cols]))


def _inference_forward(x, kernel, bias, c0, h0, forget_bias, parallel_iterations):
    """The forward loop of the inference pass: `(h_seq, c_seq)`, each `[T, B, u]`.

    Nothing but h and c is kept across steps, and the weights are used as
    they are stored: no per-run copy or rescaling of the kernel (which the
    training pass's one-sigmoid form needs), so the j gate takes its own `tanh`.
    """
    dtype = x.dtype
    time, batch = tf.shape(x)[0], tf.shape(x)[1]
    depth = shapes.dim(x, 2)
    units = shapes.dim(kernel, 1) // 4
    w_x, w_h = _kernel_rows(kernel, depth)
    z_x = tf.nn.bias_add(tf.matmul(tf.reshape(x, [-1, depth]), w_x),
                         bias + _forget_offset(units, forget_bias, dtype))
    z_x = tf.reshape(z_x, [time, batch, 4 * units])
    element_shape = h0.shape[:1].concatenate([units])
    saved = tuple(tf.TensorArray(dtype, size=time, element_shape=element_shape)
                  for _ in range(2))

    def body(t, c_prev, h, saved):
        z = z_x[t] + tf.matmul(h, w_h)
        i, _, f, o = tf.split(tf.sigmoid(z), 4, axis=1)
        c = f * c_prev + i * tf.tanh(z[:, units:2 * units])
        h = o * tf.tanh(c)
        return t + 1, c, h, (saved[0].write(t, h), saved[1].write(t, c))

    _, _, _, saved = tf.while_loop(lambda t, *_: t < time, body, (0, c0, h0, saved),
                                   parallel_iterations=parallel_iterations,
                                   maximum_iterations=time)
    return tuple(ta.stack() for ta in saved)


def _backward(x, w_x, w_h, h_all, pd, e, f, dh_seq, dc_seq, parallel_iterations):
    """Gate gradients in a loop, weight gradients as one product after it.

    Per step (s from T-1 down to 0), with `pd`, `e`, `f` from `_forward`:

        dh  = dh_s + dh_seq[s],      dc = dc_s + dh * e[s]
        dz  = [dc, dc, dc, dh] * pd[s]            (the j block / 4)
        dh_{s-1} = dz . W_h^T,       dc_{s-1} = dc * f[s] (+ dc_seq[s-1])

    Returns `(dx, dkernel, dbias, dc0, dh0)`."""
    dtype = x.dtype
    time, batch = tf.shape(x)[0], tf.shape(x)[1]
    depth, h_depth, four_u = shapes.dim(x, 2), shapes.dim(w_h, 0), shapes.dim(w_h, 1)
    dz_ta = tf.TensorArray(dtype, size=time, element_shape=pd.shape[1:])
    # The factor 4 of the j block is folded into the j rows of the transposed
    # recurrent kernel and into dz after the loop.
    four = _gate_scale(h_depth, dtype) ** 2                     # [1, 4, 1, 1] per block
    w_h_t = tf.transpose(w_h * four)  # a transposed operand is slower in the loop
    # The upstream gradient of c_s enters the carried dc one step early, so
    # the step has no chain of adds: grappler turns one into a
    # temporary-variable accumulation, several times slower inside a loop.
    # Without one (the usual case) there is nothing to add.
    if dc_seq is None:
        dc_init, dc_prev_step = tf.zeros_like(h_all[0]), None
    else:
        dc_init = dc_seq[-1]
        dc_prev_step = tf.concat([tf.zeros_like(dc_seq[:1]), dc_seq[:-1]], axis=0)

    def body(t, dc, dh, dz_ta):
        # Steps are read by slicing the stacked tensors (no copy for a block
        # aligned in memory, a one-step copy otherwise).
        s = time - 1 - t
        dh = dh + dh_seq[s]
        dc = dc + dh * e[s]
        dz = tf.concat([dc, dc, dc, dh], axis=1) * pd[s]
        dc = dc * f[s] if dc_prev_step is None else dc * f[s] + dc_prev_step[s]
        return t + 1, dc, tf.matmul(dz, w_h_t), dz_ta.write(s, dz)

    _, dc0, dh0, dz_ta = tf.while_loop(
        lambda t, *_: t < time, body, (0, dc_init, tf.zeros_like(h_all[0]), dz_ta),
        parallel_iterations=parallel_iterations, maximum_iterations=time)
    dz = tf.reshape(dz_ta.stack(), [-1, four_u]) * four
    x2 = tf.reshape(x, [-1, depth])
    h_prev = tf.reshape(h_all[:-1], [-1, h_depth])
    dx = tf.reshape(tf.matmul(dz, w_x, transpose_b=True), [time, batch, depth])
    dkernel = tf.matmul(tf.concat([x2, h_prev], axis=1), dz, transpose_a=True)
    return dx, dkernel, tf.reduce_sum(dz, axis=0), dc0, dh0


def lstm_sequence(x, kernel, bias, c0, h0, forget_bias=1.0,
                  parallel_iterations=32, inference=False, xla=False, name=None):
    """Runs an LSTM over a whole time-major sequence; fused-gradient path.

    Equal (up to rounding) to `LSTMCell(num_units, forget_bias=forget_bias)`
    unrolled over time with kernel `kernel` and bias `bias`, gate order
    `i, j, f, o`.

    Args:
      x: `[time, batch, input_depth]` float tensor; `input_depth` static.
      kernel: `[input_depth + num_units, 4 * num_units]`, rows `[W_x; W_h]`
        (`LSTMCell`'s kernel, or a weight-dropped version of it).
      bias: `[4 * num_units]`.
      c0, h0: `[batch, num_units]` initial cell state and output.
      forget_bias: Python float added to the forget gate pre-activation.
      parallel_iterations: passed to both `tf.while_loop`s.
      inference: True when no gradient is expected (evaluation, generation):
        the forward pass then keeps no gate activations for a backward pass.
        A gradient, if one is taken after all, is still exact: it re-runs the
        forward pass with activations first (one extra forward).
      xla: compile the inference forward pass with XLA (`jit_compile`), which
        fuses each step's elementwise work into the loop; faster for small
        batches (see `awdrnn.kernels.fast_rnn`), recompiled once per input shape.
        Only with `inference=True`.
      name: optional name scope.

    Returns:
      `(h_seq, c_seq)`, each `[time, batch, num_units]`: the output and the
      cell state after every step (the final state is `(c_seq[-1], h_seq[-1])`).

    Raises:
      ValueError: unknown input depth, shapes that do not fit the kernel, or
        `xla` without `inference`.
    """
    depth = shapes.dim(x, -1) if x.shape.rank is not None else None
    rows, cols = shapes.dims(kernel) if kernel.shape.rank == 2 else (None, None)
    if depth is None or cols is None:
        raise ValueError(
            f"lstm_sequence needs a static input depth and kernel shape, got x "
            f"{x.shape} and kernel {kernel.shape}.")
    units = cols // 4
    if rows != depth + units or cols != 4 * units:
        raise ValueError(
            f"kernel must be [input_depth + num_units, 4 * num_units] = "
            f"[{depth} + {units}, {4 * units}], got {kernel.shape}.")
    if xla and not inference:
        raise ValueError("lstm_sequence(xla=True) needs inference=True: only the "
                         "inference forward pass is compiled with XLA.")
    with tf.name_scope(name or "lstm_sequence"):
        forget_bias = float(forget_bias)

        def forward(x, w_x, w_h, bias, c0, h0):
            return _forward(x, w_x, w_h, bias, c0, h0, forget_bias, parallel_iterations)

        def inference_forward(x, kernel, bias, c0, h0):
            return _inference_forward(x, kernel, bias, c0, h0, forget_bias,
                                      parallel_iterations)

        if xla:
            inference_forward = tf.function(inference_forward, jit_compile=True)

        @tf.custom_gradient
        def fused(x, kernel, bias, c0, h0):
            def rows():
                return tf.split(kernel, [depth, units], axis=0)

            if inference:
                outputs = inference_forward(x, kernel, bias, c0, h0)
                weights, saved = None, None
            else:
                weights = rows()
                saved = forward(x, *weights, bias, c0, h0)
                outputs = (saved[0][1:], saved[1][1:])

            def grad(dh_seq, dc_seq):
                w_x, w_h = weights or rows()
                h_all, _, pd, e, f = saved or forward(x, w_x, w_h, bias, c0, h0)
                if dh_seq is None:
                    dh_seq = tf.zeros_like(h_all[1:])
                return _backward(x, w_x, w_h, h_all, pd, e, f, dh_seq, dc_seq,
                                 parallel_iterations)

            return outputs, grad

        h_seq, c_seq = fused(x, kernel, bias, c0, h0)
        static = x.shape[:2].concatenate([units])
        h_seq.set_shape(static)
        c_seq.set_shape(static)
        return h_seq, c_seq
