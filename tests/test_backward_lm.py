"""Backward language models (awdrnn/lm/backward.py, `TrainConfig.backward`).

The reversed streams are checked against NumPy's `[::-1]` of the corpus, at
the graph's door: the ids of the first training segment fed to the session.
"""

import json
import os

import numpy as np
import pytest

from awdrnn.data import corpus
from awdrnn.lm import backward as backward_lm, training as lm_training
from lm_test_data import tiny_configs, tiny_corpus


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("bwd"))


def test_reversed_corpus(data):
    view = backward_lm.reversed_corpus(data)
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(view, split), getattr(data, split)[::-1])
    assert view.vocab is data.vocab


@pytest.mark.parametrize("backward", [True, False])
def test_trainer_feeds_the_reversed_stream(data, tmp_path, backward):
    model, train = tiny_configs(data, epochs=1, max_steps=2, backward=backward)
    trainer = lm_training.Trainer(model, train, data, str(tmp_path), log=lambda s: None)
    fed, feed = [], trainer.g.feed

    def spy(x, state, y=None, training=False):
        if training:
            fed.append((np.array(x), np.array(y)))
        return feed(x, state, y, training)

    trainer.g.feed = spy
    trainer.run()
    stream = data.train[::-1] if backward else data.train
    streams = corpus.batchify(stream, train.batch_size)
    x, y = fed[0]
    np.testing.assert_array_equal(x, streams[:, :x.shape[1]])
    np.testing.assert_array_equal(y, streams[:, 1:x.shape[1] + 1])
    with open(os.path.join(tmp_path, "config.json")) as f:
        assert json.load(f)["train"]["backward"] is backward
    _, saved_train, _ = lm_training.load_config(str(tmp_path))
    assert saved_train.backward is backward


def test_backward_sample_ends_with_the_prime(data):
    # A backward model grows the text leftwards: the prime is the text's end,
    # and the ids it is fed are the prime's reversed.
    from awdrnn.lm import generation, graph as lm_graph, model as lm_model
    from tf_session import new_session
    g = lm_graph.LMGraph(lm_model.LMConfig(vocab_size=len(data.vocab), emsize=4, nhid=4,
                                           nlayers=1), graph_seed=2, batch_size=1)
    words = [w for w in data.vocab.words if w != corpus.EOS][5:8]
    fed, feed = [], g.feed
    g.feed = lambda x, state, y=None, training=False: fed.append(x) or feed(x, state, y, training)
    with new_session(g.graph) as sess:
        sess.run(g.init)
        text = generation.sample_text(sess, g, data.vocab, 6, seed=1, prime=" ".join(words),
                                      backward=True)
        ids = generation.sample_ids(sess, g, 6, seed=1, prime_ids=fed[0][0])
    # In reading order: the sampled ids reversed, then the prime.
    reading = [w for w in data.vocab.decode(ids[::-1]) if w != corpus.EOS] + words
    assert text.split() == reading, text
    np.testing.assert_array_equal(fed[0], [data.vocab.encode(words[::-1])])
