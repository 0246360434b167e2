"""Moving a trained word-level language model to a new vocabulary (ULMFiT stage 2).

When the target corpus's vocabulary differs from the one the model was
trained with, the rows of the vocabulary-sized matrices are rearranged for
the new vocabulary, as fastai v1's `convert_weights` does: a word of both
vocabularies keeps its trained row; a word the old vocabulary lacks starts at
the mean row:

    E_new[i] = E_old[old_id(w_i)]    if w_i is in the old vocabulary
               mean_j E_old[j]       otherwise
    (the same for the output bias b [V] and an untied decoder weight W [V, H])

Everything else (the recurrent layers) is kept as it is.

    import numpy as np
    from awdrnn.lm import vocab_remap as lm_vocab_remap
    result = lm_vocab_remap.remap_rows(
        ["<eos>", "the", "cat"], ["the", "dog", "<eos>"],
        embedding=np.array([[0.0, 1.0], [2.0, 3.0], [10.0, 11.0]]),
        bias=np.array([1.0, 2.0, 6.0]))
    print(result.new_rows, result.embedding.tolist(), result.bias.tolist())
    # 1 [[2.0, 3.0], [4.0, 5.0], [0.0, 1.0]] [2.0, 3.0, 1.0]

`remap_saved_lm(run_dir, new_vocab, out_dir)` does it on a run saved by
`lm_training.Trainer` (its `best/` weights, read with `tf.train.load_checkpoint`)
and writes a new run folder (`config.json` with the new `vocab_size`,
`vocab.txt`, `best/`) atomically: the folder appears complete or not at all.
Where words are subword pieces of one SentencePiece model, the ids do not
change and no remapping is needed.
"""

import collections
import dataclasses
import os

import numpy as np
import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.lm import training as lm_training
from awdrnn.training import checkpoint_files, checkpoints
from awdrnn.lm.errors import CheckpointMismatch

RemapResult = collections.namedtuple(
    "RemapResult", ["embedding", "bias", "decoder", "new_rows", "new_words"])
RemapResult.__doc__ = """The matrices for the new vocabulary.

`embedding` [V_new, E], `bias` [V_new], `decoder` [V_new, H] or None,
`new_rows` (int): how many rows started at the mean, `new_words`: those words.
"""


def _words(vocab, name):
    words = list(vocab.words if isinstance(vocab, corpus.Vocabulary) else vocab)
    if len(set(words)) != len(words):
        raise ValueError(f"{name} lists a word twice; a vocabulary maps each word to one id.")
    if not words:
        raise ValueError(f"{name} is empty.")
    return words


def _check_rows(name, value, rows, rank):
    value = np.asarray(value)
    if value.ndim != rank or value.shape[0] != rows:
        want = f"[{rows}]" if rank == 1 else f"[{rows}, width]"
        raise ValueError(f"{name} has shape {list(value.shape)}; expected {want} "
                         f"(one row per word of the old vocabulary of {rows} words).")
    return value


def remap_rows(old_vocab, new_vocab, embedding, bias, decoder=None):
    """Rows of the embedding, output bias (and untied decoder) for `new_vocab`.

    Args:
      old_vocab, new_vocab: `corpus.Vocabulary` or lists of words (id order).
      embedding: `[V_old, E]` array.
      bias: `[V_old]` output bias.
      decoder: optional untied decoder weight `[V_old, H]`.

    Returns:
      `RemapResult`; new words get the mean of the old rows (fastai's
      `convert_weights`).

    Raises:
      ValueError: an array's first dimension is not `len(old_vocab)`, or a
        vocabulary is empty or repeats a word.
    """
    old = _words(old_vocab, "old_vocab")
    new = _words(new_vocab, "new_vocab")
    arrays = {"embedding": _check_rows("embedding", embedding, len(old), 2),
              "bias": _check_rows("bias", bias, len(old), 1)}
    if decoder is not None:
        arrays["decoder"] = _check_rows("decoder", decoder, len(old), 2)
    index = {w: i for i, w in enumerate(old)}
    rows = np.array([index.get(w, -1) for w in new])
    fresh = rows < 0
    out = {}
    for name, value in arrays.items():
        remapped = value[np.maximum(rows, 0)].copy()
        remapped[fresh] = value.mean(axis=0)
        out[name] = remapped
    return RemapResult(out["embedding"], out["bias"], out.get("decoder"), int(fresh.sum()),
                       [w for w, f in zip(new, fresh) if f])


@dataclasses.dataclass
class SavedRemap:
    """What `remap_saved_lm` wrote: the run folder, vocabulary sizes, new rows."""

    folder: str
    old_vocab_size: int
    new_vocab_size: int
    new_rows: int
    new_words: list


def _best_prefix(run_dir):
    best = checkpoints.CheckpointStore(os.path.join(run_dir, "best")).latest()
    if best is None:
        raise CheckpointMismatch(f"{run_dir!r} has no saved model (best/ is empty or missing).")
    return os.path.join(best, "model")


def remap_saved_lm(run_dir, new_vocab, out_dir, scope="lm"):
    """Writes a copy of the run `run_dir` for `new_vocab` into `out_dir`.

    Reads `run_dir/config.json`, `vocab.txt` and the `best/` weights; writes
    `out_dir/config.json` (the model config with the new `vocab_size`, the
    training config, and `extra.vocab_remap` saying where it came from and how
    many rows were new), `out_dir/vocab.txt` and `out_dir/best/` (every
    variable, the vocabulary-sized ones remapped by `remap_rows`), which
    `lm_training.open_best_model(out_dir)` and `lm_graph.restore_model` load.

    Args:
      run_dir: a run folder written by `lm_training.Trainer`.
      new_vocab: `corpus.Vocabulary` (or list of words) of the target corpus.
      out_dir: the new run folder (must not exist, or be empty).
      scope: the model's variable scope.

    Returns:
      `SavedRemap`.

    Raises:
      CheckpointMismatch: `run_dir` is not a saved run, has no best model, or
        its weights do not match its vocabulary.
      ValueError: `out_dir` is not empty, or `new_vocab` is empty.
    """
    model_config, _, old_vocab = lm_training.load_config(run_dir)
    saved = checkpoints.read_json(os.path.join(run_dir, "config.json"))
    new_words = _words(new_vocab, "new_vocab")
    prefix = _best_prefix(run_dir)
    reader = tf.train.load_checkpoint(prefix)
    tensors = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    names = {"embedding": f"{scope}/embedding", "bias": f"{scope}/softmax_b",
             "decoder": f"{scope}/softmax_w"}
    if model_config.tie_weights:
        del names["decoder"]
    for key, name in names.items():
        if name not in tensors:
            raise CheckpointMismatch(f"saved model {prefix!r} has no variable {name} "
                                     f"(is scope={scope!r} the model's variable scope?).")
        if tensors[name].shape[0] != len(old_vocab):
            raise CheckpointMismatch(
                f"saved model {prefix!r}: {name} has {tensors[name].shape[0]} rows but the "
                f"run's vocab.txt has {len(old_vocab)} words.")
    result = remap_rows(old_vocab, new_words, tensors[names["embedding"]],
                        tensors[names["bias"]], tensors.get(names.get("decoder")))
    tensors[names["embedding"]] = result.embedding
    tensors[names["bias"]] = result.bias
    if result.decoder is not None:
        tensors[names["decoder"]] = result.decoder
    model_config.vocab_size = len(new_words)
    info = {"source": os.path.abspath(run_dir), "old_vocab_size": len(old_vocab),
            "new_vocab_size": len(new_words), "new_rows": result.new_rows}

    def write(folder):
        checkpoints.write_json(os.path.join(folder, "config.json"), {
            "model": dataclasses.asdict(model_config), "train": saved["train"],
            "extra": dict(saved.get("extra", {}), vocab_remap=info)})
        corpus.Vocabulary(new_words).save(os.path.join(folder, "vocab.txt"))
        checkpoints.CheckpointStore(os.path.join(folder, "best")).write(
            "best-0", lambda f: checkpoint_files.write_variables(os.path.join(f, "model"), tensors))

    folder = checkpoint_files.publish_folder(out_dir, write)
    return SavedRemap(folder, len(old_vocab), len(new_words), result.new_rows,
                      result.new_words)
