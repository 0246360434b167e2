"""`awdrnn.dynamic_rnn`: a drop-in for `tf.compat.v1.nn.dynamic_rnn` that runs
awdrnn cells by their fastest correct whole-sequence path.

    import tensorflow as tf
    import awdrnn

    tf.compat.v1.disable_eager_execution()
    cell = awdrnn.WeightDropLSTMCell(64, weight_drop_kr=0.5, use_vd=True)
    x = tf.compat.v1.placeholder(tf.float32, [None, 35, 32])
    outputs, state = awdrnn.dynamic_rnn(cell, x, dtype=tf.float32)
    print(awdrnn.kernels.fast_rnn.path_of(cell))   # ('fused_lstm', ...)

Paths, chosen at graph-construction time by `path_of(cell, batch_size)`:

* `"fused_lstm"`: a `WeightDropLSTMCell`, or a `MultiRNNCell` (tuple states)
  whose cells all are, without peepholes, `cell_clip`, `num_proj`, a
  non-tanh activation or a tensor `forget_bias`, and with
  `state_is_tuple=True`. Each layer runs
  `awdrnn.kernels.fused_lstm.lstm_sequence` on the cell's own variables, with the
  cell's own dropped kernel (`_dropped_kernel()`, the very tensor the cell's
  step uses, so masks and update ops are shared with any stock-path use).
  Cells built with `training=False` (a Python bool: evaluation, generation)
  run its inference forward pass, which keeps no activations for a backward
  pass (a gradient is still exact, at the cost of one more forward).
* `"fused_lstm_xla"`: the same inference pass compiled with XLA, for
  `training=False` stacks whose batch size is static and at most
  `XLA_MAX_BATCH`: at batch 1 the per-step cost is the handful of small
  elementwise ops, which XLA fuses (measured 1.7x the plain fused pass at
  the PTB-AWD size). Compiled once per input shape.
* Inference (`training=False`) at a static batch of `STOCK_MIN_BATCH` or more
  goes to the stock loop: there each step's products already run near the
  machine's matrix-multiply rate, and the stock loop overlaps the layers
  step by step, which a layer-by-layer pass cannot (measured: stock 5-10%
  faster at batch 64, the fused pass ahead up to batch 32).
* `"qrnn"`: a `QRNNCell`, or a `MultiRNNCell` of them, runs through
  `awdrnn.dynamic_qrnn` (all gates of all steps in one matrix product per
  layer, then a linear-recurrence scan).
* `"stock"`: everything else (any other cell, wrappers, the LSTM options
  above, `swap_memory=True`, nested inputs) goes to
  `tf.compat.v1.nn.dynamic_rnn` unchanged.

All paths create the same variables under the same names (default scope
`"rnn"`, `multi_rnn_cell/cell_<k>/lstm_cell/...` in stacks), so checkpoints
move between them, and return the same outputs and final state (outputs are
zero and the state frozen past `sequence_length`).
"""

import numbers

import tensorflow as tf

from awdrnn import shapes
from awdrnn.kernels.fused_lstm import lstm_sequence
from awdrnn.qrnn_cell import QRNNCell, dynamic_qrnn, qrnn_layers
from awdrnn.rnn_cell import LSTMStateTuple, MultiRNNCell
from awdrnn.weight_drop_lstm import WeightDropLSTMCell

FUSED_LSTM = "fused_lstm"
FUSED_LSTM_XLA = "fused_lstm_xla"
QRNN = "qrnn"
STOCK = "stock"

# Inference routing by static batch size, measured at the PTB-AWD size on a
# 2-core CPU (bench/run.py and doc/speed.md).
XLA_MAX_BATCH = 4
STOCK_MIN_BATCH = 48

_TANH = (tf.tanh, tf.math.tanh, tf.nn.tanh)


def _lstm_unsupported(cell):
    """Why `cell` cannot run on the fused LSTM kernel, or None if it can."""
    if type(cell).call is not WeightDropLSTMCell.call:
        return f"{type(cell).__name__} overrides call()"
    options = [
        (cell._use_peepholes, "use_peepholes=True"),
        (cell._cell_clip is not None, f"cell_clip={cell._cell_clip!r}"),
        (cell._num_proj is not None, f"num_proj={cell._num_proj!r}"),
        (not cell._state_is_tuple, "state_is_tuple=False"),
        (cell._activation not in _TANH, f"activation={cell._activation!r}"),
        (isinstance(cell._forget_bias, bool)
         or not isinstance(cell._forget_bias, numbers.Real),
         f"forget_bias={cell._forget_bias!r} (not a Python number)"),
    ]
    for unsupported, what in options:
        if unsupported:
            return f"the fused LSTM has no {what}"
    return None


def _lstm_layers(cell):
    """`(layers, None)` if `cell` can run on the fused LSTM, else `(None, why)`."""
    if isinstance(cell, WeightDropLSTMCell):
        why = _lstm_unsupported(cell)
        return (None, why) if why else ([cell], None)
    if isinstance(cell, MultiRNNCell) and type(cell).call is MultiRNNCell.call:
        if not cell._state_is_tuple:
            return None, "MultiRNNCell(state_is_tuple=False)"
        for k, layer in enumerate(cell._cells):
            if not isinstance(layer, WeightDropLSTMCell):
                return None, f"cell_{k} is a {type(layer).__name__}"
            why = _lstm_unsupported(layer)
            if why:
                return None, f"cell_{k}: {why}"
        return list(cell._cells), None
    return None, f"no fast path for {type(cell).__name__}"


def path_of(cell, batch_size=None):
    """`(path, reason)`: which implementation `dynamic_rnn` uses for `cell`.

    Args:
      cell: an RNN cell.
      batch_size: the static batch size of the inputs, if known (it selects
        the inference path of `training=False` LSTMs).

    Returns:
      `("fused_lstm" | "fused_lstm_xla" | "qrnn" | "stock", reason)`;
      `reason` is a short human-readable explanation.
    """
    layers = qrnn_layers(cell)
    if layers is not None:
        # dynamic_qrnn calls each layer once on the whole sequence: an
        # overridden call() (of a layer or of the stack) would not be run per
        # step as dynamic_rnn runs it.
        if layers[0] is not cell and type(cell).call is not MultiRNNCell.call:
            return STOCK, f"{type(cell).__name__} overrides call()"
        for layer in layers:
            if type(layer).call is not QRNNCell.call:
                return STOCK, f"{type(layer).__name__} overrides call()"
        return QRNN, "QRNNCell (or a MultiRNNCell of them): dynamic_qrnn"
    layers, why = _lstm_layers(cell)
    if layers is None:
        return STOCK, why
    what = ("WeightDropLSTMCell" if layers[0] is cell
            else f"MultiRNNCell of {len(layers)} WeightDropLSTMCell")
    if not _inference(layers):
        return FUSED_LSTM, what
    if batch_size is not None and batch_size <= XLA_MAX_BATCH:
        return FUSED_LSTM_XLA, (f"{what}, training=False, batch {batch_size} <= "
                                f"{XLA_MAX_BATCH}: inference pass compiled with XLA")
    if batch_size is not None and batch_size >= STOCK_MIN_BATCH:
        return STOCK, (f"{what}, training=False, batch {batch_size} >= "
                       f"{STOCK_MIN_BATCH}: the stock loop is as fast there")
    return FUSED_LSTM, f"{what}, training=False: inference pass"


def _inference(layers):
    """True when every layer is built with `training=False` (a Python bool)."""
    return all(layer._training is False for layer in layers)


def _static_batch(inputs, time_major):
    if tf.nest.is_nested(inputs):
        return None
    sizes = shapes.dims(getattr(inputs, "shape", None))
    if sizes is None or len(sizes) < 2:
        return None
    return sizes[1 if time_major else 0]


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None,
                dtype=None, parallel_iterations=None, swap_memory=False,
                time_major=False, scope=None):
    """Same contract as `tf.compat.v1.nn.dynamic_rnn`, on the fastest path.

    Args:
      cell: an RNN cell instance.
      inputs: `[batch_size, max_time, input_size]` (`[max_time, batch_size,
        input_size]` if `time_major`).
      sequence_length: optional int `[batch_size]`; outputs past it are zero
        and the state is copied through.
      initial_state: optional initial state matching `cell.state_size`.
      dtype: dtype of the initial state; required without `initial_state`.
      parallel_iterations: passed to the while loops (default 32).
      swap_memory: True sends LSTMs to the stock path (the fused LSTM has no
        swap); a QRNN has no time loop to swap and ignores it.
      time_major: layout of `inputs` and `outputs`.
      scope: variable scope, default `"rnn"`.

    Returns:
      `(outputs, final_state)`: outputs `[batch_size, max_time, output_size]`
      (time-major if `time_major`) and the state after each sequence's last
      step, structured as `cell.state_size`.

    Raises:
      ValueError: no `initial_state` and no `dtype`, or a `sequence_length`
        that is not a vector.
    """
    path, _ = path_of(cell, _static_batch(inputs, time_major))
    if path == QRNN and not tf.nest.is_nested(inputs):
        return dynamic_qrnn(cell, inputs, sequence_length=sequence_length,
                            initial_state=initial_state, dtype=dtype,
                            time_major=time_major, scope=scope)
    if path == STOCK or swap_memory or tf.nest.is_nested(inputs):
        return tf.compat.v1.nn.dynamic_rnn(
            cell, inputs, sequence_length=sequence_length,
            initial_state=initial_state, dtype=dtype,
            parallel_iterations=parallel_iterations, swap_memory=swap_memory,
            time_major=time_major, scope=scope)
    return _fused_lstm_rnn(cell, inputs, sequence_length, initial_state, dtype,
                           parallel_iterations or 32, time_major, scope,
                           xla=path == FUSED_LSTM_XLA)


def _check_sequence_length(sequence_length, batch_size):
    sequence_length = tf.cast(sequence_length, tf.int32)
    if sequence_length.shape.rank not in (None, 1):
        raise ValueError(
            "sequence_length must be a vector of length batch_size, got shape "
            f"{sequence_length.shape}.")
    check = tf.debugging.assert_equal(
        tf.shape(sequence_length), tf.reshape(batch_size, [1]),
        message="sequence_length must have shape [batch_size]")
    with tf.control_dependencies([check]):
        return tf.identity(sequence_length, name="sequence_length")


def _last_valid(initial, seq, sequence_length, time):
    """`seq[sequence_length - 1]` per example, `initial` where it is 0."""
    full = tf.concat([initial[None], seq], axis=0)            # [T+1, B, d]
    step = tf.clip_by_value(sequence_length, 0, time)
    batch = tf.range(tf.shape(step)[0])
    return tf.gather_nd(full, tf.stack([step, batch], axis=1))


def _fused_lstm_rnn(cell, inputs, sequence_length, initial_state, dtype,
                    parallel_iterations, time_major, scope, xla):
    multi = isinstance(cell, MultiRNNCell)
    layers = list(cell._cells) if multi else [cell]
    with tf.compat.v1.variable_scope(scope or "rnn"):
        x = tf.convert_to_tensor(inputs)
        if x.shape.rank is not None and x.shape.rank != 3:
            raise ValueError(
                f"inputs must have rank 3 ([batch, time, depth], or time-major), "
                f"got shape {x.shape}.")
        if not time_major:
            x = tf.transpose(x, [1, 0, 2])
        time, batch_size = tf.shape(x)[0], tf.shape(x)[1]
        if initial_state is not None:
            state = initial_state
        else:
            if not dtype:
                raise ValueError("If no initial_state is provided, argument `dtype` "
                                 "must be specified")
            state = cell.get_initial_state(inputs=None, batch_size=batch_size,
                                           dtype=dtype)
        if sequence_length is not None:
            sequence_length = _check_sequence_length(sequence_length, batch_size)
        if not cell.built:
            # One symbolic step (never run) creates the variables with exactly
            # the names the stock path gives them.
            cell(x[0], state)
        layer_states = list(state) if multi else [state]
        inference = _inference(layers)
        final = []
        for k, (layer, (c0, h0)) in enumerate(zip(layers, layer_states)):
            kernel = layer._dropped_kernel() if layer._drops else layer._kernel
            with tf.name_scope(f"fused_lstm_{k}"):
                h_seq, c_seq = lstm_sequence(
                    x, tf.convert_to_tensor(kernel), layer.effective_bias(), c0, h0,
                    forget_bias=layer._forget_bias,
                    parallel_iterations=parallel_iterations,
                    inference=inference, xla=xla)
                if sequence_length is None:
                    final.append(LSTMStateTuple(c_seq[-1], h_seq[-1]))
                else:
                    final.append(LSTMStateTuple(
                        _last_valid(c0, c_seq, sequence_length, time),
                        _last_valid(h0, h_seq, sequence_length, time)))
            x = h_seq
        if sequence_length is not None:
            valid = tf.sequence_mask(sequence_length, time)          # [B, T]
            valid = tf.transpose(valid)[:, :, None]
            x = tf.where(valid, x, tf.zeros_like(x))
        if not time_major:
            x = tf.transpose(x, [1, 0, 2])
        return x, (tuple(final) if multi else final[0])
