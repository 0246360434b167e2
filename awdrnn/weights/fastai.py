"""fastai's AWD_LSTM (v1 and v2) and AWD_QRNN (v1) state dicts as a `pytorch_lm.PyTorchLM`.

    from awdrnn.weights import fastai, state_dicts
    lm = fastai.read(state_dicts.read_weights("models/lm.pth"))
    lm.model, len(lm.layers), lm.has_decoder       # "lstm", 3, True

Three files, told apart by where `encoder_dp.emb.weight` is:

* a language model (`learn.save`): the encoder under `0.`, the decoder
  `1.decoder.weight` (the embedding itself when tied) and `1.decoder.bias`;
* an encoder (`learn.save_encoder`): the encoder's keys without a prefix;
* a classifier (`learn.save` of a text classifier): the encoder under
  `0.module.` (fastai's `MultiBatchEncoder`), the head under `1.` (not
  imported).

The keys of layer `l` (fastai v1 `fastai/text/models/awd_lstm.py` and
`qrnn.py`, v2 `fastai/text/models/awdlstm.py`): an LSTM wrapped in
`WeightDropout` keeps its undropped recurrent weight as
`rnns.l.weight_hh_l0_raw` and the others as `rnns.l.module.weight_ih_l0`,
`.bias_ih_l0`, `.bias_hh_l0`; v1 also saves `rnns.l.module.weight_hh_l0`, the
copy that the last training step dropped, which is not the model's weight and
is skipped. A QRNN layer keeps `rnns.l.layers.0.linear.weight_raw` and
`.module.bias` (and in v1 the dropped `.module.weight`, skipped). fastai's
last layer has `emb_sz` units, the others `n_hid`.

The drop rates are not in the file: the import records fastai's defaults
(`awd_lstm_lm_config`, for a classifier `awd_lstm_clas_config`), which
fine-tuning and task heads replace with their own.
"""

import numpy as np

from awdrnn.weights import pytorch_lm
from awdrnn.weights.errors import ArchitectureMismatch

# fastai's awd_lstm_lm_config / awd_lstm_clas_config drop rates, in salesforce's names.
LM_DROP_RATES = {"dropout": 0.1, "dropouth": 0.15, "dropouti": 0.25, "dropoute": 0.02,
                 "wdrop": 0.2}
CLASSIFIER_DROP_RATES = {"dropout": 0.4, "dropouth": 0.3, "dropouti": 0.4, "dropoute": 0.05,
                         "wdrop": 0.5}
# (encoder prefix, decoder prefix or None, what it is, drop rates)
LAYOUTS = (("0.module.", None, "fastai text classifier (its encoder)", CLASSIFIER_DROP_RATES),
           ("0.", "1.", "fastai language model", LM_DROP_RATES),
           ("", None, "fastai encoder (save_encoder)", LM_DROP_RATES))


def layout(state_dict):
    """The `LAYOUTS` entry of a fastai state dict, or None if it is not one."""
    for entry in LAYOUTS:
        if f"{entry[0]}encoder_dp.emb.weight" in state_dict:
            return entry
    return None


def read(weights):
    """The `PyTorchLM` of a fastai AWD_LSTM / AWD_QRNN `state_dicts.WeightsFile`.

    Raises:
      ArchitectureMismatch: not such a state dict, a key missing or of another
        shape (named, with both shapes), or a key left over.
    """
    state = weights.state_dict
    found = layout(state)
    if found is None:
        raise ArchitectureMismatch(
            f"{weights.path} is not a fastai AWD_LSTM / AWD_QRNN state dict: it has no "
            f"encoder_dp.emb.weight key (its first keys: {list(state)[:3]}).")
    prefix, decoder, what, drop_rates = found
    reversed_keys = [k for k in state if k.endswith("_reverse")]
    if reversed_keys:
        raise ArchitectureMismatch(
            f"{weights.path}: a bidirectional model ({reversed_keys[0]}); awdrnn's language "
            "models and encoders run one direction.")
    reader = pytorch_lm.KeyReader(state, f"{weights.path} ({what})")
    embedding = reader.take(f"{prefix}encoder.weight", [None, None], "the embedding [vocab, emb]")
    vocab_size, emsize = embedding.shape
    view = reader.take(f"{prefix}encoder_dp.emb.weight", [vocab_size, emsize],
                       "EmbeddingDropout's view of the embedding")
    if not np.array_equal(view, embedding):
        raise ArchitectureMismatch(
            f"{weights.path}: {prefix}encoder_dp.emb.weight differs from {prefix}encoder.weight; "
            "in fastai they are one tensor, so the file was changed after saving.")
    nlayers = 0
    while any(k.startswith(f"{prefix}rnns.{nlayers}.") for k in state):
        nlayers += 1
    if nlayers == 0:
        raise ArchitectureMismatch(f"{weights.path}: no {prefix}rnns.0.* keys (the recurrent "
                                   "layers).")
    qrnn = reader.has(f"{prefix}rnns.0.layers.0.linear.weight_raw")
    notes, layers, inputs = [], [], emsize
    for l in range(nlayers):
        units = emsize if l == nlayers - 1 else None
        rnn = f"{prefix}rnns.{l}."
        if qrnn:
            layer = pytorch_lm.read_qrnn_layer(reader, rnn + "layers.0.linear.weight_raw",
                                               rnn + "layers.0.linear.module.bias", l, inputs,
                                               units)
            dropped = rnn + "layers.0.linear.module.weight"
            shape = layer.weight.shape
        else:
            layer = pytorch_lm.read_lstm_layer(reader, {
                "weight_ih": rnn + "module.weight_ih_l0", "weight_hh": rnn + "weight_hh_l0_raw",
                "bias_ih": rnn + "module.bias_ih_l0", "bias_hh": rnn + "module.bias_hh_l0"},
                l, inputs, units)
            dropped = rnn + "module.weight_hh_l0"
            shape = layer.weight_hh.shape
        if reader.has(dropped):
            reader.take(dropped, list(shape), f"layer {l}'s dropped copy of its raw weight")
            if l == 0:
                notes.append("fastai v1 keys *.module.weight_hh_l0 / *.linear.module.weight "
                             "(the last step's dropped copies) skipped; the raw weights used")
        layers.append(layer)
        inputs = layer.units
    bias = weight = None
    if decoder is not None:
        weight = reader.take(f"{decoder}decoder.weight", [vocab_size, inputs],
                             "the decoder [vocab, last layer's units]")
        if reader.has(f"{decoder}decoder.bias"):
            bias = reader.take(f"{decoder}decoder.bias", [vocab_size], "the decoder's bias")
        else:
            bias = np.zeros([vocab_size], np.float32)
            notes.append("no decoder bias (out_bias=False): softmax_b is zeros")
        if np.array_equal(weight, embedding):
            weight = None
            notes.append("decoder tied to the embedding")
    else:
        head = [k for k in state if k.startswith("1.")]
        if head and prefix == "0.module.":
            reader.taken.update(head)
            notes.append(f"the classifier head (1.*, {len(head)} tensors) not imported")
    reader.finish("fastai's AWD_LSTM / AWD_QRNN has no such key; is it another architecture?")
    notes.append("drop rates: fastai's " + ("awd_lstm_clas_config" if prefix == "0.module."
                                            else "awd_lstm_lm_config")
                 + " defaults (a state dict does not store them)")
    return pytorch_lm.PyTorchLM(f"{what}, {'AWD_QRNN' if qrnn else 'AWD_LSTM'}",
                                "qrnn" if qrnn else "lstm", embedding, layers, bias, weight,
                                dict(drop_rates), notes)
