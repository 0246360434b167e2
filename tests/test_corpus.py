"""Tests of awdrnn.data.corpus: tokenisation, vocabulary, batching layout, errors."""

import os

import numpy as np
import pytest

from awdrnn.data import corpus

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def _write(folder, **splits):
    os.makedirs(folder, exist_ok=True)
    for name, text in splits.items():
        with open(os.path.join(folder, f"{name}.txt"), "w", encoding="utf-8") as f:
            f.write(text)
    return str(folder)


def test_read_tokens_appends_eos_to_every_line(tmp_path):
    path = _write(tmp_path, train=" a  b\n\nc\n")
    assert corpus.read_tokens(os.path.join(path, "train.txt")) == [
        "a", "b", "<eos>", "<eos>", "c", "<eos>"]


def test_corpus_vocabulary_from_the_three_files_in_order(tmp_path):
    path = _write(tmp_path, train="a b a\n", valid="c a\n", test="d\n")
    c = corpus.Corpus(path)
    assert c.vocab.words == ["a", "b", "<eos>", "c", "d"]
    np.testing.assert_array_equal(c.train, [0, 1, 0, 2])
    np.testing.assert_array_equal(c.valid, [3, 0, 2])
    np.testing.assert_array_equal(c.test, [4, 2])
    assert c.train.dtype == np.int32
    assert c.vocab.decode(c.valid) == ["c", "a", "<eos>"]


def test_fixed_vocabulary_maps_unknown_words_to_unk(tmp_path):
    path = _write(tmp_path, train="a <unk>\n", valid="zzz a\n", test="a\n")
    vocab = corpus.Vocabulary(["a", "<unk>", "<eos>"])
    c = corpus.Corpus(path, vocab=vocab)
    np.testing.assert_array_equal(c.valid, [1, 0, 2])


def test_unknown_word_without_unk_is_an_error():
    with pytest.raises(corpus.CorpusError, match="'zzz' .* not in the vocabulary"):
        corpus.Vocabulary(["a"]).encode(["a", "zzz"])


def test_vocabulary_save_load_round_trip(tmp_path):
    vocab = corpus.Vocabulary(["x", "<eos>", "y z"[0], "é"])
    path = str(tmp_path / "vocab.txt")
    vocab.save(path)
    assert corpus.Vocabulary.load(path) == vocab
    assert not os.path.exists(path + ".tmp")


def test_batchify_layout_is_contiguous_streams():
    ids = np.arange(23)
    streams = corpus.batchify(ids, 4)
    assert streams.shape == (4, 5)
    for b in range(4):  # row b continues the text of ids[5b:5b+5]; 3 trailing ids dropped
        np.testing.assert_array_equal(streams[b], ids[5 * b:5 * b + 5])


@pytest.mark.parametrize("bad", [0, -1, 2.0])
def test_batchify_rejects_bad_batch_size(bad):
    with pytest.raises(corpus.CorpusError, match="batch_size must be a positive int"):
        corpus.batchify(np.arange(10), bad)


def test_batchify_too_large_batch():
    with pytest.raises(corpus.CorpusError, match="batch_size=6 is too large for 10 tokens"):
        corpus.batchify(np.arange(10), 6)


def test_missing_folder(tmp_path):
    with pytest.raises(corpus.CorpusError, match="data folder .* does not exist"):
        corpus.Corpus(str(tmp_path / "nope"))


def test_missing_file(tmp_path):
    path = _write(tmp_path, train="a\n", valid="a\n")
    with pytest.raises(corpus.CorpusError, match="test.txt' does not exist"):
        corpus.Corpus(path)


def test_empty_file(tmp_path):
    path = _write(tmp_path, train="a\n", valid="\n\n", test="a\n")
    with pytest.raises(corpus.CorpusError, match="valid.txt' is empty"):
        corpus.Corpus(path)


@pytest.mark.needs_data
@pytest.mark.parametrize("name,vocab_size,train_tokens", [("ptb", 10000, 929589),
                                                          ("wikitext-2", 33278, 2088628)])
def test_real_corpora_have_the_usual_sizes(name, vocab_size, train_tokens):
    path = os.path.join(DATA, name)
    if not os.path.isdir(path):
        pytest.skip(f"{path} not present (real corpora live in ../shared/data)")
    c = corpus.Corpus(path)
    assert len(c.vocab) == vocab_size
    assert len(c.train) == train_tokens
