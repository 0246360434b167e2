"""awdrnn.text.word_tokenizer: a fastai-style word vocabulary as a task / serving tokenizer.

The expected ids are written out by hand from the vocabulary below (str.split()
words, unknown -> 0, bos 2 ... eos 3); the in-graph tokenizer must give the
Python ids on strings with Unicode whitespace and fastai's own xxbos / xxeos.

Broken on purpose to see these fail (then restored): no xxbos stripping in the
graph, the special words checked in another order, the graph split at ASCII
spaces only (`tf.strings.split` without the whitespace class), unknown words
mapped to pad (1) instead of unk, the graph's xxbos / xxeos strip not held to
whole words (`( |$)` and `(^| )` dropped) or to the start of the string (`^`
dropped).
"""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm import encoder_io
from awdrnn.text import tokenizers, word_tokenizer
from awdrnn.text.text_files import TextError

VOCAB = ["xxunk", "xxpad", "xxbos", "xxeos", "xxmaj", "the", "cat", "sat", "."]
# (text, ids by hand: bos, the words' ids (unknown 0), eos)
CASES = [("the cat sat .", [2, 5, 6, 7, 8, 3]),
         ("xxbos xxmaj the dog sat", [2, 4, 5, 0, 7, 3]),       # fastai's xxbos not doubled
         ("the\u00a0cat\u3000sat\t.", [2, 5, 6, 7, 8, 3]),       # no-break, ideographic space
         ("cat xxeos", [2, 6, 3]),
         ("xxeos cat", [2, 3, 6, 3]),                           # only a final xxeos is dropped
         ("the xxbos", [2, 5, 2, 3]),                           # only a leading xxbos
         ("", [2, 3]), ("xxbos", [2, 3]), ("  ", [2, 3]),
         ("xxbos xxeos", [2, 3]), ("xxeos", [2, 3]), ("xxeos xxeos", [2, 3, 3]),
         ("xxbos xxbos cat", [2, 2, 6, 3]),                     # one leading xxbos only
         ("xxboscat sat catxxeos", [2, 0, 7, 0, 3]),             # whole words only
         ("\u00a0xxbos\u3000cat xxeos\t", [2, 6, 3])]


@pytest.fixture(scope="module")
def words():
    return word_tokenizer.WordTokenizer(VOCAB)


def test_python_ids_are_the_vocabulary_lookup(words):
    got = words.encode_lines([text for text, _ in CASES])
    assert [g.tolist() for g in got] == [ids for _, ids in CASES]
    assert words.encode_lines(["the cat"], add_bos=False, add_eos=False)[0].tolist() == [5, 6]
    assert words.encode(["the", "dog", "xxbos"]) == [[5], [0], []]
    assert words.decode([2, 4, 5, 6, 3, 1, 1]) == "xxmaj the cat"


def test_graph_ids_equal_the_python_ids(words):
    with tf.Graph().as_default():
        text = tf.compat.v1.placeholder(tf.string, [None])
        ragged = tokenizers.in_graph(words).tokenize(text)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.tables_initializer())
            got = sess.run(ragged, {text: [t for t, _ in CASES]}).to_list()
    assert got == [ids[1:-1] for _, ids in CASES]


@pytest.mark.parametrize("vocab,fragment", [
    (["<unk>", "<eos>", "the"], "not fastai's special tokens"),
    (["xxunk", "xxbos", "xxpad", "xxeos", "the"], "not fastai's special tokens"),
    (VOCAB + ["cat"], "'cat' is at ids 6 and 9")])
def test_bad_vocabularies_are_refused(vocab, fragment):
    with pytest.raises(TextError, match=fragment):
        word_tokenizer.WordTokenizer(vocab, "v.txt")


def test_load_dispatches_on_the_file(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("".join(f"{w}\n" for w in VOCAB), encoding="utf-8")
    loaded = tokenizers.load(str(path))
    assert isinstance(loaded, word_tokenizer.WordTokenizer) and loaded.words == VOCAB
    assert tokenizers.folder_file(str(tmp_path)) == str(path)
    with pytest.raises(TextError, match="no such vocabulary file"):
        tokenizers.load(str(tmp_path / "missing.txt"))
    with pytest.raises(TextError, match="no such SentencePiece model"):
        tokenizers.load(str(tmp_path / "missing.model"))
    with pytest.raises(FileNotFoundError, match="has no tokenizer"):
        tokenizers.folder_file(str(tmp_path / "elsewhere"))


def _word_encoder(folder, vocab):
    config = encoder_io.lm_model.LMConfig(vocab_size=len(vocab), emsize=4, nhid=4, nlayers=1)
    tensors = {"embedding": np.zeros([len(vocab), 4], np.float32)}
    return encoder_io.write_encoder(str(folder), config, tensors,
                                    encoder_io.corpus.Vocabulary(vocab))


def test_a_word_level_encoder_reads_text_only_with_fastai_special_tokens(tmp_path):
    folder = _word_encoder(tmp_path / "fastai", VOCAB)
    assert encoder_io.load_encoder(folder).tokenizer_file() == str(
        tmp_path / "fastai" / "vocab.txt")
    ptb = _word_encoder(tmp_path / "ptb", ["<unk>", "<eos>", "the", "cat"])
    with pytest.raises(encoder_io.EncoderError, match="word-level encoder .*not fastai's "
                       "special tokens"):
        encoder_io.load_encoder(ptb).tokenizer_file()


def test_decode_refuses_ids_outside_the_vocabulary(words):
    with pytest.raises(TextError, match=r"id 9 is outside \[0, 9\)"):
        words.decode([2, 9, 3])
