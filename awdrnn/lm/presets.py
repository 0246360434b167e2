"""Named hyper-parameter sets of ULMFiT and MultiFiT, as plain dicts of train_lm.py flags.

Keys are `examples/train_lm.py` flag names (drop *rates*, as its flags). The
script applies a preset to every flag not given on its command line, so an
explicit flag always wins; the library never reads them itself.

    from awdrnn.lm import presets
    config = presets.get("multifit_small")
    print(config["model"], config["nhid"])        # qrnn 400

Sources: `ulmfit` is fastai v1's `awd_lstm_lm_config` (3-layer AWD-LSTM,
emb 400, hidden 1152, dropouts output/hidden/input/embedding/weight 0.1 /
0.15 / 0.25 / 0.02 / 0.2) trained as fastai's ULMFiT scripts do (AdamW with
weight decay 0.01, betas (0.9, 0.99), one-cycle with momentum (0.8, 0.7),
gradient clipping 0.12). `multifit` is Eisenschlos et al. 2019 (MultiFiT):
4-layer QRNN with 1550 hidden units (window 2 in the first layer, as
`lm_model.qrnn_cell_factory` builds it), emb 400, a 15k SentencePiece
unigram model, dropouts 0.25 / 0.1 / 0.2 / 0.02 / 0.15 times `drop_mult`,
Adam betas (0.8, 0.99), clipping 0.12, one-cycle. `drop_mult` stays 1.0
here: the full dropouts suit corpora up to WikiText-103 size; MultiFiT
pretrained on ~100M-token Wikipedias with `--drop_mult=0` and fine-tuned
with 0.3. The `_small` presets train in minutes on a 2-core CPU
(doc/language_model.md, "Subword language models", gives their speed).
AR/TAR keep the salesforce 2 / 1 (fastai's 2 / 1 too).
"""

import copy

_FASTAI_TRAINING = {"optimizer": "adamw", "adam_beta1": 0.9, "adam_beta2": 0.99,
                    "moms": [0.8, 0.7], "lr_schedule": "one_cycle", "wdecay": 0.01,
                    "clip": 0.12, "alpha": 2.0, "beta": 1.0, "bptt": 70}

PRESETS = {
    "ulmfit": dict(_FASTAI_TRAINING, model="lstm", emsize=400, nhid=1152, nlayers=3,
                   dropout=0.1, dropouth=0.15, dropouti=0.25, dropoute=0.02, wdrop=0.2,
                   lr=5e-3, batch_size=64, epochs=10),
    "multifit": dict(_FASTAI_TRAINING, model="qrnn", emsize=400, nhid=1550, nlayers=4,
                     dropout=0.25, dropouth=0.1, dropouti=0.2, dropoute=0.02, wdrop=0.15,
                     adam_beta1=0.8, moms=[0.8, 0.7], lr=5e-3, batch_size=50,
                     epochs=10, drop_mult=1.0),
}
PRESETS["ulmfit_small"] = dict(PRESETS["ulmfit"], emsize=200, nhid=400, nlayers=3,
                               batch_size=32, bptt=35, lr=5e-3, epochs=2)
PRESETS["multifit_small"] = dict(PRESETS["multifit"], emsize=200, nhid=400, nlayers=3,
                                 batch_size=32, bptt=35, lr=5e-3, epochs=2)
# The SentencePiece vocabulary size each preset was designed for (not a flag of
# train_lm.py: the .model file decides it; examples/subwords.py trains one).
SPM_VOCAB_SIZE = {"ulmfit": None, "ulmfit_small": None, "multifit": 15000,
                  "multifit_small": 15000}


def get(name):
    """A copy of preset `name`'s flag values.

    Raises:
      ValueError: unknown name (the message lists the presets).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}.")
    return copy.deepcopy(PRESETS[name])
