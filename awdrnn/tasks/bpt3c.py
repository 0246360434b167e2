"""BPT3C: backpropagation through time for text classification (ULMFiT, section 3.3).

A document longer than `max_len` tokens runs through the encoder in
`bptt`-sized chunks with the recurrent state carried from chunk to chunk;
only the last `max_len` tokens of each row (its *window*) are pooled by the
head and get gradients. With right-padded rows of lengths `L_i`:

    s_i    = max(0, L_i - max_len)                    # window start of row i
    prefix = tokens [0, s_i)   in chunks [c, c + bptt), c = 0, bptt, 2 bptt, ...
    window = tokens [s_i, L_i) (right-padded to max_i (L_i - s_i) <= max_len)

The prefix chunks are run forward only (`session.run` of the final state; the
state goes into the next run as a NumPy value, so no gradient crosses it) and
the training step runs on the window from the state the prefix left. A row
whose prefix ends before a chunk has chunk length 0 there: the encoder
(`sequence_length`) keeps its state as it was, so pads never touch a state.

Unlike fastai, whose window is the bptt-aligned chunks starting after
`L - max_len` and whose gradient is cut at every chunk boundary inside it,
the window here is exactly the last `max_len` real tokens and its gradient
flows through all of them.

    import numpy as np
    from awdrnn.tasks import bpt3c
    ids = np.array([[5, 6, 7, 8, 9, 10, 11], [5, 6, 7, 1, 1, 1, 1]])
    plan = bpt3c.plan(ids, np.array([7, 3]), bptt=2, max_len=3)
    print([c.lengths.tolist() for c in plan.prefix])  # [[2, 0], [2, 0]]
    print(plan.window.ids.tolist(), plan.window.lengths.tolist())
    # [[9, 10, 11], [5, 6, 7]] [3, 3]
"""

import collections
import numbers

import numpy as np

PAD_ID = 1

Chunk = collections.namedtuple("Chunk", ["ids", "lengths"])
Chunk.__doc__ = "Right-padded ids `[batch, width]` and the real length of each row `[batch]`."
Plan = collections.namedtuple("Plan", ["prefix", "window", "starts"])
Plan.__doc__ = ("`prefix`: the `Chunk`s run forward only, in order; `window`: the `Chunk` "
                "the step trains on; `starts`: each row's window start `s_i` `[batch]`.")


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")


def _take(ids, starts, lengths, pad_id):
    width = int(lengths.max()) if len(lengths) else 0
    out = np.full((ids.shape[0], width), pad_id, dtype=ids.dtype)
    for row, (start, length) in enumerate(zip(starts, lengths)):
        out[row, :length] = ids[row, start:start + length]
    return Chunk(out, lengths.astype(np.int32))


def plan(ids, lengths, bptt, max_len, pad_id=PAD_ID):
    """Splits a right-padded batch into forward-only prefix chunks and a window.

    Args:
      ids: `[batch, time]` int array, right-padded.
      lengths: `[batch]` real lengths (each in `[1, time]`).
      bptt: tokens per prefix chunk.
      max_len: tokens of each row's window (the last ones).
      pad_id: the padding id of the chunks.

    Returns:
      `Plan(prefix, window, starts)`; `prefix` is empty when every row fits
      in `max_len`.

    Raises:
      ValueError: bad shapes, lengths outside `[1, time]`, or `bptt` /
        `max_len` not positive ints.
    """
    _positive("bptt", bptt)
    _positive("max_len", max_len)
    ids = np.asarray(ids)
    lengths = np.asarray(lengths, dtype=np.int64)
    if ids.ndim != 2 or lengths.shape != ids.shape[:1]:
        raise ValueError(f"ids must be [batch, time] and lengths [batch]; got ids "
                         f"{ids.shape} and lengths {lengths.shape}.")
    if lengths.size and (lengths.min() < 1 or lengths.max() > ids.shape[1]):
        raise ValueError(f"lengths must be in [1, {ids.shape[1]}] (the padded time), got "
                         f"{lengths.min()}..{lengths.max()}.")
    starts = np.maximum(lengths - max_len, 0)
    prefix = []
    for c in range(0, int(starts.max()) if starts.size else 0, bptt):
        prefix.append(_take(ids, np.full_like(starts, c), np.clip(starts - c, 0, bptt),
                            pad_id))
    return Plan(prefix, _take(ids, starts, lengths - starts, pad_id), starts.astype(np.int32))


def run_prefix(prefix, initial_state, run_chunk):
    """The state after the prefix: `run_chunk(chunk, state) -> state`, chunk by chunk.

    Args:
      prefix: `Plan.prefix`.
      initial_state: the state before the first chunk (e.g. zeros).
      run_chunk: runs the encoder on one `Chunk` from `state` (forward
        only, e.g. one `session.run` of the final state) and returns the
        new state.
    """
    state = initial_state
    for chunk in prefix:
        state = run_chunk(chunk, state)
    return state
