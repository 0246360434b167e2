"""The AWD-LSTM language model as a TF1 graph (Merity et al., 2017, section 4).

    e   = embedding_dropout(E, x, dropoute_kr)          # whole words dropped
    h_0 = locked_dropout(e, dropouti_kr)
    h_l = WeightDropLSTM_l(h_{l-1}; wdrop_kr)           # l = 1..L, stacked layers
          then locked_dropout(., dropouth_kr) between layers
    y   = locked_dropout(h_L, dropout_kr)
    logits = y . E^T + b                                # tied: last layer is emsize wide

Keep rates throughout (`dropout_kr = 1 - salesforce --dropout`). Dropout is on
where the `training` tensor is True, so one forward graph serves training,
evaluation and generation. The recurrent state enters through placeholders
and leaves as tensors: a training loop feeds each segment's final state
(NumPy) as the next segment's initial state, which carries the state across
segments and cuts it from the gradient.

    import tensorflow as tf
    from awdrnn.lm import model as lm_model
    with tf.Graph().as_default():
        model = lm_model.LanguageModel(lm_model.LMConfig(vocab_size=100, emsize=16,
                                                         nhid=32, nlayers=2))
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        out = model(ids)                 # out.logits [batch, time, 100]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = model.state_feed(out.initial_state, model.zero_state(4))
            feed[ids] = [[1, 2, 3]] * 4
            logits, state = sess.run([out.logits, out.final_state], feed)

Every recurrent layer runs through `run_rnn`, the one place that picks the
RNN implementation (`rnn_impl`).
"""

import collections
import dataclasses

import numpy as np
import tensorflow as tf

from awdrnn import dropout_masks
from awdrnn.kernels import fast_rnn
from awdrnn import shapes
from awdrnn.qrnn_cell import QRNNCell
from awdrnn.variational_dropout import embedding_dropout, locked_dropout
from awdrnn.weight_drop_lstm import WeightDropLSTMCell

MODELS = ("lstm", "qrnn")
# LSTM bias parametrisation and initialisation (`LMConfig.lstm_biases`).
LSTM_BIASES = ("pytorch", "summed", "tf")


def _stock_dynamic_rnn(cell, inputs, initial_state, scope, sequence_length=None):
    return tf.compat.v1.nn.dynamic_rnn(cell, inputs, sequence_length=sequence_length,
                                       initial_state=initial_state, dtype=inputs.dtype,
                                       scope=scope)


def _fast_dynamic_rnn(cell, inputs, initial_state, scope, sequence_length=None):
    return fast_rnn.dynamic_rnn(cell, inputs, sequence_length=sequence_length,
                                initial_state=initial_state, dtype=inputs.dtype, scope=scope)


# "fast": awdrnn.dynamic_rnn (fused whole-sequence LSTM where it applies);
# "stock": tf.compat.v1.nn.dynamic_rnn. Same variables and numbers.
RNN_IMPLS = {"fast": _fast_dynamic_rnn, "stock": _stock_dynamic_rnn}


def run_rnn(cell, inputs, initial_state, scope, rnn_impl="fast", sequence_length=None):
    """Runs `cell` over batch-major `inputs` `[batch, time, depth]`.

    With `sequence_length` (int `[batch]`), outputs past each row's length are
    zero and its state is frozen there (right-padded batches).

    Returns `(outputs [batch, time, units], final_state)`.
    """
    if rnn_impl not in RNN_IMPLS:
        raise ValueError(f"rnn_impl must be one of {sorted(RNN_IMPLS)}, got {rnn_impl!r}.")
    return RNN_IMPLS[rnn_impl](cell, inputs, initial_state, scope,
                               sequence_length=sequence_length)


@dataclasses.dataclass
class LMConfig:
    """Shape and regularisation of the model (salesforce names, keep rates).

    Attributes:
      vocab_size: number of words.
      emsize: embedding size (and the last layer's size when tied).
      nhid: units of the other layers.
      nlayers: number of recurrent layers.
      model: "lstm" (weight-dropped LSTM) or "qrnn" (`awdrnn.QRNNCell`).
      dropout_kr, dropouth_kr, dropouti_kr, dropoute_kr, wdrop_kr: keep rates
        of the output, between-layer, input, embedding and DropConnect dropouts.
      tie_weights: share the embedding with the softmax.
      rnn_impl: key of `RNN_IMPLS`.
      lstm_biases: the LSTM layers' biases (doc/language_model.md, "Biases").
        "pytorch" (default): PyTorch's two vectors `bias_ih` and `bias_hh`,
        each drawn from U(+-1/sqrt(units)), no forget-gate offset, trained
        as the salesforce code trains them. "summed": one `bias` vector
        drawn as their sum, no offset. "tf": one `bias` starting at zero
        with `forget_bias=1.0` (TF's `LSTMCell`; runs saved before this
        option existed, which load with it).
    """

    vocab_size: int
    emsize: int = 400
    nhid: int = 1150
    nlayers: int = 3
    model: str = "lstm"
    dropout_kr: float = 0.6
    dropouth_kr: float = 0.75
    dropouti_kr: float = 0.6
    dropoute_kr: float = 0.9
    wdrop_kr: float = 0.5
    tie_weights: bool = True
    rnn_impl: str = "fast"
    lstm_biases: str = "pytorch"

    def validate(self):
        for name in ("vocab_size", "emsize", "nhid", "nlayers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        for name in ("dropout_kr", "dropouth_kr", "dropouti_kr", "dropoute_kr", "wdrop_kr"):
            dropout_masks.check_keep_prob(getattr(self, name), name)
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}.")
        if self.rnn_impl not in RNN_IMPLS:
            raise ValueError(f"rnn_impl must be one of {sorted(RNN_IMPLS)}, got {self.rnn_impl!r}.")
        if self.lstm_biases not in LSTM_BIASES:
            raise ValueError(
                f"lstm_biases must be one of {LSTM_BIASES}, got {self.lstm_biases!r}.")
        return self

    def layer_units(self, layer):
        last = layer == self.nlayers - 1
        return self.emsize if (last and self.tie_weights) else self.nhid

    def layer_input_size(self, layer):
        return self.emsize if layer == 0 else self.layer_units(layer - 1)

    def shape_dict(self):
        """The fields that decide variable shapes (compared at resume)."""
        return {k: getattr(self, k) for k in
                ("vocab_size", "emsize", "nhid", "nlayers", "model", "tie_weights",
                  "lstm_biases")}


# `LanguageModel` gives layer l the op seed `100 * seed + 10 + l` (its other
# seeds are `100 * seed + 0..4` and `100 * seed + 20 + l`); the LSTM's mask
# seeds sit above all of those, and its two bias draws above those.
MASK_SEED_OFFSET = 50
BIAS_SEED_OFFSETS = (60, 70)


def _offset(seed, offset):
    return None if seed is None else seed + offset


def pytorch_bias_initializers(units, seed=None):
    """`(bias_ih, bias_hh)` initializers as `torch.nn.LSTM` draws them: each
    U(+-1/sqrt(units)), op seeds `seed + BIAS_SEED_OFFSETS`."""
    bound = 1.0 / np.sqrt(units)
    return tuple(tf.compat.v1.random_uniform_initializer(-bound, bound, seed=_offset(seed, k))
                 for k in BIAS_SEED_OFFSETS)


def summed_initializer(initializers):
    """Initializer drawing the sum of the `initializers`' draws (one vector
    distributed as PyTorch's `bias_ih + bias_hh`)."""
    def initializer(shape, dtype=tf.float32, partition_info=None):
        return tf.add_n([init(shape, dtype) for init in initializers])
    return initializer


def lstm_cell_factory(config, layer, training, seed=None):
    """The default cell: `WeightDropLSTMCell` with DropConnect `wdrop_kr`.

    Initialised as PyTorch's LSTM: kernel uniform in `+-1/sqrt(units)`, and
    with `config.lstm_biases="pytorch"` the biases `bias_ih` and `bias_hh`
    each uniform in `+-1/sqrt(units)` and `forget_bias=0.0` ("summed": one
    `bias` drawn as their sum; "tf": `bias` zero, `forget_bias=1.0`). The
    kernel initialiser uses op seed `seed`, the DropConnect mask `seed +
    MASK_SEED_OFFSET` and the biases `seed + BIAS_SEED_OFFSETS`, so none
    share a random stream (`seed` already differs per layer).
    """
    units = config.layer_units(layer)
    bound = 1.0 / np.sqrt(units)
    biases = pytorch_bias_initializers(units, seed)
    bias_options = {
        "pytorch": dict(pytorch_biases=True, bias_initializer=biases, forget_bias=0.0),
        "summed": dict(bias_initializer=summed_initializer(biases), forget_bias=0.0),
        "tf": dict(forget_bias=1.0),
    }[config.lstm_biases]
    return WeightDropLSTMCell(
        units, weight_drop_kr=config.wdrop_kr, training=training,
        input_size=config.layer_input_size(layer),
        initializer=tf.compat.v1.random_uniform_initializer(-bound, bound, seed=seed),
        seed=_offset(seed, MASK_SEED_OFFSET), **bias_options)


def qrnn_cell_factory(config, layer, training, seed=None):
    """`QRNNCell` layers as the salesforce QRNN language model builds them.

    Window 2 in the first layer and 1 above, output gate on, no zoneout,
    DropConnect `wdrop_kr` on the whole gate kernel.
    """
    return QRNNCell(config.layer_units(layer), window=2 if layer == 0 else 1,
                    weight_drop_kr=config.wdrop_kr, input_size=config.layer_input_size(layer),
                    training=training, seed=seed)


CELL_FACTORIES = {"lstm": lstm_cell_factory, "qrnn": qrnn_cell_factory}

LMOutputs = collections.namedtuple(
    "LMOutputs", ["logits", "initial_state", "final_state", "raw_output", "dropped_output",
                  "training"])
EncoderOutputs = collections.namedtuple(
    "EncoderOutputs", ["raw_output", "layer_outputs", "initial_state", "final_state",
                       "embedding", "training"])


class LanguageModel:
    """AWD-LSTM language model; call it once per graph on a `[batch, time]` id tensor.

    Args:
      config: `LMConfig`.
      cell_factory: `f(config, layer, training, seed) -> RNNCell`; defaults to
        the one of `config.model`.
      seed: optional op seed base for initialisers and dropout masks.
      scope: variable scope of every variable ("lm").
    """

    def __init__(self, config, cell_factory=None, seed=None, scope="lm"):
        self.config = config.validate()
        self.cell_factory = cell_factory or CELL_FACTORIES[config.model]
        self.seed = seed
        self.scope = scope
        self.cells = None

    def _seed(self, k):
        return None if self.seed is None else self.seed * 100 + k

    def zero_state(self, batch_size):
        """NumPy zero state for `batch_size` streams (nested like `final_state`)."""
        if self.cells is None:
            raise ValueError("call the model before asking for its state.")
        return [tf.nest.map_structure(lambda n: np.zeros([batch_size, n], np.float32),
                                      cell.state_size) for cell in self.cells]

    @staticmethod
    def state_feed(placeholders, values):
        """Feed dict mapping the state placeholders to NumPy values."""
        return dict(zip(tf.nest.flatten(placeholders), tf.nest.flatten(values)))

    def __call__(self, ids, training=None):
        """Builds the forward pass.

        Args:
          ids: `[batch, time]` int tensor.
          training: scalar bool tensor (default: a `placeholder_with_default`
            False, returned in the outputs) switching every dropout, or a
            Python bool fixing it in the graph (`False` for an inference-only
            graph, whose LSTMs then run `awdrnn.dynamic_rnn`'s inference pass).

        Returns:
          `LMOutputs`: `logits` `[batch, time, vocab]`, `initial_state` (list of
          per-layer state placeholders `[batch, units]`), `final_state`,
          `raw_output` (last layer, undropped) and `dropped_output`
          `[batch, time, emsize]`, and `training`.
        """
        cfg = self.config
        ids = _check_ids(ids)
        with tf.compat.v1.variable_scope(self.scope):
            enc = self._encode(ids, training)
            dropped = locked_dropout(enc.raw_output, cfg.dropout_kr, enc.training,
                                     seed=self._seed(3))
            if cfg.tie_weights:
                softmax_w = enc.embedding
            else:
                softmax_w = tf.compat.v1.get_variable(
                    "softmax_w", [cfg.vocab_size, cfg.layer_units(cfg.nlayers - 1)], tf.float32,
                    tf.compat.v1.random_uniform_initializer(-0.1, 0.1, seed=self._seed(4)))
            softmax_b = tf.compat.v1.get_variable(
                "softmax_b", [cfg.vocab_size], tf.float32, tf.compat.v1.zeros_initializer())
            flat = tf.reshape(dropped, [-1, shapes.dim(dropped, -1)])
            logits = tf.nn.bias_add(tf.matmul(flat, softmax_w, transpose_b=True), softmax_b)
            logits = tf.reshape(logits, tf.concat([tf.shape(ids), [cfg.vocab_size]], 0))
        return LMOutputs(logits, enc.initial_state, enc.final_state, enc.raw_output, dropped,
                         enc.training)

    def encode(self, ids, training=None, lengths=None):
        """Builds the encoder alone: embedding and recurrent layers, no decoder.

        The same variables (under `scope`) and numbers as `__call__` up to
        `raw_output`; what a task head is built on (`awdrnn.lm.encoder_io`).
        `lengths` (optional int `[batch]`): the real length of each
        right-padded row; every layer's output is zero past it and its state
        is frozen at the row's last real token (`final_state` is then the
        state after that token, as a task head carrying state needs).

        Returns:
          `EncoderOutputs`: `raw_output` `[batch, time, units]` (last layer,
          undropped), `layer_outputs` (each layer's undropped output),
          `initial_state`, `final_state`, `embedding` (the variable), `training`.
        """
        ids = _check_ids(ids)
        with tf.compat.v1.variable_scope(self.scope):
            return self._encode(ids, training, lengths)

    def _encode(self, ids, training, lengths=None):
        if self.cells is not None:
            raise ValueError("LanguageModel can be called once per instance (one graph).")
        cfg = self.config
        if training is None:
            training = tf.compat.v1.placeholder_with_default(False, [], name="training")
        dropout_masks.check_training(training)
        embedding = tf.compat.v1.get_variable(
            "embedding", [cfg.vocab_size, cfg.emsize], tf.float32,
            tf.compat.v1.random_uniform_initializer(-0.1, 0.1, seed=self._seed(0)))
        x = embedding_dropout(embedding, ids, cfg.dropoute_kr, training, seed=self._seed(1))
        x = locked_dropout(x, cfg.dropouti_kr, training, seed=self._seed(2))
        self.cells, initial_state, final_state, layer_outputs = [], [], [], []
        for layer in range(cfg.nlayers):
            cell = self.cell_factory(cfg, layer, training, self._seed(10 + layer))
            self.cells.append(cell)
            init = tf.nest.map_structure(
                lambda n, l=layer: tf.compat.v1.placeholder(tf.float32, [None, n],
                                                           name=f"state{l}"),
                cell.state_size)
            x, state = run_rnn(cell, x, init, scope=f"layer{layer}", rnn_impl=cfg.rnn_impl,
                               sequence_length=lengths)
            initial_state.append(init)
            final_state.append(state)
            layer_outputs.append(x)
            if layer != cfg.nlayers - 1:
                x = locked_dropout(x, cfg.dropouth_kr, training, seed=self._seed(20 + layer))
        return EncoderOutputs(layer_outputs[-1], layer_outputs, initial_state, final_state,
                              embedding, training)


def _check_ids(ids):
    ids = tf.convert_to_tensor(ids)
    if ids.shape.rank != 2 or not ids.dtype.is_integer:
        raise ValueError(f"ids must be an int tensor [batch, time], got {ids.shape} {ids.dtype.name}.")
    return ids


def token_losses(logits, targets):
    """Cross-entropy `-log p(target)` per token, `[batch, time]`."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
