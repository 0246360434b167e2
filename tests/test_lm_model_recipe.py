"""The language model's regularisation recipe, pinned against NumPy.

Each dropout of `lm_model.LanguageModel` is checked on its own (the others at
keep rate 1, so a dropout that used another one's rate would drop nothing):
its keep rate (the exact `1 / keep` scale and the kept fraction, within 5
binomial standard deviations), its mask's shape (per word, per sequence or per
weight) and lifetime (one mask for all time steps of a run, a new one each
run). The dropouts in front of and between the layers are read off an
identity cell (`cell_factory`, whose output is its input); DropConnect is read
off the kernel gradient (exactly zero where a weight was dropped) and checked
by loading `W * M / keep` into the evaluation graph. AR/TAR are checked with
every dropout on; the QRNN model's numbers against `qrnn_reference`.
"""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn import rnn_cell
from awdrnn.data import corpus
from awdrnn.lm import graph as lm_graph, model as lm_model

import lm_test_data
import qrnn_reference
from tf_session import new_session

ALL_ONE = lm_test_data.NO_DROPOUT
DEPTH = 16
RATES = dict(dropoute_kr=0.8, dropouti_kr=0.5, dropouth_kr=0.65, dropout_kr=0.35,
             wdrop_kr=0.4)                         # all different


def _close_to_rate(kept, keep):
    """Kept fraction within 5 binomial standard deviations of `keep`."""
    n = kept.size
    assert abs(kept.mean() - keep) < 5 * np.sqrt(keep * (1 - keep) / n), (kept.mean(), keep, n)


def _fresh(kept_a, kept_b, keep):
    """Two independent masks differ in a fraction 2 k (1 - k) of their entries."""
    p = 2 * keep * (1 - keep)
    assert (kept_a != kept_b).mean() > p - 5 * np.sqrt(p * (1 - p) / kept_a.size)


class IdentityCell(rnn_cell.RNNCell):
    """Output = input, state passed through: shows what enters a layer."""

    def __init__(self, depth):
        super().__init__()
        self._depth = depth

    @property
    def state_size(self):
        return self._depth

    @property
    def output_size(self):
        return self._depth

    def call(self, inputs, state):
        return inputs, state


def _identity_factory(config, layer, training, seed):
    del layer, training, seed
    return IdentityCell(config.emsize)


def _identity_runs(rates, nlayers, ids_np, runs=2, vocab=40):
    """`(embedding, [(raw_output, dropped_output) per run])` of an identity-cell model.

    Runs in training mode; also checks that evaluation mode drops nothing.
    """
    cfg = lm_model.LMConfig(vocab_size=vocab, emsize=DEPTH, nhid=DEPTH, nlayers=nlayers,
                            rnn_impl="stock", **dict(ALL_ONE, **rates))
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(2)
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        model = lm_model.LanguageModel(cfg, cell_factory=_identity_factory, seed=4)
        out = model(ids)
        emb = [v for v in tf.compat.v1.global_variables() if v.op.name == "lm/embedding"][0]
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = model.state_feed(out.initial_state, model.zero_state(len(ids_np)))
            feed[ids] = ids_np
            feed[out.training] = True
            values = [sess.run([out.raw_output, out.dropped_output], feed) for _ in range(runs)]
            embedding = sess.run(emb)
            feed[out.training] = False
            assert np.array_equal(sess.run(out.dropped_output, feed), embedding[ids_np])
    return embedding, values


def _ids(batch, steps, vocab=40, seed=0):
    return np.random.RandomState(seed).randint(0, vocab, size=(batch, steps)).astype(np.int32)


def _scale_pattern(ratio, keep):
    """Asserts every entry of `ratio` is 0 or 1 / keep; returns the kept mask."""
    kept = ratio > 0.5 / keep
    np.testing.assert_allclose(ratio[kept], 1.0 / keep, rtol=1e-5)
    np.testing.assert_allclose(ratio[~kept], 0.0, atol=1e-6)
    return kept


def _assert_locked_per_sequence(kept, keep):
    """`kept` [batch, time, depth] is one mask per sequence [batch, 1, depth]."""
    np.testing.assert_array_equal(kept, np.broadcast_to(kept[:, :1], kept.shape))
    per_seq = kept[:, 0]
    assert len({row.tobytes() for row in per_seq}) > len(per_seq) // 2   # not shared by the batch
    _close_to_rate(per_seq, keep)
    return per_seq


@pytest.mark.parametrize("name,nlayers", [("dropouti_kr", 1), ("dropouth_kr", 3)])
def test_input_and_between_layer_dropout_one_mask_per_sequence(name, nlayers):
    # 3 layers: dropouth between layers 1-2 and 2-3, two independent masks
    # (keep rate krh ** 2 for their product), none after the last layer.
    ids_np = _ids(64, 5)
    emb, runs = _identity_runs({name: RATES[name]}, nlayers, ids_np)
    keep = RATES[name] ** (nlayers - 1 if name == "dropouth_kr" else 1)
    masks = []
    for raw, _ in runs:
        ratio = raw / emb[ids_np]                       # embedding entries are never 0
        masks.append(_assert_locked_per_sequence(_scale_pattern(ratio, keep), keep))
    _fresh(masks[0], masks[1], keep)                    # a new mask every run


def test_output_dropout_one_mask_per_sequence():
    keep = RATES["dropout_kr"]
    ids_np = _ids(64, 5)
    emb, runs = _identity_runs({"dropout_kr": keep}, 1, ids_np)
    masks = []
    for raw, dropped in runs:
        np.testing.assert_array_equal(raw, emb[ids_np])           # nothing before it
        masks.append(_assert_locked_per_sequence(_scale_pattern(dropped / raw, keep), keep))
    _fresh(masks[0], masks[1], keep)


def test_embedding_dropout_drops_whole_words():
    keep = RATES["dropoute_kr"]
    vocab = 400
    ids_np = _ids(24, 30, vocab)
    emb, runs = _identity_runs({"dropoute_kr": keep}, 1, ids_np, vocab=vocab)
    words = np.unique(ids_np)
    masks = []
    for raw, _ in runs:
        kept = _scale_pattern(raw / emb[ids_np], keep)
        np.testing.assert_array_equal(kept, np.broadcast_to(kept[..., :1], kept.shape))
        per_word = {}
        for w, k in zip(ids_np.ravel(), kept[..., 0].ravel()):
            assert per_word.setdefault(w, k) == k       # every occurrence alike
        word_kept = np.array([per_word[w] for w in words])
        _close_to_rate(word_kept, keep)
        masks.append(word_kept)
    _fresh(masks[0], masks[1], keep)


def test_all_input_side_dropouts_multiply():
    ids_np = _ids(32, 6)
    rates = {k: RATES[k] for k in ("dropoute_kr", "dropouti_kr", "dropouth_kr")}
    emb, [(raw, _)] = _identity_runs(rates, 2, ids_np, runs=1)
    kept = _scale_pattern(raw / emb[ids_np], np.prod(list(rates.values())))
    _close_to_rate(kept[:, 0], np.prod(list(rates.values())))   # a per-sequence draw


def _kernel(layer):
    return [v for v in tf.compat.v1.trainable_variables()
            if v.op.name.startswith(f"lm/layer{layer}/") and v.op.name.endswith("kernel")][0]


@pytest.mark.parametrize("model", ["lstm", "qrnn"])
def test_weight_drop_rate_and_one_mask_per_run(model):
    keep = RATES["wdrop_kr"]
    cfg = lm_model.LMConfig(vocab_size=40, emsize=DEPTH, nhid=DEPTH, nlayers=1, model=model,
                            **dict(ALL_ONE, wdrop_kr=keep))
    ids_np = _ids(4, 6)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(2)
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        model_ = lm_model.LanguageModel(cfg, seed=4)
        out = model_(ids)
        kernel = _kernel(0)
        weights = tf.constant(np.random.RandomState(1).normal(size=[4, 6, DEPTH]), tf.float32)
        grad = tf.gradients(tf.reduce_sum(out.raw_output * weights), kernel)[0]
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = model_.state_feed(out.initial_state, model_.zero_state(4))
            feed[ids] = ids_np
            feed[out.training] = True
            runs = [sess.run([out.raw_output, grad], feed) for _ in range(2)]
            w = sess.run(kernel)
            feed[out.training] = False
            masks = []
            for raw, g in runs:
                # LSTM: only the recurrent rows (the last `units`) are dropped;
                # QRNN: the whole gate kernel.
                dropped_rows = slice(-DEPTH, None) if model == "lstm" else slice(None)
                kept = g != 0
                if model == "lstm":
                    assert kept[:-DEPTH].all()             # input rows never dropped
                masks.append(kept[dropped_rows])
                _close_to_rate(masks[-1], keep)
                w_dropped = w.copy()
                w_dropped[dropped_rows] = w[dropped_rows] * kept[dropped_rows] / keep
                kernel.load(w_dropped, sess)               # W * M / keep, evaluation graph
                np.testing.assert_allclose(sess.run(out.raw_output, feed), raw,
                                           rtol=1e-4, atol=1e-6)
                kernel.load(w, sess)
    _fresh(masks[0], masks[1], keep)


def test_ar_on_the_dropped_and_tar_on_the_raw_output_with_dropout_on(tmp_path):
    data = lm_test_data.tiny_corpus(tmp_path)
    mcfg, tcfg = lm_test_data.tiny_configs(data, RATES, alpha=2.0, beta=1.0)
    g = lm_graph.LMGraph(mcfg, tcfg, graph_seed=1)
    streams = corpus.batchify(data.train, 8)
    x, y = streams[:, :9], streams[:, 1:10]
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        for v in g.model_vars:        # larger weights: outputs of order 1, so TAR is not tiny
            if v.op.name.endswith(("embedding", "kernel")):
                v.load(sess.run(v) * (10.0 if v.op.name.endswith("embedding") else 4.0), sess)
        feed = g.feed(x, g.model.zero_state(8), y, training=True)
        loss, logits, raw, dropped, weights = sess.run(
            [g.loss, g.out.logits, g.out.raw_output, g.out.dropped_output,
             {v.op.name: v for v in g.model_vars}], feed)
    # `dropped` is `raw` under the output dropout, and the softmax reads it:
    # (raw is exactly 0 where a sequence starts with a dropped word: read each
    # unit's mask at the time step where |raw| is largest)
    at = np.abs(raw).argmax(1)[:, None, :]
    ratio = np.take_along_axis(dropped, at, 1) / np.take_along_axis(raw, at, 1)
    kept = _scale_pattern(ratio, RATES["dropout_kr"])                 # [batch, 1, units]
    np.testing.assert_allclose(dropped, raw * kept / RATES["dropout_kr"], rtol=1e-5, atol=1e-7)
    _close_to_rate(kept, RATES["dropout_kr"])
    np.testing.assert_allclose(
        logits, dropped @ weights["lm/embedding"].T + weights["lm/softmax_b"],
        rtol=1e-4, atol=1e-5)
    z = logits - logits.max(-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    xent = -np.take_along_axis(log_p, y[..., None], -1).mean()
    ar = 2.0 * np.mean(dropped.astype(np.float64) ** 2)
    tar = 1.0 * np.mean((raw[:, 1:].astype(np.float64) - raw[:, :-1]) ** 2)
    assert abs(ar - 2.0 * np.mean(raw.astype(np.float64) ** 2)) > 0.1 * ar   # they differ
    assert abs(tar - np.mean(np.diff(dropped.astype(np.float64), axis=1) ** 2)) > 0.1 * tar
    np.testing.assert_allclose(loss - xent, ar + tar, rtol=1e-4)


def _numpy_qrnn_lm(weights, ids, state, nlayers):
    x = weights["lm/embedding"][ids].astype(np.float64)
    new_state = []
    for layer in range(nlayers):
        kernel = weights[f"lm/layer{layer}/qrnn_cell/kernel"]
        bias = weights[f"lm/layer{layer}/qrnn_cell/bias"]
        window = 2 if layer == 0 else 1
        c0, x_prev0 = (state[layer] if window == 2 else (state[layer], None))
        x, c, x_prev = qrnn_reference.qrnn_forward(x, kernel.T, bias, window=window,
                                                   c0=c0, x_prev0=x_prev0)
        new_state.append((c, x_prev) if window == 2 else c)
    return x @ weights["lm/embedding"].T + weights["lm/softmax_b"], new_state


@pytest.mark.parametrize("rnn_impl", ["fast", "stock"])
def test_qrnn_model_matches_numpy_and_carries_its_state(rnn_impl):
    cfg = lm_model.LMConfig(vocab_size=30, emsize=6, nhid=10, nlayers=3, model="qrnn",
                            rnn_impl=rnn_impl)
    rng = np.random.RandomState(0)
    ids_np = rng.randint(0, 30, size=(4, 7)).astype(np.int32)
    with tf.Graph().as_default():
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        model = lm_model.LanguageModel(cfg, seed=3)
        out = model(ids)
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for v in tf.compat.v1.trainable_variables():       # biases the test can see
                if "bias" in v.op.name or "softmax_b" in v.op.name:
                    v.load(rng.uniform(-0.5, 0.5, v.shape), sess)
            weights = {v.op.name: sess.run(v) for v in tf.compat.v1.trainable_variables()}
            state0 = tf.nest.map_structure(
                lambda s: rng.uniform(-1, 1, s.shape).astype(np.float32), model.zero_state(4))
            logits, state = [], state0
            for part in (ids_np[:, :3], ids_np[:, 3:]):         # two segments, state carried
                feed = model.state_feed(out.initial_state, state)
                feed[ids] = part
                lg, state = sess.run([out.logits, out.final_state], feed)
                logits.append(lg)
            final = state
    ref_logits, ref_state = _numpy_qrnn_lm(weights, ids_np, state0, 3)
    np.testing.assert_allclose(np.concatenate(logits, 1), ref_logits, rtol=1e-4, atol=1e-5)
    for got, want in zip(tf.nest.flatten(final), tf.nest.flatten(ref_state)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_the_step_follows_the_gradient_of_xent_plus_ar_plus_tar(tmp_path):
    # The applied SGD step (no clipping, no weight decay) against central finite
    # differences of the loss along random directions, with dropout on: each
    # session of a seeded graph draws the same masks at its first run.
    data = lm_test_data.tiny_corpus(tmp_path)
    mcfg, tcfg = lm_test_data.tiny_configs(data, RATES, alpha=2.0, beta=1.0, clip=0.0,
                                           wdecay=0.0)
    g = lm_graph.LMGraph(mcfg, tcfg, graph_seed=1)
    streams = corpus.batchify(data.train, 8)
    x, y = streams[:, :9], streams[:, 1:10]

    def first_run(weights, fetches):
        with tf.compat.v1.Session(graph=g.graph) as sess:
            sess.run(g.init)
            for v, w in zip(g.model_vars, weights):
                v.load(w, sess)
            feed = g.feed(x, g.model.zero_state(8), y, training=True)
            feed[g.lr] = 1.0
            result = sess.run(fetches, feed)
            return result, sess.run(g.model_vars)

    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        w0 = [w * (10.0 if v.op.name.endswith("embedding") else 4.0)
              if v.op.name.endswith(("embedding", "kernel")) else w
              for v, w in zip(g.model_vars, sess.run(g.model_vars))]
    (loss, _), w1 = first_run(w0, [g.loss, g.step_op])
    assert first_run(w0, [g.loss])[0][0] == loss          # same masks in a new session
    rng = np.random.RandomState(0)
    eps = 1e-3           # (weights 4x larger than at init: 1e-2 is past the linear range)
    for _ in range(3):
        d = [rng.normal(size=w.shape).astype(np.float32) for w in w0]
        (plus,), _ = first_run([w + eps * e for w, e in zip(w0, d)], [g.loss])
        (minus,), _ = first_run([w - eps * e for w, e in zip(w0, d)], [g.loss])
        numeric = (np.float64(plus) - minus) / (2 * eps)
        applied = -sum(np.sum((b - a).astype(np.float64) * e) for a, b, e in zip(w0, w1, d))
        assert numeric == pytest.approx(applied, rel=2e-2, abs=2e-3)
