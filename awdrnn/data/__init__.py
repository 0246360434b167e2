"""Word-level corpora and batching: corpora in the PTB / WikiText layout, their
vocabulary and `batchify` into streams (`corpus`), variable-length BPTT
segments (`bptt`), and a generated corpus with a known entropy floor for demos
and tests (`synthetic_corpus`). Raw text and subwords are in `awdrnn.text`.
See doc/language_model.md."""

from awdrnn.data import bptt
from awdrnn.data import corpus
from awdrnn.data import synthetic_corpus
from awdrnn.data.corpus import Corpus

__all__ = ["Corpus", "bptt", "corpus", "synthetic_corpus"]
