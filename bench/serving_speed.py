"""Sentences/s of an exported `classify` signature against stock Keras LSTMs, in one run.

    python bench/serving_speed.py                       # AWD-LSTM size, batch 1 and 64
    python bench/serving_speed.py --size=tiny --rounds=2 --warmup=1     # a smoke run

Both sides are SavedModels loaded with `tf.saved_model.load` and called
through `.signatures["classify"]` on raw strings, with the same
tensorflow-text SentencePiece op in front:

    awdrnn     `savedmodel_export.export_savedmodel` of a classifier run folder
               (ULMFiT's head on a 3-layer AWD-LSTM encoder: embedding 400, LSTMs
               400 -> 1150 -> 1150 -> 400, concat pooling [h_T, max, mean], BatchNorm,
               dense 50 + ReLU, BatchNorm, dense 2, softmax), our TF1 inference graph
    keras      the same architecture from stock `tf_keras.layers` (`Embedding`,
               three `LSTM(return_sequences=True)` fed the padding mask,
               `BatchNormalization`, `Dropout`, `Dense`) with the same weights,
               in a `tf.function`, saved by `tf.saved_model.save`

The run folder is written with random weights (speed does not depend on
them; the BatchNorm statistics are random too, so the comparison checks
them). Before timing, both sides' probabilities on the same 64 sentences
must agree to `--tolerance` (default 1e-5), or the script stops. Sentences
are sampled from the generated grammar corpus (awdrnn.data.synthetic_corpus),
1-2 of its lines joined, about SST-2's length (the mean is printed). Calls
are timed interleaved (one call of each side per round, after `--warmup`
untimed rounds; the median per side is reported), so both see the same
machine load; batch 1 cycles through different sentences.

The last column is the ceiling of that ratio where the matrix products bound
the time (batch 1 on a CPU: each step streams the weights from memory): the
same layers' products alone, timed the same way on random weights, as each
side computes them. Ours: one `[T * B, I] x [I, 4H]` input product per layer,
then `h_{t-1} W_h` per step; Keras's LSTM: `x_t W_x + h_{t-1} W_h` per step.
Both do the same `tanh` per step, nothing else.
"""

import argparse
import dataclasses
import datetime
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from awdrnn.data import synthetic_corpus  # noqa: E402
from awdrnn.lm import model as lm_model  # noqa: E402
from awdrnn.serving import savedmodel_export  # noqa: E402
from awdrnn.tasks import task_config, task_data  # noqa: E402
from awdrnn.tasks.task_graph import TaskGraph  # noqa: E402
from awdrnn.text import subwords  # noqa: E402
from awdrnn.training import checkpoints  # noqa: E402

SIZES = {"awd": dict(emsize=400, nhid=1150, nlayers=3, head_hidden=50),
         "tiny": dict(emsize=16, nhid=24, nlayers=2, head_hidden=8)}
CLASSES = ["neg", "pos"]


def sentences(folder, n, seed=0):
    """`n` sentences of 1-2 generated lines each, and the SentencePiece model's path."""
    synthetic_corpus.generate_corpus(folder, seed=seed, train_tokens=30000,
                                     valid_tokens=100, test_tokens=100)
    lines = [line.strip() for line in
             open(os.path.join(folder, "train.txt"), encoding="utf-8") if line.strip()]
    model = subwords.train_model([os.path.join(folder, "train.txt")],
                                 os.path.join(folder, "sp"), vocab_size=150)
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(lines) for _ in range(rng.randint(1, 2))) for _ in range(n)]
    return texts, model


def write_run(run_dir, spm, size, seed=0):
    """A classifier run folder (config.json, labels.txt, spm.model, best/) with random
    weights and BatchNorm statistics."""
    shape = dict(SIZES[size])
    cfg = task_config.TaskConfig(kind="classify", n_outputs=len(CLASSES),
                                 head_hidden=shape.pop("head_hidden")).validate()
    enc = lm_model.LMConfig(vocab_size=spm.vocab_size, **shape).validate()
    g = TaskGraph(cfg, enc, training=False, graph_seed=seed)
    rng = np.random.default_rng(seed)
    os.makedirs(run_dir)
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init_op)
        for v in g.saved_vars:
            name = v.op.name
            if "batch_norm" in name:
                value = sess.run(v)
                low, high = (0.5, 1.5) if name.endswith(("gamma", "variance")) else (-0.3, 0.3)
                v.load(rng.uniform(low, high, value.shape).astype(np.float32), sess)
        checkpoints.CheckpointStore(os.path.join(run_dir, "best")).write(
            "best-0", lambda folder: g.saver.save(sess, os.path.join(folder, "model"),
                                                  write_meta_graph=False, write_state=False))
    checkpoints.write_json(os.path.join(run_dir, "config.json"),
                           {"task": dataclasses.asdict(cfg), "encoder": dataclasses.asdict(enc),
                            "scaler": None, "extra": {"bench": "serving_speed"}})
    task_data.LabelMap(CLASSES).save(os.path.join(run_dir, "labels.txt"))
    with open(spm.path, "rb") as src, open(os.path.join(run_dir, "spm.model"), "wb") as dst:
        dst.write(src.read())
    return run_dir, cfg, enc


def _gates_to_keras(matrix):
    """Columns of gates (i, j, f, o), ours, to Keras's (i, f, c, o)."""
    i, j, f, o = np.split(matrix, 4, axis=-1)
    return np.concatenate([i, f, j, o], axis=-1)


def keras_classifier(run_dir, cfg, enc):
    """The classifier from stock tf_keras layers, weights from `run_dir`'s best model."""
    import tf_keras as keras

    prefix = os.path.join(checkpoints.CheckpointStore(os.path.join(run_dir, "best")).latest(),
                          "model")
    reader = tf.train.load_checkpoint(prefix)
    w = reader.get_tensor
    ids = keras.Input([None], dtype="int32", name="ids")
    mask = keras.Input([None], dtype="bool", name="mask")
    x = keras.layers.Embedding(enc.vocab_size, enc.emsize, name="embedding")(ids)
    lstms = []
    for layer in range(enc.nlayers):
        units = enc.layer_units(layer)
        lstm = keras.layers.LSTM(units, return_sequences=True, name=f"lstm{layer}")
        x = lstm(x, mask=mask)
        lstms.append((lstm, units))
    real = keras.layers.Lambda(lambda m: tf.cast(m, tf.float32)[:, :, None])(mask)
    pooled = keras.layers.Lambda(_concat_pool, name="concat_pooling")([x, real])
    h = pooled
    sizes = [cfg.head_hidden, cfg.n_outputs]
    bns, denses = [], []
    for k, (units, drop) in enumerate(zip(sizes, cfg.head_drop)):
        bn = keras.layers.BatchNormalization(epsilon=1e-5, name=f"bn{k}")
        dense = keras.layers.Dense(units, activation="relu" if k < len(sizes) - 1 else None,
                                   name=f"dense{k}")
        h = dense(keras.layers.Dropout(drop)(bn(h)))
        bns.append(bn)
        denses.append(dense)
    model = keras.Model([ids, mask], keras.layers.Softmax()(h))
    model.get_layer("embedding").set_weights([w("encoder/embedding")])
    for layer, (lstm, units) in enumerate(lstms):
        scope = f"encoder/layer{layer}/lstm_cell/"
        kernel = _gates_to_keras(w(scope + "kernel"))
        depth = kernel.shape[0] - units
        bias = _gates_to_keras(w(scope + "bias_ih") + w(scope + "bias_hh"))
        lstm.set_weights([kernel[:depth], kernel[depth:], bias])
    for k, (bn, dense) in enumerate(zip(bns, denses)):
        scope = f"head/block{k}/"
        bn.set_weights([w(scope + "batch_norm/gamma"), w(scope + "batch_norm/beta"),
                        w(scope + "batch_norm/moving_mean"),
                        w(scope + "batch_norm/moving_variance")])
        dense.set_weights([w(scope + "dense/kernel"), w(scope + "dense/bias")])
    return model


def _concat_pool(inputs):
    """ULMFiT's [h_T, max, mean] over the real tokens of right-padded rows."""
    x, real = inputs
    lengths = tf.cast(tf.reduce_sum(real[:, :, 0], axis=1), tf.int32)
    last = tf.gather(x, tf.maximum(lengths - 1, 0), axis=1, batch_dims=1)
    max_pool = tf.reduce_max(tf.where(real > 0, x, tf.fill(tf.shape(x), x.dtype.min)), axis=1)
    mean_pool = tf.reduce_sum(x * real, axis=1) / tf.maximum(tf.reduce_sum(real, axis=1), 1.0)
    return tf.concat([last, max_pool, mean_pool], axis=-1)


def export_keras(model, spm, export_dir):
    """The Keras classifier behind the same tokenizer, as a SavedModel `classify`."""
    import tensorflow_text

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            self.tokenizer = tensorflow_text.SentencepieceTokenizer(
                model=spm.proto, out_type=tf.int32, add_bos=True, add_eos=True)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def classify(self, text):
            ids = self.tokenizer.tokenize(text).to_tensor(default_value=subwords.PAD_ID)
            return {"probabilities": self.model([ids, tf.not_equal(ids, subwords.PAD_ID)],
                                                training=False)}

    serving = Serving()
    tf.saved_model.save(serving, export_dir, signatures={"classify": serving.classify})
    return export_dir


def _interleaved(calls, batches, warmup, rounds):
    """Median seconds per call of each `calls[name](batch)`, timed round-robin."""
    times = {name: [] for name in calls}
    for r in range(warmup + rounds):
        batch = tf.constant(batches[r % len(batches)])
        for name, call in calls.items():
            start = time.perf_counter()
            call(text=batch)["probabilities"].numpy()
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def products(enc, keras_style):
    """A `tf.function` of the encoder's recurrent matrix products on random weights:
    ids-shaped `x [T, B, emsize]` through `enc.nlayers` layers, `h_t = tanh(z_t[:, :H])`
    with `z_t = x_t W_x + h_{t-1} W_h` (`x W_x` for all steps as one product first
    unless `keras_style`)."""
    rng = np.random.default_rng(0)
    weights = []
    for layer in range(enc.nlayers):
        depth, units = enc.layer_input_size(layer), enc.layer_units(layer)
        weights.append(tuple(tf.constant(rng.standard_normal((rows, 4 * units), np.float32)
                                         * 0.01) for rows in (depth, units)))

    @tf.function(input_signature=[tf.TensorSpec([None, None, enc.emsize], tf.float32)])
    def call(x):
        steps, batch = tf.shape(x)[0], tf.shape(x)[1]
        for w_x, w_h in weights:
            units = w_h.shape[0]
            if not keras_style:
                x = tf.reshape(tf.matmul(tf.reshape(x, [-1, w_x.shape[0]]), w_x),
                               [steps, batch, 4 * units])

            def body(t, h, out, x=x, w_x=w_x, w_h=w_h, units=units):
                z = tf.matmul(h, w_h) + (tf.matmul(x[t], w_x) if keras_style else x[t])
                h = tf.tanh(z[:, :units])
                return t + 1, h, out.write(t, h)

            _, _, out = tf.while_loop(
                lambda t, *_: t < steps, body,
                (0, tf.zeros([batch, units]), tf.TensorArray(tf.float32, size=steps)))
            x = out.stack()
        return {"probabilities": x}
    return lambda text: call(text)


def run(args, root):
    """Builds both SavedModels in `root`, checks they agree, prints the table."""
    batch_sizes = [int(b) for b in args.batches.split(",")]
    texts, spm = sentences(os.path.join(root, "text"), max(batch_sizes) * 4)
    run_dir, cfg, enc = write_run(os.path.join(root, "run"), spm, args.size)
    savedmodel_export.export_savedmodel(run_dir, os.path.join(root, "awdrnn"))
    export_keras(keras_classifier(run_dir, cfg, enc), spm, os.path.join(root, "keras"))
    calls = {name: tf.saved_model.load(os.path.join(root, name)).signatures["classify"]
             for name in ("awdrnn", "keras")}
    check = tf.constant(texts[:64])
    ours, theirs = (calls[n](text=check)["probabilities"].numpy() for n in ("awdrnn", "keras"))
    diff = float(np.abs(ours - theirs).max())
    if not diff <= args.tolerance:
        sys.exit(f"error: the Keras model's probabilities differ from the export's by "
                 f"{diff:.3g} (> --tolerance {args.tolerance:g}); the weights were not "
                 "moved right.")
    pieces = [len(x) for x in spm.encode_lines(texts)]
    print(f"{datetime.date.today()}, {platform.node()}: {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; TensorFlow {tf.__version__}; size {args.size} "
          f"({enc.emsize} / {enc.nhid} x {enc.nlayers}); {np.mean(pieces):.1f} ids per "
          f"sentence (bos, eos included); probabilities agree to {diff:.1g}; {args.rounds} "
          f"rounds after {args.warmup}")
    print("| batch | awdrnn export (sentences/s) | Keras LSTM (sentences/s) | awdrnn / Keras "
          "| products alone: Keras's / ours (the ceiling) |")
    print("|--:|--:|--:|--:|--:|")
    steps = int(round(np.mean(pieces)))
    bound = {"awdrnn": products(enc, keras_style=False), "keras": products(enc, keras_style=True)}
    for batch in batch_sizes:
        batches = [texts[k:k + batch] for k in range(0, len(texts) - batch + 1, batch)]
        median = _interleaved(calls, batches, args.warmup, args.rounds)
        rate = {name: batch / seconds for name, seconds in median.items()}
        x = [np.zeros([steps, batch, enc.emsize], np.float32)]
        alone = _interleaved(bound, x, args.warmup, args.rounds)
        print(f"| {batch} | {rate['awdrnn']:,.1f} | {rate['keras']:,.1f} | "
              f"{rate['awdrnn'] / rate['keras']:.2f}x | "
              f"{alone['keras'] / alone['awdrnn']:.2f}x |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="awd")
    parser.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args(argv)
    import tensorflow_text  # noqa: F401  (registers the SentencePiece ops for loading)

    root = tempfile.mkdtemp(prefix="serving_speed_")
    try:
        run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
