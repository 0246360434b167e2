"""Subword corpora (awdrnn/text/subword_corpus.py) and per-word perplexity
(awdrnn/lm/word_perplexity.py).

Streams are checked against `sentencepiece` called directly; word counts
against counts made by hand on a tiny file; per-word perplexity against
NumPy: the log-softmax of the graph's logits at the targets, summed, over
the hand-counted words.
"""

import math
import os

import numpy as np
import pytest
import sentencepiece as spm

from awdrnn.data import corpus
from awdrnn.lm import graph as lm_graph, model as lm_model, word_perplexity
from awdrnn.text import subword_corpus, subwords
from awdrnn.text.text_files import TextError
from text_samples import generated_lines, write_lines
from tf_session import new_session

# Hand count: 4 + 1, 2 + 1, 0 + 1 (a blank line is one line end), 5 + 1 = 15 words.
TINY = ["the cat sat down", "a dog", "", "the dog , the cat"]
TINY_WORDS = 15


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("subword_corpus")
    write_lines(root / "train.txt", generated_lines(2000, seed=3) + TINY)
    write_lines(root / "valid.txt", TINY)
    write_lines(root / "test.txt", TINY + TINY)
    subwords.train_model([str(root / "train.txt")], str(root / "sp"), vocab_size=120)
    return root


@pytest.fixture(scope="module")
def data(folder):
    return subword_corpus.SubwordCorpus(str(folder), str(folder / "sp.model"))


def test_streams_are_bos_pieces_eos_per_line_as_sentencepiece(folder, data):
    sp = spm.SentencePieceProcessor(model_file=str(folder / "sp.model"))
    expected = np.concatenate([[2] + sp.encode(line) + [3] for line in TINY])
    np.testing.assert_array_equal(data.valid, expected)
    assert data.valid.dtype == np.int32
    assert len(data.test) == 2 * len(expected)
    assert len(data.vocab) == 120 and data.vocab.words[:4] == ["<unk>", "<pad>", "<s>", "</s>"]


def test_word_counts_by_hand(data):
    assert data.words["valid"] == TINY_WORDS and data.words["test"] == 2 * TINY_WORDS
    # Every word starts exactly one piece: the marks count the same words.
    assert int(data.vocab.word_starts[data.valid].sum()) == TINY_WORDS
    assert data.vocab.word_starts[subwords.EOS_ID]
    assert not data.vocab.word_starts[subwords.BOS_ID]


def test_vocabulary_saves_and_reads_back(data, tmp_path):
    data.vocab.save(str(tmp_path / "vocab.txt"))
    assert corpus.Vocabulary.load(str(tmp_path / "vocab.txt")) == data.vocab
    again = subword_corpus.load_run_vocabulary(str(tmp_path))
    assert isinstance(again, subword_corpus.SubwordVocabulary) and again == data.vocab
    assert again.decode_lines(data.valid) == "\n".join(TINY) + "\n"


def test_scored_counts_follow_batchify(data):
    ids = np.array([2, 5, 6, 3, 2, 7, 3, 2, 9])
    starts = np.zeros(10, bool)
    starts[[3, 5, 7]] = True
    assert word_perplexity.scored_counts(ids, 1, starts) == (8, 4)
    # Two streams [2 5 6 3] [2 7 3 2]: targets 5 6 3 | 7 3 2; the trailing 9 dropped.
    assert word_perplexity.scored_counts(ids, 2, starts) == (6, 4)
    assert word_perplexity.scored_counts(ids, 2) == (6, 6)  # word-level: all tokens


def test_word_perplexity_against_numpy(data):
    config = lm_model.LMConfig(vocab_size=len(data.vocab), emsize=8, nhid=8, nlayers=1)
    g = lm_graph.LMGraph(config, graph_seed=1)
    ids = data.valid
    with new_session(g.graph) as sess:
        sess.run(g.init)
        mean = lm_graph.evaluate(sess, g, ids, batch_size=1, bptt_len=len(ids))
        logits = sess.run(g.out.logits, g.feed(ids[None, :-1], g.model.zero_state(1)))[0]
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    total = -logp[np.arange(len(ids) - 1), ids[1:]].sum()  # the first bos is not scored
    expected = math.exp(total / TINY_WORDS)
    got = word_perplexity.word_perplexity(mean, ids, 1, data.vocab.word_starts)
    assert got == pytest.approx(expected, rel=1e-4)
    assert got > math.exp(mean)  # more tokens than words


def test_bad_model_and_files(folder, tmp_path):
    prefix = str(tmp_path / "default_ids")
    spm.SentencePieceTrainer.train(input=str(folder / "train.txt"), model_prefix=prefix,
                                   vocab_size=150, minloglevel=2)
    with pytest.raises(TextError, match="special ids are unk 0, pad -1, bos 1, eos 2"):
        subword_corpus.SubwordCorpus(str(folder), prefix + ".model")
    bad = tmp_path / "bad"
    bad.mkdir()
    for split in ("train", "valid"):
        write_lines(bad / f"{split}.txt", TINY)
    (bad / "test.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(TextError, match=r"test.txt, line 1: not UTF-8"):
        subword_corpus.SubwordCorpus(str(bad), str(folder / "sp.model"))
    with pytest.raises(corpus.CorpusError, match="does not exist"):
        subword_corpus.SubwordCorpus(str(tmp_path / "nope"), str(folder / "sp.model"))


@pytest.mark.parametrize("backward", [False, True])
def test_sample_text_decodes_pieces_around_the_prime(data, backward):
    from awdrnn.lm import generation
    g = lm_graph.LMGraph(lm_model.LMConfig(vocab_size=len(data.vocab), emsize=4, nhid=4,
                                           nlayers=1), graph_seed=2, batch_size=1)
    fed, feed = [], g.feed
    g.feed = lambda x, state, y=None, training=False: fed.append(x) or feed(x, state, y, training)
    prime = "the dog sat"
    pieces = data.vocab.model.encode_lines([prime], add_bos=False, add_eos=False)[0].tolist()
    with new_session(g.graph) as sess:
        sess.run(g.init)
        text = generation.sample_text(sess, g, data.vocab, 8, seed=1, prime=prime,
                                      backward=backward)
    if backward:  # the prime ends a line: fed as eos and its pieces reversed
        assert fed[0][0].tolist() == [subwords.EOS_ID] + pieces[::-1]
        assert text.endswith(prime + "\n"), text
    else:  # the prime starts a line: bos then its pieces
        assert fed[0][0].tolist() == [subwords.BOS_ID] + pieces
        assert text.startswith(prime), text
