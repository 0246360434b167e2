"""TensorFlow word-LM steps for bench/run.py: one graph + session per path.

A model is an embedding (tied with the softmax), a recurrent stack and a
softmax over `vocab` words; `train` is forward + backward + SGD, `infer`
the forward pass and loss (with `training=False` cells).
"""

import warnings

import numpy as np
import tensorflow as tf

import awdrnn
from awdrnn import rnn_cell

warnings.filterwarnings("ignore", message=".*is deprecated.*")

WEIGHT_DROP_KR = 0.5


def _cells(kind, sizes, emb, training):
    layers = []
    depth = emb
    for k, units in enumerate(sizes):
        if kind == "lstm":
            layers.append(rnn_cell.LSTMCell(units))
        elif kind == "wd_lstm":
            layers.append(awdrnn.WeightDropLSTMCell(
                units, weight_drop_kr=WEIGHT_DROP_KR, use_vd=True, training=training))
        elif kind == "qrnn":
            layers.append(awdrnn.QRNNCell(
                units, window=2 if k == 0 else 1, weight_drop_kr=WEIGHT_DROP_KR,
                use_vd=True, input_size=depth, training=training))
        else:
            raise ValueError(f"unknown cell kind {kind!r}")
        depth = units
    return rnn_cell.MultiRNNCell(layers)


class TFStep:
    """One benchmark path: `run()` executes one training or inference step.

    Args:
      kind: "lstm", "wd_lstm" or "qrnn".
      runner: "tf" (tf.compat.v1.nn.dynamic_rnn) or "awdrnn" (awdrnn.dynamic_rnn).
      size: dict with vocab, emb, sizes (layer widths), bptt.
      batch: batch size.
      train: training step if True, else inference (forward + loss).
    """

    def __init__(self, kind, runner, size, batch, train, seed=0):
        self.tokens = batch * size["bptt"]
        self.graph = tf.Graph()
        rng = np.random.RandomState(seed)
        with self.graph.as_default():
            tf.compat.v1.set_random_seed(seed)
            ids = tf.constant(rng.randint(0, size["vocab"], [batch, size["bptt"] + 1]),
                              tf.int32)
            emb = tf.compat.v1.get_variable(
                "embedding", [size["vocab"], size["emb"]],
                initializer=tf.compat.v1.random_uniform_initializer(-0.1, 0.1))
            x = tf.nn.embedding_lookup(emb, ids[:, :-1])
            cell = _cells(kind, size["sizes"], size["emb"], train)
            rnn = awdrnn.dynamic_rnn if runner == "awdrnn" else tf.compat.v1.nn.dynamic_rnn
            out, _ = rnn(cell, x, dtype=tf.float32)
            self.path = (awdrnn.kernels.fast_rnn.path_of(cell, batch)[0] if runner == "awdrnn"
                         else "stock")
            bias = tf.compat.v1.get_variable("softmax_b", [size["vocab"]],
                                             initializer=tf.zeros_initializer())
            logits = tf.matmul(tf.reshape(out, [-1, size["emb"]]), emb,
                               transpose_b=True) + bias
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.reshape(ids[:, 1:], [-1]), logits=logits))
            fetch = [loss]
            if train:
                fetch.append(tf.compat.v1.train.GradientDescentOptimizer(1.0).minimize(loss))
                fetch.extend(c.get_vd_update_op() for c in cell._cells
                             if hasattr(c, "get_vd_update_op"))
            self._fetch = fetch
            init = [tf.compat.v1.global_variables_initializer(),
                    tf.compat.v1.local_variables_initializer()]
            self.graph.finalize()
        self.sess = tf.compat.v1.Session(graph=self.graph)
        self.sess.run(init)

    def run(self):
        return self.sess.run(self._fetch)[0]

    def close(self):
        self.sess.close()


class MatmulProbe:
    """The rate of `[m, k] x [k, n]` float32 products (default one 2048^3: the
    machine's own large-matmul rate). With `repeat > 1` the product runs
    `repeat` times in a `tf.while_loop`, each step's input the previous
    result's first k columns (n >= k): the recurrent product of an LSTM loop
    alone, which bounds that loop."""

    def __init__(self, m=2048, k=2048, n=2048, repeat=1):
        self.flops = 2.0 * m * k * n * repeat
        self.graph = tf.Graph()
        with self.graph.as_default():
            a = tf.Variable(tf.random.normal([m, k]))
            b = tf.Variable(tf.random.normal([k, n]) / k)
            if repeat == 1:
                out = tf.matmul(a, b)
            else:
                _, out = tf.while_loop(
                    lambda t, x: t < repeat,
                    lambda t, x: (t + 1, tf.matmul(x, b)[:, :k]),
                    (0, tf.convert_to_tensor(a)))
            self._op = tf.reduce_sum(out)
            init = tf.compat.v1.global_variables_initializer()
        self.sess = tf.compat.v1.Session(graph=self.graph)
        self.sess.run(init)

    def run(self):
        return self.sess.run(self._op)

    def close(self):
        self.sess.close()
