"""Variable-length truncated backpropagation through time (AWD-LSTM, section 4.1).

Each training segment's length is drawn afresh so that, over epochs, every
token gets to be trained on with a different amount of context:

    base    = bptt        with probability p (0.95),  bptt / 2 otherwise
    seq_len = max(min_len, int(Normal(base, std)))    std = 5, min_len = 5
    lr_t    = lr * seq_len / bptt

(the salesforce `main.py` rule; `int` truncates towards zero as Python's does).
The learning-rate rescale keeps the per-token step size fixed, since the loss
is a mean over the segment's tokens.

    from awdrnn.data import bptt
    segments = bptt.SegmentSampler(bptt=70, seed=1)
    for start, seq_len in segments.epoch(num_steps=streams.shape[1]):
        x = streams[:, start:start + seq_len]
        y = streams[:, start + 1:start + 1 + seq_len]
        lr_t = lr * bptt.lr_scale(seq_len, 70)

The sampler's state (NumPy RandomState) is JSON-serialisable, so a resumed run
draws the same lengths as an uninterrupted one.
"""

import numpy as np


def check_bptt(bptt, min_len=5):
    if not isinstance(bptt, (int, np.integer)) or isinstance(bptt, bool) or bptt < 1:
        raise ValueError(f"bptt must be a positive int, got {bptt!r}.")
    if not isinstance(min_len, (int, np.integer)) or min_len < 1:
        raise ValueError(f"min_len must be a positive int, got {min_len!r}.")


def sample_seq_len(rng, bptt, p=0.95, std=5.0, min_len=5, max_len=None):
    """One segment length as in the paper.

    Args:
      rng: `np.random.RandomState`.
      bptt: base length.
      p: probability of using `bptt` (else `bptt / 2`) as the mean.
      std: standard deviation of the normal draw.
      min_len: smallest length returned.
      max_len: optional cap (e.g. what remains of the data).

    Returns:
      int length in `[min_len, max_len]`.
    """
    base = bptt if rng.random_sample() < p else bptt / 2.0
    seq_len = max(min_len, int(rng.normal(base, std)))
    if max_len is not None:
        seq_len = min(seq_len, max_len)
    return seq_len


def lr_scale(seq_len, bptt):
    """Learning-rate factor `seq_len / bptt` for a segment of `seq_len` tokens."""
    return seq_len / float(bptt)


class SegmentSampler:
    """Draws the `(start, seq_len)` segments of each epoch over `[batch, num_steps]` streams.

    Args:
      bptt: base segment length.
      seed: seed of the sampler's own `RandomState`.
      variable: False gives fixed segments of `bptt` (evaluation).
      p, std, min_len: as in `sample_seq_len`.
    """

    def __init__(self, bptt, seed=0, variable=True, p=0.95, std=5.0, min_len=5):
        check_bptt(bptt, min_len)
        self.bptt = int(bptt)
        self.variable = bool(variable)
        self.p, self.std, self.min_len = p, std, min_len
        self.rng = np.random.RandomState(seed)

    def next_segment(self, start, num_steps):
        """Segment starting at `start`, or None at the end of the epoch.

        A segment needs its targets one step ahead, so it ends at most at
        `num_steps - 1`.
        """
        remaining = num_steps - 1 - start
        if remaining <= 0:
            return None
        if self.variable:
            seq_len = sample_seq_len(self.rng, self.bptt, self.p, self.std, self.min_len,
                                     max_len=remaining)
        else:
            seq_len = min(self.bptt, remaining)
        return start, seq_len

    def epoch(self, num_steps, start=0):
        """Yields `(start, seq_len)` from `start` to the end of the streams."""
        segment = self.next_segment(start, num_steps)
        while segment is not None:
            yield segment
            segment = self.next_segment(segment[0] + segment[1], num_steps)

    def get_state(self):
        """JSON-serialisable state of the random generator."""
        name, keys, pos, has_gauss, gauss = self.rng.get_state()
        return [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)]

    def set_state(self, state):
        name, keys, pos, has_gauss, gauss = state
        self.rng.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
