"""What can be served: a saved encoder folder or a task run folder, as an inference graph.

`load(path)` reads either kind of folder and returns a `Source`: the model's
own inference graph (finalized, built by the code that trains and evaluates
it: `encoder_io.Encoder.build` with `training=False`, or the
`TaskGraph(training=False)` that `awdrnn.tasks.predictor` restores), what
its signatures need (SentencePiece model, labels, label scaler, BPT3C
window) and `Source.build`, which imports that graph into the current graph
on given ids:

    import tensorflow as tf
    from awdrnn.serving import model_sources
    source = model_sources.load("runs/sst2_clas")       # or an encoder folder
    with tf.Graph().as_default():
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])   # right-padded, pad id 1
        lengths = tf.reduce_sum(tf.cast(tf.not_equal(ids, 1), tf.int32), 1)
        outputs = source.build(ids, lengths)    # {"output": [b, t, emb], "probabilities": ...}
        with tf.compat.v1.Session() as sess:
            source.restore(sess)                # the folder's weights

The recurrent state starts at zero for every row, as `Predictor` starts it.
A backward encoder reads each row reversed within its length
(`tf.reverse_sequence`, pads stay on the right) and its output is reversed
back, so `output[b, t]` is always the feature of token `t` in reading order;
a forward + backward tagger's `output` is the concatenation its head reads
(`TaskGraph`: forward features, then backward).
"""

import os

import tensorflow as tf

from awdrnn.lm import encoder_io
from awdrnn.lm.errors import TrainingError
from awdrnn.tasks import predictor
from awdrnn.text import tokenizers
from awdrnn.training import checkpoints

KINDS = ("encoder", "classify", "regress", "tag")
IMPORT_SCOPE = "model"


class ExportError(TrainingError):
    """A folder that cannot be served, or an export that cannot be written."""

    exit_code = 2


def _reverse(x, lengths):
    return tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)


class Source:
    """A servable model (see `load`).

    Attributes:
      path: the folder it was read from.
      kind: "encoder", "classify", "regress" or "tag".
      spm: its tokenizer (`subwords.SubwordModel`, or a word-level model's
          `word_tokenizer.WordTokenizer`); `spm_path` its file.
      labels: class names ("classify", in probability-column order) or tag
        names ("tag"); None otherwise.
      scaler: the `heads.LabelScaler` a regressor was trained with (scores are
        unscaled by it), or None.
      window: the BPT3C window of a classifier / regressor (`TaskConfig.max_len`:
        only a row's last `window` tokens are pooled), or None.
      pair_encoding: a regressor's `TaskConfig.pair_encoding` ("joined": a
        pair is one row; "siamese": `build` takes the 2 * pairs rows of
        `text_inputs.TextInputs.siamese` and gives a score per pair), else None.
      directions: the encoders' directions, e.g. ["forward", "backward"].
      reverse_input: the model reads each row reversed within its length (a
        classifier / regressor on a backward LM's encoder,
        `task_training.reads_reversed`); `build` reverses `ids` itself.
      emsize: the width of `output` (summed over a tagger's encoders).
    """

    def __init__(self, path, kind, spm_path, graph, saver, checkpoint, ids, lengths,
                 initial_state, features, head=None, pool_mask=None, labels=None,
                 scaler=None, window=None, directions=("forward",), pair_encoding=None,
                 reverse_input=False):
        self.path, self.kind, self.spm_path = path, kind, spm_path
        self.pair_encoding, self.reverse_input = pair_encoding, reverse_input
        self.spm = tokenizers.load(spm_path)
        self.labels, self.scaler, self.window = labels, scaler, window
        self.directions = list(directions)
        self._graph, self._checkpoint = graph, checkpoint
        with graph.as_default():
            self._meta = tf.compat.v1.train.export_meta_graph(
                graph=graph, saver_def=saver.as_saver_def())
        self._ids, self._lengths, self._pool_mask = ids, lengths, pool_mask
        self._state = [(t.name, tf.compat.dimension_value(t.shape[-1]))
                       for t in tf.nest.flatten(initial_state)]
        self._features = [(t.name, backward) for t, backward in features]
        self._head = head
        self.emsize = sum(tf.compat.dimension_value(t.shape[-1]) for t, _ in features)
        self._saver = None

    def build(self, ids, lengths, pool_mask=None):
        """Imports the model into the current graph on `ids`; once per graph.

        Args:
          ids: int32 `[batch, time]`, right-padded with `PAD_ID` (1).
          lengths: int32 `[batch]`, the real length of each row.
          pool_mask: bool `[batch, time]`, the positions a classifier /
            regressor pools (default: the real tokens). Ignored otherwise.

        Returns:
          `{"output": float32 [batch, time, emsize]}` plus the head's output:
          "probabilities" `[batch, n_classes]` (classify), "score" `[batch]`
          (regress, in the training labels' units) or "tag_probabilities"
          `[batch, time, n_tags]` (tag, per piece).
        """
        if self._saver is not None:
            raise ValueError("Source.build imports the model once; load the folder again "
                             "for another graph.")
        batch = tf.shape(ids)[0]
        if self.reverse_input:
            ids = _reverse(ids, lengths)
        input_map = {self._ids: ids, self._lengths: lengths}
        for name, width in self._state:
            input_map[name] = tf.zeros(tf.stack([batch, width]), tf.float32)
        if self._pool_mask is not None and pool_mask is not None:
            input_map[self._pool_mask] = pool_mask
        self._saver = tf.compat.v1.train.import_meta_graph(
            self._meta, input_map=input_map, import_scope=IMPORT_SCOPE, clear_devices=True)
        graph = tf.compat.v1.get_default_graph()

        def tensor(name):
            return graph.get_tensor_by_name(f"{IMPORT_SCOPE}/{name}")

        features = [_reverse(tensor(name), lengths) if backward else tensor(name)
                    for name, backward in self._features]
        outputs = {"output": features[0] if len(features) == 1
                   else tf.concat(features, axis=-1)}
        if self.kind == "classify":
            outputs["probabilities"] = tensor(self._head)
        elif self.kind == "regress":
            score = tensor(self._head)
            if self.scaler is not None:
                score = self.scaler.low + score * (self.scaler.high - self.scaler.low)
            outputs["score"] = score
        elif self.kind == "tag":
            outputs["tag_probabilities"] = tensor(self._head)
        return outputs

    def restore(self, session):
        """Loads the folder's weights into the variables `build` imported."""
        if self._saver is None:
            raise ValueError("call Source.build before Source.restore.")
        self._saver.restore(session, self._checkpoint)


def _encoder_source(folder):
    encoder = encoder_io.load_encoder(folder)
    tokenizer_file = encoder.tokenizer_file()
    graph = tf.Graph()
    with graph.as_default():
        ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="ids")
        lengths = tf.compat.v1.placeholder(tf.int32, [None], name="lengths")
        backward = encoder.direction == "backward"
        out = encoder.build(_reverse(ids, lengths) if backward else ids, training=False,
                            scope="encoder", lengths=lengths)
        saver = tf.compat.v1.train.Saver(dict(encoder.variables))
    graph.finalize()
    return Source(folder, "encoder", tokenizer_file, graph, saver, encoder.prefix,
                  ids.name, lengths.name, out.initial_state, [(out.raw_output, backward)],
                  directions=[encoder.direction])


def _task_source(run_dir):
    model = predictor.load(run_dir)
    model.close()
    g, cfg = model.g, model.config
    best = checkpoints.CheckpointStore(os.path.join(run_dir, "best")).latest()
    kind = cfg.kind
    directions = list(model.directions)
    reverse_input = model.reverse_rows
    features = [(out.raw_output, k == 1) for k, out in enumerate(g.encoder_outputs)]
    if kind != "tag":  # the one encoder; a backward one's output back in reading order
        features = [(g.encoder_outputs[0].raw_output, reverse_input)]
    labels = (model.labels.classes if kind == "classify" else
              model.labels.names if kind == "tag" else None)
    return Source(run_dir, kind, tokenizers.folder_file(run_dir), g.graph, g.saver,
                  os.path.join(best, "model"), g.ids.name, g.lengths.name, g.initial_state,
                  features, head=g.outputs.name, pool_mask=g.mask.name, labels=labels,
                  scaler=model.scaler, window=cfg.max_len if kind != "tag" else None,
                  directions=directions,
                  pair_encoding=cfg.pair_encoding if kind == "regress" else None,
                  reverse_input=reverse_input)


def load(path):
    """The `Source` of an encoder folder or a task run folder.

    Args:
      path: an encoder folder (`encoder.json`, `spm.model`, weights: written
        by `encoder_io.save_encoder`) or a task run folder (`config.json`
        with a "task" section, `spm.model`, labels, `best/`: written by
        `examples/classifier.py`, `regressor.py`, `sequence_tagger.py`).

    Raises:
      ExportError: neither kind of folder, or a language model's run folder.
      EncoderError / CheckpointMismatch: a broken folder (the message says
        what is missing), or a word-level encoder whose vocabulary does not
        start with fastai's special tokens (xxunk, xxpad, xxbos, xxeos).
    """
    if not os.path.isdir(path):
        raise ExportError(f"{path!r} is not a folder; give an encoder folder (with "
                          f"{encoder_io.ENCODER_FILE}) or a task run folder (with config.json).")
    if os.path.isfile(os.path.join(path, encoder_io.ENCODER_FILE)):
        return _encoder_source(path)
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        raise ExportError(
            f"{path!r} is neither an encoder folder (no {encoder_io.ENCODER_FILE}) nor a task "
            "run folder (no config.json); give the folder written by "
            "encoder_io.save_encoder or by examples/classifier.py, regressor.py or "
            "sequence_tagger.py --save.")
    saved = checkpoints.read_json(config)
    if "task" not in saved and "train" in saved:
        raise ExportError(
            f"{path!r} is a language model's run folder; export its encoder: write it with "
            "awdrnn.lm.encoder_io.save_encoder(run_dir, folder) (train_lm.py writes "
            "<save>/encoder) and export that folder.")
    return _task_source(path)
