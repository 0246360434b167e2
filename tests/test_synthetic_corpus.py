"""Tests of awdrnn.data.synthetic_corpus: exact entropy rate, sampling, files."""

import math
import os

import numpy as np
import pytest

from awdrnn.data import corpus, synthetic_corpus
from awdrnn.data.synthetic_corpus import Grammar


def test_entropy_rate_of_a_hand_computed_chain():
    # A: x (1/2) -> A, y (1/2) -> B;  B: z (1) -> A.  pi = (2/3, 1/3), H = 2/3 ln 2.
    g = Grammar({"A": [("x", 0.5, "A"), ("y", 0.5, "B")], "B": [("z", 1.0, "A")]}, "A")
    np.testing.assert_allclose(g.stationary(), [2 / 3, 1 / 3], atol=1e-12)
    assert g.entropy_rate() == pytest.approx(2 / 3 * math.log(2), abs=1e-12)


def test_stationary_distribution_of_the_english_grammar():
    g = synthetic_corpus.english_grammar()
    pi = g.stationary()
    assert pi.min() >= -1e-12 and pi.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(pi @ g.transition_matrix(), pi, atol=1e-12)


def test_sample_mean_log_loss_approaches_the_entropy_rate():
    g = synthetic_corpus.english_grammar()
    tokens = g.sample(100_000, np.random.RandomState(0))
    nll = -g.log_probs(tokens)
    # standard error ~ nll.std() / sqrt(1e5) ~ 0.005 nats
    assert abs(nll.mean() - g.entropy_rate()) < 0.03


def test_number_agreement_across_a_relative_clause():
    g = synthetic_corpus.english_grammar()
    g.log_probs("a cat that sees the dogs runs <eos>".split())
    with pytest.raises(ValueError, match=r"\('run'\) is impossible"):
        g.log_probs("a cat that sees the dogs run <eos>".split())


def test_grammar_must_be_deterministic_and_normalised():
    with pytest.raises(ValueError, match="emits a word twice"):
        Grammar({"A": [("x", 0.5, "A"), ("x", 0.5, "A")]}, "A")
    with pytest.raises(ValueError, match="sum to 0.9"):
        Grammar({"A": [("x", 0.9, "A")]}, "A")


def test_generate_corpus_is_deterministic_and_cached(tmp_path):
    kw = dict(train_tokens=3000, valid_tokens=500, test_tokens=500)
    a = synthetic_corpus.generate_corpus(str(tmp_path / "a"), seed=3, **kw)
    b = synthetic_corpus.generate_corpus(str(tmp_path / "b"), seed=3, **kw)
    synthetic_corpus.generate_corpus(str(tmp_path / "c"), seed=4, **kw)
    read = lambda d, s: open(os.path.join(tmp_path, d, f"{s}.txt")).read()  # noqa: E731
    for split in ("train", "valid", "test"):
        assert read("a", split) == read("b", split)
    assert read("a", "train") != read("c", "train")
    assert a["entropy_nats"] == b["entropy_nats"]
    assert a["perplexity_floor"] == pytest.approx(math.exp(a["entropy_nats"]))
    mtime = os.path.getmtime(tmp_path / "a" / "train.txt")
    assert synthetic_corpus.generate_corpus(str(tmp_path / "a"), seed=3, **kw) == a
    assert os.path.getmtime(tmp_path / "a" / "train.txt") == mtime
    data = corpus.Corpus(str(tmp_path / "a"))
    assert len(data.train) >= 3000
    assert set(data.vocab.words) <= set(synthetic_corpus.english_grammar().vocabulary)
    # The grammar's own perplexity on the files is near its entropy floor.
    assert abs(math.log(a["valid_true_ppl"]) - a["entropy_nats"]) < 0.25
