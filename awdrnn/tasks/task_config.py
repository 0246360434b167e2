"""The configuration of a task model and its fine-tuning (ULMFiT stage 3), as plain values.

    from awdrnn.tasks.task_config import TaskConfig
    config = TaskConfig(kind="classify", n_outputs=2).validate()
    print(config.encoder_keep_rates("lstm"))
    # {'dropouth_kr': 0.7, 'dropouti_kr': 0.6, 'dropoute_kr': 0.95, 'wdrop_kr': 0.5}

Defaults are fastai v1's text classifier (`awd_lstm_clas_config` /
`awd_qrnn_clas_config`, `text_classifier_learner`): encoder drop rates
hidden / input / embedding / weight 0.3 / 0.4 / 0.05 / 0.5 (QRNN: 0.2 / 0.4 /
0.05 / 0.1), head drop rates 0.4 (fastai's `output_p`, on the pooled
features) and 0.1, a 50-unit hidden block, all times `drop_mult`; AdamW with
betas (0.8, 0.99) and weight decay 0.01, learning rates divided by 2.6 per
layer group, gradual unfreezing, a slanted triangular schedule, `bptt` 70 and
a BPT3C window `max_len` of 20 * 70 tokens.
"""

import dataclasses
import numbers

KINDS = ("classify", "regress", "tag")
LOSSES = ("mse", "mae")
OPTIMIZERS = ("adamw", "adam", "sgd")
LR_SCHEDULES = ("stlr", "one_cycle", "constant")
PAIR_ENCODINGS = ("joined", "siamese")

# fastai v1's classifier drop rates of the encoder (awd_lstm_clas_config,
# awd_qrnn_clas_config), as LMConfig keep-rate fields.
ENCODER_DROP_RATES = {
    "lstm": {"dropouth_kr": 0.3, "dropouti_kr": 0.4, "dropoute_kr": 0.05, "wdrop_kr": 0.5},
    "qrnn": {"dropouth_kr": 0.2, "dropouti_kr": 0.4, "dropoute_kr": 0.05, "wdrop_kr": 0.1},
}


@dataclasses.dataclass
class TaskConfig:
    """A task head and its fine-tuning.

    Attributes:
      kind: "classify" (softmax over `n_outputs` classes), "regress" (one
        score) or "tag" (a label per word, `n_outputs` tags).
      n_outputs: classes, 1, or tags.
      head_hidden: units of the head's hidden block (fastai's `lin_ftrs`);
        0 for a head of one linear block.
      head_drop: drop rates of the head's blocks: the pooled features (or,
        for "tag", the token features), then the hidden block's output.
      drop_mult: multiplies every drop rate, encoder and head.
      awd_off: no dropout at all in the encoder (the head keeps its own).
      label_smoothing: epsilon of the smoothed cross-entropy ("classify").
      loss: "mse" or "mae" ("regress").
      normalize_labels: "regress": train on labels scaled to [0, 1].
      pair_encoding: how a regressor reads a sentence pair (`task_data`):
        "joined", one sequence `bos s1 eos bos s2 eos` pooled once; or
        "siamese", each sentence through the shared encoder on its own,
        pooled to u and v, the head on `[u, v, |u - v|, u * v]`
        (`task_graph.siamese_features`). Single texts are always one sequence.
      bptt, max_len: BPT3C chunk size and window (`awdrnn.tasks.bpt3c`).
      batch_size, epochs, lr: batch, epochs, and the top group's peak rate.
      optimizer: "adamw" (decoupled `weight_decay`), "adam", "sgd".
      adam_beta1, adam_beta2, moms: Adam's betas; `moms` (beta1 at start
        and end, at the peak) is cycled by "one_cycle" with "adamw".
      weight_decay: AdamW's decoupled decay (L2 on the gradient otherwise).
      clip: gradient clipping by global norm (0: none).
      discriminative: one rate per layer group, divided by `disc_factor`
        per group downwards.
      unfreeze: gradual unfreezing, one more group per epoch.
      lr_schedule: "stlr", "one_cycle" or "constant", over all epochs.
      backward: "tag": also a backward encoder, concatenated.
      seed: graph and data-order seed.
    """

    kind: str
    n_outputs: int
    head_hidden: int = 50
    head_drop: tuple = (0.4, 0.1)
    drop_mult: float = 1.0
    awd_off: bool = False
    label_smoothing: float = 0.0
    loss: str = "mse"
    normalize_labels: bool = False
    pair_encoding: str = "joined"
    bptt: int = 70
    max_len: int = 1400
    batch_size: int = 64
    epochs: int = 4
    lr: float = 1e-2
    optimizer: str = "adamw"
    adam_beta1: float = 0.8
    adam_beta2: float = 0.99
    moms: tuple = (0.8, 0.7)
    weight_decay: float = 0.01
    clip: float = 0.0
    discriminative: bool = True
    disc_factor: float = 2.6
    unfreeze: bool = True
    lr_schedule: str = "stlr"
    backward: bool = False
    seed: int = 0

    def validate(self):
        """Checks every field; returns self.

        Raises:
          ValueError: naming the field, its value and what is valid.
        """
        def choice(name, options):
            if getattr(self, name) not in options:
                raise ValueError(f"{name} must be one of {options}, got "
                                 f"{getattr(self, name)!r}.")

        def positive_int(name, minimum=1):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
                    value < minimum:
                raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")

        def number(name, low, high, low_open=False, high_open=True):
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            ok = ok and (value > low if low_open else value >= low)
            ok = ok and (high is None or (value < high if high_open else value <= high))
            if not ok:
                span = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
                raise ValueError(f"{name} must be a number in {span}, got {value!r}.")

        choice("kind", KINDS)
        choice("loss", LOSSES)
        choice("optimizer", OPTIMIZERS)
        choice("lr_schedule", LR_SCHEDULES)
        choice("pair_encoding", PAIR_ENCODINGS)
        if self.pair_encoding == "siamese" and self.kind != "regress":
            raise ValueError(f"pair_encoding 'siamese' is for kind 'regress' (sentence pairs), "
                             f"got kind {self.kind!r}; leave pair_encoding 'joined'.")
        positive_int("n_outputs", 2 if self.kind != "regress" else 1)
        if self.kind == "regress" and self.n_outputs != 1:
            raise ValueError(f"n_outputs must be 1 for kind 'regress', got {self.n_outputs}.")
        positive_int("head_hidden", 0)
        for name in ("bptt", "max_len", "batch_size", "epochs"):
            positive_int(name)
        self.head_drop = tuple(float(p) for p in self.head_drop)
        self.moms = tuple(float(m) for m in self.moms)
        if len(self.head_drop) != (2 if self.head_hidden else 1):
            raise ValueError(f"head_drop must give {2 if self.head_hidden else 1} drop rates "
                             f"(one per head block), got {list(self.head_drop)}.")
        for p in self.head_drop:
            if not 0.0 <= p * self.drop_mult < 1.0:
                raise ValueError(f"head_drop rates times drop_mult must be in [0, 1), got "
                                 f"{p} * {self.drop_mult}.")
        number("drop_mult", 0.0, None)
        number("label_smoothing", 0.0, 1.0)
        number("lr", 0.0, None, low_open=True)
        number("adam_beta1", 0.0, 1.0)
        number("adam_beta2", 0.0, 1.0)
        number("weight_decay", 0.0, None)
        number("clip", 0.0, None)
        number("disc_factor", 0.0, None, low_open=True)
        if len(self.moms) != 2 or not all(0.0 <= m < 1.0 for m in self.moms):
            raise ValueError(f"moms must be two numbers in [0, 1), got {list(self.moms)}.")
        if self.backward and self.kind != "tag":
            raise ValueError("backward (a second, backward encoder) is for kind 'tag'; a "
                             "classifier or regressor ensemble is two runs (doc/tasks.md).")
        return self

    def encoder_keep_rates(self, model):
        """Keep rates of the encoder's dropouts (`LMConfig` fields) for `model`
        ("lstm" / "qrnn"): fastai's classifier rates times `drop_mult`, or
        all 1.0 with `awd_off`."""
        rates = ENCODER_DROP_RATES[model]
        if self.awd_off:
            return {name: 1.0 for name in rates}
        return {name: 1.0 - min(p * self.drop_mult, 0.99) for name, p in rates.items()}

    def head_keep_rates(self):
        """Keep rates of the head's blocks (`head_drop` times `drop_mult`)."""
        return [1.0 - p * self.drop_mult for p in self.head_drop]
