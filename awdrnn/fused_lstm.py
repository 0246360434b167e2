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
               db = sum(dZ)

so the per-step work is two `[batch, h] x [h, 4u]` products instead of four.

    import tensorflow as tf
    from awdrnn.fused_lstm import lstm_sequence

    x = tf.random.normal([35, 8, 32])                 # [time, batch, depth]
    w_x, w_h = tf.random.normal([32, 256]), tf.random.normal([64, 256])
    b, zeros = tf.zeros([256]), tf.zeros([8, 64])
    h_seq, c_seq = lstm_sequence(x, w_x, w_h, b, zeros, zeros, forget_bias=1.0)

Gradients flow to every input, so a weight-dropped kernel (the cell's
`_dropped_kernel()` tensor) or any other function of the variables can be
passed for `w_x` / `w_h`.
"""

import tensorflow as tf


def _gates(z, forget_bias):
    i, j, f, o = tf.split(z, 4, axis=1)
    return tf.sigmoid(i), tf.tanh(j), tf.sigmoid(f + forget_bias), tf.sigmoid(o)


def _forward(x, w_x, w_h, bias, c0, h0, forget_bias, parallel_iterations):
    """Returns (h_seq, c_seq, acts) with acts the activated gates [T, B, 4u]."""
    dtype = x.dtype
    time = tf.shape(x)[0]
    batch = tf.shape(x)[1]
    units = tf.shape(w_h)[1] // 4
    z_x = tf.reshape(
        tf.nn.bias_add(tf.matmul(tf.reshape(x, [-1, tf.shape(x)[2]]), w_x), bias),
        [time, batch, 4 * units])
    z_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(z_x)
    h_ta = tf.TensorArray(dtype, size=time, element_shape=h0.shape)
    c_ta = tf.TensorArray(dtype, size=time, element_shape=c0.shape)
    a_ta = tf.TensorArray(dtype, size=time)

    def body(t, c, h, h_ta, c_ta, a_ta):
        z = z_ta.read(t) + tf.matmul(h, w_h)
        i, j, f, o = _gates(z, forget_bias)
        c = f * c + i * j
        h = o * tf.tanh(c)
        return (t + 1, c, h, h_ta.write(t, h), c_ta.write(t, c),
                a_ta.write(t, tf.concat([i, j, f, o], axis=1)))

    _, _, _, h_ta, c_ta, a_ta = tf.while_loop(
        lambda t, *_: t < time, body, (0, c0, h0, h_ta, c_ta, a_ta),
        parallel_iterations=parallel_iterations, maximum_iterations=time)
    return h_ta.stack(), c_ta.stack(), a_ta.stack()


def _backward(x, w_x, w_h, c0, h0, h_seq, c_seq, acts, dh_seq, dc_seq,
              parallel_iterations):
    """Gate gradients in a loop, weight gradients as one product each after."""
    dtype = x.dtype
    time = tf.shape(x)[0]
    batch = tf.shape(x)[1]
    depth = tf.shape(x)[2]
    h_depth = tf.shape(w_h)[0]
    four_u = tf.shape(w_h)[1]
    one = tf.constant(1.0, dtype)
    c_prev_seq = tf.concat([c0[None], c_seq[:-1]], axis=0)
    a_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(acts)
    c_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(c_seq)
    cp_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(c_prev_seq)
    dh_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(dh_seq)
    dc_ta = tf.TensorArray(dtype, size=time, clear_after_read=True).unstack(dc_seq)
    dz_ta = tf.TensorArray(dtype, size=time)
    w_h_t = tf.transpose(w_h)

    def body(t, dc, dh, dz_ta):
        s = time - 1 - t
        i, j, f, o = tf.split(a_ta.read(s), 4, axis=1)
        dh = dh + dh_ta.read(s)
        tanh_c = tf.tanh(c_ta.read(s))
        dc = dc + dc_ta.read(s) + dh * o * (one - tanh_c * tanh_c)
        dz = tf.concat([
            dc * j * i * (one - i),
            dc * i * (one - j * j),
            dc * cp_ta.read(s) * f * (one - f),
            dh * tanh_c * o * (one - o)], axis=1)
        return t + 1, dc * f, tf.matmul(dz, w_h_t), dz_ta.write(s, dz)

    _, dc0, dh0, dz_ta = tf.while_loop(
        lambda t, *_: t < time, body,
        (0, tf.zeros_like(c0), tf.zeros_like(h0), dz_ta),
        parallel_iterations=parallel_iterations, maximum_iterations=time)
    dz = tf.reshape(dz_ta.stack(), [-1, four_u])
    x2 = tf.reshape(x, [-1, depth])
    h_prev = tf.reshape(tf.concat([h0[None], h_seq[:-1]], axis=0), [-1, h_depth])
    dx = tf.reshape(tf.matmul(dz, w_x, transpose_b=True), [time, batch, depth])
    dw_x = tf.matmul(x2, dz, transpose_a=True)
    dw_h = tf.matmul(h_prev, dz, transpose_a=True)
    dbias = tf.reduce_sum(dz, axis=0)
    return dx, dw_x, dw_h, dbias, dc0, dh0


def lstm_sequence(x, w_x, w_h, bias, c0, h0, forget_bias=1.0,
                  parallel_iterations=32, name=None):
    """Runs an LSTM over a whole time-major sequence; fused-gradient path.

    Equal (up to rounding) to `LSTMCell(num_units, forget_bias=forget_bias)`
    unrolled over time with kernel `[w_x; w_h]` and bias `bias`, gate order
    `i, j, f, o`.

    Args:
      x: `[time, batch, input_depth]` float tensor.
      w_x: `[input_depth, 4 * num_units]` input rows of the kernel.
      w_h: `[num_units, 4 * num_units]` recurrent rows of the kernel.
      bias: `[4 * num_units]`.
      c0, h0: `[batch, num_units]` initial cell state and output.
      forget_bias: Python float added to the forget gate pre-activation.
      parallel_iterations: passed to both `tf.while_loop`s.
      name: optional name scope.

    Returns:
      `(h_seq, c_seq)`, each `[time, batch, num_units]`: the output and the
      cell state after every step (the final state is `(c_seq[-1], h_seq[-1])`).
    """
    with tf.name_scope(name or "lstm_sequence"):
        forget_bias = float(forget_bias)

        @tf.custom_gradient
        def fused(x, w_x, w_h, bias, c0, h0):
            h_seq, c_seq, acts = _forward(
                x, w_x, w_h, bias, c0, h0, forget_bias, parallel_iterations)

            def grad(dh_seq, dc_seq):
                if dh_seq is None:
                    dh_seq = tf.zeros_like(h_seq)
                if dc_seq is None:
                    dc_seq = tf.zeros_like(c_seq)
                return _backward(x, w_x, w_h, c0, h0, h_seq, c_seq, acts,
                                 dh_seq, dc_seq, parallel_iterations)

            return (h_seq, c_seq), grad

        h_seq, c_seq = fused(x, w_x, w_h, bias, c0, h0)
        static = x.shape[:2].concatenate(w_h.shape[:1])
        h_seq.set_shape(static)
        c_seq.set_shape(static)
        return h_seq, c_seq
