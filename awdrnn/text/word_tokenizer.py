"""Word-level tokenization for task heads and serving: a fastai-style vocabulary.

A word-level language model (fastai's ULMFiT models, e.g. the pretrained
WikiText-103 AWD_LSTM, imported with `awdrnn.weights`) reads text that is
already split into words, through a vocabulary whose first four entries are
fastai's special tokens:

    id 0 xxunk   (awdrnn's UNK_ID)     id 2 xxbos   (BOS_ID)
    id 1 xxpad   (PAD_ID)              id 3 xxeos   (EOS_ID)

the same ids as awdrnn's SentencePiece models (`awdrnn.text.subwords`), so a
`WordTokenizer` stands in for a `SubwordModel` wherever a task or a
SavedModel tokenizes text: a line becomes `[2] + ids of line.split() + [3]`,
a word missing from the vocabulary becomes 0, and a leading `xxbos` (which
fastai's tokenizer writes) or final `xxeos` word is dropped, as bos and eos
are added.

    from awdrnn.text import word_tokenizer
    words = word_tokenizer.WordTokenizer(["xxunk", "xxpad", "xxbos", "xxeos", "the", "cat"])
    print(words.encode_lines(["the cat sat"])[0].tolist())          # [2, 4, 5, 0, 3]
    print(words.encode_lines(["xxbos the cat"])[0].tolist())        # [2, 4, 5, 3]

The text must be split as the model's training text was: fastai's tokenizer
(spaCy words, lower case with `xxmaj` before a capitalised word, `xxup`
before an upper-case one, ...) runs before this, in Python; `split()` here
only cuts at whitespace (`str.split()`'s characters, in and out of the graph).
`graph_tokenizer()` gives the in-graph twin (a `tf.lookup.StaticHashTable`,
initialised by `tf.compat.v1.tables_initializer()`), with the ids of
`encode_lines`.
"""

import sys

import numpy as np
import tensorflow as tf

from awdrnn.text.subwords import BOS_ID, EOS_ID, PAD_ID, SPECIAL_IDS, UNK_ID, checked_ids
from awdrnn.text.text_files import TextError

# fastai's special tokens at awdrnn's special ids (fastai v1 and v2 both start
# their vocabularies with xxunk, xxpad, xxbos, xxeos).
SPECIAL_WORDS = {UNK_ID: "xxunk", PAD_ID: "xxpad", BOS_ID: "xxbos", EOS_ID: "xxeos"}
assert sorted(SPECIAL_WORDS) == sorted(SPECIAL_IDS.values())


def python_whitespace():
    """An RE2 character class of the characters `str.split()` splits at."""
    chars = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def check_special_words(words, where):
    """Raises TextError unless `words[0:4]` are xxunk, xxpad, xxbos, xxeos."""
    have = list(words[:len(SPECIAL_WORDS)])
    want = [SPECIAL_WORDS[i] for i in range(len(SPECIAL_WORDS))]
    if have != want:
        raise TextError(
            f"{where}: the vocabulary starts {have}, not fastai's special tokens {want}: "
            f"task heads and SavedModels need unk 0, pad 1, bos 2, eos 3. A word-level "
            f"model imported from fastai has them; for a model of another layout use a "
            f"SentencePiece model (awdrnn.text.subwords).")


class WordTokenizer:
    """Whitespace-split words to ids through a vocabulary with fastai's special tokens.

    Args:
      words: the vocabulary, in id order (`words[i]` has id `i`).
      path: where it came from (for messages).

    Attributes:
      path, words, vocab_size; `processor` is the tokenizer itself (the
      `encode(words)` that `awdrnn.tasks.tagging.word_pieces` calls).

    Raises (constructor):
      TextError: the first four words are not xxunk, xxpad, xxbos, xxeos, or
        a word is given twice.
    """

    def __init__(self, words, path="<vocabulary>"):
        self.path = path
        self.words = [str(w) for w in words]
        check_special_words(self.words, path)
        self.index = {}
        for i, word in enumerate(self.words):
            if word in self.index:
                raise TextError(f"{path}: word {word!r} is at ids {self.index[word]} and {i}; "
                                f"a vocabulary gives each word one id")
            self.index[word] = i
        self.vocab_size = len(self.words)
        self.processor = self

    @classmethod
    def load(cls, path):
        """The tokenizer of a vocabulary file (one word per line, id order:
        `awdrnn.data.corpus.Vocabulary.save`, an encoder folder's vocab.txt)."""
        try:
            with open(path, encoding="utf-8") as f:
                words = [line.rstrip("\n") for line in f]
        except FileNotFoundError:
            raise TextError(f"{path}: no such vocabulary file") from None
        except UnicodeDecodeError as e:
            raise TextError(f"{path}: not UTF-8 text ({e}); give the vocabulary file of a "
                            f"word-level encoder (vocab.txt)") from None
        return cls(words, path)

    def _ids(self, text):
        """Ids of the words of `text`, without a leading xxbos and a final xxeos."""
        words = text.split()
        if words[:1] == [SPECIAL_WORDS[BOS_ID]]:
            words = words[1:]
        if words[-1:] == [SPECIAL_WORDS[EOS_ID]]:
            words = words[:-1]
        return [self.index.get(word, UNK_ID) for word in words]

    def encode_lines(self, lines, add_bos=True, add_eos=True):
        """Ids of each string: `[BOS_ID] + ids of line.split() + [EOS_ID]`, int32 arrays.

        A leading `xxbos` and a final `xxeos` word (fastai's tokenizer writes
        `xxbos` first) are dropped, since bos and eos are added here."""
        head, tail = [BOS_ID] * add_bos, [EOS_ID] * add_eos
        return [np.asarray(head + self._ids(line) + tail, np.int32) for line in lines]

    def encode(self, words):
        """`[[id], ...]`: each word's id, as `SentencePieceProcessor.encode(list)`
        gives each string's pieces (a word with whitespace inside gives its parts;
        `xxbos` alone gives none)."""
        return [self._ids(word) for word in words]

    def decode(self, ids):
        """The words of `ids` joined by spaces; pad, bos and eos are dropped.

        Raises:
          TextError: an id is outside `[0, vocab_size)`.
        """
        ids = checked_ids(ids, self.vocab_size, self.path)
        return " ".join(self.words[i] for i in ids if i not in (PAD_ID, BOS_ID, EOS_ID))

    def graph_tokenizer(self, name="word_tokenizer"):
        """The in-graph tokenizer (ops in the current default graph): see
        `GraphWordTokenizer`."""
        return GraphWordTokenizer(self, name)


class GraphWordTokenizer:
    """`tokenize(strings)`: string `[n]` -> ragged int32 `[n, (words)]`, no bos/eos.

    The words are split where `str.split()` splits and looked up in a
    `tf.lookup.StaticHashTable` holding the vocabulary (unknown words: 0).
    The table is initialised by `tf.compat.v1.tables_initializer()` (a
    SavedModel's main op runs it).
    """

    def __init__(self, tokenizer, name="word_tokenizer"):
        self._whitespace = python_whitespace()
        with tf.name_scope(name):
            keys = tf.constant(tokenizer.words, tf.string)
            values = tf.range(tokenizer.vocab_size, dtype=tf.int32)
            self.table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(keys, values), default_value=UNK_ID)

    def tokenize(self, strings):
        spaced = tf.strings.regex_replace(strings, self._whitespace, " ")
        # As WordTokenizer._ids: no leading xxbos, no final xxeos (each a whole
        # word), cut from the string before it is split (RE2: `^` and `$` match
        # once, at the ends of the string).
        spaced = tf.strings.regex_replace(spaced, f"^ *{SPECIAL_WORDS[BOS_ID]}( |$)", " ")
        spaced = tf.strings.regex_replace(spaced, f"(^| ){SPECIAL_WORDS[EOS_ID]} *$", " ")
        words = tf.strings.split(spaced)
        return words.with_flat_values(self.table.lookup(words.flat_values))
