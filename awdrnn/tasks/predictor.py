"""A trained task model (a run folder of `task_training.FineTuneTask`) for predictions.

    from awdrnn.tasks import predictor
    model = predictor.load("runs/sst2")   # config.json, labels.txt, spm.model (or words.txt), best/
    print(model.predict(["a charming journey", "bleak and dull"]))
    # classify: [{"label": "1", "probabilities": {"0": 0.03, "1": 0.97}}, ...]
    # regress:  [{"score": 3.8}, ...]      tag: [{"words": [...], "tags": [...]}, ...]
    print(model.outputs(["a charming journey"]))   # the same as arrays: [[0.03, 0.97]]

The graph is an inference graph (`TaskGraph(training=False)`: no dropout,
the encoder's inference pass) restored from `best/`. Text is encoded as in
training (`bos pieces eos`; pairs `bos s1 eos bos s2 eos`, which a siamese
regressor cuts back into its two sentences; for tagging each
whitespace-separated word on its own), cut to `max_seq_len`.
"""

import os

import numpy as np
import tensorflow as tf

from awdrnn.lm import model as lm_model
from awdrnn.lm.errors import CheckpointMismatch
from awdrnn.tasks import conll, datasets, tagging, task_data
from awdrnn.tasks.heads import LabelScaler
from awdrnn.tasks.task_config import TaskConfig
from awdrnn.tasks.task_graph import TaskGraph
from awdrnn.tasks.task_training import LABEL_FILES, FineTuneTask, reads_reversed
from awdrnn.text import tokenizers
from awdrnn.training import checkpoints


class Predictor:
    """Predictions of a trained task model; see `load`."""

    def __init__(self, run_dir, max_seq_len=None):
        path = os.path.join(run_dir, "config.json")
        if not os.path.isfile(path):
            raise CheckpointMismatch(f"{run_dir!r} is not a task run folder (no config.json).")
        saved = checkpoints.read_json(path)
        if "task" not in saved:
            raise CheckpointMismatch(f"{run_dir!r} is not a task run folder (its config.json "
                                     "has no 'task' section; is it a language model's run?).")
        task = dict(saved["task"])
        self.config = TaskConfig(**task).validate()
        self.encoder_config = lm_model.LMConfig(**saved["encoder"]).validate()
        self.max_seq_len = max_seq_len
        self.spm = tokenizers.load(tokenizers.folder_file(run_dir))
        kind = self.config.kind
        label_file = LABEL_FILES[kind] and os.path.join(run_dir, LABEL_FILES[kind])
        self.labels = (task_data.LabelMap.load(label_file) if kind == "classify" else
                       conll.TagMap.load(label_file) if kind == "tag" else None)
        self.scaler = (LabelScaler.from_dict(saved["scaler"]) if saved.get("scaler") else None)
        best = checkpoints.CheckpointStore(os.path.join(run_dir, "best")).latest()
        if best is None:
            raise CheckpointMismatch(f"{run_dir!r} has no saved model (best/ is empty).")
        self.g = TaskGraph(self.config, self.encoder_config, training=False)
        self.session = tf.compat.v1.Session(graph=self.g.graph)
        self.session.run(self.g.init_op)
        with self.g.graph.as_default():
            self.g.saver.restore(self.session, os.path.join(best, "model"))
        # The training task's batching, BPT3C and scoring, on this inference graph.
        self._task = FineTuneTask.__new__(FineTuneTask)
        self._task.cfg, self._task.g, self._task.labels = self.config, self.g, self.labels
        self._task.scaler = self.scaler
        # Runs saved before directions were recorded read forward encoders.
        self.directions = saved.get("encoder_directions") or ["forward"] * len(self.g.models)
        self.reverse_rows = reads_reversed(self.config, self.directions)
        self._task.reverse_rows = self.reverse_rows

    def dataset(self, texts, pairs=None):
        """`datasets.Dataset` of raw texts (targets zero)."""
        if self.config.kind == "tag":
            words = [t.split() for t in texts]
            seqs, labels, firsts, n_words, n_cut = datasets.tag_words(
                self.spm, words, max_seq_len=self.max_seq_len)
            return datasets.Dataset(seqs, labels, firsts, words, None, n_words, n_cut, None)
        if self.config.pair_encoding == "siamese" and pairs is None:
            raise ValueError("this regressor reads sentence pairs (pair_encoding 'siamese'); "
                             "give the second sentences: predict(texts, pairs=[...]).")
        seqs, n_cut = task_data.encode_texts(self.spm, texts, self.max_seq_len, pairs=pairs)
        return datasets.Dataset(seqs, np.zeros(len(seqs), np.float32), None, None, None, None,
                                n_cut, None)

    def outputs(self, texts, pairs=None):
        """A classifier's probabilities `[n, n_classes]` or a regressor's scores `[n]`
        (unscaled: in the training labels' units), float64, in the order of `texts`.

        Raises:
          ValueError: a tagger (its outputs are per word: `predict`).
        """
        if self.config.kind == "tag":
            raise ValueError("Predictor.outputs is for classifiers and regressors; a "
                             "tagger's predictions are per word: use predict.")
        outputs, _ = self._task.predict(self.session, self.dataset(list(texts), pairs))
        out = np.asarray(outputs, np.float64)
        if self.config.kind == "regress" and self.scaler is not None:
            out = self.scaler.unscale(out)
        return out

    def predict(self, texts, pairs=None):
        """One dict per text (see the module docstring)."""
        kind = self.config.kind
        if kind == "classify":
            classes = self.labels.classes
            return [{"label": classes[int(np.argmax(p))],
                     "probabilities": {name: float(v) for name, v in zip(classes, p)}}
                    for p in self.outputs(texts, pairs)]
        if kind == "regress":
            return [{"score": float(s)} for s in self.outputs(texts, pairs)]
        data = self.dataset(list(texts), pairs)
        outputs, _ = self._task.predict(self.session, data)
        out = []
        for k, o in enumerate(outputs):
            first = data.first_pieces[k]
            ids = tagging.words_from_pieces(o[:len(first)], first).argmax(-1)
            words = data.words[k]
            tags = self.labels.tags(ids)
            out.append({"words": words, "tags": tags + ["O"] * (len(words) - len(tags))})
        return out

    def close(self):
        self.session.close()


def load(run_dir, max_seq_len=None):
    """The `Predictor` of the task run in `run_dir`.

    Raises:
      CheckpointMismatch: not a task run folder, or no saved model.
    """
    return Predictor(run_dir, max_seq_len)
