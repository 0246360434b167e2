"""Tokens/s of the three LSTM inference paths at each batch size: the routing's evidence.

    python bench/inference_routing.py                  # PTB-AWD size, batches 1..64
    python bench/inference_routing.py --size=tiny --batches=1,8 --rounds=1   # a smoke run

`awdrnn.dynamic_rnn` sends an inference pass (`training=False`) of an LSTM
stack to one of three paths by its static batch (`fast_rnn.path_of`):
`fused_lstm_xla` up to `fast_rnn.XLA_MAX_BATCH`, `stock` from
`fast_rnn.STOCK_MIN_BATCH`, `fused_lstm` between. This script times all
three at every batch size on one model (embedding tied with a softmax over
the vocabulary, the recurrent stack, forward pass and loss; bench/models_tf.py),
each path forced by setting those two thresholds before its graph is built
(the route each graph took is printed), interleaved round by round so that
they share the machine's load. The table's bold entry is the fastest path,
`routed` the path the current thresholds pick.
"""

import argparse
import datetime
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import tensorflow as tf  # noqa: E402

from awdrnn.kernels import fast_rnn  # noqa: E402
from models_tf import TFStep  # noqa: E402
from run import SIZES, _interleaved as interleaved  # noqa: E402

# (XLA_MAX_BATCH, STOCK_MIN_BATCH) that force each path at any batch size.
FORCE = {"stock": (0, 1), "fused_lstm": (0, 10 ** 9), "fused_lstm_xla": (10 ** 9, 10 ** 9)}


def build(path, size, batch):
    """A `TFStep` inference graph that takes `path` (checked)."""
    saved = fast_rnn.XLA_MAX_BATCH, fast_rnn.STOCK_MIN_BATCH
    fast_rnn.XLA_MAX_BATCH, fast_rnn.STOCK_MIN_BATCH = FORCE[path]
    try:
        step = TFStep("wd_lstm", "awdrnn", size, batch, train=False)
    finally:
        fast_rnn.XLA_MAX_BATCH, fast_rnn.STOCK_MIN_BATCH = saved
    if step.path != path:
        sys.exit(f"error: the graph forced to {path} took {step.path}")
    return step


def routed(batch):
    if batch <= fast_rnn.XLA_MAX_BATCH:
        return "fused_lstm_xla"
    return "stock" if batch >= fast_rnn.STOCK_MIN_BATCH else "fused_lstm"


def measure(size, batch, warmup, rounds):
    """`{path: tokens/s}` at one batch size, the paths timed round-robin."""
    steps = {path: build(path, size, batch) for path in FORCE}
    try:
        seconds = interleaved(steps, warmup, rounds)
        return {path: steps[path].tokens / seconds[path] for path in steps}
    finally:
        for step in steps.values():
            step.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="awd")
    parser.add_argument("--batches", default="1,2,4,8,16,32,64")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    print(f"{datetime.date.today()}, {platform.node()}: {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; TensorFlow {tf.__version__}; size {args.size} "
          f"(emb {size['emb']}, layers {size['sizes']}, {size['bptt']} steps, vocab "
          f"{size['vocab']}); median of {args.rounds} rounds after {args.warmup}; thresholds "
          f"XLA_MAX_BATCH={fast_rnn.XLA_MAX_BATCH}, STOCK_MIN_BATCH={fast_rnn.STOCK_MIN_BATCH}")
    print("| batch | stock loop | fused inference pass | same, XLA-compiled | routed |")
    print("|---:|---:|---:|---:|---|")
    for batch in (int(b) for b in args.batches.split(",")):
        rate = measure(size, batch, args.warmup, args.rounds)
        best = max(rate, key=rate.get)
        cells = [f"**{rate[p]:,.0f}**" if p == best else f"{rate[p]:,.0f}" for p in FORCE]
        print(f"| {batch} | " + " | ".join(cells) + f" | {routed(batch)} |", flush=True)


if __name__ == "__main__":
    main()
