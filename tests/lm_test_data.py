"""A small generated corpus shared by the language-model script tests."""

from awdrnn import synthetic_corpus

# Flags giving a tiny, fast model for examples/train_lm.py.
TINY_FLAGS = ["--emsize=8", "--nhid=8", "--nlayers=1", "--batch_size=4", "--bptt=10",
              "--eval_batch_size=2", "--test_batch_size=2", "--sample_words=3",
              "--log_interval=1"]


def small_corpus(folder):
    """Writes a 3,000-token generated corpus into `folder`; returns it."""
    synthetic_corpus.generate_corpus(str(folder), seed=5, train_tokens=3000,
                                     valid_tokens=300, test_tokens=300)
    return str(folder)
