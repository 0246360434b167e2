"""salesforce awd-lstm-lm LSTM and QRNN checkpoints as a `pytorch_lm.PyTorchLM`.

    from awdrnn.weights import salesforce, state_dicts
    lm = salesforce.read(state_dicts.read_weights("PTB.pt"))    # main.py --save
    lm.drop_rates                                               # read off the stored model

`main.py` saves `[model, criterion, optimizer]`, the whole pickled
`model.RNNModel`; its state dict (`state_dicts.module_state_dict`) has
`encoder.weight`, per layer `rnns.l.module.weight_ih_l0`, `.bias_ih_l0`,
`.bias_hh_l0` and the undropped `rnns.l.module.weight_hh_l0_raw` (salesforce's
`WeightDrop` keeps it on the LSTM itself; with `--wdrop 0` the layer is a plain
LSTM: `rnns.l.weight_hh_l0`), then `decoder.weight` (the embedding when
`--tied`) and `decoder.bias`. The drop rates come from the stored model
(`dropout`, `dropouth`, `dropouti`, `dropoute`, WeightDrop's `dropout`); a
bare state dict gets `main.py`'s defaults.

`--model QRNN` (model.py: torchqrnn's `QRNNLayer(save_prev_x=True, zoneout=0,
window=2 if l == 0 else 1, output_gate=True)`, its `linear` wrapped in
`WeightDrop(..., ['weight'])`): per layer `rnns.l.linear.module.weight_raw`
`[3H, window * I]` (rows z, f, o; columns `[x_t, x_{t-1}]`) and
`rnns.l.linear.module.bias`, the layout of `pytorch_lm.QRNNLayer`. After an
evaluation pass WeightDrop has set `linear.module.weight` to the raw weight
itself (dropout with `training=False` returns it), so the file may hold that
copy too; it is skipped. The stored `QRNNLayer` records (never torchqrnn
itself, see `torch_pickle`) say `zoneout`, `output_gate` and `window`, which
are checked: awdrnn reproduces zoneout 0, the output gate, windows 2 then 1.
Their `prevX` (the last input of the previous call, kept to continue a
sequence across calls) is evaluation state, not a parameter, and is not
read: main.py's `model.reset()` sets it to None (x_{-1} = 0), which is the
imported model's zero state.

Refused: a criterion with split (adaptive) softmax tails (vocabularies above
75,000 words), `--model GRU`, and QRNN settings other than model.py's.
"""

import numpy as np

from awdrnn.weights import pytorch_lm
from awdrnn.weights.errors import ArchitectureMismatch

# main.py's --dropout --dropouth --dropouti --dropoute --wdrop defaults.
MAIN_PY_DROP_RATES = {"dropout": 0.4, "dropouth": 0.3, "dropouti": 0.65, "dropoute": 0.1,
                      "wdrop": 0.5}


def looks_like(weights):
    """Whether `weights` (a `state_dicts.WeightsFile`) has salesforce's layout."""
    state = weights.state_dict
    return ((weights.model is not None and weights.model.class_name == "model.RNNModel")
            or {"encoder.weight", "decoder.weight"} <= set(state)
            and any(k.startswith("rnns.0.") for k in state))


def _stored_layers(model):
    """The stored recurrent layers of a pickled `RNNModel` (`rnns`), bottom up; [] without one."""
    if model is None:
        return []
    rnns = model.get("_modules", {}).get("rnns")
    return list(rnns.get("_modules", {}).values()) if rnns is not None else []


def _weight_drop(layer):
    """The `WeightDrop` record of a stored layer (an LSTM's wrapper, a QRNN's `linear`), or None."""
    if layer is not None and layer.class_name == "torchqrnn.qrnn.QRNNLayer":
        layer = layer.get("_modules", {}).get("linear")
    return layer if layer is not None and layer.class_name == "weight_drop.WeightDrop" else None


def _drop_rates(model, notes):
    if model is None:
        notes.append("drop rates: salesforce main.py's defaults (a state dict does not store "
                     "them)")
        return dict(MAIN_PY_DROP_RATES)
    rates = {name: float(model.get(name, 0.0)) for name in
             ("dropout", "dropouth", "dropouti", "dropoute")}
    layers = _stored_layers(model)
    weight_drop = _weight_drop(layers[0]) if layers else None
    rates["wdrop"] = float(weight_drop.get("dropout", 0.0)) if weight_drop is not None else 0.0
    notes.append("drop rates read off the stored model")
    return rates


def _rnn_type(weights):
    """"LSTM" or "QRNN": the stored model's `rnn_type`, or for a state dict its keys."""
    model = weights.model
    if model is None:
        return "QRNN" if "rnns.0.linear.module.weight_raw" in weights.state_dict else "LSTM"
    rnn_type = model.get("rnn_type", "LSTM")
    if rnn_type not in ("LSTM", "QRNN"):
        raise ArchitectureMismatch(
            f"{weights.path}: a salesforce --model {rnn_type} checkpoint; only LSTM and QRNN "
            "ones are imported (awdrnn has no GRU language model).")
    return rnn_type


def _check_qrnn_record(record, layer, path):
    """Raises ArchitectureMismatch unless the stored `QRNNLayer` `record` of layer
    `layer` is what awdrnn's QRNN language model computes (module docstring)."""
    if record is None:
        raise ArchitectureMismatch(
            f"{path}: the state dict has rnns.{layer}.* keys but the stored model has no "
            f"layer {layer}: corrupt file.")
    if record.class_name != "torchqrnn.qrnn.QRNNLayer":
        raise ArchitectureMismatch(
            f"{path}: rnns.{layer} is a {record.class_name}, not torchqrnn's QRNNLayer, in a "
            "--model QRNN checkpoint: not the RNNModel of salesforce's model.py.")
    window = 2 if layer == 0 else 1
    checks = (("zoneout", 0, "awdrnn's QRNN language model has no zoneout (torchqrnn scales "
                              "its forget gates by 1 - zoneout in evaluation)"),
              ("output_gate", True, "awdrnn's QRNN language model has the output gate "
                                    "(fo-pooling)"),
              ("window", window, "awdrnn's QRNN language model uses window 2 in the first "
                                 "layer and 1 above, as salesforce's model.py"))
    for name, want, why in checks:
        value = record.get(name)
        if value != want:
            raise ArchitectureMismatch(
                f"{path}: rnns.{layer} (torchqrnn QRNNLayer) has {name}={value!r} where "
                f"{want!r} is needed: {why}. It cannot be imported as the same function.")


def _lstm_layers(reader, state, inputs):
    """The `LSTMLayer`s of `rnns.l.*` (weight-dropped, or plain with --wdrop 0)."""
    layers, l = [], 0
    while any(k.startswith(f"rnns.{l}.") for k in state):
        weight_dropped = reader.has(f"rnns.{l}.module.weight_hh_l0_raw")
        rnn = f"rnns.{l}.module." if weight_dropped else f"rnns.{l}."   # --wdrop 0: a plain LSTM
        raw = "weight_hh_l0_raw" if weight_dropped else "weight_hh_l0"
        layer = pytorch_lm.read_lstm_layer(reader, {
            "weight_ih": rnn + "weight_ih_l0", "weight_hh": rnn + raw,
            "bias_ih": rnn + "bias_ih_l0", "bias_hh": rnn + "bias_hh_l0"}, l, inputs)
        layers.append(layer)
        inputs, l = layer.units, l + 1
    return layers


def _qrnn_layers(reader, state, inputs, records, path, notes):
    """The `QRNNLayer`s of `rnns.l.linear.module.*`, each checked against its stored
    `QRNNLayer` record (`records`, [] for a state dict)."""
    layers, l = [], 0
    while any(k.startswith(f"rnns.{l}.") for k in state):
        if records:
            _check_qrnn_record(records[l] if l < len(records) else None, l, path)
        linear = f"rnns.{l}.linear.module."
        layer = pytorch_lm.read_qrnn_layer(reader, linear + "weight_raw", linear + "bias", l,
                                           inputs)
        if reader.has(linear + "weight"):
            copy = reader.take(linear + "weight", list(layer.weight.shape),
                               f"layer {l}: WeightDrop's copy of its raw weight")
            if l == 0:
                same = "the raw weight itself" if np.array_equal(copy, layer.weight) else \
                    "a dropped copy"
                notes.append(f"keys rnns.*.linear.module.weight (WeightDrop's last weight: "
                             f"{same}) skipped; the raw weights used")
        layers.append(layer)
        inputs, l = layer.units, l + 1
    if not records:
        notes.append("QRNN settings: salesforce model.py's (zoneout 0, output gate, windows 2 "
                     "then 1; a state dict does not store them)")
    return layers


def read(weights):
    """The `PyTorchLM` of a salesforce checkpoint or state dict (`state_dicts.WeightsFile`).

    Raises:
      ArchitectureMismatch: a GRU model, QRNN settings awdrnn cannot reproduce
        (zoneout, no output gate, other windows), a split softmax, a key missing
        or of another shape (named, with both shapes), or a key left over.
    """
    model, state = weights.model, weights.state_dict
    rnn_type = _rnn_type(weights)
    criterion = weights.criterion
    if criterion is not None and int(criterion.get("nsplits", 1)) > 1:
        raise ArchitectureMismatch(
            f"{weights.path}: its SplitCrossEntropyLoss has {criterion.get('nsplits')} splits "
            "(an adaptive softmax for vocabularies over 75,000 words), which awdrnn's full "
            "softmax cannot reproduce.")
    notes = []
    what = f"salesforce awd-lstm-lm {rnn_type}"
    reader = pytorch_lm.KeyReader(state, f"{weights.path} ({what})")
    embedding = reader.take("encoder.weight", [None, None], "the embedding [vocab, emb]")
    vocab_size, emsize = embedding.shape
    if rnn_type == "QRNN":
        layers = _qrnn_layers(reader, state, emsize, _stored_layers(model), weights.path, notes)
    else:
        layers = _lstm_layers(reader, state, emsize)
    if not layers:
        raise ArchitectureMismatch(f"{weights.path}: no rnns.0.* keys (the {rnn_type} layers).")
    inputs = layers[-1].units
    weight = reader.take("decoder.weight", [vocab_size, inputs],
                         "the decoder [vocab, last layer's units]")
    bias = reader.take("decoder.bias", [vocab_size], "the decoder's bias")
    if np.array_equal(weight, embedding):
        weight = None
        notes.append("decoder tied to the embedding")
    reader.finish(f"salesforce's RNNModel ({rnn_type}) has no such key; is it another "
                  "architecture?")
    return pytorch_lm.PyTorchLM(what, rnn_type.lower(), embedding, layers, bias, weight,
                                _drop_rates(model, notes), notes)
