"""Sampling text from a trained language model, with a temperature.

    p_T(w) = softmax(logits / T)(w)

T < 1 sharpens the distribution (safer, more repetitive text), T > 1
flattens it, T = 1 samples the model itself. Words are drawn one at a time,
the recurrent state carried from word to word.

    from awdrnn.lm import generation, training as lm_training
    sess, g, vocab = lm_training.open_best_model("runs/demo", batch_size=1)
    print(generation.sample_text(sess, g, vocab, num_words=50, temperature=0.8))
"""

import numpy as np

from awdrnn.data.corpus import EOS


def check_temperature(temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not temperature > 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}.")
    return float(temperature)


def sample_from_probs(probs, temperature, rng):
    """Draws one index from `probs ** (1 / T)` renormalised (= softmax(logits / T))."""
    temperature = check_temperature(temperature)
    logp = np.log(np.maximum(np.asarray(probs, np.float64), 1e-300)) / temperature
    p = np.exp(logp - logp.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))


def sample_ids(session, g, num_words, temperature=1.0, seed=None, prime_ids=(0,)):
    """Samples `num_words` ids after feeding `prime_ids` (dropout off).

    Args:
      session: session with the model loaded.
      g: `lm_training.LMGraph`.
      num_words: number of ids to sample.
      temperature: > 0.
      seed: NumPy seed of the sampler.
      prime_ids: ids fed first (at least one).

    Returns:
      list of sampled ids.
    """
    check_temperature(temperature)
    if not isinstance(num_words, int) or num_words < 1:
        raise ValueError(f"num_words must be a positive int, got {num_words!r}.")
    prime_ids = list(prime_ids)
    if not prime_ids:
        raise ValueError("prime_ids must hold at least one id, got none.")
    rng = np.random.RandomState(seed)
    state = g.model.zero_state(1)
    probs, state = session.run([g.probs_last, g.out.final_state],
                               g.feed(np.array([prime_ids], np.int32), state))
    out = []
    for _ in range(num_words):
        word = sample_from_probs(probs[0], temperature, rng)
        out.append(word)
        probs, state = session.run([g.probs_last, g.out.final_state],
                                   g.feed(np.array([[word]], np.int32), state))
    return out


def sample_text(session, g, vocab, num_words=100, temperature=1.0, seed=None, prime=None,
                backward=False):
    """Samples text, one sentence per line (`<eos>` becomes a line break).

    Args:
      vocab: the run's vocabulary: a word-level `corpus.Vocabulary`, or a
        `subword_corpus.SubwordVocabulary` (then `num_words` counts pieces, and
        the text is decoded by its SentencePiece model).
      prime: optional starting words (space separated); the text starts with
        them and continues with the `num_words` sampled words. Default: `<eos>`
        (not shown), i.e. start a new sentence.
      backward: the model is a backward LM (`TrainConfig.backward`): it reads
        text right to left, so the prime is the text's *end* and the sample
        grows leftwards; the text is returned in reading order.
    """
    subword = hasattr(vocab, "decode_lines")
    if subword:
        from awdrnn.text import subwords
        if backward:  # the prime ends a line: its pieces and eos, reversed
            prime_ids = (vocab.encode_text(prime)[1:] + [subwords.EOS_ID] if prime
                         else [subwords.BOS_ID])
        else:
            prime_ids = vocab.encode_text(prime) if prime else [subwords.EOS_ID]
        shown = prime_ids if prime else []
    else:
        shown = prime.split() if prime else []
        prime_ids = list(vocab.encode(shown or [EOS], "prime"))
    if backward:
        prime_ids = prime_ids[::-1]
    ids = sample_ids(session, g, num_words, temperature, seed, prime_ids)
    if subword:
        return vocab.decode_lines(ids[::-1] + shown if backward else shown + ids)
    words = vocab.decode(ids[::-1]) + shown if backward else shown + vocab.decode(ids)
    lines = [[]]
    for word in words:
        if word == EOS:
            lines.append([])
        else:
            lines[-1].append(word)
    return "\n".join(" ".join(line) for line in lines)
