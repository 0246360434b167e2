"""salesforce awd-lstm-lm LSTM checkpoints as a `pytorch_lm.PyTorchLM`.

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
bare state dict gets `main.py`'s defaults. A criterion with split (adaptive)
softmax tails (vocabularies above 75,000 words) and `--model QRNN` / `GRU`
checkpoints are refused.
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


def _drop_rates(model, notes):
    if model is None:
        notes.append("drop rates: salesforce main.py's defaults (a state dict does not store "
                     "them)")
        return dict(MAIN_PY_DROP_RATES)
    rates = {name: float(model.get(name, 0.0)) for name in
             ("dropout", "dropouth", "dropouti", "dropoute")}
    rnns = model.get("_modules", {}).get("rnns")
    first = rnns.get("_modules", {}).get("0") if rnns is not None else None
    is_weight_drop = first is not None and first.class_name == "weight_drop.WeightDrop"
    rates["wdrop"] = float(first.get("dropout", 0.0)) if is_weight_drop else 0.0
    notes.append("drop rates read off the stored model")
    return rates


def read(weights):
    """The `PyTorchLM` of a salesforce checkpoint or state dict (`state_dicts.WeightsFile`).

    Raises:
      ArchitectureMismatch: a QRNN / GRU model, a split softmax, a key missing or
        of another shape (named, with both shapes), or a key left over.
    """
    model, state = weights.model, weights.state_dict
    if model is not None and model.get("rnn_type", "LSTM") != "LSTM":
        raise ArchitectureMismatch(
            f"{weights.path}: a salesforce --model {model.get('rnn_type')} checkpoint; only "
            "LSTM ones are imported (fastai v1 AWD_QRNN files are read for QRNNs).")
    criterion = weights.criterion
    if criterion is not None and int(criterion.get("nsplits", 1)) > 1:
        raise ArchitectureMismatch(
            f"{weights.path}: its SplitCrossEntropyLoss has {criterion.get('nsplits')} splits "
            "(an adaptive softmax for vocabularies over 75,000 words), which awdrnn's full "
            "softmax cannot reproduce.")
    notes = []
    reader = pytorch_lm.KeyReader(state, f"{weights.path} (salesforce awd-lstm-lm)")
    embedding = reader.take("encoder.weight", [None, None], "the embedding [vocab, emb]")
    vocab_size, emsize = embedding.shape
    layers, inputs, l = [], emsize, 0
    while any(k.startswith(f"rnns.{l}.") for k in state):
        weight_dropped = reader.has(f"rnns.{l}.module.weight_hh_l0_raw")
        rnn = f"rnns.{l}.module." if weight_dropped else f"rnns.{l}."   # --wdrop 0: a plain LSTM
        raw = "weight_hh_l0_raw" if weight_dropped else "weight_hh_l0"
        layer = pytorch_lm.read_lstm_layer(reader, {
            "weight_ih": rnn + "weight_ih_l0", "weight_hh": rnn + raw,
            "bias_ih": rnn + "bias_ih_l0", "bias_hh": rnn + "bias_hh_l0"}, l, inputs)
        layers.append(layer)
        inputs, l = layer.units, l + 1
    if not layers:
        raise ArchitectureMismatch(f"{weights.path}: no rnns.0.* keys (the LSTM layers).")
    weight = reader.take("decoder.weight", [vocab_size, inputs],
                         "the decoder [vocab, last layer's units]")
    bias = reader.take("decoder.bias", [vocab_size], "the decoder's bias")
    if np.array_equal(weight, embedding):
        weight = None
        notes.append("decoder tied to the embedding")
    reader.finish("salesforce's RNNModel (LSTM) has no such key; is it another architecture?")
    return pytorch_lm.PyTorchLM("salesforce awd-lstm-lm LSTM", "lstm", embedding, layers, bias,
                                weight, _drop_rates(model, notes), notes)
