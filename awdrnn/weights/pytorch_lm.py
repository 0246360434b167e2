"""A PyTorch AWD-LSTM / QRNN language model in PyTorch's conventions, and the
awdrnn variables that compute the same function.

    import numpy as np
    from awdrnn.weights import pytorch_lm
    rng = np.random.RandomState(0)
    H, I = 3, 2
    layer = pytorch_lm.LSTMLayer(rng.randn(4 * H, I), rng.randn(4 * H, H),
                                 rng.randn(4 * H), rng.randn(4 * H))
    v = pytorch_lm.lstm_variables(layer, "pytorch")
    print(sorted(v), v["kernel"].shape)   # ['bias_hh', 'bias_ih', 'kernel'] (5, 12)

PyTorch's LSTM layer (`torch.nn.LSTM`), weights `[4H, I]`, `[4H, H]`, biases `[4H]`:

    i, f, g, o = split(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, 4)
    c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g);   h_t = sigmoid(o) * tanh(c_t)

awdrnn's (`WeightDropLSTMCell`, TF's `LSTMCell`), kernel `[I + H, 4H]`:

    i, j, f, o = split([x_t, h_{t-1}] . kernel + bias, 4)
    c_t = sigmoid(f + forget_bias) * c_{t-1} + sigmoid(i) * tanh(j)

so `kernel = [W_ih, W_hh]^T` with its column blocks in the order `i, g, f, o`
(TF's `j` is PyTorch's `g`), and the biases by `LMConfig.lstm_biases`:

    "pytorch":  bias_ih, bias_hh = b_ih, b_hh (reordered); forget_bias 0
    "summed":   bias = b_ih + b_hh;                        forget_bias 0
    "tf":       bias = b_ih + b_hh with 1 taken off its f block, since TF's
                LSTMCell adds forget_bias=1 back at every step

A QRNN layer (fastai / salesforce `QRNNLayer`): `linear.weight` `[3H, window * I]`
applied to `[x_t, x_{t-1}]`, its output chunked `z, f, o`; awdrnn's `QRNNCell`
kernel has rows `[x_t; x_{t-1}]` and columns `z | f | o`: `kernel = weight^T`,
`bias = bias`.
"""

import dataclasses

import numpy as np

from awdrnn.lm import model as lm_model
from awdrnn.weights.errors import ArchitectureMismatch, WeightFileError

TF_FORGET_BIAS = 1.0  # what LMConfig(lstm_biases="tf") cells add to the f gate


@dataclasses.dataclass
class LSTMLayer:
    """One `torch.nn.LSTM` layer: `weight_ih [4H, I]`, `weight_hh [4H, H]` (the raw,
    undropped weight of a weight-dropped LSTM), `bias_ih`, `bias_hh` `[4H]`; gate
    blocks `i, f, g, o`."""

    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray
    bias_hh: np.ndarray

    @property
    def units(self):
        return self.weight_hh.shape[1]


@dataclasses.dataclass
class QRNNLayer:
    """One QRNN layer: `weight [3H, window * I]` (rows `z, f, o`, columns
    `[x_t, x_{t-1}]`), `bias [3H]`."""

    weight: np.ndarray
    bias: np.ndarray
    window: int

    @property
    def units(self):
        return self.weight.shape[0] // 3


def tf_gate_order(w):
    """PyTorch's gate blocks `i, f, g, o` along the first axis of `w` (`[4H, ...]`)
    in TF's order `i, j (= g), f, o`."""
    i, f, g, o = np.split(np.asarray(w), 4, axis=0)
    return np.concatenate([i, g, f, o], axis=0)


def lstm_variables(layer, lstm_biases):
    """`{"kernel", "bias_ih", "bias_hh"}` ("pytorch") or `{"kernel", "bias"}`
    ("summed", "tf") of a `WeightDropLSTMCell` computing `layer` (see the module
    docstring)."""
    if lstm_biases not in lm_model.LSTM_BIASES:
        raise ValueError(f"lstm_biases must be one of {lm_model.LSTM_BIASES}, got "
                         f"{lstm_biases!r}.")
    kernel = tf_gate_order(np.concatenate([layer.weight_ih, layer.weight_hh], axis=1)).T
    b_ih, b_hh = tf_gate_order(layer.bias_ih), tf_gate_order(layer.bias_hh)
    if lstm_biases == "pytorch":
        return {"kernel": kernel, "bias_ih": b_ih, "bias_hh": b_hh}
    bias = b_ih + b_hh
    if lstm_biases == "tf":
        units = layer.units
        bias = bias.copy()
        bias[2 * units:3 * units] -= TF_FORGET_BIAS
    return {"kernel": kernel, "bias": bias}


def qrnn_variables(layer):
    """`{"kernel", "bias"}` of a `QRNNCell` computing `layer`."""
    return {"kernel": np.asarray(layer.weight).T, "bias": np.asarray(layer.bias)}


def float32(array, name):
    """`array` as float32 (float16 and float64 too); other dtypes raise."""
    if not np.issubdtype(array.dtype, np.floating):
        raise WeightFileError(f"{name} is {array.dtype}, not a floating-point tensor.")
    return np.ascontiguousarray(array, dtype=np.float32)


def _shape_text(shape):
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


class KeyReader:
    """Takes keys out of a state dict, each with the shape the architecture needs.

    The first key that is missing or has another shape raises
    `ArchitectureMismatch` naming it with both shapes; `finish` raises on the
    first key nothing took.
    """

    def __init__(self, state_dict, what):
        self.state, self.what = state_dict, what
        self.taken = set()

    def has(self, key):
        return key in self.state

    def take(self, key, shape, why):
        """The array at `key`, which must have `shape` (`None`: any size); `why`
        says where the expected shape comes from."""
        if key not in self.state:
            raise ArchitectureMismatch(
                f"{self.what}: the state dict has no {key} (expected shape "
                f"{_shape_text(shape)}: {why}); it is not this architecture, or the wrong "
                "--source was given.")
        value = self.state[key]
        self.taken.add(key)
        if len(value.shape) != len(shape) or any(
                e is not None and e != d for e, d in zip(shape, value.shape)):
            raise ArchitectureMismatch(
                f"{self.what}: {key} has shape {list(value.shape)} but {_shape_text(shape)} "
                f"was expected ({why}).")
        return float32(value, key)

    def finish(self, hint):
        """Raises ArchitectureMismatch on the first key (in the file's order) not taken."""
        for key, value in self.state.items():
            if key not in self.taken:
                raise ArchitectureMismatch(
                    f"{self.what}: unexpected key {key} (shape {list(value.shape)}): {hint}")


@dataclasses.dataclass
class PyTorchLM:
    """A PyTorch LM (or its encoder) read from a state dict.

    Attributes:
      source: what it was read as, in words.
      model: "lstm" or "qrnn".
      embedding: `[V, E]`.
      layers: `LSTMLayer`s or `QRNNLayer`s, bottom up.
      decoder_bias: `[V]`, or None for an encoder without decoder.
      decoder_weight: `[V, H]` of an untied decoder; None when tied to the embedding.
      drop_rates: salesforce's names (`dropout`, `dropouth`, `dropouti`,
        `dropoute`, `wdrop`) -> drop rates.
      notes: what a reader should know about the import (one line each).
    """

    source: str
    model: str
    embedding: np.ndarray
    layers: list
    decoder_bias: np.ndarray = None
    decoder_weight: np.ndarray = None
    drop_rates: dict = None
    notes: list = dataclasses.field(default_factory=list)

    @property
    def has_decoder(self):
        return self.decoder_bias is not None

    def lm_config(self, lstm_biases="pytorch"):
        """The `LMConfig` whose `LanguageModel` computes this model.

        Raises:
          ArchitectureMismatch: a layout `LanguageModel` cannot express (layers
            of different sizes below the last, an untied last layer of another
            size than the others, QRNN windows other than 2 then 1).
        """
        vocab_size, emsize = self.embedding.shape
        units = [layer.units for layer in self.layers]
        tied = self.decoder_weight is None
        below = units[:-1]
        nhid = below[0] if below else units[-1]
        if any(u != nhid for u in below):
            raise ArchitectureMismatch(
                f"{self.source}: its layers have {units} units; awdrnn's LanguageModel gives "
                "every layer but the last the same number (nhid).")
        if not tied and units[-1] != nhid:
            raise ArchitectureMismatch(
                f"{self.source}: an untied decoder on a last layer of {units[-1]} units below "
                f"layers of {nhid}; awdrnn's untied LanguageModel gives the last layer nhid "
                "units too.")
        if self.model == "qrnn":
            windows = [layer.window for layer in self.layers]
            if windows != [2] + [1] * (len(windows) - 1):
                raise ArchitectureMismatch(
                    f"{self.source}: QRNN windows {windows}; awdrnn's QRNN LanguageModel uses "
                    "window 2 in the first layer and 1 above (fastai's AWD_QRNN).")
        keep = {f"{name}_kr": 1.0 - self.drop_rates[name]
                for name in ("dropout", "dropouth", "dropouti", "dropoute", "wdrop")}
        return lm_model.LMConfig(
            vocab_size=vocab_size, emsize=emsize, nhid=nhid, nlayers=len(units),
            model=self.model, tie_weights=tied, lstm_biases=lstm_biases, **keep).validate()

    def variables(self, lstm_biases="pytorch"):
        """`{name relative to the LM's scope: float32 array}`: `embedding`,
        `layer<l>/lstm_cell/...` or `layer<l>/qrnn_cell/...`, and with a decoder
        `softmax_b` (and `softmax_w` when untied)."""
        out = {"embedding": self.embedding}
        for l, layer in enumerate(self.layers):
            if isinstance(layer, LSTMLayer):
                cell, values = "lstm_cell", lstm_variables(layer, lstm_biases)
            else:
                cell, values = "qrnn_cell", qrnn_variables(layer)
            out.update({f"layer{l}/{cell}/{name}": v for name, v in values.items()})
        if self.has_decoder:
            out["softmax_b"] = self.decoder_bias
            if self.decoder_weight is not None:
                out["softmax_w"] = self.decoder_weight
        return {name: np.ascontiguousarray(v, np.float32) for name, v in out.items()}


def read_lstm_layer(reader, keys, layer, inputs, units=None):
    """An `LSTMLayer` from the keys `keys["weight_ih"]`, `["weight_hh"]`,
    `["bias_ih"]`, `["bias_hh"]` of `reader`, for `inputs` inputs and `units`
    units (None: as many as the recurrent weight has columns)."""
    if units is None:
        units = reader.take(keys["weight_hh"], [None, None],
                            f"layer {layer}'s recurrent weight [4H, H]").shape[1]
    gates = f"layer {layer}: 4 x {units} gate"
    return LSTMLayer(
        reader.take(keys["weight_ih"], [4 * units, inputs], f"{gates} rows by its {inputs} inputs"),
        reader.take(keys["weight_hh"], [4 * units, units], f"{gates} rows by {units} units"),
        reader.take(keys["bias_ih"], [4 * units], f"{gates}s"),
        reader.take(keys["bias_hh"], [4 * units], f"{gates}s"))


def read_qrnn_layer(reader, weight_key, bias_key, layer, inputs, units=None):
    """A `QRNNLayer` (window 1 or 2, read off the weight's columns) from `reader`."""
    weight = reader.take(weight_key, [None, None], f"layer {layer}'s gate weight [3H, window * I]")
    units = weight.shape[0] // 3 if units is None else units
    window = 2 if weight.shape[1] == 2 * inputs else 1
    why = (f"layer {layer}: z, f, o rows of {units} units by {window} x {inputs} inputs "
           "(window 1 or 2)")
    weight = reader.take(weight_key, [3 * units, window * inputs], why)
    bias = reader.take(bias_key, [3 * units], f"layer {layer}: z, f, o biases of {units} units")
    return QRNNLayer(weight, bias, window)
