"""SentencePiece subword models with fixed special ids: unk 0, pad 1, bos 2, eos 3.

The ids follow fastai and the pretrained ULMFiT/MultiFiT SentencePiece models,
so a model trained here and one imported later index embeddings the same way.
Training and encoding use the `sentencepiece` package (unigram or BPE); the
same model runs inside a TF graph through `awdrnn.text.graph_tokenizer`.

    from awdrnn.text import subwords
    model = subwords.train_model(["train.txt"], "runs/spm/sp", vocab_size=8000)
    model = subwords.load_model("runs/spm/sp.model")   # checks the special ids
    ids = model.encode_file("valid.txt")   # one int32 array per line: [2, ..., 3]
    subwords.save_ids("runs/spm/valid.npz", ids)
    text = model.decode(ids[0])             # the line back (bos/eos dropped)

Input files are UTF-8, one sentence or document per line, each line at most
`max_line_bytes` bytes (default 65,536); an empty file, non-UTF-8 bytes or a
longer line raise `TextError` naming the file and the line. Outputs (`.model`,
`.vocab`, `.npz`) are written atomically: a failure leaves no partial file.
"""

import io
import os

import numpy as np
import sentencepiece as spm

from awdrnn.text import text_files
from awdrnn.text.text_files import DEFAULT_MAX_LINE_BYTES
from awdrnn.text.text_files import TextError

UNK_ID, PAD_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIAL_IDS = {"unk": UNK_ID, "pad": PAD_ID, "bos": BOS_ID, "eos": EOS_ID}
MODEL_TYPES = ("unigram", "bpe")
_ENCODE_CHUNK = 4096  # lines handed to SentencePiece at once


class SubwordModel:
    """A loaded SentencePiece model whose special ids are checked.

    Attributes:
      path: where the model came from (for messages).
      proto: the serialized model (bytes), as `graph_tokenizer` puts it in a graph.
      processor: the `sentencepiece.SentencePieceProcessor`.
      vocab_size: number of pieces, special ones included.

    Raises (constructor):
      TextError: `proto` is not a SentencePiece model, or its special ids are
        not unk 0, pad 1, bos 2, eos 3.
    """

    def __init__(self, proto, path="<model bytes>"):
        self.path = path
        self.proto = bytes(proto)
        self.processor = spm.SentencePieceProcessor()
        try:
            self.processor.LoadFromSerializedProto(self.proto)
        except RuntimeError as e:
            raise TextError(f"{path}: not a SentencePiece model ({e}); give the "
                            f".model file written by subwords.train_model") from None
        found = {"unk": self.processor.unk_id(), "pad": self.processor.pad_id(),
                 "bos": self.processor.bos_id(), "eos": self.processor.eos_id()}
        if found != SPECIAL_IDS:
            have = ", ".join(f"{k} {v}" for k, v in found.items())
            raise TextError(
                f"{path}: special ids are {have} (-1 = absent); awdrnn needs unk 0, "
                f"pad 1, bos 2, eos 3 (the fastai/MultiFiT convention). Retrain it with "
                f"awdrnn.text.subwords.train_model, or with spm_train --unk_id=0 "
                f"--pad_id=1 --bos_id=2 --eos_id=3")
        self.vocab_size = self.processor.vocab_size()

    def encode_lines(self, lines, add_bos=True, add_eos=True):
        """Ids of each string in `lines`: a list of 1-D int32 arrays.

        Each is `[BOS_ID] + pieces + [EOS_ID]` (by default); a blank line gives
        `[BOS_ID, EOS_ID]`.
        """
        encoded = self.processor.encode(list(lines), add_bos=add_bos, add_eos=add_eos)
        return [np.asarray(ids, dtype=np.int32) for ids in encoded]

    def encode_file(self, path, max_line_bytes=DEFAULT_MAX_LINE_BYTES, add_bos=True,
                    add_eos=True):
        """Ids of every line of a UTF-8 text file: a list of 1-D int32 arrays.

        Raises:
          TextError: the file is missing or empty (no non-blank line), has
            non-UTF-8 bytes, or a line longer than `max_line_bytes`.
        """
        text_files.check_text_file(path, max_line_bytes)
        out, chunk = [], []
        for _, line in text_files.read_lines(path, max_line_bytes):
            chunk.append(line)
            if len(chunk) == _ENCODE_CHUNK:
                out += self.encode_lines(chunk, add_bos, add_eos)
                chunk = []
        return out + self.encode_lines(chunk, add_bos, add_eos)

    def decode(self, ids):
        """Text of one id sequence; pad, bos and eos are dropped, unk reads ` ⁇ `.

        Raises:
          TextError: an id is outside `[0, vocab_size)`.
        """
        return self.processor.decode(checked_ids(ids, self.vocab_size, self.path))


def checked_ids(ids, vocab_size, path):
    """`ids` (any int array) as a flat list of ints, each checked to be in
    `[0, vocab_size)`; else TextError naming the first bad id and `path`."""
    ids = [int(i) for i in np.asarray(ids).reshape(-1)]
    bad = [i for i in ids if not 0 <= i < vocab_size]
    if bad:
        raise TextError(f"decode: id {bad[0]} is outside [0, {vocab_size}), the "
                        f"vocabulary of {path}; were the ids made by it?")
    return ids


def load_model(path):
    """Loads and checks a `.model` file; returns a `SubwordModel`.

    Raises:
      TextError: missing file, not a SentencePiece model, or special ids other
        than unk 0, pad 1, bos 2, eos 3.
    """
    if not os.path.isfile(path):
        raise TextError(f"{path}: no such SentencePiece model file")
    with open(path, "rb") as f:
        return SubwordModel(f.read(), path)


def train_model(input_paths, model_prefix, vocab_size, model_type="unigram",
                character_coverage=0.99999, lower_case=False,
                max_line_bytes=DEFAULT_MAX_LINE_BYTES, sample_lines=0, seed=0,
                num_threads=None):
    """Trains a SentencePiece model on raw text; writes `<prefix>.model` and `.vocab`.

    Args:
      input_paths: UTF-8 text files (or one path), one sentence or document per
        line; blank lines are skipped.
      model_prefix: output path without extension; its folder must exist.
      vocab_size: number of pieces including the 4 special ones (MultiFiT: 15,000).
      model_type: "unigram" (SentencePiece's default, MultiFiT's) or "bpe".
      character_coverage: fraction of the characters the alphabet covers; the
        rarest characters beyond it become unk (fastai: 0.99999; use 0.9995
        for Chinese or Japanese).
      lower_case: False keeps casing; True lower-cases (Unicode case folding,
        SentencePiece's `nmt_nfkc_cf` rule), stored in the model so encoding,
        also in-graph, folds case too.
      max_line_bytes: longest line allowed, in UTF-8 bytes.
      sample_lines: train on this many lines sampled at random (0: all lines).
      seed: SentencePiece's random seed (sampling, unigram training).
      num_threads: training threads (default: the machine's CPU count).

    Returns:
      the trained `SubwordModel`.

    Raises:
      TextError: a bad input file (missing, empty, non-UTF-8, long line), or
        SentencePiece could not train (e.g. `vocab_size` too large for the text).
      ValueError: a bad argument.
    """
    if isinstance(input_paths, (str, os.PathLike)):
        input_paths = [input_paths]
    input_paths = [os.fspath(p) for p in input_paths]
    if not input_paths:
        raise ValueError("train_model: input_paths is empty; give at least one text file")
    if model_type not in MODEL_TYPES:
        raise ValueError(f"train_model: model_type must be one of {MODEL_TYPES}, "
                         f"got {model_type!r}")
    if not (isinstance(vocab_size, int) and vocab_size > len(SPECIAL_IDS)):
        raise ValueError(f"train_model: vocab_size must be an int > {len(SPECIAL_IDS)} "
                         f"(the special pieces), got {vocab_size!r}")
    if not 0.0 < character_coverage <= 1.0:
        raise ValueError(f"train_model: character_coverage must be in (0, 1], got "
                         f"{character_coverage!r}")
    folder = os.path.dirname(os.fspath(model_prefix)) or "."
    if not os.path.isdir(folder):
        raise ValueError(f"train_model: the folder of model_prefix={model_prefix!r} does "
                         f"not exist; create it first")
    for path in input_paths:
        text_files.check_text_file(path, max_line_bytes)

    def nonblank_lines():
        for path in input_paths:
            for _, line in text_files.read_lines(path, max_line_bytes):
                if line.strip():
                    yield line

    model = io.BytesIO()
    spm.set_random_generator_seed(seed)
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=nonblank_lines(), model_writer=model,
            vocab_size=vocab_size, model_type=model_type,
            character_coverage=character_coverage,
            normalization_rule_name="nmt_nfkc_cf" if lower_case else "nmt_nfkc",
            unk_id=UNK_ID, pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID,
            max_sentence_length=max_line_bytes, input_sentence_size=sample_lines,
            shuffle_input_sentence=True, num_threads=num_threads or os.cpu_count() or 1,
            minloglevel=2)
    except RuntimeError as e:
        raise TextError(f"SentencePiece could not train on {', '.join(input_paths)}: "
                        f"{e}") from None
    trained = SubwordModel(model.getvalue(), f"{model_prefix}.model")
    vocab = "".join(f"{trained.processor.id_to_piece(i)}\t{trained.processor.get_score(i):g}\n"
                    for i in range(trained.vocab_size))
    text_files.write_files({f"{model_prefix}.model": trained.proto,
                            f"{model_prefix}.vocab": vocab.encode("utf-8")})
    return trained


def save_ids(path, id_arrays):
    """Writes encoded lines to an `.npz` atomically: `ids` (all lines one after
    another, int32) and `offsets` (int64, `len(id_arrays) + 1`; line `i` is
    `ids[offsets[i]:offsets[i + 1]]`)."""
    lengths = np.array([len(a) for a in id_arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = (np.concatenate(id_arrays).astype(np.int32) if id_arrays
           else np.zeros([0], np.int32))
    with text_files.atomic_write(path, "wb") as f:
        np.savez(f, ids=ids, offsets=offsets)


def load_ids(path):
    """The list of int32 arrays written by `save_ids`."""
    with np.load(path) as data:
        ids, offsets = data["ids"], data["offsets"]
    return [ids[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
