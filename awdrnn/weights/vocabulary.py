"""The vocabulary of an imported model: its words in id order, checked against the embedding.

    from awdrnn.weights import vocabulary
    words, what = vocabulary.read_words("models/itos.pkl")    # fastai's itos list

`read_words` takes

* a pickle of a list of strings: fastai's `itos` (`pickle.dump(data.vocab.itos, f)`
  in v1, `dls.vocab` in v2, the pretrained models' `itos_wt103.pkl`), a
  fastcore `L` of them, or a salesforce corpus cache `corpus.<md5>.data`
  (`torch.save` of its `data.Corpus`: `dictionary.idx2word`), all read by the
  restricted unpickler of `torch_pickle`;
* a corpus folder (`train.txt`, `valid.txt`, `test.txt`): the words in order
  of first use with `<eos>` after each line, which is how salesforce's
  `data.Corpus` (and `awdrnn.data.corpus.Corpus`) number them;
* a text file, one word per line (awdrnn's `vocab.txt`).

A SentencePiece model (`spm_model`) gives its pieces instead (or must agree
with the list given). fastai pads its vocabularies to a multiple of 8 with
repeats of `xxfake`; since awdrnn's `Vocabulary` maps each word to one id,
the repeats after the first are renamed `xxfake_<id>` (rows no tokenizer
produces) and the import says so; any other repeated word is an error.
"""

import os

from awdrnn.data import corpus
from awdrnn.weights import torch_pickle
from awdrnn.weights.errors import VocabularyMismatch
from awdrnn.weights.torch_pickle import StoredObject

FASTAI_PAD_WORD = "xxfake"


def _words_of(obj):
    if isinstance(obj, StoredObject):
        if obj.class_name == "fastcore.foundation.L":
            return _words_of(obj.get("items"))
        if obj.class_name == "data.Corpus":
            return _words_of(obj.get("dictionary"))
        if obj.class_name == "data.Dictionary":
            return _words_of(obj.get("idx2word"))
    if isinstance(obj, (list, tuple)) and all(isinstance(w, str) for w in obj):
        return list(obj)
    return None


def read_words(path):
    """`(words, description)` of the vocabulary at `path` (see the module docstring).

    Raises:
      VocabularyMismatch: not a vocabulary, or an empty one.
      ForbiddenPickle: a pickle naming a class or function not allowed.
    """
    if os.path.isdir(path):
        try:
            words = corpus.Corpus(path).vocab.words
        except corpus.CorpusError as e:
            raise VocabularyMismatch(f"vocabulary folder {path}: {e}") from None
        what = (f"the corpus folder {path} (words in order of first use, as salesforce's "
                "data.Corpus)")
    elif not os.path.isfile(path):
        raise VocabularyMismatch(f"vocabulary {path} does not exist.")
    elif torch_pickle.file_format(path) in ("torch zip", "torch legacy", "pickle"):
        if torch_pickle.file_format(path) == "pickle":
            obj, what = torch_pickle.load_pickle(path), f"the pickle {path}"
        else:
            obj, what = torch_pickle.load(path), f"the torch.save file {path}"
        words = _words_of(obj)
        if words is None:
            raise VocabularyMismatch(
                f"{path} holds a {type(obj).__name__}, not a vocabulary: give fastai's itos "
                "list (a pickled list of strings), a salesforce corpus cache, a corpus folder "
                "or a text file of one word per line.")
    else:
        try:
            with open(path, encoding="utf-8") as f:
                words = [line.rstrip("\n") for line in f]
        except UnicodeDecodeError:
            raise VocabularyMismatch(f"vocabulary {path} is neither a pickle nor UTF-8 "
                                     "text.") from None
        what = f"the text file {path} (one word per line)"
    if not words:
        raise VocabularyMismatch(f"vocabulary {path} is empty.")
    return words, what


def unique_words(words):
    """`(words, renamed)`: `words` with fastai's repeated `xxfake` padding renamed
    `xxfake_<id>`; `renamed` counts them.

    Raises:
      VocabularyMismatch: another word appears twice, or a word holds a line break.
    """
    seen, out, renamed = {}, [], 0
    for i, word in enumerate(words):
        if "\n" in word or "\r" in word:
            raise VocabularyMismatch(f"word {i} ({word!r}) holds a line break, which a "
                                     "one-word-per-line vocabulary cannot store.")
        if word in seen:
            if word != FASTAI_PAD_WORD:
                raise VocabularyMismatch(
                    f"the word {word!r} is at ids {seen[word]} and {i}; awdrnn's vocabulary "
                    "maps each word to one id.")
            word, renamed = f"{FASTAI_PAD_WORD}_{i}", renamed + 1
            if word in seen or word in words:
                raise VocabularyMismatch(f"cannot rename the repeated {FASTAI_PAD_WORD!r} at id "
                                         f"{i}: {word!r} is a word of the vocabulary too.")
        seen[word] = i
        out.append(word)
    return out, renamed


def check_size(words, rows, vocab_what, weights_what):
    """Raises VocabularyMismatch unless there are `rows` words."""
    if len(words) != rows:
        raise VocabularyMismatch(
            f"{vocab_what} has {len(words)} entries but the embedding of {weights_what} has "
            f"{rows} rows; give the vocabulary the model was trained with (fastai: the itos "
            "list saved with it, data.vocab.itos / dls.vocab; salesforce: its corpus).")

