"""Small generated corpora and tiny configurations shared by the language-model tests."""

from awdrnn.data import corpus, synthetic_corpus
from awdrnn.lm import model as lm_model, training as lm_training

# Flags giving a tiny, fast model for examples/train_lm.py.
TINY_FLAGS = ["--emsize=8", "--nhid=8", "--nlayers=1", "--batch_size=4", "--bptt=10",
              "--eval_batch_size=2", "--test_batch_size=2", "--sample_words=3",
              "--log_interval=1"]


def small_corpus(folder):
    """Writes a 3,000-token generated corpus into `folder`; returns it."""
    synthetic_corpus.generate_corpus(str(folder), seed=5, train_tokens=3000,
                                     valid_tokens=300, test_tokens=300)
    return str(folder)


NO_DROPOUT = dict(dropout_kr=1.0, dropouth_kr=1.0, dropouti_kr=1.0, dropoute_kr=1.0,
                  wdrop_kr=1.0)


def tiny_corpus(folder):
    """A 1,200-token generated corpus as a `Corpus` (library-level tests)."""
    synthetic_corpus.generate_corpus(str(folder), seed=2, train_tokens=1200,
                                     valid_tokens=200, test_tokens=200)
    return corpus.Corpus(str(folder))


def tiny_configs(data, model=None, **train):
    """`(LMConfig, TrainConfig)` of a tiny 2-layer model; overrides as dicts/kwargs."""
    shape = dict(vocab_size=len(data.vocab), emsize=8, nhid=12, nlayers=2)
    shape.update(model or {})
    kw = dict(epochs=3, batch_size=8, eval_batch_size=2, test_batch_size=2, bptt=8,
              log_interval=1000, seed=5)
    kw.update(train)
    return lm_model.LMConfig(**shape), lm_training.TrainConfig(**kw)
