"""`WeightDropLSTMCell`: an `LSTMCell` with DropConnect on its recurrent weights.

The weight-dropped LSTM of AWD-LSTM (Merity, Keskar & Socher, 2017,
"Regularizing and Optimizing LSTM Language Models", section 2): the
hidden-to-hidden matrix is multiplied by a Bernoulli mask that stays the same
for every time step of a sequence,

    W~_hh = W_hh * M / keep,     M_ij ~ Bernoulli(keep)     (inverted scaling)
    [i, j, f, o] = [x_t, h_{t-1}] . [W_xh; W~_hh] + b
    c_t = sigmoid(f + forget_bias) * c_{t-1} + sigmoid(i) * tanh(j)
    h_t = sigmoid(o) * tanh(c_t)

(plus `LSTMCell`'s optional peepholes, clipping and projection). Everything
else (arguments, variables `kernel` `[input_depth + h_depth, 4 * num_units]`
with gates `i, j, f, o` and `bias` `[4 * num_units]`, state
`LSTMStateTuple(c, h)`) is `tf.compat.v1.nn.rnn_cell.LSTMCell`'s, so
checkpoints move between the two cells in both directions.

With `pytorch_biases=True` the cell has PyTorch's two bias vectors instead
of the one `bias`: variables `bias_ih` and `bias_hh` `[4 * num_units]`, each
drawn from U(+-1/sqrt(num_units)) as `torch.nn.LSTM` draws them, and the
gates use their sum `b = bias_ih + bias_hh`. The function is the same; the
training dynamics are PyTorch's: under SGD the sum moves at twice the rate
of a single bias, and the bias gradient counts twice in a global clipping
norm and in weight decay (doc/weight_drop_lstm.md). PyTorch's gate order is
`i, f, g, o`, TF's `i, j, f, o`: importing PyTorch weights reorders the
column blocks of both (and `forget_bias=0.0` reproduces PyTorch's gates).

    import tensorflow as tf
    import awdrnn

    cell = awdrnn.WeightDropLSTMCell(64, weight_drop_kr=0.5, use_vd=True)
    outputs, state = tf.compat.v1.nn.dynamic_rnn(
        cell, tf.random.normal([8, 20, 32]), dtype=tf.float32)
    update = cell.get_vd_update_op()   # sess.run(update) to draw a new mask

The dropped kernel is formed once per `session.run`, outside the time loop, and
every step of every `dynamic_rnn` call that uses the cell in that run sees the
same mask. The mask is shared by all examples of the batch (DropConnect drops
weights, not activations).
"""

import warnings

import tensorflow as tf

from awdrnn import dropout_masks
from awdrnn import shapes
from awdrnn.rnn_cell import LSTMCell, LSTMStateTuple
from awdrnn.weight_drop import WeightDropMixin


class WeightDropLSTMCell(WeightDropMixin, LSTMCell):
    """LSTM cell with DropConnect on the recurrent kernel (AWD-LSTM).

    Args:
      num_units, use_peepholes, cell_clip, initializer, num_proj, proj_clip,
        forget_bias, state_is_tuple, activation, reuse, name, dtype: as in
        `tf.compat.v1.nn.rnn_cell.LSTMCell`. `name` defaults to `lstm_cell`'s
        naming, so variable names equal the stock cell's.
      weight_drop_kr: keep rate of DropConnect in (0, 1]; 1.0 (default)
        disables it. Dropped weights are scaled by `1 / weight_drop_kr`.
      use_vd: if True, masks live in local, non-trainable variables, stay fixed
        across `session.run` calls, and change only when the op from
        `get_vd_update_op()` runs. If False, every run draws a fresh mask.
      input_size: depth of the inputs (optional, as in the TF1 AWD-LSTM cell);
        when given, checked against the inputs at the first call.
      training: Python bool or scalar bool tensor; False uses the undropped
        kernel (evaluation graphs).
      drop_input_weights: also drop the input-to-hidden rows of the kernel
        (AWD-LSTM drops only the recurrent rows; default False).
      seed: optional op-level seed for the masks.
      pytorch_biases: if True, two bias variables `bias_ih` and `bias_hh`
        (PyTorch's parametrisation, their sum is the bias) replace `bias`.
        Default False: `LSTMCell`'s variables and checkpoints.
      bias_initializer: initializer of `bias` (default None: zeros, as
        `LSTMCell`), or with `pytorch_biases` a pair `(bias_ih initializer,
        bias_hh initializer)` (two, so that seeded initializers draw two
        different vectors; default None draws each from
        U(+-1/sqrt(num_units)), unseeded).
      **kwargs: passed to the base layer.

    Raises (at construction or at the first call, never at run time):
      ValueError / TypeError naming the argument and the received value.
    """

    _default_layer_name = "lstm_cell"  # as LSTMCell, so variable names match

    def __init__(self, num_units, use_peepholes=False, cell_clip=None,
                 initializer=None, num_proj=None, proj_clip=None,
                 num_unit_shards=None, num_proj_shards=None, forget_bias=1.0,
                 state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None, weight_drop_kr=1.0, use_vd=False, input_size=None,
                 training=True, drop_input_weights=False, seed=None,
                 pytorch_biases=False, bias_initializer=None, **kwargs):
        if not isinstance(num_units, int) or isinstance(num_units, bool) or num_units <= 0:
            raise ValueError(f"num_units must be a positive int, got {num_units!r}.")
        if num_proj is not None and (not isinstance(num_proj, int) or num_proj <= 0):
            raise ValueError(f"num_proj must be None or a positive int, got {num_proj!r}.")
        if input_size is not None and (not isinstance(input_size, int) or input_size <= 0):
            raise ValueError(f"input_size must be None or a positive int, got {input_size!r}.")
        dropout_masks.check_float_dtype(dtype)
        bias_initializers = _check_bias_options(pytorch_biases, bias_initializer, num_units)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LSTMCell's own deprecation notice
            super().__init__(
                num_units, use_peepholes=use_peepholes, cell_clip=cell_clip,
                initializer=initializer, num_proj=num_proj, proj_clip=proj_clip,
                num_unit_shards=num_unit_shards, num_proj_shards=num_proj_shards,
                forget_bias=forget_bias, state_is_tuple=state_is_tuple,
                activation=activation, reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._init_weight_drop(weight_drop_kr, use_vd, training, seed)
        self.input_spec = None  # rank and depth are checked below, with our messages
        self._input_size = input_size
        self._drop_input_weights = bool(drop_input_weights)
        self._pytorch_biases = pytorch_biases
        self._bias_initializers = bias_initializers

    @property
    def _h_depth(self):
        return self._num_units if self._num_proj is None else self._num_proj

    def _check_input_depth(self, depth):
        if depth is None:
            raise ValueError(
                "WeightDropLSTMCell needs the input depth (last dimension of inputs) "
                "to be known when the graph is built, got None.")
        if self._input_size is not None and depth != self._input_size:
            raise ValueError(
                f"inputs have depth {depth} but input_size={self._input_size} was "
                "given (or the cell was built for that depth); a cell's input depth "
                "cannot change.")

    def _vd_mask_shape(self):
        """`[h_depth (+ input_depth), 4 * num_units]`: the rows that are dropped."""
        rows = shapes.dim(self._kernel, 0) if self._drop_input_weights else self._h_depth
        return [rows, 4 * self._num_units]

    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        if input_shape.rank != 2:
            raise ValueError(
                f"WeightDropLSTMCell inputs must have rank 2 [batch, depth] per step "
                f"(rank 3 [batch, time, depth] for dynamic_rnn), got shape {input_shape}.")
        self._check_input_depth(shapes.dim(input_shape, -1))
        dropout_masks.check_float_dtype(self.dtype, "the dtype of inputs")
        super().build(input_shape)
        self._input_size = shapes.dim(input_shape, -1)

    def add_weight(self, name, *args, **kwargs):
        """`LSTMCell.build` asks for `bias`: given a `bias_initializer`, it is
        created with that; with `pytorch_biases` the request creates `bias_ih`
        and `bias_hh` instead and returns None (`_bias` is then unused: the
        gates read `effective_bias()`)."""
        if name != "bias" or self._bias_initializers is None:
            return super().add_weight(name, *args, **kwargs)
        if not self._pytorch_biases:
            kwargs["initializer"] = self._bias_initializers
            return super().add_weight(name, *args, **kwargs)
        for vector, initializer in zip(("ih", "hh"), self._bias_initializers):
            kwargs["initializer"] = initializer
            setattr(self, f"_bias_{vector}", super().add_weight(f"bias_{vector}", *args, **kwargs))
        return None

    def effective_bias(self):
        """The bias the gates add, `[4 * num_units]`: `bias`, or `bias_ih +
        bias_hh` with `pytorch_biases` (gradients reach both)."""
        if self._pytorch_biases:
            return self._bias_ih + self._bias_hh
        return self._bias

    def _dropped_kernel(self):
        """`[W_x; W_h * M / keep]` (or `kernel * M / keep` with
        `drop_input_weights`), built once per graph outside the time loop."""
        h_depth = self._h_depth

        def drop(kernel, scaled_mask):
            if self._drop_input_weights:
                return kernel * scaled_mask
            w_x, w_h = tf.split(kernel, [shapes.dim(kernel, 0) - h_depth, h_depth], axis=0)
            return tf.concat([w_x, w_h * scaled_mask], axis=0)

        return self._drop_connect(self._kernel, drop)

    def call(self, inputs, state):
        """One LSTM step, `LSTMCell.call` with the dropped kernel.

        Args:
          inputs: `[batch_size, input_depth]`.
          state: `LSTMStateTuple(c [batch, num_units], h [batch, h_depth])`, or
            their concatenation when `state_is_tuple=False`.

        Returns:
          `(h, new_state)`; `h` is `[batch_size, num_proj or num_units]`.
        """
        if not inputs.dtype.is_floating:
            raise TypeError(f"inputs must be floating point, got dtype {inputs.dtype.name}.")
        if inputs.shape.rank != 2:
            raise ValueError(f"inputs must have rank 2 per step, got shape {inputs.shape}.")
        self._check_input_depth(shapes.dim(inputs, -1))
        kernel = self._dropped_kernel()
        sigmoid = tf.sigmoid
        if self._state_is_tuple:
            c_prev, h_prev = state
        else:
            c_prev, h_prev = tf.split(state, [self._num_units, self._h_depth], axis=1)

        gates = tf.nn.bias_add(tf.matmul(tf.concat([inputs, h_prev], 1), kernel),
                               self.effective_bias())
        i, j, f, o = tf.split(gates, num_or_size_splits=4, axis=1)
        if self._use_peepholes:
            c = (sigmoid(f + self._forget_bias + self._w_f_diag * c_prev) * c_prev
                 + sigmoid(i + self._w_i_diag * c_prev) * self._activation(j))
        else:
            c = sigmoid(f + self._forget_bias) * c_prev + sigmoid(i) * self._activation(j)
        if self._cell_clip is not None:
            c = tf.clip_by_value(c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            h = sigmoid(o + self._w_o_diag * c) * self._activation(c)
        else:
            h = sigmoid(o) * self._activation(c)
        if self._num_proj is not None:
            h = tf.matmul(h, self._proj_kernel)
            if self._proj_clip is not None:
                h = tf.clip_by_value(h, -self._proj_clip, self._proj_clip)
        if self._state_is_tuple:
            new_state = LSTMStateTuple(c, h)
        else:
            new_state = tf.concat([c, h], 1)
        return h, new_state

    def get_config(self):
        config = super().get_config()
        config.update(
            weight_drop_kr=self._weight_drop_kr, use_vd=self._use_vd,
            input_size=self._input_size, drop_input_weights=self._drop_input_weights,
            seed=self._seed)
        if self._pytorch_biases:
            config["pytorch_biases"] = True  # bias_initializer: not serialised
        if isinstance(self._training, bool):
            config["training"] = self._training
        return config


def _check_bias_options(pytorch_biases, bias_initializer, num_units):
    """The initializer of `bias`, the pair for `(bias_ih, bias_hh)` with
    `pytorch_biases`, or None (LSTMCell's zeros)."""
    if not isinstance(pytorch_biases, bool):
        raise TypeError(f"pytorch_biases must be True or False, got {pytorch_biases!r}.")
    if not pytorch_biases:
        if bias_initializer is not None and not callable(bias_initializer):
            raise ValueError(
                "bias_initializer must be an initializer (callable) or None with "
                f"pytorch_biases=False, got {bias_initializer!r}.")
        return bias_initializer
    if bias_initializer is None:
        bound = 1.0 / num_units ** 0.5
        return tuple(tf.compat.v1.random_uniform_initializer(-bound, bound) for _ in range(2))
    if (not isinstance(bias_initializer, (tuple, list)) or len(bias_initializer) != 2
            or not all(callable(init) for init in bias_initializer)):
        raise ValueError(
            "with pytorch_biases=True, bias_initializer must be a pair (bias_ih "
            f"initializer, bias_hh initializer) of callables, got {bias_initializer!r}.")
    return tuple(bias_initializer)
