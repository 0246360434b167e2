"""Fine-tuning a task model (ULMFiT stage 3) in the one training loop.

`FineTuneTask` is the `training.loop.Task` of the classifier, regressor and
tagger: each step is one batch (sortish order, `task_data.epoch_batches`,
right-padded, pad id 1) trained by the op of the epoch's unfreezing stage;
a row longer than `max_len` first runs its prefix forward in `bptt` chunks
(`bpt3c`). Each epoch ends with the dev metrics:

    classify: valid_accuracy (and valid_loss); confusion.png of the best model at the end
    regress:  valid_pearson, valid_spearman (scores unscaled), valid_loss
              (siamese pairs: each batch row is cut back into its two sentences,
              fed as 2 * batch rows, `TaskGraph`)
    tag:      valid_f1, valid_precision, valid_recall (entities, conlleval's rules)

With `save_best`, `best/` holds the model of the best dev metric, else the
last epoch's. The run folder is the loop's (`config.json`, `checkpoints/`,
`best/`, `metrics.json`, `curves.png`, `tb/`) plus the label map
(`labels.txt` / `tags.txt`) and the tokenizer (`spm.model`, or `words.txt`
for a word-level encoder), so
`awdrnn.tasks.predictor.load(run_dir)` needs nothing else.

    from awdrnn.tasks import task_training
    task = task_training.FineTuneTask(config, encoder, train, valid, labels,
                                      encoder.tokenizer_file())
    loop.TrainingLoop(task, "runs/sst2", epochs=config.epochs).run()
"""

import dataclasses
import os
import shutil

import numpy as np

from awdrnn.tasks import bpt3c, lr_finder, metrics, tagging, task_data
from awdrnn.tasks.task_graph import TaskGraph
from awdrnn.training import loop
from awdrnn.text import tokenizers

METRIC = {"classify": "valid_accuracy", "regress": "valid_pearson", "tag": "valid_f1"}
LABEL_FILES = {"classify": "labels.txt", "regress": None, "tag": "tags.txt"}


def reads_reversed(config, directions):
    """Whether the rows of a classifier / regressor are fed reversed: its one
    encoder is a backward LM's (ULMFiT's backward model), which read its text
    right to left (`lm.backward`): `bos s eos` becomes `eos reversed(s) bos`,
    as in the LM's reversed stream, and the pooling's h_T is the state after
    the first token. A tagger reads forward text; its backward encoder
    (`TaskConfig.backward`) reverses inside the graph.

    Args:
      config: `TaskConfig`.
      directions: the encoders' directions ("forward" / "backward"), in order.

    Raises:
      ValueError: a tagger whose encoders are not forward (then backward with
        `config.backward`), or a classifier / regressor of more than one encoder.
    """
    directions = list(directions)
    if config.kind == "tag":
        want = ["forward", "backward"] if config.backward else ["forward"]
        if directions != want:
            raise ValueError(f"a tagger needs encoders of directions {want} (--encoder a "
                             f"forward LM's, --encoder_bwd a backward LM's), got {directions}; "
                             f"give the folders in that order.")
        return False
    if len(directions) != 1:
        raise ValueError(f"a {config.kind} model reads one encoder, got {len(directions)}.")
    return directions[0] == "backward"


def _labels_of(dataset, rows):
    return [dataset.targets[i] for i in rows]


class FineTuneTask(loop.Task):
    """A task head fine-tuned on an encoder, as a `loop.Task`.

    Args:
      config: `TaskConfig`.
      encoder: the `encoder_io.Encoder` to start from (a list of two for a
        backward tagger: forward, backward).
      train, valid: `datasets.Dataset`s.
      test: optional `datasets.Dataset`, evaluated once after training with the
        best model (or the last, without `save_best`): `test_*` metrics in
        `metrics.json`.
      labels: the `task_data.LabelMap` / `conll.TagMap` (None for "regress").
      tokenizer_file: the encoder's tokenizer (`Encoder.tokenizer_file()`): a
        SentencePiece model, or a word-level encoder's vocabulary; copied into
        the run as `spm.model` / `words.txt` (`awdrnn.text.tokenizers`).
      scaler: `heads.LabelScaler` of the regression targets (identity: none).
      save_best: keep the model of the best dev metric (else the last).
      random_encoder: draw the encoder's weights afresh (the LM's
        initialisers) instead of loading them: the from-scratch baseline of
        ULMFiT's comparison. `encoder` still gives the architecture and the
        SentencePiece model; `config.json` records `"encoder_init": "random"`.
      extra: JSON dict recorded in `config.json` (e.g. the command's flags).
      log: where lines go.
    """

    def __init__(self, config, encoder, train, valid, labels, tokenizer_file, scaler=None,
                 save_best=True, extra=None, log=print, random_encoder=False, test=None):
        self.cfg = config.validate()
        self.encoders = encoder if isinstance(encoder, (list, tuple)) else [encoder]
        self.encoder_config = self.encoders[0].config
        self.directions = [e.direction for e in self.encoders]
        self.reverse_rows = reads_reversed(self.cfg, self.directions)
        self.train, self.valid, self.test, self.labels = train, valid, test, labels
        self.tokenizer_file, self.scaler = tokenizer_file, scaler
        self.save_best, self.extra, self.log = save_best, dict(extra or {}), log
        self.random_encoder = bool(random_encoder)
        self.seed = config.seed
        self.train_lengths = np.array([len(s) for s in train.sequences])
        self.steps_per_epoch = -(-len(train.sequences) // config.batch_size)
        self.g = self.run_dir = None
        self._order = (None, None)

    # --- graph and run folder ------------------------------------------------------
    def build_graph(self, graph_seed):
        self.g = g = TaskGraph(self.cfg, self.encoder_config,
                               None if self.random_encoder else self.encoders,
                               graph_seed=graph_seed,
                               total_steps=self.cfg.epochs * self.steps_per_epoch)
        self.graph, self.init_op, self.saver, self.saved_vars = (
            g.graph, g.init_op, g.saver, g.saved_vars)

    def fresh_state(self):
        return {"batch": 0, "best_metric": None}

    def config(self):
        return {"task": dataclasses.asdict(self.cfg),
                "encoder": dataclasses.asdict(self.encoder_config),
                "encoder_folders": [e.folder for e in self.encoders],
                "encoder_directions": self.directions,
                "encoder_init": "random" if self.random_encoder else "pretrained",
                "scaler": self.scaler.to_dict() if self.scaler is not None else None,
                "extra": self.extra}

    def write_files(self, run_dir):
        self.run_dir = run_dir
        if LABEL_FILES[self.cfg.kind]:
            self.labels.save(os.path.join(run_dir, LABEL_FILES[self.cfg.kind]))
        name = tokenizers.FILE_NAMES[tokenizers.kind_of_file(self.tokenizer_file)]
        target = os.path.join(run_dir, name)
        if os.path.abspath(self.tokenizer_file) != os.path.abspath(target):
            shutil.copyfile(self.tokenizer_file, target)

    # --- batches ---------------------------------------------------------------------
    def _epoch_order(self, epoch):
        if self._order[0] != epoch:
            self._order = (epoch, task_data.epoch_batches(
                self.train_lengths, self.cfg.batch_size, seed=self.cfg.seed, epoch=epoch))
        return self._order[1]

    def _batch(self, dataset, rows):
        """`(ids, lengths, labels)` of `rows`; a siamese regressor's ids hold the
        first sentences of the pairs, then their second sentences (`2 * len(rows)`)."""
        sequences = [dataset.sequences[i] for i in rows]
        if self.cfg.pair_encoding == "siamese":
            halves = [task_data.split_pair(s) for s in sequences]
            sequences = [a for a, _ in halves] + [b for _, b in halves]
        if self.reverse_rows:  # a backward encoder reads each row right to left
            sequences = [s[::-1] for s in sequences]
        ids, lengths = task_data.pad_batch(sequences)
        labels = _labels_of(dataset, rows)
        if self.cfg.kind == "tag":
            labels, _ = task_data.pad_batch(labels, pad_id=-1)
        else:
            labels = np.asarray(labels)
            if self.cfg.kind == "regress" and self.scaler is not None:
                labels = self.scaler.scale(labels).astype(np.float32)
        return ids, lengths, labels

    def _window_feed(self, sess, ids, lengths, labels, training):
        """BPT3C: runs the prefix forward (carrying the state), feeds the window."""
        g = self.g
        if self.cfg.kind == "tag":
            return g.feed(ids, lengths, labels, training=training)
        plan = bpt3c.plan(ids, lengths, self.cfg.bptt, self.cfg.max_len)

        def run_chunk(chunk, state):
            return sess.run(g.final_state, g.feed(chunk.ids, chunk.lengths, state=state,
                                                  training=training))

        state = bpt3c.run_prefix(plan.prefix, g.zero_state(len(lengths)), run_chunk)
        return g.feed(plan.window.ids, plan.window.lengths, labels, state=state,
                      training=training)

    # --- training ------------------------------------------------------------------
    def train_step(self, sess, state):
        order = self._epoch_order(state["epoch"])
        if state["batch"] >= len(order):
            return None
        rows = order[state["batch"]]
        ids, lengths, labels = self._batch(self.train, rows)
        feed = self._window_feed(sess, ids, lengths, labels, training=True)
        loss, size, _ = sess.run([self.g.loss, self.g.size, self.g.stage_op(state["epoch"])],
                                 feed)
        state["batch"] += 1
        return loop.Step(loss, max(int(size), 1), f"batch {state['batch']} of epoch "
                         f"{state['epoch']} (rows {rows[:5].tolist()}...)")

    def advance_epoch(self, sess, state):
        state["batch"] = 0

    # --- evaluation ------------------------------------------------------------------
    def predict(self, sess, dataset):
        """Outputs for every row of `dataset` (in its order) and the mean loss."""
        outputs, loss_sum, count = [None] * len(dataset.sequences), 0.0, 0
        lengths = np.array([len(s) for s in dataset.sequences])
        for rows in task_data.epoch_batches(lengths, self.cfg.batch_size, shuffle=False):
            ids, lens, labels = self._batch(dataset, rows)
            feed = self._window_feed(sess, ids, lens, labels, training=False)
            out, loss, size = sess.run([self.g.outputs, self.g.loss, self.g.size], feed)
            loss_sum += float(loss) * int(size)
            count += int(size)
            for k, i in enumerate(rows):
                outputs[i] = out[k]
        return outputs, loss_sum / max(count, 1)

    def scores(self, outputs, dataset, prefix="valid"):
        """The metrics of `outputs` (as `predict` returns them) on `dataset`,
        named `<prefix>_accuracy` etc."""
        kind = self.cfg.kind
        if kind == "classify":
            pred = np.array([int(np.argmax(o)) for o in outputs])
            return {f"{prefix}_accuracy": metrics.accuracy(dataset.targets, pred)}
        if kind == "regress":
            pred = np.array(outputs, np.float64)
            if self.scaler is not None:
                pred = self.scaler.unscale(pred)
            c = metrics.correlations(dataset.targets, pred)
            return {f"{prefix}_pearson": c["pearson"], f"{prefix}_spearman": c["spearman"]}
        predicted = []
        for out, first, words in zip(outputs, dataset.first_pieces, dataset.words):
            ids = tagging.words_from_pieces(out[:len(first)], first).argmax(-1)
            tags = self.labels.tags(ids)
            predicted.append(tags + ["O"] * (len(words) - len(tags)))  # cut words: O
        s = tagging.entity_scores(dataset.tags, predicted)
        return {f"{prefix}_{k}": s[k] for k in ("f1", "precision", "recall")}

    def evaluate(self, sess, state):
        outputs, loss = self.predict(sess, self.valid)
        result = {"valid_loss": loss}
        result.update(self.scores(outputs, self.valid))
        return result

    def is_better(self, metrics_, state):
        value = metrics_[METRIC[self.cfg.kind]]
        best = state.get("best_metric")
        if not self.save_best or best is None or value > best:
            state["best_metric"] = value
            return True
        return False

    def finish(self, sess, state, best_folder):
        if best_folder is None:
            return
        if self.cfg.kind == "classify" or self.test is not None:
            self.saver.restore(sess, os.path.join(best_folder, "model"))
        if self.test is not None:
            outputs, loss = self.predict(sess, self.test)
            result = dict(self.scores(outputs, self.test, prefix="test"), test_loss=loss)
            state["test_metrics"] = result
            self.log(f"test ({self.test.path}, {'best' if self.save_best else 'last'} "
                     "model): " + " | ".join(f"{k[5:]} {v:.5g}" for k, v in result.items()))
        if self.cfg.kind != "classify":
            return
        outputs, _ = self.predict(sess, self.valid)
        pred = [int(np.argmax(o)) for o in outputs]
        matrix = metrics.confusion_matrix(self.valid.targets, pred, len(self.labels))
        metrics.plot_confusion(matrix, self.labels.classes,
                               os.path.join(self.run_dir, "confusion.png"),
                               title="dev, best model", log=self.log)
        state["confusion_matrix"] = matrix.tolist()

    def metrics(self, state):
        out = {"best_" + METRIC[self.cfg.kind]: state.get("best_metric")}
        if "confusion_matrix" in state:
            out["confusion_matrix"] = state["confusion_matrix"]
        out.update(state.get("test_metrics", {}))
        return out

    def progress_line(self, state, loss, rate):
        return (f"| epoch {state['epoch']:3d} | batch {state['batch']:5d}/"
                f"{self.steps_per_epoch} | {rate:7.0f} rows/s | loss {loss:.4f}")

    def nan_advice(self):
        return "lower --lr (try --lr_finder), or set --clip"

    # --- LR finder -------------------------------------------------------------------
    def find_lr(self, sess, start_lr=1e-7, end_lr=10.0, num_steps=100):
        """fastai's LR finder on this task's training batches (all groups
        unfrozen, discriminative factors kept); the weights, optimizer slots
        and step are restored afterwards. Returns `lr_finder.LRFinderResult`."""
        g, state = self.g, {"epoch": 1, "batch": 0}
        last_stage = g.stage_ops[-1]

        def run_step(lr):
            order = self._epoch_order(state["epoch"])
            if state["batch"] >= len(order):
                state["epoch"], state["batch"] = state["epoch"] + 1, 0
                order = self._epoch_order(state["epoch"])
            ids, lengths, labels = self._batch(self.train, order[state["batch"]])
            state["batch"] += 1
            feed = self._window_feed(sess, ids, lengths, labels, training=True)
            feed[g.lr] = lr
            return sess.run([g.loss, last_stage], feed)[0]

        return lr_finder.find_lr(run_step, start_lr, end_lr, num_steps,
                                 snapshot=g.snapshot.in_session(sess))
