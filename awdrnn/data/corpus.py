"""Word-level corpora in the PTB / WikiText layout, and batching into streams.

A corpus folder holds `train.txt`, `valid.txt` and `test.txt`: one sentence
per line, tokens separated by whitespace. Every line gets an `<eos>` token
appended (blank lines included, as in the salesforce `data.py`), and the
vocabulary is built from the three files in that order, so the PTB and
WikiText-2 vocabularies have their usual sizes (10,000 and 33,278).

    from awdrnn.data import corpus
    c = corpus.Corpus("../shared/data/ptb")
    streams = corpus.batchify(c.train, batch_size=20)   # [20, 46479] int32
    c.vocab.save("runs/x/vocab.txt")

`batchify` cuts the id sequence into `batch_size` contiguous streams, one per
row (batch-major, the layout `awdrnn.locked_dropout` and `dynamic_rnn` take):
stream `b` is `ids[b * n : (b + 1) * n]` with `n = len(ids) // batch_size`; the
remainder is dropped. Segments `streams[:, i:i + seq_len]` then continue each
row's text from one segment to the next, which is what lets a language model
carry its hidden state across segments.
"""

import os

import numpy as np

EOS = "<eos>"
UNK = "<unk>"
SPLITS = ("train", "valid", "test")


class CorpusError(ValueError):
    """A corpus or vocabulary problem the user can fix (bad path, empty file...)."""


class Vocabulary:
    """A bijection between words and ids `0 .. len - 1`, in order of first use."""

    def __init__(self, words=()):
        self.words = []
        self.index = {}
        for word in words:
            self.add(word)

    def add(self, word):
        """Adds `word` if new; returns its id."""
        idx = self.index.get(word)
        if idx is None:
            idx = self.index[word] = len(self.words)
            self.words.append(word)
        return idx

    def __len__(self):
        return len(self.words)

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.words == other.words

    def encode(self, tokens, path="<tokens>"):
        """Ids of `tokens`; unknown words map to `<unk>` if the vocabulary has it.

        Raises:
          CorpusError: a word is unknown and there is no `<unk>`.
        """
        unk = self.index.get(UNK)
        ids = np.empty(len(tokens), dtype=np.int32)
        for n, word in enumerate(tokens):
            idx = self.index.get(word, unk)
            if idx is None:
                raise CorpusError(
                    f"{path}: word {word!r} (token {n}) is not in the vocabulary of "
                    f"{len(self)} words, which has no {UNK} to map it to.")
            ids[n] = idx
        return ids

    def decode(self, ids):
        return [self.words[int(i)] for i in ids]

    def save(self, path):
        """Writes one word per line (atomically: temp file, then rename)."""
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("".join(f"{w}\n" for w in self.words))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        if not os.path.isfile(path):
            raise CorpusError(f"vocabulary file {path!r} does not exist.")
        with open(path, encoding="utf-8") as f:
            return cls(line.rstrip("\n") for line in f)


def read_tokens(path):
    """Tokens of a text file: whitespace-split words, `<eos>` after every line.

    Raises:
      CorpusError: the file is missing or has no tokens.
    """
    if not os.path.isfile(path):
        raise CorpusError(f"data file {path!r} does not exist.")
    tokens = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            tokens.extend(line.split())
            tokens.append(EOS)
    if all(t == EOS for t in tokens):
        raise CorpusError(f"data file {path!r} is empty (no words).")
    return tokens


class Corpus:
    """The three splits of a corpus folder as int32 id arrays, and its vocabulary.

    Args:
      path: folder with `train.txt`, `valid.txt`, `test.txt`.
      vocab: optional fixed `Vocabulary` (e.g. the one saved with a model);
        words outside it map to `<unk>`. By default the vocabulary is built
        from the three files.

    Attributes:
      vocab, train, valid, test: the vocabulary and `[num_tokens]` id arrays.
    """

    def __init__(self, path, vocab=None):
        if not os.path.isdir(path):
            raise CorpusError(
                f"data folder {path!r} does not exist (expected a folder with "
                "train.txt, valid.txt and test.txt).")
        self.path = path
        tokens = {split: read_tokens(os.path.join(path, f"{split}.txt")) for split in SPLITS}
        if vocab is None:
            vocab = Vocabulary()
            for split in SPLITS:
                for word in tokens[split]:
                    vocab.add(word)
        self.vocab = vocab
        for split in SPLITS:
            setattr(self, split, vocab.encode(tokens[split], os.path.join(path, f"{split}.txt")))


def batchify(ids, batch_size):
    """Cuts `ids` into `batch_size` contiguous streams.

    Args:
      ids: `[num_tokens]` ids.
      batch_size: number of streams (rows).

    Returns:
      `[batch_size, num_tokens // batch_size]` array; row `b` is
      `ids[b * n:(b + 1) * n]`. Trailing tokens that do not fill a row are dropped.

    Raises:
      CorpusError: fewer than 2 tokens per stream (no input/target pair).
    """
    ids = np.asarray(ids)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise CorpusError(f"batch_size must be a positive int, got {batch_size!r}.")
    n = len(ids) // batch_size
    if n < 2:
        raise CorpusError(
            f"batch_size={batch_size} is too large for {len(ids)} tokens: each stream "
            "needs at least 2 tokens (an input and its target).")
    return ids[:n * batch_size].reshape(batch_size, n)
