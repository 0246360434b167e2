"""Quasi-recurrent layers (QRNN): `QRNNCell` and the whole-sequence `dynamic_qrnn`.

Bradbury, Merity, Xiong & Socher, 2016, "Quasi-Recurrent Neural Networks", as
in the salesforce/fastai QRNN that MultiFiT (Eisenschlos et al., 2019) used.
Gates come from a window of `window` (1 or 2) consecutive inputs,
`X~_t = [x_t; x_{t-1}]` for window 2 (`x_t` alone for window 1):

    Z_t = tanh(X~_t W_z + b_z)
    F_t = sigmoid(X~_t W_f + b_f)           (times the zoneout mask, see below)
    O_t = sigmoid(X~_t W_o + b_o)
    c_t = F_t * Z_t + (1 - F_t) * c_{t-1}   (fo-pooling)
    h_t = O_t * c_t                         (h_t = c_t with output_gate=False)

Variables (names as a `LayerRNNCell` named `qrnn_cell`, e.g.
`rnn/qrnn_cell/kernel` under `dynamic_rnn`): `kernel`
`[window * input_depth, 3 * num_units]`, rows `[x_t; x_{t-1}]`, columns
`z | f | o` (`2 * num_units`, `z | f`, without the output gate), and `bias`
`[3 * num_units]`. A PyTorch QRNN layer maps over with
`kernel = linear.weight.T`, `bias = linear.bias` (doc/qrnn.md).

Two ways to run the same cell, with the same variables and the same numbers:

    import tensorflow as tf
    import awdrnn

    cell = awdrnn.QRNNCell(1150, window=2, zoneout=0.1, weight_drop_kr=0.8,
                           use_vd=True, input_size=400)
    x = tf.random.normal([20, 70, 400])
    # 1. step by step, like any TF1 cell (MultiRNNCell, bidirectional, ...)
    out1, state1 = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    # 2. whole sequence: one matmul for all gates, then a scan on c only
    out2, state2 = awdrnn.dynamic_qrnn(cell, x, dtype=tf.float32)
    update = cell.get_vd_update_op()     # sess.run(update) draws a new mask

Regularisation, both following the salesforce QRNN:
  * zoneout on the forget gate: in training `F` is multiplied by a {0, 1}
    Bernoulli(1 - zoneout) mask drawn afresh for every time step, example and
    unit (no rescaling); in evaluation by the constant `1 - zoneout`.
  * weight dropout (DropConnect) on the whole `kernel` with keep rate
    `weight_drop_kr`, scaled by `1 / weight_drop_kr`; the dropped kernel is
    formed once per `session.run`, outside the time loop, and is the same
    tensor for every step and for both forms. With `use_vd=True` its mask
    persists across runs until `get_vd_update_op()` runs (as
    `WeightDropLSTMCell`). The bias is not dropped.

State: `c` (`[batch, num_units]`) for window 1; `QRNNStateTuple(c, x_prev)`
for window 2, `x_prev` (`[batch, input_depth]`) being the last input seen
(zeros at the start), so a state carried across truncated-BPTT segments
continues exactly. The window-2 `state_size` needs the input depth: pass
`input_size`, or let `dynamic_qrnn` read it from the inputs.
"""

import collections
import contextlib
import numbers
import threading

import tensorflow as tf

from awdrnn import dropout_masks
from awdrnn import shapes
from awdrnn.kernels.linear_scan import linear_recurrence
from awdrnn.rnn_cell import LayerRNNCell, MultiRNNCell
from awdrnn.weight_drop import WeightDropMixin

QRNNStateTuple = collections.namedtuple("QRNNStateTuple", ("c", "x_prev"))
QRNNStateTuple.__doc__ = """State of a window-2 `QRNNCell`: `c` `[batch, num_units]`,
`x_prev` `[batch, input_depth]` (the previous step's input)."""


def _positive_int(value, name, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        none = "None or " if allow_none else ""
        raise ValueError(f"{name} must be {none}a positive int, got {value!r}.")
    return int(value)


# The whole-sequence form runs each QRNNCell through its own `__call__` (so
# variable scopes, and with them variable names, are exactly those of
# `dynamic_rnn`), with time-major `[time, batch, depth]` inputs; this
# thread-local stack tells the cells of a `dynamic_qrnn` call to do so.
_SEQUENCE_MODE = threading.local()
_SequenceMode = collections.namedtuple("_SequenceMode", ("cells", "sequence_length"))


@contextlib.contextmanager
def _whole_sequence(cells, sequence_length):
    stack = _SEQUENCE_MODE.__dict__.setdefault("stack", [])
    stack.append(_SequenceMode(tuple(cells), sequence_length))
    try:
        yield
    finally:
        stack.pop()


class QRNNCell(WeightDropMixin, LayerRNNCell):
    """A quasi-recurrent layer as a TF1 RNN cell (see the module docstring).

    Args:
      num_units: int, size of `c` and of the output.
      window: 1 or 2, number of consecutive inputs the gates see.
      output_gate: if True (default) fo-pooling, `h = O * c`; if False
        f-pooling, `h = c`, and the kernel has no `o` columns.
      zoneout: probability in [0, 1) of zoning out a forget gate (keeping the
        previous `c`). 0.0 (default) disables it.
      weight_drop_kr: keep rate in (0, 1] of DropConnect on the kernel; 1.0
        (default) disables it.
      use_vd: if True, the DropConnect mask lives in a local, non-trainable
        variable, persists across `session.run` calls and changes only when
        `get_vd_update_op()` runs; if False every run draws a fresh mask.
      input_size: depth of the inputs. Needed by window 2 for `state_size`
        under `dynamic_rnn` / `zero_state`; always checked against the inputs.
      training: Python bool or scalar bool tensor; False gives the evaluation
        graph (no DropConnect, forget gates scaled by `1 - zoneout`).
      kernel_initializer: initializer of `kernel`; None uses the variable
        scope's default (Glorot uniform), as `LSTMCell`.
      bias_initializer: initializer of `bias`; None means zeros.
      seed: optional op seed of the DropConnect mask; the zoneout mask uses
        `dropout_masks.derive_seed(seed, 2)` (each mask its own stream).
      reuse, name, dtype, **kwargs: as in `tf.compat.v1.nn.rnn_cell.LSTMCell`.
        The default name is `qrnn_cell`.

    Raises (at construction or at the first call, never at run time):
      ValueError / TypeError naming the argument and the received value.
    """

    _default_layer_name = "qrnn_cell"

    def __init__(self, num_units, window=1, output_gate=True, zoneout=0.0,
                 weight_drop_kr=1.0, use_vd=False, input_size=None, training=True,
                 kernel_initializer=None, bias_initializer=None, seed=None,
                 reuse=None, name=None, dtype=None, **kwargs):
        num_units = _positive_int(num_units, "num_units")
        input_size = _positive_int(input_size, "input_size", allow_none=True)
        if isinstance(window, bool) or window not in (1, 2):
            raise ValueError(f"window must be 1 or 2, got {window!r}.")
        if (isinstance(zoneout, bool) or not isinstance(zoneout, numbers.Real)
                or not 0.0 <= zoneout < 1.0):
            raise ValueError(
                f"zoneout must be a float in [0, 1) (a probability of zoning out), "
                f"got {zoneout!r}.")
        dropout_masks.check_float_dtype(dtype)
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self.input_spec = None  # ranks and depth are checked with our own messages
        self._num_units = num_units
        self._window = int(window)
        self._output_gate = bool(output_gate)
        self._zoneout = float(zoneout)
        self._init_weight_drop(weight_drop_kr, use_vd, training, seed)
        self._input_size = input_size
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer

    @property
    def num_units(self):
        return self._num_units

    @property
    def window(self):
        return self._window

    @property
    def input_size(self):
        return self._input_size

    @property
    def _num_gates(self):
        return 3 if self._output_gate else 2

    @property
    def state_size(self):
        if self._window == 1:
            return self._num_units
        if self._input_size is None:
            raise ValueError(
                "QRNNCell(window=2) carries the previous input in its state, so "
                "its state_size needs the input depth: pass input_size=<depth of "
                "the inputs> (dynamic_qrnn reads it from the inputs), got "
                "input_size=None.")
        return QRNNStateTuple(self._num_units, self._input_size)

    @property
    def output_size(self):
        return self._num_units

    def _set_input_size(self, depth):
        """Records the input depth; raises if it contradicts a known one."""
        if depth is None:
            raise ValueError(
                "QRNNCell needs the input depth (last dimension of inputs) to be "
                "known when the graph is built, got None.")
        if self._input_size is not None and depth != self._input_size:
            raise ValueError(
                f"inputs have depth {depth} but input_size={self._input_size} was "
                "given (or the cell was built for that depth); a cell's input depth "
                "cannot change.")
        self._input_size = int(depth)

    def _sequence_mode(self):
        for mode in reversed(_SEQUENCE_MODE.__dict__.get("stack", [])):
            if any(cell is self for cell in mode.cells):
                return mode
        return None

    def _check_rank(self, shape):
        shape = tf.TensorShape(shape)
        if self._sequence_mode() is not None:
            if shape.rank != 3:
                raise ValueError(
                    f"dynamic_qrnn inputs must have rank 3 [batch, time, depth] (or "
                    f"[time, batch, depth] with time_major=True), got shape {shape}.")
        elif shape.rank != 2:
            raise ValueError(
                f"QRNNCell inputs must have rank 2 [batch, depth] per step (rank 3 "
                f"[batch, time, depth] for dynamic_rnn / dynamic_qrnn), got shape "
                f"{shape}.")
        self._set_input_size(shapes.dim(shape, -1))

    def build(self, input_shape):
        self._check_rank(input_shape)
        dropout_masks.check_float_dtype(self.dtype)
        self._kernel = self.add_weight(
            "kernel",
            shape=[self._window * self._input_size, self._num_gates * self._num_units],
            initializer=self._kernel_initializer)
        self._bias = self.add_weight(
            "bias", shape=[self._num_gates * self._num_units],
            initializer=(self._bias_initializer if self._bias_initializer is not None
                         else tf.compat.v1.zeros_initializer()))
        self.built = True

    # --- DropConnect on the kernel ------------------------------------------

    def _vd_mask_shape(self):
        """`[window * input_depth, gates * num_units]`: the whole kernel is dropped."""
        return [self._window * self._input_size, self._num_gates * self._num_units]

    def _gate_kernel(self):
        """The kernel the gates use: `kernel * M / keep` when dropping, once per run."""
        return self._drop_connect(self._kernel, lambda kernel, scaled_mask: kernel * scaled_mask)

    # --- the equations -------------------------------------------------------

    def _gates(self, windowed):
        """`Z, F, O` (O None without output gate) from `[..., window * depth]`."""
        flat = windowed if windowed.shape.rank == 2 else tf.reshape(
            windowed, [-1, shapes.dim(windowed, -1)])
        gates = tf.nn.bias_add(tf.matmul(flat, self._gate_kernel()), self._bias)
        if windowed.shape.rank != 2:
            gates = tf.reshape(gates, tf.concat(
                [tf.shape(windowed)[:-1], [self._num_gates * self._num_units]], 0))
        parts = tf.split(gates, self._num_gates, axis=-1)
        z, f = tf.tanh(parts[0]), tf.sigmoid(parts[1])
        o = tf.sigmoid(parts[2]) if self._output_gate else None
        if self._zoneout > 0.0:
            keep = 1.0 - self._zoneout
            f = dropout_masks.select_training(
                self._training,
                lambda: f * dropout_masks.bernoulli_mask(
                    tf.shape(f), keep, f.dtype, dropout_masks.derive_seed(self._seed, 2)),
                lambda: f * tf.constant(keep, f.dtype))
        return z, f, o

    def _split_state(self, state):
        """`(c, x_prev)` (x_prev None for window 1), shapes checked."""
        if self._window == 1:
            if tf.nest.is_nested(state):
                raise ValueError(
                    "QRNNCell(window=1) state must be the tensor c [batch, "
                    f"{self._num_units}], got {state!r}.")
            parts = [(state, self._num_units, "c")]
        else:
            if not (isinstance(state, (tuple, list)) and len(state) == 2
                    and not any(tf.nest.is_nested(s) for s in state)):
                raise ValueError(
                    "QRNNCell(window=2) state must be QRNNStateTuple(c, x_prev), got "
                    f"{state!r}.")
            parts = [(state[0], self._num_units, "c"), (state[1], self._input_size, "x_prev")]
        for tensor, depth, name in parts:
            shape = tf.TensorShape(getattr(tensor, "shape", None))
            if shape.rank not in (None, 2) or (shape.rank == 2 and shapes.dim(shape, 1) not in (None, depth)):
                raise ValueError(
                    f"QRNNCell state {name} must have shape [batch, {depth}], got {shape}.")
        return (state, None) if self._window == 1 else tuple(state)

    def call(self, inputs, state):
        """One step (or, under `dynamic_qrnn`, all steps) of the QRNN.

        Args:
          inputs: `[batch_size, input_depth]`; under `dynamic_qrnn`
            `[time, batch_size, input_depth]`.
          state: `c` `[batch_size, num_units]` (window 1) or
            `QRNNStateTuple(c, x_prev [batch_size, input_depth])` (window 2).

        Returns:
          `(h, new_state)`, `h` `[batch_size, num_units]` (`[time, ...]`).
        """
        if not inputs.dtype.is_floating:
            raise TypeError(f"inputs must be floating point, got dtype {inputs.dtype.name}.")
        self._check_rank(inputs.shape)
        mode = self._sequence_mode()
        if mode is not None:
            return self._call_sequence(inputs, state, mode.sequence_length)
        c_prev, x_prev = self._split_state(state)
        windowed = inputs if self._window == 1 else tf.concat([inputs, x_prev], axis=1)
        z, f, o = self._gates(windowed)
        c = (1.0 - f) * c_prev + f * z
        h = c if o is None else o * c
        return h, (c if self._window == 1 else QRNNStateTuple(c, inputs))

    def _call_sequence(self, inputs, state, sequence_length):
        """All steps at once: one matmul for the gates, then a scan on `c`."""
        c0, x_prev = self._split_state(state)
        if self._window == 1:
            windowed = inputs
        else:
            shifted = tf.concat([tf.expand_dims(x_prev, 0), inputs[:-1]], axis=0)
            windowed = tf.concat([inputs, shifted], axis=2)
        z, f, o = self._gates(windowed)
        a, b = 1.0 - f, f * z
        if sequence_length is not None:
            # [time, batch, 1]; past a sequence's end c is carried unchanged.
            valid = tf.expand_dims(tf.transpose(
                tf.sequence_mask(sequence_length, tf.shape(inputs)[0])), 2)
            a = tf.where(valid, a, tf.ones_like(a))
            b = tf.where(valid, b, tf.zeros_like(b))
        c = linear_recurrence(a, b, c0)
        h = c if o is None else o * c
        if sequence_length is not None:
            h = tf.where(valid, h, tf.zeros_like(h))
        final_c = c[-1]
        if self._window == 1:
            return h, final_c
        if sequence_length is None:
            last_x = inputs[-1]
        else:
            # The input at step length - 1, or the incoming x_prev if length 0;
            # lengths past the end mean the last step, as in dynamic_rnn.
            seen = tf.concat([tf.expand_dims(x_prev, 0), inputs], axis=0)
            step = tf.clip_by_value(sequence_length, 0, tf.shape(inputs)[0])
            last_x = tf.gather_nd(seen, tf.stack(
                [step, tf.range(tf.shape(inputs)[1])], axis=1))
        return h, QRNNStateTuple(final_c, last_x)

    def get_config(self):
        config = {
            "num_units": self._num_units, "window": self._window,
            "output_gate": self._output_gate, "zoneout": self._zoneout,
            "weight_drop_kr": self._weight_drop_kr, "use_vd": self._use_vd,
            "input_size": self._input_size, "seed": self._seed,
            "kernel_initializer": tf.keras.initializers.serialize(
                self._kernel_initializer) if self._kernel_initializer else None,
            "bias_initializer": tf.keras.initializers.serialize(
                self._bias_initializer) if self._bias_initializer else None,
        }
        if isinstance(self._training, bool):
            config["training"] = self._training
        base_config = super().get_config()
        return dict(list(base_config.items()) + list(config.items()))


def qrnn_layers(cell):
    """The QRNNCells `dynamic_qrnn` runs for `cell`, or None if it cannot run it.

    Args:
      cell: a `QRNNCell`, or a `MultiRNNCell` (`state_is_tuple=True`) whose
        cells are all `QRNNCell`s, or anything else.

    Returns:
      A list of `QRNNCell`s (one for a single cell, bottom layer first), or
      None for any other cell (e.g. to route it to `dynamic_rnn` instead).
    """
    if isinstance(cell, QRNNCell):
        return [cell]
    if isinstance(cell, MultiRNNCell) and cell._state_is_tuple:
        layers = list(cell._cells)
        if layers and all(isinstance(layer, QRNNCell) for layer in layers):
            return layers
    return None


def _run_layers(cell, layers, x, state):
    """`cell(x, state)` in whole-sequence mode, layer by layer for a stack.

    A `MultiRNNCell` is not called through its own `__call__`: that re-enters a
    variable scope cached at its first call, which after a first use inside
    `dynamic_rnn`'s loop belongs to the loop body's graph. Its layers run here
    under the scopes `MultiRNNCell.call` gives them (`<scope>/cell_<i>`).
    """
    if cell is layers[0]:
        return _call_layer(cell, x, state)
    cell._set_scope(None)  # "multi_rnn_cell" in the current scope, if not yet set
    new_states = []
    with tf.compat.v1.variable_scope(cell._scope, auxiliary_name_scope=False):
        for i, layer in enumerate(layers):
            with tf.compat.v1.variable_scope(f"cell_{i}"):
                x, layer_state = _call_layer(layer, x, state[i])
            new_states.append(layer_state)
    return x, tuple(new_states)


def _check_states(cell, layers, state):
    """Raises before any variable is made if `state` does not fit the layers."""
    if cell is layers[0]:
        layers[0]._split_state(state)
        return
    if not isinstance(state, (tuple, list)) or len(state) != len(layers):
        raise ValueError(
            f"the state of a MultiRNNCell of {len(layers)} QRNNCells must be a tuple "
            f"of {len(layers)} layer states, got {state!r}.")
    for layer, layer_state in zip(layers, state):
        layer._split_state(layer_state)


def _call_layer(layer, x, state):
    """`layer(x, state)`, its ops in the current graph.

    A built layer re-enters the variable scope object it cached at an earlier
    call; one cached inside `dynamic_rnn`'s loop body (a FuncGraph under
    control flow v2) would put the ops in that body's graph. Dropping the
    cache makes the layer create (and cache) one in the current graph, which
    later calls from inside loop bodies re-enter without switching graphs.
    """
    cached = getattr(layer, "_always_reuse_variable_scope", None)
    if cached is not None and getattr(cached, "_graph", None) is not tf.compat.v1.get_default_graph():
        layer._always_reuse_variable_scope = None
    return layer(x, state)


def dynamic_qrnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None,
                 time_major=False, scope=None):
    """Runs a QRNN over whole sequences, as `tf.compat.v1.nn.dynamic_rnn` would.

    Same arguments, return value and variables as `dynamic_rnn(cell, ...)`
    (the cell is called in the variable scope `scope or "rnn"`, so variables
    are `rnn/qrnn_cell/kernel`, or `rnn/multi_rnn_cell/cell_0/qrnn_cell/kernel`
    for a stack, and a checkpoint serves both forms). Each layer computes its
    gates for all steps with one matrix product, then `c` with
    `linear_recurrence`; a `MultiRNNCell` runs layer by layer.

    Args:
      cell: a `QRNNCell`, or a `MultiRNNCell` of `QRNNCell`s (see `qrnn_layers`).
      inputs: `[batch, time, depth]` (`[time, batch, depth]` if `time_major`).
      sequence_length: optional `[batch]` int vector. Past each sequence's end
        outputs are zero and the state is frozen, as in `dynamic_rnn`.
      initial_state: the cell's state structure (`cell.zero_state` if None).
      dtype: the state's dtype; required if `initial_state` is None.
      time_major: layout of `inputs` and outputs.
      scope: variable scope; defaults to "rnn", as `dynamic_rnn`.

    Returns:
      `(outputs, final_state)`: outputs `[batch, time, num_units]` of the top
      layer (`[time, batch, ...]` if `time_major`), and the final state.

    Raises:
      TypeError: a cell that is not a QRNN, or non-floating inputs.
      ValueError: inputs not of rank 3 or of unknown depth, a
        `sequence_length` not of rank 1, or no `initial_state` and no `dtype`.
    """
    layers = qrnn_layers(cell)
    if layers is None:
        raise TypeError(
            "dynamic_qrnn needs a QRNNCell or a MultiRNNCell(state_is_tuple=True) "
            f"of QRNNCells, got {cell!r}; use tf.compat.v1.nn.dynamic_rnn for others.")
    inputs = tf.convert_to_tensor(inputs, name="inputs")
    if not inputs.dtype.is_floating:
        raise TypeError(f"inputs must be floating point, got dtype {inputs.dtype.name}.")
    if inputs.shape.rank != 3:
        raise ValueError(
            f"dynamic_qrnn inputs must have rank 3 [batch, time, depth] (or [time, "
            f"batch, depth] with time_major=True), got shape {inputs.shape}.")
    depth = shapes.dim(inputs, -1)
    for layer in layers:  # fills window-2 state sizes before zero_state
        layer._set_input_size(depth)
        depth = layer.num_units
    if initial_state is None and dtype is None:
        raise ValueError(
            "dynamic_qrnn: if there is no initial_state, you must give a dtype, "
            "got dtype=None.")
    with tf.compat.v1.variable_scope(scope or "rnn"):
        if sequence_length is not None:
            sequence_length = tf.cast(sequence_length, tf.int32, name="sequence_length")
            if sequence_length.shape.rank not in (None, 1):
                raise ValueError(
                    "sequence_length must be a vector of length batch_size, got "
                    f"shape {sequence_length.shape}.")
            # A vector, checked at run time when the rank is not static (as
            # dynamic_rnn accepts), so the masks below keep static shapes.
            sequence_length = tf.ensure_shape(sequence_length, [None])
        x = inputs if time_major else tf.transpose(inputs, [1, 0, 2])
        if sequence_length is not None:
            # As dynamic_rnn: a length per example (the masks would otherwise
            # broadcast a batch of 1 to the lengths' size).
            check = tf.debugging.assert_equal(
                tf.shape(sequence_length), tf.shape(x)[1:2],
                message="sequence_length must have shape [batch_size]")
            with tf.control_dependencies([check]):
                sequence_length = tf.identity(sequence_length)
        state = initial_state
        if state is None:
            state = cell.zero_state(tf.shape(x)[1], dtype)
        _check_states(cell, layers, state)
        with _whole_sequence(layers, sequence_length):
            outputs, final_state = _run_layers(cell, layers, x, state)
        if not time_major:
            outputs = tf.transpose(outputs, [1, 0, 2])
    return outputs, final_state
