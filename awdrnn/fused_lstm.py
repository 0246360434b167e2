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
               dh_{t-1} = dz_t . W_h^T); after it, one product each:
               dW_x = X^T . dZ,  dW_h = H_prev^T . dZ,  dX = dZ . W_x^T,
               db = sum(dZ)           (dW = [X, H_prev]^T . dZ as one product)

so the loops do one `[batch, h] x [h, 4u]` product per step each way, where
the stock loops do three products with `input_depth + h` rows per step, one
of them the weight gradient from `batch` rows.

    import tensorflow as tf
    from awdrnn.fused_lstm import lstm_sequence

    x = tf.random.normal([35, 8, 32])                 # [time, batch, depth]
    kernel = tf.random.normal([32 + 64, 256])         # [W_x; W_h], gates i j f o
    b, zeros = tf.zeros([256]), tf.zeros([8, 64])
    h_seq, c_seq = lstm_sequence(x, kernel, b, zeros, zeros, forget_bias=1.0)

Gradients flow to every input, so a weight-dropped kernel (the cell's
`_dropped_kernel()` tensor) or any other function of the variables can be
passed as `kernel`. One sigmoid activates all four gates (`tanh(z) =
2 sigmoid(2 z) - 1`, the factor 2 folded into the kernel's j columns), so the
loop body has no per-gate split-activate-concatenate.
"""

import tensorflow as tf


def _gate_scale(units, dtype):
    """Column scale `[1, 2, 1, 1]` per gate block: `tanh(z) = 2 sigmoid(2 z) - 1`
    lets one sigmoid activate all four gates (scaling by 2 is exact)."""
    return tf.concat([tf.ones([units], dtype), tf.fill([units], tf.constant(2, dtype)),
                      tf.ones([2 * units], dtype)], axis=0)


def _forward(x, w_x, w_h, bias, c0, h0, forget_bias, parallel_iterations):
    """Returns (h_all, c_all, acts): h and c `[T + 1, B, u]` with the initial
    state at index 0, and the gate activations `[T, B, 4u]` (j stored as
    sigmoid(2 z_j))."""
    dtype = x.dtype
    time, batch = tf.shape(x)[0], tf.shape(x)[1]
    units = w_h.shape[1] // 4
    scale = _gate_scale(units, dtype)
    forget = tf.concat([tf.zeros([2 * units], dtype), tf.fill([units], tf.constant(
        forget_bias, dtype)), tf.zeros([units], dtype)], axis=0)
    z_x = tf.nn.bias_add(tf.matmul(tf.reshape(x, [-1, x.shape[2]]), w_x * scale),
                         (bias + forget) * scale)
    z_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(
        tf.reshape(z_x, [time, batch, 4 * units]))
    w_h = w_h * scale
    one = tf.constant(1, dtype)
    h_ta = tf.TensorArray(dtype, size=time + 1, element_shape=h0.shape).write(0, h0)
    c_ta = tf.TensorArray(dtype, size=time + 1, element_shape=c0.shape).write(0, c0)
    a_ta = tf.TensorArray(dtype, size=time,
                          element_shape=h0.shape[:1].concatenate([4 * units]))

    def body(t, c, h, h_ta, c_ta, a_ta):
        acts = tf.sigmoid(z_ta.read(t) + tf.matmul(h, w_h))
        i, s_j, f, o = tf.split(acts, 4, axis=1)
        c = f * c + i * (s_j + s_j - one)
        h = o * tf.tanh(c)
        return (t + 1, c, h, h_ta.write(t + 1, h), c_ta.write(t + 1, c),
                a_ta.write(t, acts))

    _, _, _, h_ta, c_ta, a_ta = tf.while_loop(
        lambda t, *_: t < time, body, (0, c0, h0, h_ta, c_ta, a_ta),
        parallel_iterations=parallel_iterations, maximum_iterations=time)
    return h_ta.stack(), c_ta.stack(), a_ta.stack()


def _backward(x, w_x, w_h, h_all, c_all, acts, dh_seq, dc_seq, parallel_iterations):
    """Gate gradients in a loop, weight gradients as one product after it.

    Returns `(dx, dkernel, dbias, dc0, dh0)`."""
    dtype = x.dtype
    time, batch = tf.shape(x)[0], tf.shape(x)[1]
    depth, h_depth, four_u = x.shape[2], w_h.shape[0], w_h.shape[1]
    one = tf.constant(1, dtype)
    a_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(acts)
    # c_{s+1} and c_s are read at step s: index s is read twice (v1 TensorArrays
    # would clear it after the first read).
    c_ta = tf.TensorArray(dtype, size=time + 1, clear_after_read=False).unstack(c_all)
    dh_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(dh_seq)
    dc_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(dc_seq)
    dz_ta = tf.TensorArray(dtype, size=time, element_shape=acts.shape[1:])
    w_h_t = tf.transpose(w_h)  # a transposed operand is slower in the loop's matmul

    def body(t, dc, dh, dz_ta):
        s = time - 1 - t
        i, s_j, f, o = tf.split(a_ta.read(s), 4, axis=1)
        j = s_j + s_j - one
        dh = dh + dh_ta.read(s)
        tanh_c = tf.tanh(c_ta.read(s + 1))
        dc = dc + dc_ta.read(s) + dh * o * (one - tanh_c * tanh_c)
        dz = tf.concat([
            dc * j * i * (one - i),
            dc * i * (one - j * j),
            dc * c_ta.read(s) * f * (one - f),
            dh * tanh_c * o * (one - o)], axis=1)
        return t + 1, dc * f, tf.matmul(dz, w_h_t), dz_ta.write(s, dz)

    _, dc0, dh0, dz_ta = tf.while_loop(
        lambda t, *_: t < time, body,
        (0, tf.zeros_like(c_all[0]), tf.zeros_like(h_all[0]), dz_ta),
        parallel_iterations=parallel_iterations, maximum_iterations=time)
    dz = tf.reshape(dz_ta.stack(), [-1, four_u])
    x2 = tf.reshape(x, [-1, depth])
    h_prev = tf.reshape(h_all[:-1], [-1, h_depth])
    dx = tf.reshape(tf.matmul(dz, w_x, transpose_b=True), [time, batch, depth])
    dkernel = tf.matmul(tf.concat([x2, h_prev], axis=1), dz, transpose_a=True)
    return dx, dkernel, tf.reduce_sum(dz, axis=0), dc0, dh0


def lstm_sequence(x, kernel, bias, c0, h0, forget_bias=1.0,
                  parallel_iterations=32, name=None):
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
      name: optional name scope.

    Returns:
      `(h_seq, c_seq)`, each `[time, batch, num_units]`: the output and the
      cell state after every step (the final state is `(c_seq[-1], h_seq[-1])`).

    Raises:
      ValueError: unknown input depth, or shapes that do not fit the kernel.
    """
    depth = x.shape[-1]
    if depth is None or kernel.shape.rank != 2 or kernel.shape[1] is None:
        raise ValueError(
            f"lstm_sequence needs a static input depth and kernel shape, got x "
            f"{x.shape} and kernel {kernel.shape}.")
    units = kernel.shape[1] // 4
    if kernel.shape[0] != depth + units or kernel.shape[1] != 4 * units:
        raise ValueError(
            f"kernel must be [input_depth + num_units, 4 * num_units] = "
            f"[{depth} + {units}, {4 * units}], got {kernel.shape}.")
    with tf.name_scope(name or "lstm_sequence"):
        forget_bias = float(forget_bias)

        @tf.custom_gradient
        def fused(x, kernel, bias, c0, h0):
            w_x, w_h = tf.split(kernel, [depth, units], axis=0)
            h_all, c_all, acts = _forward(
                x, w_x, w_h, bias, c0, h0, forget_bias, parallel_iterations)

            def grad(dh_seq, dc_seq):
                if dh_seq is None:
                    dh_seq = tf.zeros_like(h_all[1:])
                if dc_seq is None:
                    dc_seq = tf.zeros_like(c_all[1:])
                return _backward(x, w_x, w_h, h_all, c_all, acts, dh_seq, dc_seq,
                                 parallel_iterations)

            return (h_all[1:], c_all[1:]), grad

        h_seq, c_seq = fused(x, kernel, bias, c0, h0)
        static = x.shape[:2].concatenate([units])
        h_seq.set_shape(static)
        c_seq.set_shape(static)
        return h_seq, c_seq
