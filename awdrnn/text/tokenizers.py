"""The two kinds of tokenizer a task head or a SavedModel reads text with.

A subword encoder tokenizes with its SentencePiece model
(`awdrnn.text.subwords.SubwordModel`, file `spm.model`); a word-level one
(a fastai ULMFiT model imported by `awdrnn.weights`) with its vocabulary
(`awdrnn.text.word_tokenizer.WordTokenizer`, file `words.txt` in a task run
folder, `vocab.txt` in an encoder folder). Both give `bos ids eos` with
unk 0, pad 1, bos 2, eos 3, and both have an in-graph twin:

    from awdrnn.text import tokenizers
    tokenizer = tokenizers.load("runs/sst2_clas/spm.model")    # or .../words.txt
    ids = tokenizer.encode_lines(["a fine film"])               # [[2, ..., 3]]
    # in a graph: tokenizers.in_graph(tokenizer).tokenize(strings) -> ragged ids
"""

import os

from awdrnn.text import graph_tokenizer, subwords, word_tokenizer

# The file a tokenizer is stored under in a task run folder, by kind.
FILE_NAMES = {"subword": "spm.model", "word": "words.txt"}


def kind_of_file(path):
    """"subword" for a SentencePiece `.model` file, "word" for a vocabulary."""
    return "subword" if path.endswith(".model") else "word"


def load(path):
    """The tokenizer stored at `path`: a SentencePiece `.model`, else a vocabulary
    file (one word per line, fastai's special tokens first).

    Raises:
      TextError: a missing or bad file, or special ids other than unk 0,
        pad 1, bos 2, eos 3.
    """
    if kind_of_file(path) == "subword":
        return subwords.load_model(path)
    return word_tokenizer.WordTokenizer.load(path)


def folder_file(folder):
    """The tokenizer file of a task run folder (`spm.model` or `words.txt`).

    Raises:
      FileNotFoundError: the folder has neither.
    """
    for name in FILE_NAMES.values():
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"{folder!r} has no tokenizer ({' or '.join(FILE_NAMES.values())})"
                            "; is it the run folder of a task script?")


def in_graph(tokenizer, name=None):
    """The in-graph tokenizer of `tokenizer` (its ops in the current default graph):
    `tokenize(strings [n]) -> ragged int32 [n, (ids)]`, without bos/eos."""
    if isinstance(tokenizer, word_tokenizer.WordTokenizer):
        return tokenizer.graph_tokenizer(name or "word_tokenizer")
    return graph_tokenizer.sentencepiece_tokenizer(tokenizer, add_bos=False, add_eos=False,
                                                   name=name or "sentencepiece")
