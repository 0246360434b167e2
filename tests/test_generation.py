"""Tests of awdrnn.lm.generation: temperature sampling and text from a model."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.lm import generation, model as lm_model, training as lm_training


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampling_frequencies_follow_softmax_of_logits_over_t(temperature):
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    expected = np.exp(np.log(probs) / temperature)
    expected /= expected.sum()
    rng = np.random.RandomState(0)
    draws = [generation.sample_from_probs(probs, temperature, rng) for _ in range(20000)]
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, expected, atol=0.012)


def test_tiny_temperature_is_argmax():
    rng = np.random.RandomState(1)
    assert {generation.sample_from_probs([0.2, 0.45, 0.35], 1e-3, rng) for _ in range(50)} == {1}


@pytest.mark.parametrize("bad", [0, -1.0, "hot", True])
def test_bad_temperature(bad):
    with pytest.raises(ValueError, match="temperature must be a number > 0"):
        generation.check_temperature(bad)


@pytest.fixture(scope="module")
def model():
    vocab = corpus.Vocabulary(["<eos>", "a", "b", "c"])
    g = lm_training.LMGraph(lm_model.LMConfig(vocab_size=4, emsize=4, nhid=6, nlayers=2))
    sess = tf.compat.v1.Session(graph=g.graph)
    sess.run(g.init)
    yield sess, g, vocab
    sess.close()


def test_sample_ids_is_seeded(model):
    sess, g, _ = model
    a = generation.sample_ids(sess, g, 30, temperature=1.5, seed=4)
    b = generation.sample_ids(sess, g, 30, temperature=1.5, seed=4)
    assert a == b and len(a) == 30 and set(a) <= {0, 1, 2, 3}


def test_sample_text_breaks_lines_at_eos(model):
    sess, g, vocab = model
    text = generation.sample_text(sess, g, vocab, 40, temperature=3.0, seed=2, prime="a b")
    assert "<eos>" not in text
    assert len(text.split()) + text.count("\n") == 2 + 40
    sampled = vocab.decode(generation.sample_ids(sess, g, 40, 3.0, 2, vocab.encode(["a", "b"])))
    # The prime is echoed, then the same sample as sample_ids draws.
    assert text.split() == ["a", "b"] + [w for w in sampled if w != "<eos>"]
    assert generation.sample_text(sess, g, vocab, 1, prime="c a").startswith("c a")
    with pytest.raises(corpus.CorpusError, match="'zz'"):
        generation.sample_text(sess, g, vocab, 5, prime="a zz")


def test_sample_ids_errors(model):
    sess, g, _ = model
    with pytest.raises(ValueError, match="prime_ids must hold at least one id"):
        generation.sample_ids(sess, g, 3, prime_ids=[])
    with pytest.raises(ValueError, match="num_words must be a positive int, got 0"):
        generation.sample_ids(sess, g, 0)
