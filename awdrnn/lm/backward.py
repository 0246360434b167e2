"""Backward language models (ULMFiT): the same model trained right to left.

A backward LM reads each split's token stream reversed, so it predicts each
token from the ones after it; ULMFiT averages a forward and a backward
classifier. `reversed_corpus(data)` gives the reversed view that the
`lm_training.Trainer` trains and evaluates on when `TrainConfig.backward` is
set (saved in the run's `config.json`, so resume, evaluation and generation
read the text the same way):

    import numpy as np, types
    from awdrnn.lm import backward as backward_lm
    data = types.SimpleNamespace(vocab=["a", "b"], train=np.array([0, 1, 1]),
                                 valid=np.array([1, 0]), test=np.array([0, 1]))
    print(backward_lm.reversed_corpus(data).train)    # [1 1 0]
"""

import types

SPLITS = ("train", "valid", "test")


def reversed_corpus(data):
    """A view of `data` (`vocab`, `train`, `valid`, `test`, optional `words`)
    with each split's id stream reversed; the vocabulary is shared."""
    view = types.SimpleNamespace(vocab=data.vocab, backward=True)
    for split in SPLITS:
        setattr(view, split, getattr(data, split)[::-1].copy())
    if hasattr(data, "words"):
        view.words = data.words
    return view
