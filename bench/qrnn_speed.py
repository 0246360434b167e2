"""QRNN speed: QRNNCell / dynamic_qrnn against LSTMs, ratios measured in one run.

One recurrent layer (default 400 -> 1150 units, batch 20, 70 steps, float32,
CPU, intra/inter-op threads 2); a training step is forward + backward + SGD on
`mean(outputs ** 2)`. Paths:

    lstm/dynamic_rnn       stock LSTMCell under tf.compat.v1.nn.dynamic_rnn (baseline)
    lstm/awdrnn_fused      WeightDropLSTMCell through awdrnn.dynamic_rnn (the
                           library's fastest LSTM path, fused_lstm)
    qrnn_w{1,2}/dynamic_rnn    QRNNCell under tf.compat.v1.nn.dynamic_rnn
    qrnn_w{1,2}/dynamic_qrnn   the same cell through awdrnn.dynamic_qrnn

Graphs are built first, then timed round-robin (one step of each per round,
median per path), so machine load affects all alike. `--pooling` instead
times candidate poolings for `c_t = a_t * c_{t-1} + b_t` alone at
`[steps, batch, units]` (forward + backward), which chose the one
`awdrnn.kernels.linear_scan` uses.

    python bench/qrnn_speed.py                 # the table of the issue
    python bench/qrnn_speed.py --pooling       # pooling candidates
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import awdrnn  # noqa: E402
from awdrnn import rnn_cell  # noqa: E402
from awdrnn.kernels.linear_scan import linear_recurrence  # noqa: E402

BASELINE = "lstm/dynamic_rnn"


def _session(graph):
    return tf.compat.v1.Session(graph=graph, config=tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=2, inter_op_parallelism_threads=2))


def _layer_paths(args):
    """{name: (make_cell, run)}: `run(cell, x)` returns the outputs."""
    stock_rnn = lambda cell, x: tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)[0]
    paths = {
        BASELINE: (lambda: rnn_cell.LSTMCell(args.units), stock_rnn),
        "lstm/awdrnn_fused": (lambda: awdrnn.WeightDropLSTMCell(args.units),
                              lambda cell, x: awdrnn.dynamic_rnn(cell, x, dtype=tf.float32)[0]),
    }
    for window in (1, 2):
        make = (lambda w: lambda: awdrnn.QRNNCell(args.units, window=w, input_size=args.input))(window)
        paths[f"qrnn_w{window}/dynamic_rnn"] = (make, stock_rnn)
        paths[f"qrnn_w{window}/dynamic_qrnn"] = (
            make, lambda cell, x: awdrnn.dynamic_qrnn(cell, x, dtype=tf.float32)[0])
    return paths


def _train_step(make_cell, run, args):
    """A session and the fetch of one training step of one layer."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(0)
        x = tf.constant(np.random.RandomState(0).randn(
            args.batch, args.steps, args.input).astype(np.float32))
        loss = tf.reduce_mean(run(make_cell(), x) ** 2)
        train = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(loss)
        init = tf.compat.v1.global_variables_initializer()
        graph.finalize()
    sess = _session(graph)
    sess.run(init)
    return lambda: sess.run(train)


def _pooling_paths(args):
    """Candidate poolings, each `fn(a, b, c0) -> c` time-major."""

    def scan(a, b, c0):
        return tf.scan(lambda c, ab: ab[0] * c + ab[1], (a, b), initializer=c0)

    def while_loop(a, b, c0):
        steps = tf.shape(a)[0]
        a_ta = tf.TensorArray(a.dtype, size=steps).unstack(a)
        b_ta = tf.TensorArray(b.dtype, size=steps).unstack(b)

        def body(t, c, out):
            c = a_ta.read(t) * c + b_ta.read(t)
            return t + 1, c, out.write(t, c)

        _, _, out = tf.while_loop(lambda t, c, out: t < steps, body,
                                  (0, c0, tf.TensorArray(a.dtype, size=steps)))
        return out.stack()

    def parallel(a, b, c0):
        # Hillis-Steele inclusive scan of (a, b) pairs in ceil(log2 T) rounds.
        b = tf.concat([a[:1] * c0 + b[:1], b[1:]], 0)
        shift = 1
        while shift < a.shape[0]:
            a_prev = tf.concat([tf.ones_like(a[:shift]), a[:-shift]], 0)
            b_prev = tf.concat([tf.zeros_like(b[:shift]), b[:-shift]], 0)
            a, b = a * a_prev, a * b_prev + b
            shift *= 2
        return b

    @tf.custom_gradient
    def parallel_custom(a, b, c0):
        # Backward: G_t = g_t + a_{t+1} G_{t+1}, the same parallel scan reversed.
        c = parallel(a, b, c0)

        def grad(g):
            a_next = tf.concat([a[1:], tf.zeros_like(a[:1])], 0)
            big_g = tf.reverse(parallel(tf.reverse(a_next, [0]), tf.reverse(g, [0]),
                                        tf.zeros_like(c0)), [0])
            c_prev = tf.concat([c0[None], c[:-1]], 0)
            return big_g * c_prev, big_g, a[0] * big_g[0]

        return c, grad

    return {"tf.scan (autodiff)": scan, "tf.while_loop (autodiff)": while_loop,
            "parallel scan, log2 T rounds (autodiff)": parallel,
            "parallel scan (custom gradient)": parallel_custom,
            "linear_recurrence (scan + custom gradient)": linear_recurrence}


def _pooling_step(fn, args):
    graph = tf.Graph()
    with graph.as_default():
        rng = np.random.RandomState(0)
        shape = (args.steps, args.batch, args.units)
        a = tf.Variable(rng.uniform(0.1, 0.9, shape).astype(np.float32))
        b = tf.Variable(rng.randn(*shape).astype(np.float32))
        c0 = tf.Variable(rng.randn(*shape[1:]).astype(np.float32))
        c = fn(tf.identity(a), tf.identity(b), tf.identity(c0))
        grads = tf.gradients(tf.reduce_sum(c * rng.randn(*shape).astype(np.float32)), [a, b, c0])
        init = tf.compat.v1.global_variables_initializer()
        graph.finalize()
    sess = _session(graph)
    sess.run(init)
    return lambda: sess.run(grads)


def _median_times(steps, warmup, rounds):
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--steps", type=int, default=70)
    parser.add_argument("--input", type=int, default=400)
    parser.add_argument("--units", type=int, default=1150)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--pooling", action="store_true",
                        help="time the pooling candidates instead of the layers")
    args = parser.parse_args()
    tokens = args.batch * args.steps
    if args.pooling:
        steps = {name: _pooling_step(fn, args) for name, fn in _pooling_paths(args).items()}
        print(f"pooling c_t = a_t * c_(t-1) + b_t at [{args.steps}, {args.batch}, "
              f"{args.units}], forward + backward, median of {args.rounds}, threads 2")
        for name, sec in _median_times(steps, args.warmup, args.rounds).items():
            print(f"  {name:45s} {sec * 1000:8.2f} ms")
        return
    steps = {name: _train_step(make, run, args) for name, (make, run) in _layer_paths(args).items()}
    medians = _median_times(steps, args.warmup, args.rounds)
    print(f"one layer {args.input} -> {args.units}, batch {args.batch}, {args.steps} steps, "
          f"training step (forward + backward + SGD), float32, threads 2, median of "
          f"{args.rounds} interleaved rounds")
    print(f"| path | ms / step | tokens/s | x {BASELINE} |")
    print("|---|---:|---:|---:|")
    for name, sec in medians.items():
        print(f"| {name} | {sec * 1000:.1f} | {tokens / sec:.0f} | "
              f"{medians[BASELINE] / sec:.2f} |")


if __name__ == "__main__":
    main()
