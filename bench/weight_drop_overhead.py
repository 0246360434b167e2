"""Cost of DropConnect: WeightDropLSTMCell vs stock LSTMCell, one run, interleaved.

Both stacks run under `tf.compat.v1.nn.dynamic_rnn` with the same sizes (default:
the AWD-LSTM PTB stack 400 -> 1150 -> 1150 -> 400, batch 20, 70 steps); a
training step is forward + backward + SGD on `mean(outputs ** 2)`. Steps of the
two graphs alternate so machine load affects both alike; the median step time
of each is reported with the ratio (target: at most 1.05).

    python bench/weight_drop_overhead.py            # PTB-AWD size
    python bench/weight_drop_overhead.py --units 200,200 --input 200 --steps 35
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

import awdrnn
from awdrnn import rnn_cell


def build(make_cell, units, input_depth, batch, steps):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(0)
        x = tf.constant(np.random.RandomState(0).randn(batch, steps, input_depth).astype(np.float32))
        cells = [make_cell(n) for n in units]
        out, _ = tf.compat.v1.nn.dynamic_rnn(rnn_cell.MultiRNNCell(cells), x, dtype=tf.float32)
        loss = tf.reduce_mean(out ** 2)
        train = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(loss)
        updates = [c.get_vd_update_op() for c in cells if hasattr(c, "get_vd_update_op")]
        init = [tf.compat.v1.global_variables_initializer(),
                tf.compat.v1.local_variables_initializer()]
        graph.finalize()
    sess = tf.compat.v1.Session(graph=graph, config=tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=2, inter_op_parallelism_threads=2))
    sess.run(init)
    # One step = the update of the masks (as a user does each step) + training.
    fetches = [train] + updates
    return sess, fetches


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", default="1150,1150,400")
    parser.add_argument("--input", type=int, default=400)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--steps", type=int, default=70)
    parser.add_argument("--keep", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    units = [int(u) for u in args.units.split(",")]
    paths = {
        "stock LSTMCell": build(lambda n: rnn_cell.LSTMCell(n), units, args.input, args.batch, args.steps),
        f"WeightDropLSTMCell(kr={args.keep}, use_vd)": build(
            lambda n: awdrnn.WeightDropLSTMCell(n, weight_drop_kr=args.keep, use_vd=True),
            units, args.input, args.batch, args.steps),
    }
    times = {name: [] for name in paths}
    for i in range(args.warmup + args.repeats):
        for name, (sess, fetches) in paths.items():
            start = time.perf_counter()
            sess.run(fetches)
            if i >= args.warmup:
                times[name].append(time.perf_counter() - start)
    print(f"layers {args.input}->{'->'.join(map(str, units))}, batch {args.batch}, "
          f"{args.steps} steps, training step, {args.repeats} timed steps each, interleaved; "
          f"allocator: {os.environ.get('LD_PRELOAD') or 'default (glibc malloc)'}")
    base = statistics.median(times["stock LSTMCell"])
    tokens = args.batch * args.steps
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:40s} median {med * 1000:8.1f} ms  {tokens / med:8.1f} tokens/s  "
              f"ratio to stock {med / base:.3f}")


if __name__ == "__main__":
    main()
