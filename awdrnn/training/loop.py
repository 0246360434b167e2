"""One session loop for every training task: budgets, checkpoints, resume, logs.

The loop runs a `Task` (language-model pretraining and fine-tuning in
`awdrnn.lm.training`; the task heads later) in a `tf.compat.v1.Session`:

    for epoch in 1..epochs (or until a budget, NaN, Ctrl-C, task.done):
        while (s := task.train_step(sess, state)) is not None:   # one update
            stop on a non-finite s.loss; log every log_interval steps
        with task.evaluation_weights(sess):          # e.g. NT-ASGD's averages
            metrics = task.evaluate(sess, state)
            if task.is_better(metrics, state): save the model to best/
        task.end_epoch(sess, state, metrics, record)  # LR drops, NT-ASGD switch
        task.advance_epoch(sess, state)               # rewind the data
        checkpoint (atomic), metrics.json, curves.png, TensorBoard
    task.finish(sess, state, best_folder)            # e.g. the test set

    from awdrnn.training import loop
    task = MyTask()              # see doc/training_loop.md for a complete one
    metrics = loop.TrainingLoop(task, "runs/x", epochs=3).run()

The loop owns the run folder: `config.json` (`task.config()`), `checkpoints/`
(everything `task.saver` saves plus `task.save_extras` and `state.json`, the
JSON state of loop and task, written atomically; `resume=True` continues
exactly from it), `best/` (`task.save_model` at the best validation),
`metrics.json`, `curves.png`, `tb/`. A folder that holds a checkpoint is
refused unless `resume=True` (or `reuse_folder=True`: a new stage of a run).

Stops: `max_steps` (global step), `max_minutes` (wall time of this call,
validations included) and SIGINT/SIGTERM stop with a checkpoint of the exact
position (the latter raising `Interrupted`; a second signal raises `Aborted`
without saving); a non-finite loss raises `NaNLoss` and keeps the last good
checkpoint.
"""

import contextlib
import os
import signal
import threading
import time

import numpy as np
import tensorflow as tf

from awdrnn.training import checkpoints
from awdrnn.lm.curves import plot_curves
from awdrnn.lm.errors import Aborted, CheckpointMismatch, DataError, Interrupted, NaNLoss
from awdrnn.training.checkpoint_files import restore_variables


class Step:
    """What one training step reports to the loop.

    Args:
      loss: the step's training loss (a float; non-finite stops training).
      size: how many units (tokens, examples) the loss is the mean over; the
        epoch's train loss is the size-weighted mean, the speed is size/second.
      where: short text locating the step's data, for the NaN message
        (e.g. "tokens 140..210 of each stream").
    """

    __slots__ = ("loss", "size", "where")

    def __init__(self, loss, size, where=""):
        self.loss, self.size, self.where = float(loss), int(size), where


class Task:
    """The protocol a task implements to be trained by `TrainingLoop`.

    Subclass it and override what differs; the methods marked *required* have
    no default. The loop calls, in order: `fresh_state`, `check_saved_config`
    (resume), `build_graph` (once); then in `run`: `init_op`, `restore_extras`
    (resume), `start`, `write_files`, and per epoch `train_step`... /
    `evaluate` / `is_better` / `end_epoch` / `advance_epoch`, then `finish`.

    `state` is one JSON-serialisable dict shared by loop and task (it is the
    checkpoint's `state.json`); the loop's keys are `step`, `epoch`, `status`,
    `epochs` (records), `tokens` (sizes summed), `train_seconds`,
    `epoch_loss`, `epoch_tokens`, `epoch_seconds`, `train_curve`,
    `curve_offset`; the task adds its own in `fresh_state`.

    Hooks for schedules and fine-tuning: `train_step` decides everything about
    one update, so the learning rate of each step (NT-ASGD's, or a slanted
    triangular / one-cycle rate from `state["step"]`) and any extra tensors fed
    with it are the task's; which variables train (gradual unfreezing) is the
    choice of train op in `train_step` from `state["epoch"]` (build one op per
    stage in `build_graph`), and `advance_epoch` is where a per-epoch switch
    can be logged or applied.
    """

    #: Set by `build_graph`: the graph, its init op, a Saver of every variable
    #: an exact resume needs (weights, optimizer slots, averages) and that list.
    graph = init_op = saver = saved_vars = None

    def build_graph(self, graph_seed):
        """*Required.* Builds the graph with `tf.compat.v1.set_random_seed(graph_seed)`
        (the loop derives it from the task's seed and the step, so a resumed run
        is reproducible) and sets `graph`, `init_op`, `saver`, `saved_vars`."""
        raise NotImplementedError

    seed = 0  #: base of the graph seed

    def fresh_state(self):
        """The task's entries of a new run's state (e.g. a data position)."""
        return {}

    def config(self):
        """JSON dict written to `config.json` at every start."""
        return {}

    def write_files(self, run_dir):
        """Writes the task's other files of the run folder (e.g. a vocabulary)
        at every start, after `config.json`."""

    def check_saved_config(self, saved):
        """Raise `CheckpointMismatch` if `saved` (the run's `config.json`) cannot be resumed."""

    def save_extras(self, sess, folder, state):
        """Writes what a checkpoint needs beyond `saver`'s variables into `folder`;
        may add entries to `state` (written after this)."""

    def restore_extras(self, sess, folder, state):
        """Reads back what `save_extras` wrote (after the variables are restored)."""

    def start(self, sess, state, resumed):
        """Called once before the first step (after init, or the restore when `resumed`)."""

    def train_step(self, sess, state):
        """*Required.* Runs one update and returns a `Step`, or None when the
        epoch's data is used up (then nothing was run)."""
        raise NotImplementedError

    def done(self, state):
        """True stops training before the next epoch (e.g. a fine-tuning stop rule)."""
        return False

    def evaluation_weights(self, sess):
        """Context manager under which the loop evaluates and saves the best
        model (e.g. weight averages swapped in); yields a value stored in the
        epoch record's `"averaged"` by the default `epoch_record`."""
        return contextlib.nullcontext(False)

    def evaluate(self, sess, state):
        """Validation metrics as a dict of floats, or None to skip evaluation."""
        return None

    def is_better(self, metrics, state):
        """True if `metrics` are the best so far; record them in `state` then.
        Default: lower `metrics["valid_loss"]`, kept in `state["best_valid_loss"]`."""
        best = state.get("best_valid_loss")
        if best is None or metrics["valid_loss"] < best:
            state["best_valid_loss"] = metrics["valid_loss"]
            return True
        return False

    def save_model(self, sess, folder):
        """Writes the best model into `folder` (default: every saved variable)."""
        self.saver.save(sess, os.path.join(folder, "model"), write_meta_graph=False,
                        write_state=False)

    def epoch_record(self, state, train_loss, metrics, weights):
        """Task entries of the epoch's `metrics.json` record (the loop adds
        `epoch`, `step`, `partial`, `seconds`, `tokens_per_sec`, `eval_seconds`)."""
        record = {"train_loss": train_loss}
        if metrics is not None:
            record.update(metrics)
        return record

    def epoch_line(self, state, record, improved):
        """The log line of an epoch's end."""
        valid = "".join(f" | {k.replace('_', ' ')} {v:.5g}" for k, v in record.items()
                        if k.startswith("valid") and isinstance(v, float))
        return (f"-- end of epoch {state['epoch']:3d}{' (partial)' if record['partial'] else ''}"
                f" | {record['seconds']:6.1f} s | train loss {record['train_loss']:.5g}{valid}"
                f"{' *' if improved else ''}")

    def epoch_summary(self, record):
        """TensorBoard values of an epoch's end."""
        return {k: v for k, v in record.items()
                if k.startswith(("valid", "train")) and isinstance(v, float)}

    def end_epoch(self, sess, state, metrics, record):
        """After a full epoch's evaluation (metrics None without one): LR drops,
        NT-ASGD switch, stop rules."""

    def advance_epoch(self, sess, state):
        """Moving to the next epoch: reset the data position and carried state."""

    def curve_value(self, loss):
        """The value plotted per log interval (`train_curve`), e.g. perplexity."""
        return loss

    def progress_line(self, state, loss, rate):
        """The log line every `log_interval` steps (`loss`: interval mean,
        `rate`: sizes per second)."""
        return (f"| epoch {state['epoch']:3d} | step {state['step']:6d} | {rate:7.0f}/s | "
                f"loss {loss:.5g}")

    def progress_summary(self, state, loss, rate):
        """TensorBoard values every `log_interval` steps."""
        return {"train_loss": loss, "per_sec": rate}

    def position_text(self, state):
        """Where a resumed run continues, for the log (after the epoch)."""
        return ""

    def plot_curves(self, metrics, path, log):
        """Writes `curves.png` (default: `awdrnn.lm.curves.plot_curves` of the epochs'
        "train_loss" / "valid_loss" and `train_curve`)."""
        plot_curves(metrics, path, log, train_key="train_loss", valid_key="valid_loss",
                    quantity="loss")

    def nan_advice(self):
        """What to try after a non-finite loss."""
        return "Try a lower learning rate."

    def finish(self, sess, state, best_folder):
        """After training (`best_folder`: the best model, or None): e.g. a test evaluation."""

    def metrics(self, state):
        """Task entries of `metrics.json` (the loop adds `epochs`, `train_curve`,
        `steps`, `status`, `tokens_per_sec`, `train_minutes`)."""
        return {}


class TrainingLoop:
    """Trains `task` in `run_dir`; see the module docstring.

    Args:
      task: a `Task`.
      run_dir: the run folder.
      epochs: last epoch to train (epochs count from 1, across resumes).
      max_steps: stop when the global step reaches it (None: no limit).
      max_minutes: stop after this many minutes of this call (None: no limit).
      log_interval: steps between progress lines.
      resume: continue from the checkpoint in `run_dir`.
      reuse_folder: start a new stage in a folder that holds a run (without
        its checkpoint's position; the task's `start` loads what it needs).
      log: function printing one line.
      clock: function giving the time in seconds (a fake one in tests).

    Raises:
      CheckpointMismatch: `resume` without a saved run, or `task.check_saved_config` refuses it.
      DataError: `run_dir` holds a run and neither `resume` nor `reuse_folder`.
    """

    def __init__(self, task, run_dir, epochs, max_steps=None, max_minutes=None, log_interval=100,
                 resume=False, reuse_folder=False, log=print, clock=time.time):
        self.task = task
        self.run_dir = run_dir
        self.epochs, self.max_steps, self.max_minutes = epochs, max_steps, max_minutes
        self.log_interval = log_interval
        self.resume = bool(resume)
        self.log = log
        self.clock = clock
        self.ckpts = checkpoints.CheckpointStore(os.path.join(run_dir, "checkpoints"))
        self.best = checkpoints.CheckpointStore(os.path.join(run_dir, "best"))
        self.state = self.fresh_state()
        if resume:
            self.saved_config = self.check_resumable()
            task.check_saved_config(self.saved_config)
            self.state = checkpoints.read_json(os.path.join(self.ckpts.latest(), "state.json"))
        elif not reuse_folder and self.ckpts.latest() is not None:
            raise DataError(
                f"save folder {run_dir!r} already holds a run; pass resume=True (--resume) "
                "to continue it, choose another folder, or delete it to start over.")
        step = self.state["step"]
        task.build_graph(task.seed if step == 0 else task.seed * 1000003 + step)
        self.stop_requested = False
        self._writer = None

    def fresh_state(self):
        """The state of a new run: the loop's entries, then the task's."""
        state = {"step": 0, "epoch": 1, "epochs": [], "epoch_loss": 0.0, "epoch_tokens": 0,
                 "epoch_seconds": 0.0, "tokens": 0, "train_seconds": 0.0, "status": "running"}
        state.update(self.task.fresh_state())
        return state

    def check_resumable(self):
        """The saved `config.json` of the run folder; raises CheckpointMismatch
        if there is none or no checkpoint."""
        path = os.path.join(self.run_dir, "config.json")
        if not os.path.isfile(path):
            raise CheckpointMismatch(f"cannot resume: {path!r} does not exist.")
        if self.ckpts.latest() is None:
            raise CheckpointMismatch(f"cannot resume: no checkpoint in {self.ckpts.root!r}.")
        return checkpoints.read_json(path)

    # --- persistence -----------------------------------------------------------
    def write_config(self):
        os.makedirs(self.run_dir, exist_ok=True)
        checkpoints.write_json(os.path.join(self.run_dir, "config.json"), self.task.config())
        self.task.write_files(self.run_dir)

    def save_checkpoint(self, sess):
        def write(folder):
            self.task.saver.save(sess, os.path.join(folder, "model"), write_meta_graph=False,
                                 write_state=False)
            self.task.save_extras(sess, folder, self.state)
            checkpoints.write_json(os.path.join(folder, "state.json"), self.state)

        return self.ckpts.write(f"ckpt-{self.state['step']}", write)

    def restore_checkpoint(self, sess):
        latest = self.ckpts.latest()
        restore_variables(sess, self.task.saver, self.task.saved_vars, latest)
        self.task.restore_extras(sess, latest, self.state)

    def metrics(self):
        st = self.state
        out = dict(self.task.metrics(st))
        out.update({
            "tokens_per_sec": st["tokens"] / st["train_seconds"] if st["train_seconds"] else None,
            "epochs": st["epochs"], "train_curve": st.get("train_curve", []),
            "steps": st["step"], "status": st["status"],
            "train_minutes": st["train_seconds"] / 60.0})
        return out

    def write_metrics(self):
        metrics = self.metrics()
        checkpoints.write_json(os.path.join(self.run_dir, "metrics.json"), metrics)
        self.task.plot_curves(metrics, os.path.join(self.run_dir, "curves.png"), self.log)
        return metrics

    def summary(self, step, values):
        if self._writer is None:
            with tf.Graph().as_default():  # v1 writers refuse eager mode
                self._writer = tf.compat.v1.summary.FileWriter(os.path.join(self.run_dir, "tb"))
        summary = tf.compat.v1.Summary(value=[
            tf.compat.v1.Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])
        self._writer.add_summary(summary, step)
        self._writer.flush()

    # --- the loop ----------------------------------------------------------------
    def _on_signal(self, signum, frame):
        """SIGINT/SIGTERM: the first asks for a clean stop, a second aborts."""
        del frame
        name = signal.Signals(signum).name
        if self.stop_requested:
            latest = self.ckpts.latest()
            raise Aborted(
                f"aborted by a second signal ({name}) at step {self.state['step']}, without "
                "saving this position; "
                + (f"the last checkpoint, {latest}, is intact (continue from it with --resume)."
                   if latest else "no checkpoint had been written yet."))
        self.stop_requested = signum
        again = ("press Ctrl-C again" if signum == signal.SIGINT
                 else "a second SIGINT or SIGTERM will")
        self.log(f"\n  ({name} received: finishing the current step, saving a checkpoint and "
                 f"exiting with code {Interrupted.exit_code}; {again} to abort without saving)")

    def run(self):
        """Trains until `epochs`, a budget, `task.done`, NaN loss or a signal; returns
        the metrics (also in `metrics.json`).

        Raises:
          NaNLoss: non-finite loss; the last good checkpoint is kept.
          Interrupted: SIGINT/SIGTERM; a checkpoint of the exact position was saved.
          Aborted: a second SIGINT/SIGTERM before that checkpoint was written;
            the previous checkpoint is intact.
        """
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._on_signal)
        sess = tf.compat.v1.Session(graph=self.task.graph)
        try:
            with self.task.graph.as_default():
                return self._run(sess)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            sess.close()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _run(self, sess):
        task, st = self.task, self.state
        sess.run(task.init_op)
        if self.resume:
            self.restore_checkpoint(sess)
            self.log(f"resumed from {self.ckpts.latest()} at step {st['step']} "
                     f"(epoch {st['epoch']}{task.position_text(st)})")
        task.start(sess, st, self.resume)
        self.write_config()
        st["status"] = "running"
        budget_start = self.clock()
        stop = None
        while st["epoch"] <= self.epochs and stop is None and not task.done(st):
            stop = self._train_epoch(sess, budget_start)
            if stop is None or stop == "budget":
                self._end_epoch(sess, partial=stop is not None)
            if stop == "interrupt":
                st["status"] = "interrupted"
            self.save_checkpoint(sess)
            self.write_metrics()
            if stop == "interrupt":
                raise Interrupted(
                    f"interrupted at step {st['step']}; checkpoint saved in "
                    f"{self.ckpts.latest()}; continue with resume (--resume).")
        st["status"] = "stopped by budget" if stop == "budget" else "completed"
        task.finish(sess, st, self.best.latest())
        return self.write_metrics()

    def budget_exhausted(self, budget_start):
        """Why training must stop now (a budget is used up), or None."""
        if self.max_steps is not None and self.state["step"] >= self.max_steps:
            return f"max_steps={self.max_steps} reached"
        if (self.max_minutes is not None
                and self.clock() - budget_start >= 60.0 * self.max_minutes):
            return f"max_minutes={self.max_minutes} reached"
        return None

    def _train_epoch(self, sess, budget_start):
        """Trains from the saved position to the end of the epoch or a stop.

        Returns:
          None (epoch done), "budget" or "interrupt"; raises NaNLoss.
        """
        task, st = self.task, self.state
        interval_loss, interval_size, interval_start = 0.0, 0, self.clock()
        while True:
            # Stops are checked before the task draws its next batch, so a
            # checkpoint holds the data state that continues exactly.
            why = self.budget_exhausted(budget_start)
            if why:
                self.log(f"  stopping: {why}")
                return "budget"
            if self.stop_requested:
                return "interrupt"
            t0 = self.clock()
            result = task.train_step(sess, st)
            if result is None:
                if st["epoch_tokens"] == 0:  # would loop forever on an empty epoch
                    raise DataError(
                        f"epoch {st['epoch']} has no data: {type(task).__name__}.train_step "
                        "returned None before any step (a task resets its data position in "
                        "advance_epoch).")
                return None
            dt = self.clock() - t0
            if not np.isfinite(result.loss):
                self._stop_on_nan(result)
            st["step"] += 1
            st["tokens"] += result.size
            st["train_seconds"] += dt
            st["epoch_loss"] += result.loss * result.size
            st["epoch_tokens"] += result.size
            st["epoch_seconds"] += dt
            interval_loss += result.loss * result.size
            interval_size += result.size
            if st["step"] % self.log_interval == 0:
                rate = interval_size / (self.clock() - interval_start)
                loss = interval_loss / interval_size
                self.log(task.progress_line(st, loss, rate))
                st.setdefault("train_curve", []).append(
                    [st["step"] + st.get("curve_offset", 0), task.curve_value(loss)])
                self.summary(st["step"], task.progress_summary(st, loss, rate))
                interval_loss, interval_size, interval_start = 0.0, 0, self.clock()

    def _stop_on_nan(self, result):
        st = self.state
        st["status"] = f"nan loss at step {st['step'] + 1}"
        checkpoints.write_json(os.path.join(self.run_dir, "metrics.json"), self.metrics())
        latest = self.ckpts.latest()
        kept = (f"The last good checkpoint is kept: {latest} (not overwritten)."
                if latest else "No checkpoint had been written yet.")
        where = f"epoch {st['epoch']}" + (f", {result.where}" if result.where else "")
        raise NaNLoss(f"loss is {result.loss} at step {st['step'] + 1} ({where}); training "
                      f"stopped. {kept} {self.task.nan_advice()}")

    def _end_epoch(self, sess, partial):
        """Evaluates, saves the best model, records the epoch; moves to the next
        epoch unless `partial` (a budget stopped it inside)."""
        task, st = self.task, self.state
        if st["epoch_tokens"] == 0:
            return
        train_loss = st["epoch_loss"] / st["epoch_tokens"]
        t0 = self.clock()
        with task.evaluation_weights(sess) as weights:
            metrics = task.evaluate(sess, st)
            improved = metrics is not None and task.is_better(metrics, st)
            if improved:
                self.best.write(f"best-{st['step']}", lambda folder: task.save_model(sess, folder))
        record = {"epoch": st["epoch"], "seconds": st["epoch_seconds"],
                  "tokens_per_sec": st["epoch_tokens"] / st["epoch_seconds"],
                  "partial": partial, "step": st["step"]}
        if metrics is not None:
            record["eval_seconds"] = self.clock() - t0
        record.update(task.epoch_record(st, train_loss, metrics, weights))
        st["epochs"].append(record)
        if metrics is not None:
            self.log(task.epoch_line(st, record, improved))
            self.summary(st["step"], task.epoch_summary(record))
        if partial:
            return
        task.end_epoch(sess, st, metrics, record)
        st["epoch"] += 1
        st["epoch_loss"], st["epoch_tokens"], st["epoch_seconds"] = 0.0, 0, 0.0
        task.advance_epoch(sess, st)
