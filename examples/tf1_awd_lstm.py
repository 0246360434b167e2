r"""A word language model written as a TF1 program, with the TF1 AWD-LSTM idioms.

    python examples/tf1_awd_lstm.py                       # generated corpus, ~25 s
    python examples/tf1_awd_lstm.py --data=../shared/data/ptb --steps=2000

Everything here is plain TF1: `tf.disable_v2_behavior()`, placeholders fed
through `feed_dict`, `tf.nn.dynamic_rnn` over a `MultiRNNCell`, one
`tf.global_variables_initializer()` and nothing else, and the DropConnect and
variational masks resampled through `tf.control_dependencies` on the lists of
ops that `get_vd_update_op()` and `get_update_mask_op()` return, as with the
TF1 AWD-LSTM cell. Only the cell classes come from awdrnn. The full recipe
(AR/TAR, NT-ASGD, variable BPTT, tied weights) is `examples/train_lm.py`.

Without `--data` a corpus sampled from a small grammar is written to
`--workdir` (perplexity floor 8.77). Prints the training loss every
`--log_every` steps and the validation perplexity at the end.
Exit codes: 0 done, 2 bad data or flags.
"""

import math
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ start-up noise

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.logging.set_verbosity(tf.logging.ERROR)
tf.disable_v2_behavior()

from absl import app, flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import awdrnn  # noqa: E402
from awdrnn import rnn_cell  # noqa: E402
from awdrnn.data import corpus, synthetic_corpus  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("data", None, "Corpus folder with train.txt, valid.txt, test.txt "
                    "(absent: a generated corpus in --workdir).")
flags.DEFINE_string("workdir", None, "Folder for the generated corpus (default: a temporary one).")
flags.DEFINE_integer("steps", 300, "Training steps.")
flags.DEFINE_integer("batch_size", 20, "Batch size (static, as the variational mask needs).")
flags.DEFINE_integer("bptt", 35, "Steps per training segment.")
flags.DEFINE_integer("emsize", 64, "Embedding size.")
flags.DEFINE_integer("nhid", 128, "Hidden units per layer.")
flags.DEFINE_float("lr", 10.0, "SGD learning rate.")
flags.DEFINE_float("clip", 0.25, "Gradient norm clipping.")
flags.DEFINE_float("wdrop", 0.5, "DropConnect drop rate of the recurrent weights.")
flags.DEFINE_float("dropouti", 0.3, "Variational drop rate of the embedding output.")
flags.DEFINE_integer("log_every", 50, "Print the training loss every this many steps.")
flags.DEFINE_integer("seed", 1, "Graph-level random seed.")


def build_graph(vocab_size):
    """The model, as a TF1 user writes it; returns a dict of graph elements."""
    tf.set_random_seed(FLAGS.seed)
    x = tf.placeholder(tf.int32, [FLAGS.batch_size, FLAGS.bptt], name="x")
    y = tf.placeholder(tf.int32, [FLAGS.batch_size, FLAGS.bptt], name="y")
    is_training = tf.placeholder_with_default(True, [], name="is_training")

    embedding = tf.get_variable("embedding", [vocab_size, FLAGS.emsize],
                                initializer=tf.random_uniform_initializer(-0.1, 0.1))
    inputs = tf.nn.embedding_lookup(embedding, x)
    # One mask per example, the same at every time step, until it is resampled.
    vd = awdrnn.VariationalDropout(input_shape=[FLAGS.batch_size, FLAGS.emsize],
                                   keep_prob=1.0 - FLAGS.dropouti, training=is_training)
    inputs = vd(inputs)

    cells = [awdrnn.WeightDropLSTMCell(FLAGS.nhid, weight_drop_kr=1.0 - FLAGS.wdrop,
                                       use_vd=True, training=is_training)
             for _ in range(2)]
    outputs, _ = tf.nn.dynamic_rnn(rnn_cell.MultiRNNCell(cells), inputs, dtype=tf.float32)
    softmax_w = tf.get_variable("softmax_w", [FLAGS.nhid, vocab_size])
    softmax_b = tf.get_variable("softmax_b", [vocab_size], initializer=tf.zeros_initializer())
    logits = tf.matmul(tf.reshape(outputs, [-1, FLAGS.nhid]), softmax_w) + softmax_b
    loss = tf.losses.sparse_softmax_cross_entropy(tf.reshape(y, [-1]), logits)  # token mean

    # The TF1 AWD-LSTM idiom: each call returns a list of ops.
    update_masks = vd.get_update_mask_op()
    for cell in cells:
        update_masks += cell.get_vd_update_op()
    with tf.control_dependencies(update_masks):
        # This step trains with the current masks; the next one gets new ones.
        params = tf.trainable_variables()
        grads, _ = tf.clip_by_global_norm(tf.gradients(loss, params), FLAGS.clip)
        train_op = tf.train.GradientDescentOptimizer(FLAGS.lr).apply_gradients(
            zip(grads, params))
    return {"x": x, "y": y, "is_training": is_training, "loss": loss, "train_op": train_op}


def segments(ids, rng=None):
    """`(x, y)` batches of `[batch_size, bptt]` ids: in order, or random with `rng`."""
    streams = corpus.batchify(ids, FLAGS.batch_size)
    starts = np.arange(0, streams.shape[1] - 1 - FLAGS.bptt, FLAGS.bptt)
    if len(starts) == 0:
        raise corpus.CorpusError(f"--bptt={FLAGS.bptt} is too long for this corpus.")
    while True:
        for start in (rng.permutation(starts) if rng is not None else starts):
            yield (streams[:, start:start + FLAGS.bptt],
                   streams[:, start + 1:start + 1 + FLAGS.bptt])
        if rng is None:
            return


def main(argv):
    del argv
    try:
        for name in ("steps", "batch_size", "bptt", "emsize", "nhid", "log_every"):
            if getattr(FLAGS, name) < 1:
                raise ValueError(f"--{name} must be positive, got {getattr(FLAGS, name)}.")
        if FLAGS.lr <= 0 or FLAGS.clip <= 0:
            raise ValueError(f"--lr and --clip must be positive, got {FLAGS.lr} and {FLAGS.clip}.")
        for name in ("wdrop", "dropouti"):
            if not 0.0 <= getattr(FLAGS, name) < 1.0:
                raise ValueError(f"--{name} is a drop rate in [0, 1), got {getattr(FLAGS, name)}.")
        data = FLAGS.data
        if data is None:
            data = os.path.join(FLAGS.workdir or tempfile.mkdtemp(), "data")
            synthetic_corpus.generate_corpus(data, train_tokens=60_000, valid_tokens=10_000,
                                             test_tokens=1_000)
        words = corpus.Corpus(data)
        batches = segments(words.train, np.random.RandomState(FLAGS.seed))
        next(segments(words.valid))  # a clear error now if valid.txt is too short
    except (corpus.CorpusError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)

    g = build_graph(len(words.vocab))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())   # the only initializer
        for step in range(1, FLAGS.steps + 1):
            x, y = next(batches)
            loss, _ = sess.run([g["loss"], g["train_op"]], {g["x"]: x, g["y"]: y})
            if step % FLAGS.log_every == 0 or step == FLAGS.steps:
                print(f"step {step:5d}  loss {loss:.3f}  ppl {math.exp(loss):8.2f}", flush=True)
        losses = [sess.run(g["loss"], {g["x"]: x, g["y"]: y, g["is_training"]: False})
                  for x, y in segments(words.valid)]
        print(f"validation perplexity {math.exp(np.mean(losses)):.2f} "
              f"({len(words.vocab)} words)")


if __name__ == "__main__":
    app.run(main)
