"""Per-word perplexity of a language model over any tokens (words or subwords).

A subword model's per-token perplexity depends on its vocabulary; the
per-word one compares models across tokenizations. With `L` the summed
cross-entropy (nats) of the scored tokens and `W` the words among them:

    word_ppl = exp(L / W) = exp(mean_token_loss * tokens / W)

Words are whitespace-separated words plus one per line end (as word-level
corpora count `<eos>`); a scored token counts as a word when it begins one
(`word_starts[id]`: for SentencePiece, the pieces marked `▁` and eos), so the
count covers exactly the tokens `lm_graph.evaluate` scores: it cuts the split
into `batch_size` streams of `n = len(ids) // batch_size` tokens (dropping the
remainder) and scores the targets `streams[:, 1:]`, i.e. every token but the
first of each stream and the `len(ids) % batch_size` dropped at the end. For a
word-level corpus (`word_starts=None`) every token is a word and word ppl
equals token ppl.

    import numpy as np
    from awdrnn.lm import word_perplexity
    ids = np.array([2, 5, 6, 3, 2, 7, 3])           # bos ▁a b eos bos ▁c eos
    starts = np.zeros(8, bool); starts[[3, 5, 7]] = True
    print(word_perplexity.scored_counts(ids, 1, starts))   # (6, 4): ▁a, eos, ▁c, eos
"""

import math

from awdrnn.data import corpus


def scored_counts(ids, batch_size, word_starts=None):
    """`(tokens, words)` among the targets `evaluate(ids, batch_size)` scores.

    Args:
      ids: `[num_tokens]` ids of a split.
      batch_size: number of evaluation streams.
      word_starts: `[vocab_size]` bool, True for ids that begin a word; None:
        every token is a word.
    """
    targets = corpus.batchify(ids, batch_size)[:, 1:]
    words = targets.size if word_starts is None else int(word_starts[targets].sum())
    return int(targets.size), words


def word_perplexity(mean_token_loss, ids, batch_size, word_starts=None):
    """`exp(mean_token_loss * tokens / words)` over the scored part of `ids`.

    Raises:
      ValueError: no word among the scored tokens.
    """
    tokens, words = scored_counts(ids, batch_size, word_starts)
    if words == 0:
        raise ValueError(f"no word among the {tokens} scored tokens: per-word perplexity "
                         "is undefined (is word_starts the vocabulary's?).")
    return math.exp(min(mean_token_loss * tokens / words, 700.0))
