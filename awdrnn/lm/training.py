"""The AWD-LSTM training loop: variable BPTT, AR/TAR, clipping, NT-ASGD, checkpoints.

One step on a segment `x = streams[:, i:i + seq_len]` (targets one ahead):

    loss  = mean(-log p(y | x)) + AR(dropped h_L) + TAR(raw h_L)
    g     = clip_by_global_norm(d loss / d w, clip) + wdecay * w
    w    <- optimizer(w, g, lr * seq_len / bptt)       (SGD or Adam)
    avg  <- avg + (w - avg) / k                        (once NT-ASGD has switched)

(the graph of that step is `lm_graph.LMGraph`; `LMTask` here is what is
specific to language models, run by the generic `awdrnn.training.loop`).
The final state of each segment is the next one's initial state (zeros at
each epoch start). After each epoch the model is evaluated on `valid`
(averaged weights once averaging is on), the best model is saved, the NT
condition is checked, and a checkpoint with everything needed to continue
*exactly* (weights, optimizer slots, averages, step, learning rate, data
position, BPTT sampler state, recurrent state) is written atomically.

    from awdrnn.data import corpus
    from awdrnn.lm import model as lm_model, training as lm_training
    c = corpus.Corpus("../shared/data/ptb")
    trainer = lm_training.Trainer(
        lm_model.LMConfig(vocab_size=len(c.vocab), emsize=200, nhid=400),
        lm_training.TrainConfig(epochs=3), c, save_dir="runs/ptb")
    metrics = trainer.run()        # also runs/ptb/metrics.json, curves.png, tb/

Save folder layout: `config.json`, `vocab.txt`, `checkpoints/` (training
state, for `resume=True`), `best/` (the best model's weights, averaged when
NT-ASGD is on: what evaluation and generation load), `metrics.json`,
`curves.png`, `tb/` (TensorBoard).

Known limit of exact resume: dropout masks are drawn by TensorFlow's stateful
random ops, whose streams restart with a session; a resumed run reseeds them
from (seed, step), so it is reproducible but its masks differ from those an
uninterrupted run would have drawn. Everything else continues exactly.
"""

import contextlib
import dataclasses
import math
import os
import time

import numpy as np
import tensorflow as tf

from awdrnn.data import bptt, corpus
from awdrnn.lm import backward as backward_lm, model as lm_model, word_perplexity
from awdrnn.training import asgd, checkpoints
from awdrnn.training import loop
from awdrnn.lm.curves import plot_curves
from awdrnn.lm.errors import (  # noqa: F401  (re-exported)
    Aborted, CheckpointMismatch, DataError, Interrupted, NaNLoss, TrainingError)
from awdrnn.lm.graph import (  # noqa: F401  (re-exported)
    LMGraph, check_checkpoint_shapes, evaluate, restore_model, restore_variables, save_model)

OPTIMIZERS = ("sgd", "adam", "adamw")
LR_SCHEDULES = ("constant", "stlr", "one_cycle")


@dataclasses.dataclass
class TrainConfig:
    """Training hyper-parameters (salesforce `main.py` names and PTB defaults).

    `optimizer="sgd"` is NT-ASGD (SGD that switches to averaging, as
    salesforce's `sgd`); `"adam"` never averages. `when`: epochs after which
    the learning rate is divided by 10. `max_steps` (global step) and
    `max_minutes` (this invocation's training time) stop a run early, with a
    checkpoint and a final evaluation. `finetune`: the paper's second stage,
    averaging from the first step on, starting from the saved best model and
    stopping when validation stalls. `evaluate=False` skips validation and
    test (speed measurements only: no best model, no NT-ASGD switch).

    `"adamw"` is Adam with decoupled weight decay (`wdecay` then shrinks the
    weights by `lr * wdecay` a step instead of entering the gradient);
    `adam_beta1`, `adam_beta2` are both Adams' betas. `lr_schedule`:
    "constant" (`lr`, divided by 10 after the `when` epochs), or "stlr" /
    "one_cycle" (`awdrnn.training.schedules`, in the graph, from the global
    step, peak `lr`, over `epochs` times the steps of an epoch of `bptt`-long
    segments; see `lm_graph.learning_rate`); one_cycle also cycles AdamW's
    beta1 from `moms[0]` down to `moms[1]` and back. `backward`: train on
    each split's reversed token stream (`awdrnn.lm.backward`).

    LM fine-tuning (ULMFiT stage 2, doc/fine_tuning.md): `init_from`, a run
    folder whose `best/` weights start a new run (its vocabulary must be the
    data's: `vocab_remap.remap_saved_lm` moves a word-level run first);
    `discriminative`: one optimizer per layer group
    (`awdrnn.training.layer_groups.lm_layer_groups`), group `g` of `n` at
    `lr / disc_factor ** (n - 1 - g)`; `unfreeze`: gradual unfreezing, epoch
    `e` (from 1) trains the top `e` groups (`awdrnn.training.unfreezing`).
    """

    lr: float = 30.0
    clip: float = 0.25
    epochs: int = 500
    batch_size: int = 20
    eval_batch_size: int = 10
    test_batch_size: int = 1
    bptt: int = 70
    seed: int = 141
    nonmono: int = 5
    alpha: float = 2.0
    beta: float = 1.0
    wdecay: float = 1.2e-6
    optimizer: str = "sgd"
    when: tuple = ()
    log_interval: int = 200
    max_steps: int = None
    max_minutes: float = None
    finetune: bool = False
    evaluate: bool = True
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    lr_schedule: str = "constant"
    moms: tuple = (0.95, 0.85)
    backward: bool = False
    init_from: str = None
    discriminative: bool = False
    disc_factor: float = 2.6
    unfreeze: bool = False

    def validate(self):
        def positive_int(name, value):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")

        for name in ("epochs", "batch_size", "eval_batch_size", "test_batch_size", "bptt",
                     "nonmono", "log_interval"):
            positive_int(name, getattr(self, name))
        if self.max_steps is not None:
            positive_int("max_steps", self.max_steps)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}.")
        for name in ("clip", "alpha", "beta", "wdecay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got "
                             f"{self.lr_schedule!r}.")
        self.moms = tuple(float(m) for m in self.moms)
        for name, value in [("adam_beta1", self.adam_beta1), ("adam_beta2", self.adam_beta2)] + [
                ("moms", m) for m in self.moms]:
            if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
                raise ValueError(f"{name} must be in [0, 1), got {value!r}.")
        if len(self.moms) != 2:
            raise ValueError(f"moms must be a pair (start/end beta1, beta1 at the peak "
                             f"rate), got {self.moms!r}.")
        self.when = tuple(int(e) for e in self.when)
        if not (isinstance(self.disc_factor, (int, float)) and self.disc_factor > 0):
            raise ValueError(f"disc_factor must be a number > 0 (ULMFiT: 2.6), got "
                             f"{self.disc_factor!r}.")
        if self.init_from is not None and self.finetune:
            raise ValueError("init_from starts a new run from another run's weights; "
                             "finetune continues the run in its own folder: give one of them.")
        return self

    def schedule_steps(self, num_train_tokens):
        """Steps the stlr / one_cycle schedule spans: `epochs` times the
        `(num_train_tokens // batch_size - 1) // bptt` segments of an epoch
        (variable BPTT draws slightly more, shorter ones: past the end the
        schedule holds its last value)."""
        per_epoch = max(1, (num_train_tokens // self.batch_size - 1) // self.bptt)
        return self.epochs * per_epoch


def _ppl(loss):
    return math.exp(min(loss, 700.0))


def saved_model_config(saved):
    """The `LMConfig` of a run's `config.json` contents. Runs saved before
    `lstm_biases` existed were trained with TF's LSTM biases ("tf")."""
    return lm_model.LMConfig(**dict({"lstm_biases": "tf"}, **saved["model"]))


def load_config(save_dir):
    """`(LMConfig, TrainConfig, Vocabulary)` saved with a run, for evaluation/generation."""
    path = os.path.join(save_dir, "config.json")
    if not os.path.isfile(path):
        raise CheckpointMismatch(f"{save_dir!r} has no config.json: not a train_lm.py save folder.")
    saved = checkpoints.read_json(path)
    model_config = saved_model_config(saved)
    train_config = TrainConfig(**saved["train"])
    from awdrnn.text import subword_corpus  # imports sentencepiece
    vocab = subword_corpus.load_run_vocabulary(save_dir)
    return model_config, train_config, vocab


def open_best_model(save_dir, rnn_impl=None, batch_size=None):
    """Session and inference graph with the best model of `save_dir` loaded.

    `batch_size` fixes the graph's batch size (1 for generation), which lets
    `awdrnn.dynamic_rnn` pick its fastest inference path for it.

    Returns:
      `(session, LMGraph, vocab)`.
    """
    model_config, _, vocab = load_config(save_dir)
    if rnn_impl is not None:
        model_config.rnn_impl = rnn_impl
    best = checkpoints.CheckpointStore(os.path.join(save_dir, "best")).latest()
    if best is None:
        raise CheckpointMismatch(f"{save_dir!r} has no saved model yet (best/ is empty).")
    g = LMGraph(model_config, batch_size=batch_size)
    session = tf.compat.v1.Session(graph=g.graph)
    session.run(g.init)
    restore_model(session, g, best, "saved model")
    return session, g, vocab


class LMTask(loop.Task):
    """The language-model task of `loop.TrainingLoop`: variable-length BPTT
    segments over `batch_size` streams (state carried from segment to segment,
    zeros at each epoch start), LR x seq_len / bptt, NT-ASGD (switch and
    averaged evaluation), `when` LR drops, and the fine-tuning stage (averaging
    from the first step, stopping when validation stalls). `Trainer` runs it.

    Its entries of the run state: `position` (token of each stream), `lr`,
    `sampler` (BPTT sampler state), `trigger` (NT history), `best_val_loss`,
    `stage` ("train" / "finetune"), `asgd_epoch`, `finetune_done`, `test_ppl`.
    """

    def __init__(self, model_config, train_config, data, save_dir, log=print, extra=None):
        self.mcfg, self.cfg, self.data = model_config, train_config, data
        self.save_dir, self.log, self.extra = save_dir, log, dict(extra or {})
        self.seed = train_config.seed
        self.sampler = bptt.SegmentSampler(train_config.bptt, seed=train_config.seed)
        self.saved_train = None
        self.g = self.hidden = self.streams = None

    def build_graph(self, graph_seed):
        self.g = g = LMGraph(self.mcfg, self.cfg, graph_seed=graph_seed,
                             total_steps=self.cfg.schedule_steps(len(self.data.train)))
        self.graph, self.init_op = g.graph, g.init
        self.saver, self.saved_vars = g.saver, g.saved_vars
        self.hidden = g.model.zero_state(self.cfg.batch_size)
        self.step_lr = None  # the base rate of the last step (stlr / one_cycle move it)

    def fresh_state(self):
        return {"position": 0, "lr": float(self.cfg.lr), "sampler": None, "trigger": [],
                "best_val_loss": None, "stage": "train", "asgd_epoch": None,
                "finetune_done": False}

    # --- the run folder --------------------------------------------------------------
    def config(self):
        """`config.json`: the configs of this invocation (as in `metrics.json`) and
        `extra_metrics`; rewritten at every start, so the two files agree."""
        return {"model": dataclasses.asdict(self.mcfg), "train": dataclasses.asdict(self.cfg),
                "extra": self.extra}

    def write_files(self, run_dir):
        self.data.vocab.save(os.path.join(run_dir, "vocab.txt"))

    def check_saved_config(self, saved, resume=True):
        """Refuses a saved run of another model shape or vocabulary, or (`resume`)
        another batch size or optimizer."""
        self.saved_train = saved["train"]
        mine = self.mcfg.shape_dict()
        theirs = saved_model_config(saved).shape_dict()
        diff = [f"{k}={theirs[k]!r} in the checkpoint vs {mine[k]!r} now"
                for k in mine if mine[k] != theirs[k]]
        if diff:
            raise CheckpointMismatch(
                "checkpoint is from a model of a different shape: " + "; ".join(diff) + ".")
        if resume:  # the saved data position, state and optimizer slots need these
            for key in ("batch_size", "optimizer"):
                if saved["train"][key] != getattr(self.cfg, key):
                    raise CheckpointMismatch(
                        f"cannot resume with {key}={getattr(self.cfg, key)!r}: the run was "
                        f"trained with {key}={saved['train'][key]!r}.")
        vocab = corpus.Vocabulary.load(os.path.join(self.save_dir, "vocab.txt"))
        if vocab != self.data.vocab:
            ours, theirs_ = set(self.data.vocab.words), set(vocab.words)
            extra = sorted(ours - theirs_)[:5]
            raise CheckpointMismatch(
                f"the data's vocabulary ({len(self.data.vocab)} words) differs from the "
                f"checkpoint's ({len(vocab)} words)"
                + (f", e.g. new words {extra}" if extra else ", or its order differs")
                + ": was the run trained on other data?")

    def save_extras(self, sess, folder, state):
        state["sampler"] = self.sampler.get_state()
        np.savez(os.path.join(folder, "hidden.npz"), *tf.nest.flatten(self.hidden))

    def restore_extras(self, sess, folder, state):
        if state["sampler"] is not None:
            self.sampler.set_state(state["sampler"])
        with np.load(os.path.join(folder, "hidden.npz")) as f:
            flat = [f[f"arr_{i}"] for i in range(len(f.files))]
        self.hidden = tf.nest.pack_sequence_as(self.g.model.zero_state(1), flat)

    def save_model(self, sess, folder):
        save_model(sess, self.g, folder)

    # --- training ------------------------------------------------------------------
    def start(self, sess, state, resumed):
        g, cfg, st = self.g, self.cfg, state
        if resumed:
            saved_lr = self.saved_train["lr"]
            if cfg.lr != saved_lr:
                st["lr"] = float(cfg.lr)
                self.log(f"  lr {cfg.lr:g} given (the run had lr {saved_lr:g}): training "
                         f"continues at lr {cfg.lr:g}")
        elif cfg.init_from is not None:
            restore_model(sess, g, _best_folder(cfg.init_from), f"--init_from {cfg.init_from}")
            self.log(f"starting from the best model of {cfg.init_from}"
                     + (f"; gradual unfreezing over {len(g.stage_step_ops)} layer groups"
                        if cfg.unfreeze else ""))
        elif cfg.finetune:
            restore_model(sess, g, checkpoints.CheckpointStore(
                os.path.join(self.save_dir, "best")).latest(), "saved model")
            saved = checkpoints.read_json(os.path.join(self.save_dir, "metrics.json"))
            st["epochs"] = saved.get("epochs", [])
            # The fine-tuning stage counts steps from 0; its curve continues the training's.
            st["train_curve"] = saved.get("train_curve", [])
            st["curve_offset"] = saved.get("steps", 0)
            st["stage"] = "finetune"
            st["best_val_loss"] = evaluate(sess, g, self.data.valid, cfg.eval_batch_size, cfg.bptt)
            st["best_val_word_ppl"] = self._word_ppl("valid", st["best_val_loss"],
                                                     cfg.eval_batch_size)
            self.log(f"fine-tuning from the best model (valid ppl "
                     f"{_ppl(st['best_val_loss']):.2f}); averaging from the first step")
            sess.run(g.averager.start_op)
        self.streams = corpus.batchify(self.data.train, cfg.batch_size)

    def train_step(self, sess, state):
        """One segment: `lr * seq_len / bptt`, the previous segment's final state in."""
        g, cfg, st = self.g, self.cfg, state
        segment = self.sampler.next_segment(st["position"], self.streams.shape[1])
        if segment is None:
            return None
        start, seq_len = segment
        x = self.streams[:, start:start + seq_len]
        y = self.streams[:, start + 1:start + 1 + seq_len]
        feed = g.feed(x, self.hidden, y, training=True)
        feed[g.lr] = st["lr"] * bptt.lr_scale(seq_len, cfg.bptt)
        # Gradual unfreezing: epoch e trains the top e layer groups (stage e - 1).
        step_op = g.stage_step_ops[min(st["epoch"] - 1, len(g.stage_step_ops) - 1)]
        xent, new_hidden, lr_t, _ = sess.run([g.xent, g.out.final_state, g.lr_applied, step_op],
                                             feed)
        # The base rate of this step: the schedule's value, without the seq_len / bptt scale.
        self.step_lr = float(lr_t) / bptt.lr_scale(seq_len, cfg.bptt)
        if np.isfinite(xent):
            self.hidden = new_hidden
            st["position"] = start + seq_len
        return loop.Step(xent, y.size, f"tokens {start}..{start + seq_len} of each stream")

    def done(self, state):
        return state["finetune_done"]

    def advance_epoch(self, sess, state):
        state["position"] = 0
        self.hidden = self.g.model.zero_state(self.cfg.batch_size)

    # --- evaluation ------------------------------------------------------------------
    def evaluation_weights(self, sess):
        """NT-ASGD's averages, once averaging is on."""
        if not self.cfg.evaluate:
            return contextlib.nullcontext(False)
        return self.g.averager.averaged(sess)

    def evaluate(self, sess, state):
        if not self.cfg.evaluate:
            return None
        cfg = self.cfg
        return {"valid_loss": evaluate(sess, self.g, self.data.valid, cfg.eval_batch_size,
                                       cfg.bptt)}

    def is_better(self, metrics, state):
        if state["best_val_loss"] is None or metrics["valid_loss"] < state["best_val_loss"]:
            state["best_val_loss"] = metrics["valid_loss"]
            state["best_val_word_ppl"] = self._word_ppl("valid", metrics["valid_loss"],
                                                        self.cfg.eval_batch_size)
            return True
        return False

    def _word_ppl(self, split, mean_loss, batch_size):
        """Per-word perplexity of a split (`awdrnn.lm.word_perplexity`)."""
        return word_perplexity.word_perplexity(mean_loss, getattr(self.data, split), batch_size,
                                               getattr(self.data.vocab, "word_starts", None))

    def _word_ppl_text(self, word_ppl):
        """` | word ppl x` for subword corpora (word-level ones: the token ppl)."""
        if getattr(self.data.vocab, "word_starts", None) is None:
            return ""
        return f" | word ppl {word_ppl:8.2f}"

    def epoch_record(self, state, train_loss, metrics, weights):
        if metrics is None:
            return {"train_ppl": _ppl(train_loss), "valid_ppl": None}
        return {"train_ppl": _ppl(train_loss), "valid_ppl": _ppl(metrics["valid_loss"]),
                "lr": state["lr"], "averaged": weights, "stage": state["stage"],
                "valid_word_ppl": self._word_ppl("valid", metrics["valid_loss"],
                                                 self.cfg.eval_batch_size)}

    def epoch_line(self, state, record, improved):
        return (f"-- end of epoch {state['epoch']:3d}{' (partial)' if record['partial'] else ''} | "
                f"{record['seconds']:6.1f} s | train ppl {record['train_ppl']:8.2f} | "
                f"valid ppl {record['valid_ppl']:8.2f}{self._word_ppl_text(record['valid_word_ppl'])}"
                f"{' (averaged)' if record['averaged'] else ''}"
                f"{' *' if improved else ''}")

    def epoch_summary(self, record):
        return {"valid_ppl": record["valid_ppl"], "epoch_train_ppl": record["train_ppl"],
                "valid_word_ppl": record["valid_word_ppl"]}

    def end_epoch(self, sess, state, metrics, record):
        """Fine-tuning stop rule or NT-ASGD switch, then the `when` LR drop."""
        if metrics is None:
            return
        cfg, st, val_loss = self.cfg, state, metrics["valid_loss"]
        if st["stage"] == "finetune":
            trigger = asgd.NonMonotonicTrigger(cfg.nonmono, st["trigger"])
            if trigger.should_switch(val_loss):
                self.log("   fine-tuning done: validation stopped improving")
                st["finetune_done"] = True
            st["trigger"] = trigger.history
        elif cfg.optimizer == "sgd" and not record["averaged"]:
            trigger = asgd.NonMonotonicTrigger(cfg.nonmono, st["trigger"])
            if trigger.should_switch(val_loss):
                sess.run(self.g.averager.start_op)
                st["asgd_epoch"] = st["epoch"]
                self.log("   switching to ASGD (validation did not improve on the best of "
                         f"more than {cfg.nonmono} checks ago)")
            st["trigger"] = trigger.history
        if st["epoch"] in cfg.when:
            st["lr"] /= 10.0
            self.log(f"   epoch {st['epoch']} in --when: lr divided by 10 -> {st['lr']:.4g}")

    def finish(self, sess, state, best_folder):
        """The best model on the test set."""
        if best_folder is None:
            return
        cfg, st = self.cfg, state
        restore_model(sess, self.g, best_folder, "saved model")
        test_loss = evaluate(sess, self.g, self.data.test, cfg.test_batch_size, cfg.bptt)
        st["test_ppl"] = _ppl(test_loss)
        st["test_word_ppl"] = self._word_ppl("test", test_loss, cfg.test_batch_size)
        self.log(f"= end of training ({st['status']}) | best valid ppl "
                 f"{_ppl(st['best_val_loss']):.2f} | test ppl {st['test_ppl']:.2f}"
                 f"{self._word_ppl_text(st['test_word_ppl'])} (batch size {cfg.test_batch_size})")

    # --- reporting ---------------------------------------------------------------------
    def curve_value(self, loss):
        return _ppl(loss)

    def progress_line(self, state, loss, rate):
        st, cfg = state, self.cfg
        batches = max(1, (self.streams.shape[1] - 1) // cfg.bptt)
        batch = min(batches, st["position"] // cfg.bptt)
        bar = "#" * int(20 * batch / batches)
        return (f"| epoch {st['epoch']:3d} [{bar:<20}] {batch:5d}/{batches} batches | "
                f"lr {self._lr_now(st):.4g} | {rate:7.0f} tok/s | "
                f"loss {loss:5.2f} | ppl {_ppl(loss):8.2f}")

    def progress_summary(self, state, loss, rate):
        return {"train_loss": loss, "train_ppl": _ppl(loss), "lr": self._lr_now(state),
                "tokens_per_sec": rate}

    def _lr_now(self, state):
        """The base learning rate of the last step: `state["lr"]` (constant, `--when`,
        NT-ASGD) times the stlr / one_cycle schedule's factor at that step."""
        return state["lr"] if self.step_lr is None else self.step_lr

    def position_text(self, state):
        return f", token {state['position']} of each stream"

    def plot_curves(self, metrics, path, log):
        plot_curves(metrics, path, log)

    def nan_advice(self):
        return _nan_advice(self.cfg)

    def metrics(self, state):
        best = state["best_val_loss"]
        return dict(self.extra, **{
            "valid_ppl": None if best is None else _ppl(best),
            "test_ppl": state.get("test_ppl"), "asgd_start_epoch": state["asgd_epoch"],
            "valid_word_ppl": state.get("best_val_word_ppl"),
            "test_word_ppl": state.get("test_word_ppl"),
            "model": dataclasses.asdict(self.mcfg), "train": dataclasses.asdict(self.cfg)})


class Trainer:
    """Trains a language model on a corpus; see the module docstring.

    `LMTask` run by `loop.TrainingLoop` (`trainer.task`, `trainer.loop`).

    Args:
      model_config: `lm_model.LMConfig` (its `vocab_size` must match the vocabulary).
      train_config: `TrainConfig`.
      data: a `corpus.Corpus` (or any object with `vocab`, `train`, `valid`, `test`).
      save_dir: run folder.
      resume: continue from the checkpoint in `save_dir` (or start the
        fine-tuning stage from its best model when `train_config.finetune`).
        The configs given are the ones used from then on (and written to
        `config.json`); a `train_config.lr` other than the saved one
        replaces the run's current learning rate.
      log: function printing one line.
      extra_metrics: dict merged into `metrics.json` (e.g. the entropy floor).

    Raises:
      DataError, CheckpointMismatch, ValueError: at construction, before any training.
    """

    def __init__(self, model_config, train_config, data, save_dir, resume=False,
                 log=print, extra_metrics=None):
        self.mcfg = model_config.validate()
        self.cfg = cfg = train_config.validate()
        self.data = data
        self.save_dir = save_dir
        self.log = log
        if len(data.vocab) != self.mcfg.vocab_size:
            raise ValueError(f"vocab_size={self.mcfg.vocab_size} but the vocabulary has "
                             f"{len(data.vocab)} words.")
        if cfg.backward:
            self.data = data = backward_lm.reversed_corpus(data)
        self._check_data()
        self.task = LMTask(self.mcfg, cfg, data, save_dir, log, extra_metrics)
        if cfg.finetune and not resume:
            path = os.path.join(save_dir, "config.json")
            if not os.path.isfile(path):
                raise CheckpointMismatch(f"cannot resume: {path!r} does not exist.")
            self.task.check_saved_config(checkpoints.read_json(path), resume=False)
            best = checkpoints.CheckpointStore(os.path.join(save_dir, "best"))
            if best.latest() is None:
                raise CheckpointMismatch(f"cannot fine-tune: no saved model in {best.root!r}.")
        if cfg.init_from is not None and not resume:
            check_init_from(cfg.init_from, self.mcfg, data.vocab)
        self.loop = loop.TrainingLoop(
            self.task, save_dir, cfg.epochs, max_steps=cfg.max_steps, max_minutes=cfg.max_minutes,
            log_interval=cfg.log_interval, resume=resume, reuse_folder=cfg.finetune, log=log,
            clock=_clock)

    @property
    def g(self):
        """The `LMGraph` trained."""
        return self.task.g

    @property
    def state(self):
        """The run state (`state.json` of the checkpoints)."""
        return self.loop.state

    @property
    def _stop_requested(self):
        return self.loop.stop_requested

    @_stop_requested.setter
    def _stop_requested(self, value):
        self.loop.stop_requested = value

    def _check_data(self):
        cfg = self.cfg
        n = len(self.data.train) // cfg.batch_size
        if n - 1 < cfg.bptt:
            raise DataError(
                f"bptt={cfg.bptt} with batch_size={cfg.batch_size} is too large for the "
                f"training data: {len(self.data.train)} tokens give {cfg.batch_size} streams "
                f"of {n} tokens, fewer than bptt + 1; lower --bptt or --batch_size.")
        for split, bs in (("valid", cfg.eval_batch_size), ("test", cfg.test_batch_size)):
            try:
                corpus.batchify(getattr(self.data, split), bs)
            except corpus.CorpusError as e:
                raise DataError(f"{split} data: {e}") from None

    def run(self):
        """Trains until `epochs`, a budget, NaN loss or Ctrl-C; returns the metrics.

        Raises:
          NaNLoss: non-finite loss; the last good checkpoint is kept.
          Interrupted: SIGINT/SIGTERM; a checkpoint of the exact position was saved.
          Aborted: a second SIGINT/SIGTERM before that checkpoint was written;
            the previous checkpoint is intact.
        """
        return self.loop.run()


def check_init_from(run_dir, model_config, vocab):
    """Checks that the best model of the run `run_dir` can start a run of
    `model_config` on data of `vocab` (same variable shapes, same vocabulary).

    Raises:
      CheckpointMismatch: not a run folder, no saved model, another model shape
        or another vocabulary; the message names the folder and what to do.
    """
    if not os.path.isfile(os.path.join(run_dir, "config.json")):
        raise CheckpointMismatch(f"--init_from {run_dir!r} is not a train_lm.py run folder (no "
                                 "config.json); give the --save folder of a trained LM.")
    theirs, _, their_vocab = load_config(run_dir)
    mine, theirs = model_config.shape_dict(), theirs.shape_dict()
    diff = [f"{k}={theirs[k]!r} there vs {mine[k]!r} here" for k in mine if mine[k] != theirs[k]]
    if diff:
        raise CheckpointMismatch(
            f"--init_from {run_dir!r} is a model of another shape: {'; '.join(diff)}; start "
            "from a run of this architecture, or drop the flags that differ.")
    if list(their_vocab.words) != list(vocab.words):
        raise CheckpointMismatch(
            f"--init_from {run_dir!r} has another vocabulary ({len(their_vocab)} entries vs "
            f"{len(vocab)} in the data); move it to the data's vocabulary first "
            "(awdrnn.lm.vocab_remap.remap_saved_lm) or use the same SentencePiece model.")
    _best_folder(run_dir)


def _best_folder(run_dir):
    """The folder of the best model saved in the run `run_dir`.

    Raises:
      CheckpointMismatch: `run_dir` holds no saved model.
    """
    best = checkpoints.CheckpointStore(os.path.join(run_dir, "best")).latest()
    if best is None:
        raise CheckpointMismatch(f"{run_dir!r} has no saved model (best/ is empty or missing); "
                                 "give a run folder whose training saved a best model.")
    return best


def _clock():
    """`time.time()` looked up at each call (tests give the module a fake clock)."""
    return time.time()


def _nan_advice(cfg):
    """What to try after a NaN loss, valid for the configuration that produced it."""
    if cfg.clip > 0:
        return f"Try a lower --lr (now {cfg.lr:g}) or a lower --clip (now {cfg.clip:g})."
    return (f"Try a lower --lr (now {cfg.lr:g}), or clip the gradient norm (--clip=0 turns "
            "clipping off; the paper uses --clip=0.25).")
