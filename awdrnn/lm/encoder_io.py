"""Saving a trained language model's encoder, and loading it by path under a task head.

The encoder is the LM without its decoder: the embedding and the recurrent
layers (`lm_model.LanguageModel.encode`). `save_encoder` writes it from a run
folder of `lm_training.Trainer` (its `best/` weights) into a folder of its own:

    encoder.json   {"format": "awdrnn-encoder", "version": 1, "model": LMConfig fields,
                    "direction": "forward" | "backward", "vocab": "vocab.txt" | null,
                    "spm_model": "spm.model" | null, "source": the run folder}
    vocab.txt      the word vocabulary (id order), if any
    spm.model      the SentencePiece model, for a subword LM
    model.*        the weights, named relative to the model's scope:
                   embedding, layer<l>/lstm_cell/kernel, ... (no softmax_w / softmax_b)

`load_encoder(folder)` reads it; `Encoder.build(ids, scope=...)` builds the
same layers in any graph under any variable scope, their initializers set to
the saved values (`tf.compat.v1.train.init_from_checkpoint`), so the usual
`global_variables_initializer()` loads them:

    import tensorflow as tf
    from awdrnn.lm import encoder_io
    encoder = encoder_io.load_encoder("runs/lm/encoder")
    with tf.Graph().as_default():
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        out = encoder.build(ids, scope="classifier/encoder")   # out.raw_output [b, t, emsize]
        ...                                                    # the task head on top
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())   # saved weights

The direction is read from the run's config (a `direction` entry of its
model, train or extra section; "forward" when there is none) and recorded;
the encoder does not reverse anything itself: a backward encoder is fed
text reversed in time, as its LM was. A runnable example that trains a tiny
LM first is in doc/fine_tuning.md.
"""

import dataclasses
import os
import shutil

import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.lm import model as lm_model, training as lm_training
from awdrnn.training import checkpoint_files, checkpoints
from awdrnn.lm.errors import CheckpointMismatch

ENCODER_FILE = "encoder.json"
FORMAT = "awdrnn-encoder"
VERSION = 1
WEIGHTS = "model"
DIRECTIONS = ("forward", "backward")
# LMConfig fields a task head may change: they do not change any variable's shape.
OVERRIDABLE = ("dropout_kr", "dropouth_kr", "dropouti_kr", "dropoute_kr", "wdrop_kr",
               "rnn_impl")


class EncoderError(CheckpointMismatch):
    """A folder that is not a usable encoder, or a mismatch with what it is used with."""


def _direction(saved):
    for section in ("model", "train", "extra"):
        value = (saved.get(section) or {}).get("direction")
        if value is not None:
            if value not in DIRECTIONS:
                raise EncoderError(f"config.json: direction must be one of {DIRECTIONS}, "
                                   f"got {value!r}.")
            return value
    # A run of the library's Trainer records only TrainConfig.backward.
    return "backward" if (saved.get("train") or {}).get("backward") else "forward"


def _spm_path(saved, spm_model):
    if spm_model is None:
        for section in ("train", "extra"):
            spm_model = (saved.get(section) or {}).get("spm_model") or spm_model
    if spm_model is not None and not os.path.isfile(spm_model):
        raise EncoderError(f"spm_model {spm_model!r} does not exist; give the path of the "
                           "SentencePiece .model the LM was trained with.")
    return spm_model


def save_encoder(run_dir, out_dir, spm_model=None, scope="lm"):
    """Writes the encoder of the best model of `run_dir` to the new folder `out_dir`.

    Args:
      run_dir: a run folder of `lm_training.Trainer` (`config.json`,
        `vocab.txt`, `best/`).
      out_dir: the encoder folder to create (must not exist, or be empty);
        written atomically.
      spm_model: path of the SentencePiece model of a subword LM (default: an
        `spm_model` entry of the run's config, if any); copied into the folder.
      scope: the LM's variable scope.

    Returns:
      `out_dir`.

    Raises:
      CheckpointMismatch: `run_dir` is not a run folder or has no best model.
      EncoderError: a layer's weights are missing, or `spm_model` is absent.
      ValueError: `out_dir` exists and is not empty.
    """
    model_config, _, vocab = lm_training.load_config(run_dir)
    saved = checkpoints.read_json(os.path.join(run_dir, "config.json"))
    direction = _direction(saved)
    spm_model = _spm_path(saved, spm_model)
    best = checkpoints.CheckpointStore(os.path.join(run_dir, "best")).latest()
    if best is None:
        raise CheckpointMismatch(f"{run_dir!r} has no saved model (best/ is empty or missing).")
    reader = tf.train.load_checkpoint(os.path.join(best, "model"))
    prefix = f"{scope}/"
    tensors = {}
    for name in reader.get_variable_to_shape_map():
        relative = name[len(prefix):] if name.startswith(prefix) else None
        if relative and (relative == "embedding" or relative.startswith("layer")):
            tensors[relative] = reader.get_tensor(name)
    for needed in ["embedding"] + [f"layer{l}/" for l in range(model_config.nlayers)]:
        if not any(n == needed or n.startswith(needed) for n in tensors):
            raise EncoderError(f"saved model in {best!r} has no {prefix}{needed} variables "
                               f"(is scope={scope!r} the LM's variable scope?).")
    return write_encoder(out_dir, model_config, tensors, vocab, direction, spm_model,
                         os.path.abspath(run_dir))


def write_encoder(out_dir, model_config, tensors, vocab, direction="forward", spm_model=None,
                  source=None):
    """Writes an encoder folder (the layout `save_encoder` writes) atomically.

    Args:
      out_dir: the folder to create (must not exist, or be empty).
      model_config: the encoder's `lm_model.LMConfig`.
      tensors: `{name relative to the LM's scope: array}`: `embedding`,
        `layer<l>/...` (no decoder).
      vocab: its `corpus.Vocabulary`.
      direction: "forward" or "backward".
      spm_model: path of its SentencePiece model, or None; copied into the folder.
      source: where it came from (recorded in `encoder.json`).

    Returns:
      `out_dir`.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")
    info = {"format": FORMAT, "version": VERSION, "model": dataclasses.asdict(model_config),
            "direction": direction, "vocab": "vocab.txt",
            "spm_model": "spm.model" if spm_model else None, "source": source}

    def write(folder):
        checkpoint_files.write_variables(os.path.join(folder, WEIGHTS), tensors)
        vocab.save(os.path.join(folder, "vocab.txt"))
        if spm_model:
            shutil.copyfile(spm_model, os.path.join(folder, "spm.model"))
        checkpoints.write_json(os.path.join(folder, ENCODER_FILE), info)

    return checkpoint_files.publish_folder(out_dir, write)


class Encoder:
    """A saved encoder (`load_encoder`); `build` puts it in a graph.

    Attributes:
      folder: where it was loaded from.
      config: its `lm_model.LMConfig`.
      vocab: its `corpus.Vocabulary` (None if the folder has none).
      spm_model: path of its SentencePiece model, or None.
      direction: "forward" or "backward".
      variables: after `build`, `{relative name: variable}`.
      model: after `build`, the `lm_model.LanguageModel` built (its
        `zero_state` and `state_feed` feed the initial state).
    """

    def __init__(self, folder):
        path = os.path.join(folder, ENCODER_FILE)
        if not os.path.isfile(path):
            raise EncoderError(f"{folder!r} is not an encoder folder (no {ENCODER_FILE}); "
                               "write one with awdrnn.lm.encoder_io.save_encoder(run_dir, folder).")
        info = checkpoints.read_json(path)
        if info.get("format") != FORMAT or info.get("version") != VERSION:
            raise EncoderError(f"{path}: format {info.get('format')!r} version "
                               f"{info.get('version')!r}; expected {FORMAT!r} version {VERSION}.")
        self.folder = folder
        self.info = info
        self.config = lm_model.LMConfig(**info["model"]).validate()
        self.direction = info.get("direction", "forward")
        self.vocab = None
        if info.get("vocab"):
            self.vocab = corpus.Vocabulary.load(os.path.join(folder, info["vocab"]))
            if len(self.vocab) != self.config.vocab_size:
                raise EncoderError(f"{folder!r}: {info['vocab']} has {len(self.vocab)} words "
                                   f"but the encoder's vocab_size is {self.config.vocab_size}.")
        self.spm_model = (os.path.join(folder, info["spm_model"]) if info.get("spm_model")
                          else None)
        self.prefix = os.path.join(folder, WEIGHTS)
        self.variables = None
        self.model = None

    def tokenizer_file(self):
        """The file task heads and SavedModels tokenize text with: the SentencePiece
        model, or a word-level encoder's vocab.txt (checked: fastai's special
        tokens xxunk, xxpad, xxbos, xxeos at ids 0-3, awdrnn's special ids).

        Raises:
          EncoderError: a word-level encoder without them, or without a vocabulary.
        """
        if self.spm_model is not None:
            return self.spm_model
        if self.vocab is None:
            raise EncoderError(f"encoder {self.folder!r} has neither a SentencePiece model nor "
                               "a vocabulary: it cannot read text.")
        from awdrnn.text import word_tokenizer
        path = os.path.join(self.folder, self.info["vocab"])
        try:
            word_tokenizer.check_special_words(self.vocab.words, path)
        except ValueError as e:
            raise EncoderError(f"word-level encoder {self.folder!r}: {e}") from None
        return path

    def check_vocabulary(self, vocab):
        """Raises EncoderError unless `vocab` (a Vocabulary) is the encoder's own."""
        if self.vocab is not None and vocab == self.vocab:
            return
        mine = set(self.vocab.words) if self.vocab is not None else set()
        unknown = sorted(set(vocab.words) - mine)[:5]
        raise EncoderError(
            f"the vocabulary ({len(vocab)} words) differs from encoder {self.folder!r}'s "
            f"({self.config.vocab_size} words)"
            + (f", e.g. words it lacks {unknown}" if unknown else ", or its order differs")
            + "; encode the data with the encoder's vocabulary, or move the LM to the new "
            "vocabulary first (awdrnn.lm.vocab_remap.remap_saved_lm).")

    def build(self, ids, training=None, scope="encoder", lengths=None, **overrides):
        """Builds the encoder on `ids` under `scope`, initialised from the folder.

        Args:
          ids: `[batch, time]` int tensor.
          training: as `lm_model.LanguageModel.encode`.
          lengths: optional int `[batch]` real lengths of right-padded rows
            (as `lm_model.LanguageModel.encode`).
          scope: variable scope of the encoder's variables.
          **overrides: new values for the `OVERRIDABLE` config fields
            (dropouts, `rnn_impl`).

        Returns:
          `lm_model.EncoderOutputs`; `self.variables` holds the variables.

        Raises:
          ValueError: an override of a field that changes shapes.
          EncoderError: the saved weights do not fit the built variables.
        """
        bad = sorted(set(overrides) - set(OVERRIDABLE))
        if bad:
            raise ValueError(f"cannot override {bad} when loading an encoder; only "
                             f"{list(OVERRIDABLE)} (the others fix the saved shapes).")
        config = dataclasses.replace(self.config, **overrides)
        self.model = model = lm_model.LanguageModel(config, scope=scope)
        before = set(id(v) for v in tf.compat.v1.trainable_variables())
        out = model.encode(ids, training, lengths=lengths)
        new = [v for v in tf.compat.v1.trainable_variables() if id(v) not in before]
        base = f"{model.scope}/"
        self.variables = {v.op.name[len(base):]: v for v in new if v.op.name.startswith(base)}
        self._check_shapes()
        tf.compat.v1.train.init_from_checkpoint(self.prefix, dict(self.variables))
        return out

    def _check_shapes(self):
        try:
            saved = dict(tf.train.list_variables(self.prefix))
        except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
            first = str(e).strip().splitlines()[0][:300]
            raise EncoderError(f"cannot read the weights of encoder {self.folder!r}: "
                               f"{first}") from None
        for name, v in self.variables.items():
            shape = v.shape.as_list()
            if name not in saved:
                raise EncoderError(f"encoder {self.folder!r} has no weights for {name}.")
            if list(saved[name]) != shape:
                raise EncoderError(
                    f"encoder {self.folder!r}: {name} has shape {list(saved[name])} in its "
                    f"weights but {shape} in the model its {ENCODER_FILE} describes.")


def load_encoder(folder):
    """The `Encoder` saved in `folder` (see `save_encoder`).

    Raises:
      EncoderError: not an encoder folder, or its vocabulary does not fit.
    """
    return Encoder(folder)
