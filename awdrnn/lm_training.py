"""The AWD-LSTM training loop: variable BPTT, AR/TAR, clipping, NT-ASGD, checkpoints.

One step on a segment `x = streams[:, i:i + seq_len]` (targets one ahead):

    loss  = mean(-log p(y | x)) + AR(dropped h_L) + TAR(raw h_L)
    g     = clip_by_global_norm(d loss / d w, clip) + wdecay * w
    w    <- optimizer(w, g, lr * seq_len / bptt)       (SGD or Adam)
    avg  <- avg + (w - avg) / k                        (once NT-ASGD has switched)

(the graph of that step is `lm_graph.LMGraph`; this module runs the loop).
The final state of each segment is the next one's initial state (zeros at
each epoch start). After each epoch the model is evaluated on `valid`
(averaged weights once averaging is on), the best model is saved, the NT
condition is checked, and a checkpoint with everything needed to continue
*exactly* (weights, optimizer slots, averages, step, learning rate, data
position, BPTT sampler state, recurrent state) is written atomically.

    from awdrnn import corpus, lm_model, lm_training
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

import dataclasses
import math
import os
import signal
import time

import numpy as np
import tensorflow as tf

from awdrnn import asgd, backward_lm, bptt, checkpoints, corpus, lm_model, word_perplexity
from awdrnn.lm_curves import plot_curves  # noqa: F401  (re-exported)
from awdrnn.lm_errors import (  # noqa: F401  (re-exported)
    Aborted, CheckpointMismatch, DataError, Interrupted, NaNLoss, TrainingError)
from awdrnn.lm_graph import (  # noqa: F401  (re-exported)
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
    each split's reversed token stream (`awdrnn.backward_lm`).
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


class Trainer:
    """Trains a language model on a corpus; see the module docstring.

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
        self.cfg = train_config.validate()
        self.data = data
        self.save_dir = save_dir
        self.log = log
        self.extra = dict(extra_metrics or {})
        self.ckpts = checkpoints.CheckpointStore(os.path.join(save_dir, "checkpoints"))
        self.best = checkpoints.CheckpointStore(os.path.join(save_dir, "best"))
        if len(data.vocab) != self.mcfg.vocab_size:
            raise ValueError(f"vocab_size={self.mcfg.vocab_size} but the vocabulary has "
                             f"{len(data.vocab)} words.")
        if self.cfg.backward:
            self.data = data = backward_lm.reversed_corpus(data)
        self._check_data()
        self.state = self._fresh_state()
        self.resume = bool(resume)
        if resume or self.cfg.finetune:
            self._check_saved_run()
        if resume:
            latest = self.ckpts.latest()
            self.state = checkpoints.read_json(os.path.join(latest, "state.json"))
        elif self.cfg.finetune:
            if self.best.latest() is None:
                raise CheckpointMismatch(f"cannot fine-tune: no saved model in {self.best.root!r}.")
        elif self.ckpts.latest() is not None:
            raise DataError(
                f"save folder {save_dir!r} already holds a run; pass resume=True (--resume) "
                "to continue it, choose another folder, or delete it to start over.")
        seed = self.cfg.seed if self.state["step"] == 0 else self.cfg.seed * 1000003 + self.state["step"]
        self.g = LMGraph(self.mcfg, self.cfg, graph_seed=seed,
                         total_steps=self.cfg.schedule_steps(len(data.train)))
        self.sampler = bptt.SegmentSampler(self.cfg.bptt, seed=self.cfg.seed)
        self._stop_requested = False
        self._writer = None

    # --- set-up -----------------------------------------------------------------
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

    def _check_saved_run(self):
        path = os.path.join(self.save_dir, "config.json")
        if not os.path.isfile(path):
            raise CheckpointMismatch(f"cannot resume: {path!r} does not exist.")
        if self.resume and self.ckpts.latest() is None:
            raise CheckpointMismatch(f"cannot resume: no checkpoint in {self.ckpts.root!r}.")
        saved = checkpoints.read_json(path)
        self._saved_train = saved["train"]
        mine = self.mcfg.shape_dict()
        theirs = saved_model_config(saved).shape_dict()
        diff = [f"{k}={theirs[k]!r} in the checkpoint vs {mine[k]!r} now"
                for k in mine if mine[k] != theirs[k]]
        if diff:
            raise CheckpointMismatch(
                "checkpoint is from a model of a different shape: " + "; ".join(diff) + ".")
        if self.resume:  # the saved data position, state and optimizer slots need these
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

    def _fresh_state(self):
        return {"step": 0, "epoch": 1, "position": 0, "lr": float(self.cfg.lr),
                "sampler": None, "trigger": [], "best_val_loss": None, "epochs": [],
                "epoch_loss": 0.0, "epoch_tokens": 0, "epoch_seconds": 0.0,
                "tokens": 0, "train_seconds": 0.0, "stage": "train",
                "asgd_epoch": None, "status": "running", "finetune_done": False}

    # --- persistence -------------------------------------------------------------
    def _write_config(self):
        """`config.json`: the configs of this invocation (as in `metrics.json`) and
        `extra_metrics`; rewritten at every start, so the two files agree."""
        os.makedirs(self.save_dir, exist_ok=True)
        checkpoints.write_json(os.path.join(self.save_dir, "config.json"),
                               {"model": dataclasses.asdict(self.mcfg),
                                "train": dataclasses.asdict(self.cfg), "extra": self.extra})
        self.data.vocab.save(os.path.join(self.save_dir, "vocab.txt"))

    def _save_checkpoint(self, sess, hidden):
        self.state["sampler"] = self.sampler.get_state()

        def write(folder):
            self.g.saver.save(sess, os.path.join(folder, "model"), write_meta_graph=False,
                              write_state=False)
            np.savez(os.path.join(folder, "hidden.npz"), *tf.nest.flatten(hidden))
            checkpoints.write_json(os.path.join(folder, "state.json"), self.state)

        return self.ckpts.write(f"ckpt-{self.state['step']}", write)

    def _restore_checkpoint(self, sess):
        latest = self.ckpts.latest()
        restore_variables(sess, self.g.saver, self.g.saved_vars, latest)
        if self.state["sampler"] is not None:
            self.sampler.set_state(self.state["sampler"])
        with np.load(os.path.join(latest, "hidden.npz")) as f:
            flat = [f[f"arr_{i}"] for i in range(len(f.files))]
        return tf.nest.pack_sequence_as(self.g.model.zero_state(1), flat)

    def _save_best(self, sess):
        self.best.write(f"best-{self.state['step']}", lambda folder: save_model(sess, self.g, folder))

    def _metrics(self):
        st = self.state
        best = st["best_val_loss"]
        return dict(self.extra, **{
            "valid_ppl": None if best is None else _ppl(best),
            "test_ppl": st.get("test_ppl"),
            "valid_word_ppl": st.get("best_val_word_ppl"),
            "test_word_ppl": st.get("test_word_ppl"),
            "tokens_per_sec": st["tokens"] / st["train_seconds"] if st["train_seconds"] else None,
            "epochs": st["epochs"], "train_curve": st.get("train_curve", []),
            "steps": st["step"], "status": st["status"],
            "asgd_start_epoch": st["asgd_epoch"],
            "train_minutes": st["train_seconds"] / 60.0,
            "model": dataclasses.asdict(self.mcfg), "train": dataclasses.asdict(self.cfg)})

    def _write_metrics(self):
        metrics = self._metrics()
        checkpoints.write_json(os.path.join(self.save_dir, "metrics.json"), metrics)
        plot_curves(metrics, os.path.join(self.save_dir, "curves.png"), self.log)
        return metrics

    def _summary(self, step, **values):
        if self._writer is None:
            with tf.Graph().as_default():  # v1 writers refuse eager mode
                self._writer = tf.compat.v1.summary.FileWriter(os.path.join(self.save_dir, "tb"))
        summary = tf.compat.v1.Summary(value=[
            tf.compat.v1.Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])
        self._writer.add_summary(summary, step)
        self._writer.flush()

    # --- the loop ------------------------------------------------------------------
    def _on_signal(self, signum, frame):
        """SIGINT/SIGTERM: the first asks for a clean stop, a second aborts."""
        del frame
        name = signal.Signals(signum).name
        if self._stop_requested:
            latest = self.ckpts.latest()
            raise Aborted(
                f"aborted by a second signal ({name}) at step {self.state['step']}, without "
                "saving this position; "
                + (f"the last checkpoint, {latest}, is intact (continue from it with --resume)."
                   if latest else "no checkpoint had been written yet."))
        self._stop_requested = signum
        again = ("press Ctrl-C again" if signum == signal.SIGINT
                 else "a second SIGINT or SIGTERM will")
        self.log(f"\n  ({name} received: finishing the current step, saving a checkpoint and "
                 f"exiting with code {Interrupted.exit_code}; {again} to abort without saving)")

    def run(self):
        """Trains until `epochs`, a budget, NaN loss or Ctrl-C; returns the metrics.

        Raises:
          NaNLoss: non-finite loss; the last good checkpoint is kept.
          Interrupted: SIGINT/SIGTERM; a checkpoint of the exact position was saved.
          Aborted: a second SIGINT/SIGTERM before that checkpoint was written;
            the previous checkpoint is intact.
        """
        handlers = {}
        if _in_main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._on_signal)
        sess = tf.compat.v1.Session(graph=self.g.graph)
        try:
            with self.g.graph.as_default():
                return self._run(sess)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            sess.close()
            if self._writer is not None:
                self._writer.close()

    def _run(self, sess):
        g, cfg, st = self.g, self.cfg, self.state
        sess.run(g.init)
        hidden = g.model.zero_state(cfg.batch_size)
        if self.resume:
            hidden = self._restore_checkpoint(sess)
            self.log(f"resumed from {self.ckpts.latest()} at step {st['step']} "
                     f"(epoch {st['epoch']}, token {st['position']} of each stream)")
            saved_lr = self._saved_train["lr"]
            if cfg.lr != saved_lr:
                st["lr"] = float(cfg.lr)
                self.log(f"  lr {cfg.lr:g} given (the run had lr {saved_lr:g}): training "
                         f"continues at lr {cfg.lr:g}")
        elif self.cfg.finetune:
            restore_model(sess, g, self.best.latest(), "saved model")
            saved = checkpoints.read_json(os.path.join(self.save_dir, "metrics.json"))
            st["epochs"] = saved.get("epochs", [])
            # The fine-tuning stage counts steps from 0; its curve continues the training's.
            st["train_curve"] = saved.get("train_curve", [])
            st["curve_offset"] = saved.get("steps", 0)
            st["stage"] = "finetune"
            st["best_val_loss"] = evaluate(sess, g, self.data.valid, cfg.eval_batch_size, cfg.bptt)
            st["best_val_word_ppl"] = self._word_ppl("valid", st["best_val_loss"],
                                                     cfg.eval_batch_size)
            self.log(f"fine-tuning from the best model (valid ppl {_ppl(st['best_val_loss']):.2f}); "
                     "averaging from the first step")
            sess.run(g.averager.start_op)
        self._write_config()
        st["status"] = "running"
        streams = corpus.batchify(self.data.train, cfg.batch_size)
        budget_start = time.time()
        stop = None
        while st["epoch"] <= cfg.epochs and stop is None and not st["finetune_done"]:
            stop, hidden = self._train_epoch(sess, streams, hidden, budget_start)
            if stop is None or stop == "budget":
                self._end_epoch(sess, partial=stop is not None)
                hidden = g.model.zero_state(cfg.batch_size) if stop is None else hidden
            if stop == "interrupt":
                st["status"] = "interrupted"
            self._save_checkpoint(sess, hidden)
            self._write_metrics()
            if stop == "interrupt":
                raise Interrupted(
                    f"interrupted at step {st['step']}; checkpoint saved in "
                    f"{self.ckpts.latest()}; continue with resume (--resume).")
        st["status"] = "stopped by budget" if stop == "budget" else "completed"
        if self.best.latest() is not None:
            restore_model(sess, g, self.best.latest(), "saved model")
            test_loss = evaluate(sess, g, self.data.test, cfg.test_batch_size, cfg.bptt)
            st["test_ppl"] = _ppl(test_loss)
            st["test_word_ppl"] = self._word_ppl("test", test_loss, cfg.test_batch_size)
            self.log(f"= end of training ({st['status']}) | best valid ppl "
                     f"{_ppl(st['best_val_loss']):.2f} | test ppl {st['test_ppl']:.2f}"
                     f"{self._word_ppl_text(st['test_word_ppl'])} (batch size {cfg.test_batch_size})")
        return self._write_metrics()

    def _budget_exhausted(self, budget_start):
        cfg, st = self.cfg, self.state
        if cfg.max_steps is not None and st["step"] >= cfg.max_steps:
            return f"max_steps={cfg.max_steps} reached"
        if cfg.max_minutes is not None and time.time() - budget_start >= 60.0 * cfg.max_minutes:
            return f"max_minutes={cfg.max_minutes} reached"
        return None

    def _train_epoch(self, sess, streams, hidden, budget_start):
        """Trains from the saved position to the end of the epoch or a stop.

        Returns:
          `(stop, hidden)`; stop is None (epoch done), "budget", "interrupt" or "nan".
        """
        g, cfg, st = self.g, self.cfg, self.state
        num_steps = streams.shape[1]
        batches = max(1, (num_steps - 1) // cfg.bptt)
        interval_loss, interval_tokens, interval_start = 0.0, 0, time.time()
        while True:
            # Stops are checked before the next length is drawn, so a checkpoint
            # holds the sampler state that continues exactly.
            why = self._budget_exhausted(budget_start)
            if why:
                self.log(f"  stopping: {why}")
                return "budget", hidden
            if self._stop_requested:
                return "interrupt", hidden
            segment = self.sampler.next_segment(st["position"], num_steps)
            if segment is None:
                return None, hidden
            start, seq_len = segment
            x = streams[:, start:start + seq_len]
            y = streams[:, start + 1:start + 1 + seq_len]
            lr_t = st["lr"] * bptt.lr_scale(seq_len, cfg.bptt)
            feed = g.feed(x, hidden, y, training=True)
            feed[g.lr] = lr_t
            t0 = time.time()
            xent, new_hidden, _ = sess.run([g.xent, g.out.final_state, g.step_op], feed)
            if not np.isfinite(xent):
                st["status"] = f"nan loss at step {st['step'] + 1}"
                checkpoints.write_json(os.path.join(self.save_dir, "metrics.json"), self._metrics())
                latest = self.ckpts.latest()
                kept = (f"The last good checkpoint is kept: {latest} (not overwritten)."
                        if latest else "No checkpoint had been written yet.")
                raise NaNLoss(
                    f"loss is {xent} at step {st['step'] + 1} (epoch {st['epoch']}, tokens "
                    f"{start}..{start + seq_len} of each stream); training stopped. {kept} "
                    + _nan_advice(cfg))
            dt = time.time() - t0
            hidden = new_hidden
            tokens = y.size
            st["step"] += 1
            st["position"] = start + seq_len
            st["tokens"] += tokens
            st["train_seconds"] += dt
            st["epoch_loss"] += float(xent) * tokens
            st["epoch_tokens"] += tokens
            st["epoch_seconds"] += dt
            interval_loss += float(xent) * tokens
            interval_tokens += tokens
            if st["step"] % cfg.log_interval == 0:
                elapsed = time.time() - interval_start
                loss = interval_loss / interval_tokens
                batch = min(batches, st["position"] // cfg.bptt)
                bar = "#" * int(20 * batch / batches)
                self.log(f"| epoch {st['epoch']:3d} [{bar:<20}] {batch:5d}/{batches} batches | "
                         f"lr {st['lr']:.4g} | {interval_tokens / elapsed:7.0f} tok/s | "
                         f"loss {loss:5.2f} | ppl {_ppl(loss):8.2f}")
                st.setdefault("train_curve", []).append(
                    [st["step"] + st.get("curve_offset", 0), _ppl(loss)])
                self._summary(st["step"], train_loss=loss, train_ppl=_ppl(loss), lr=st["lr"],
                              tokens_per_sec=interval_tokens / elapsed)
                interval_loss, interval_tokens, interval_start = 0.0, 0, time.time()

    def _word_ppl(self, split, mean_loss, batch_size):
        """Per-word perplexity of a split (`awdrnn.word_perplexity`)."""
        return word_perplexity.word_perplexity(mean_loss, getattr(self.data, split), batch_size,
                                               getattr(self.data.vocab, "word_starts", None))

    def _word_ppl_text(self, word_ppl):
        """` | word ppl x` for subword corpora (word-level ones: the token ppl)."""
        if getattr(self.data.vocab, "word_starts", None) is None:
            return ""
        return f" | word ppl {word_ppl:8.2f}"

    def _end_epoch(self, sess, partial):
        g, cfg, st = self.g, self.cfg, self.state
        if st["epoch_tokens"] == 0:
            return
        if not cfg.evaluate:
            st["epochs"].append({"epoch": st["epoch"], "seconds": st["epoch_seconds"],
                                 "tokens_per_sec": st["epoch_tokens"] / st["epoch_seconds"],
                                 "train_ppl": _ppl(st["epoch_loss"] / st["epoch_tokens"]),
                                 "valid_ppl": None, "partial": partial, "step": st["step"]})
            if not partial:
                _start_next_epoch(st)
            return
        t0 = time.time()
        with g.averager.averaged(sess) as averaged:
            val_loss = evaluate(sess, g, self.data.valid, cfg.eval_batch_size, cfg.bptt)
            improved = st["best_val_loss"] is None or val_loss < st["best_val_loss"]
            if improved:
                st["best_val_loss"] = val_loss
                self._save_best(sess)
        word_ppl = self._word_ppl("valid", val_loss, cfg.eval_batch_size)
        if improved:
            st["best_val_word_ppl"] = word_ppl
        train_loss = st["epoch_loss"] / st["epoch_tokens"]
        record = {"epoch": st["epoch"], "train_ppl": _ppl(train_loss), "valid_ppl": _ppl(val_loss),
                  "seconds": st["epoch_seconds"], "eval_seconds": time.time() - t0,
                  "tokens_per_sec": st["epoch_tokens"] / st["epoch_seconds"],
                  "lr": st["lr"], "averaged": averaged, "step": st["step"],
                  "stage": st["stage"], "partial": partial, "valid_word_ppl": word_ppl}
        st["epochs"].append(record)
        self.log(f"-- end of epoch {st['epoch']:3d}{' (partial)' if partial else ''} | "
                 f"{st['epoch_seconds']:6.1f} s | train ppl {record['train_ppl']:8.2f} | "
                 f"valid ppl {record['valid_ppl']:8.2f}{self._word_ppl_text(word_ppl)}"
                 f"{' (averaged)' if averaged else ''}"
                 f"{' *' if improved else ''}")
        self._summary(st["step"], valid_ppl=record["valid_ppl"], epoch_train_ppl=record["train_ppl"],
                      valid_word_ppl=word_ppl)
        if partial:
            return
        if st["stage"] == "finetune":
            trigger = asgd.NonMonotonicTrigger(cfg.nonmono, st["trigger"])
            if trigger.should_switch(val_loss):
                self.log("   fine-tuning done: validation stopped improving")
                st["finetune_done"] = True
            st["trigger"] = trigger.history
        elif cfg.optimizer == "sgd" and not averaged:
            trigger = asgd.NonMonotonicTrigger(cfg.nonmono, st["trigger"])
            if trigger.should_switch(val_loss):
                sess.run(g.averager.start_op)
                st["asgd_epoch"] = st["epoch"]
                self.log("   switching to ASGD (validation did not improve on the best of "
                         f"more than {cfg.nonmono} checks ago)")
            st["trigger"] = trigger.history
        if st["epoch"] in cfg.when:
            st["lr"] /= 10.0
            self.log(f"   epoch {st['epoch']} in --when: lr divided by 10 -> {st['lr']:.4g}")
        _start_next_epoch(st)


def _nan_advice(cfg):
    """What to try after a NaN loss, valid for the configuration that produced it."""
    if cfg.clip > 0:
        return f"Try a lower --lr (now {cfg.lr:g}) or a lower --clip (now {cfg.clip:g})."
    return (f"Try a lower --lr (now {cfg.lr:g}), or clip the gradient norm (--clip=0 turns "
            "clipping off; the paper uses --clip=0.25).")


def _start_next_epoch(state):
    """Advances the training state to the start of the next epoch."""
    state["epoch"] += 1
    state["position"] = 0
    state["epoch_loss"], state["epoch_tokens"], state["epoch_seconds"] = 0.0, 0, 0.0


def _in_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()
