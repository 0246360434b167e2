"""Tests of awdrnn.tasks.bpt3c: the plan of hand-made batches, the encoder's `lengths`
(against the NumPy LSTM of tests/lstm_reference.py) and BPT3C end to end in a TaskGraph
(against a NumPy encoder and head run on each whole, unsplit row)."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm import model as lm_model
from awdrnn.tasks import bpt3c, task_config, task_graph

from lstm_reference import lstm_forward
from tf_session import init_variables, new_session

ENC = dict(vocab_size=30, emsize=8, nhid=16, nlayers=2)


# --- plan ---------------------------------------------------------------------------------
def test_plan_hand_made_batch():
    # Rows longer than max_len (9 and 5 tokens), exactly max_len (3), shorter (2);
    # bptt = 2 does not divide the longest prefix (6 tokens: 2 + 2 + 2, and 2 of row 1).
    ids = np.array([[10, 11, 12, 13, 14, 15, 16, 17, 18],
                    [20, 21, 22, 23, 24, 1, 1, 1, 1],
                    [7, 8, 9, 1, 1, 1, 1, 1, 1],
                    [5, 6, 1, 1, 1, 1, 1, 1, 1]])
    p = bpt3c.plan(ids, [9, 5, 3, 2], bptt=2, max_len=3, pad_id=0)
    assert p.starts.tolist() == [6, 2, 0, 0]
    assert [c.lengths.tolist() for c in p.prefix] == [[2, 2, 0, 0], [2, 0, 0, 0],
                                                      [2, 0, 0, 0]]
    assert [c.ids.tolist() for c in p.prefix] == [
        [[10, 11], [20, 21], [0, 0], [0, 0]],
        [[12, 13], [0, 0], [0, 0], [0, 0]],
        [[14, 15], [0, 0], [0, 0], [0, 0]]]
    assert p.window.ids.tolist() == [[16, 17, 18], [22, 23, 24], [7, 8, 9], [5, 6, 0]]
    assert p.window.lengths.tolist() == [3, 3, 3, 2]
    assert p.window.lengths.dtype == np.int32 and p.starts.dtype == np.int32


def test_plan_bptt_not_dividing_prefix_and_default_pad():
    # Prefix of 5 tokens in chunks of 3: [0, 3) then [3, 5) (a 2-wide last chunk).
    ids = np.array([[2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 1, 1, 1]])
    p = bpt3c.plan(ids, np.array([7, 4]), bptt=3, max_len=2)
    assert p.starts.tolist() == [5, 2]
    assert [c.ids.tolist() for c in p.prefix] == [[[2, 3, 4], [9, 10, 1]], [[5, 6], [1, 1]]]
    assert [c.lengths.tolist() for c in p.prefix] == [[3, 2], [2, 0]]
    assert p.window.ids.tolist() == [[7, 8], [11, 12]]
    assert p.window.lengths.tolist() == [2, 2]


def test_plan_without_prefix_keeps_rows():
    ids = np.array([[2, 3, 4], [5, 1, 1]])
    p = bpt3c.plan(ids, [3, 1], bptt=2, max_len=3)
    assert p.prefix == []
    assert p.window.ids.tolist() == [[2, 3, 4], [5, 1, 1]]
    assert p.window.lengths.tolist() == [3, 1] and p.starts.tolist() == [0, 0]


def test_run_prefix_threads_the_state_in_order():
    seen = []
    out = bpt3c.run_prefix(["a", "b", "c"], "s", lambda c, s: seen.append((c, s)) or s + c)
    assert out == "sabc" and seen == [("a", "s"), ("b", "sa"), ("c", "sab")]
    assert bpt3c.run_prefix([], "s", None) == "s"


@pytest.mark.parametrize("kwargs, match", [
    (dict(bptt=0, max_len=3), r"bptt must be a positive int, got 0"),
    (dict(bptt=2.0, max_len=3), r"bptt must be a positive int, got 2\.0"),
    (dict(bptt=True, max_len=3), r"bptt must be a positive int, got True"),
    (dict(bptt=2, max_len=-1), r"max_len must be a positive int, got -1"),
])
def test_plan_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bpt3c.plan(np.ones([2, 3], int), [3, 2], **kwargs)


@pytest.mark.parametrize("ids, lengths, match", [
    (np.ones([2, 3], int), [3, 2, 1], r"lengths \[batch\]; got ids \(2, 3\) and lengths \(3,\)"),
    (np.ones([3], int), [3], r"ids must be \[batch, time\]"),
    (np.ones([2, 3], int), [4, 2], r"lengths must be in \[1, 3\] .*got 2\.\.4"),
    (np.ones([2, 3], int), [0, 2], r"lengths must be in \[1, 3\] .*got 0\.\.2"),
])
def test_plan_bad_batches(ids, lengths, match):
    with pytest.raises(ValueError, match=match):
        bpt3c.plan(ids, lengths, bptt=2, max_len=2)


# --- NumPy references ---------------------------------------------------------------------
def _weights(sess, scope):
    return {v.op.name[len(scope) + 1:]: sess.run(v) for v in tf.compat.v1.global_variables()
            if v.op.name.startswith(scope + "/")}


def _numpy_encode(w, ids, nlayers, state=None):
    """One unpadded row `ids` [time] through the embedding and LSTM layers (PyTorch biases,
    no forget offset). Returns (last layer outputs [time, units], [(c, h)] per layer)."""
    x = w["embedding"][np.asarray(ids)][None]
    states = []
    for layer in range(nlayers):
        kernel = w[f"layer{layer}/lstm_cell/kernel"]
        n_in = x.shape[-1]
        bias = w[f"layer{layer}/lstm_cell/bias_ih"] + w[f"layer{layer}/lstm_cell/bias_hh"]
        c0, h0 = (None, None) if state is None else state[layer]
        x, c, h = lstm_forward(x, kernel[:n_in], kernel[n_in:], bias, forget_bias=0.0,
                               c0=c0, h0=h0)
        states.append((c, h))
    return x[0], states


def _numpy_head(w, h):
    """The classifier head (evaluation) on one row's window outputs `h` [time, units]:
    concat pooling [h_last, max, mean], then BatchNorm (running statistics), dense, ReLU
    between blocks."""
    x = np.concatenate([h[-1], h.max(0), h.mean(0)])
    n_blocks = len({k.split("/")[0] for k in w})
    for i in range(n_blocks):
        b = lambda name: w[f"block{i}/{name}"]  # noqa: E731
        x = (x - b("batch_norm/moving_mean")) / np.sqrt(b("batch_norm/moving_variance") + 1e-5)
        x = x * b("batch_norm/gamma") + b("batch_norm/beta")
        x = x @ b("dense/kernel") + b("dense/bias")
        if i != n_blocks - 1:
            x = np.maximum(x, 0.0)
    return x


# --- encoder lengths ----------------------------------------------------------------------
@pytest.mark.parametrize("rnn_impl", ["fast", "stock"])
def test_encode_lengths_matches_each_row_alone(rnn_impl):
    cfg = lm_model.LMConfig(**ENC, rnn_impl=rnn_impl)
    lengths = np.array([5, 2, 3, 1], np.int32)
    rng = np.random.RandomState(0)
    ids = rng.randint(2, 30, size=[4, 5])
    ids[np.arange(5)[None] >= lengths[:, None]] = 1                     # right pads
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(1)
        model = lm_model.LanguageModel(cfg, scope="enc")
        ids_t = tf.compat.v1.placeholder(tf.int32, [None, None])
        len_t = tf.compat.v1.placeholder(tf.int32, [None])
        out = model.encode(ids_t, training=False, lengths=len_t)
        with new_session() as sess:
            init_variables(sess)
            w = _weights(sess, "enc")
            state0 = [tuple(rng.uniform(-1, 1, s.shape).astype(np.float32) for s in layer)
                      for layer in model.zero_state(4)]
            feed = model.state_feed(out.initial_state, state0)
            feed.update({ids_t: ids, len_t: lengths})
            raw, final = sess.run([out.raw_output, out.final_state], feed)
    for b, n in enumerate(lengths):
        row_state = [(c[b:b + 1], h[b:b + 1]) for c, h in state0]
        ref_out, ref_state = _numpy_encode(w, ids[b, :n], cfg.nlayers, row_state)
        np.testing.assert_allclose(raw[b, :n], ref_out, atol=1e-5)
        assert not raw[b, n:].any()                                      # zero past length
        for (c, h), (rc, rh) in zip(final, ref_state):
            np.testing.assert_allclose(c[b], rc[0], atol=1e-5)
            np.testing.assert_allclose(h[b], rh[0], atol=1e-5)


def test_encode_lengths_qrnn_stock_fast_and_padding_agree():
    lengths = np.array([5, 2, 3], np.int32)
    ids = np.random.RandomState(1).randint(2, 30, size=[3, 5])
    ids[np.arange(5)[None] >= lengths[:, None]] = 1
    with tf.Graph().as_default():
        ids_t = tf.compat.v1.placeholder(tf.int32, [None, None])
        len_t = tf.compat.v1.placeholder(tf.int32, [None])
        models, outs = [], []
        for impl in ("fast", "stock"):
            model = lm_model.LanguageModel(lm_model.LMConfig(**ENC, model="qrnn",
                                                             rnn_impl=impl), scope=impl)
            models.append(model)
            outs.append(model.encode(ids_t, training=False, lengths=len_t))
        pairs = zip(sorted(tf.compat.v1.global_variables("fast/"), key=lambda v: v.op.name),
                    sorted(tf.compat.v1.global_variables("stock/"), key=lambda v: v.op.name))
        copy = [b.assign(a) for a, b in pairs]
        with new_session() as sess:
            init_variables(sess)
            sess.run(copy)

            def run(rows, lens):
                feed = {ids_t: rows, len_t: lens}
                for model, out in zip(models, outs):
                    feed.update(model.state_feed(out.initial_state,
                                                 model.zero_state(len(lens))))
                return sess.run([[o.raw_output, o.final_state] for o in outs], feed)

            (fast_raw, fast_state), (stock_raw, stock_state) = run(ids, lengths)
            np.testing.assert_allclose(fast_raw, stock_raw, atol=1e-5)
            for a, b in zip(tf.nest.flatten(fast_state), tf.nest.flatten(stock_state)):
                np.testing.assert_allclose(a, b, atol=1e-5)
            for b, n in enumerate(lengths):
                assert not fast_raw[b, n:].any()
                (alone_raw, alone_state), _ = run(ids[b:b + 1, :n], [n])
                np.testing.assert_allclose(fast_raw[b, :n], alone_raw[0], atol=1e-5)
                for a, s in zip(tf.nest.flatten(fast_state), tf.nest.flatten(alone_state)):
                    np.testing.assert_allclose(a[b], s[0], atol=1e-5)


# --- BPT3C in a TaskGraph -----------------------------------------------------------------
PREFIX_IDS, WINDOW_IDS = np.arange(2, 14), np.arange(14, 30)


def _long_rows(lengths, max_len, seed=0):
    """Rows whose prefix ids (before the last max_len) and window ids are disjoint sets."""
    rng = np.random.RandomState(seed)
    ids = np.ones([len(lengths), max(lengths)], np.int64)
    for b, n in enumerate(lengths):
        s = max(0, n - max_len)
        ids[b, :s] = rng.choice(PREFIX_IDS, s)
        ids[b, s:n] = rng.choice(WINDOW_IDS, n - s)
    return ids


def _classifier(training):
    cfg = task_config.TaskConfig(kind="classify", n_outputs=3, head_hidden=6, awd_off=True,
                                 head_drop=(0.0, 0.0), bptt=3, max_len=4, unfreeze=False)
    return task_graph.TaskGraph(cfg, lm_model.LMConfig(**ENC), training=training,
                                graph_seed=2, total_steps=10)


def test_bpt3c_logits_equal_the_whole_row_run():
    lengths = [11, 4, 2, 7]                       # prefixes 7, 0, 0, 3: chunks 3 + 3 + 1
    ids = _long_rows(lengths, max_len=4)
    g = _classifier(training=False)
    p = bpt3c.plan(ids, lengths, bptt=3, max_len=4)
    assert len(p.prefix) == 3
    with new_session(g.graph) as sess:
        sess.run(g.init_op)
        w = _weights(sess, "encoder")
        head = _weights(sess, "head")
        run_chunk = lambda chunk, state: sess.run(  # noqa: E731
            g.final_state, g.feed(chunk.ids, chunk.lengths, state=state))
        state = bpt3c.run_prefix(p.prefix, g.zero_state(len(lengths)), run_chunk)
        logits = sess.run(g.logits, g.feed(p.window.ids, p.window.lengths, state=state))
        cold = sess.run(g.logits, g.feed(p.window.ids, p.window.lengths))
    for b, n in enumerate(lengths):
        outputs, _ = _numpy_encode(w, ids[b, :n], 2)          # the whole row, unsplit
        ref = _numpy_head(head, outputs[p.starts[b]:])        # pooled over the window
        np.testing.assert_allclose(logits[b], ref, atol=1e-5)
    # The prefix matters (rows 0 and 3 have one) and only through the state.
    assert np.abs(cold[[0, 3]] - logits[[0, 3]]).max() > 1e-4
    np.testing.assert_allclose(cold[[1, 2]], logits[[1, 2]], atol=1e-6)


def test_bpt3c_gradient_touches_only_window_ids():
    lengths = [11, 4, 7]
    ids = _long_rows(lengths, max_len=4, seed=3)
    g = _classifier(training=True)
    g.graph._unsafe_unfinalize()                   # a gradient of the built loss, for the test
    with g.graph.as_default():
        grad, = tf.gradients(g.loss, [g.encoder_outputs[0].embedding])
        dense = tf.convert_to_tensor(grad)
    p = bpt3c.plan(ids, lengths, bptt=3, max_len=4)
    with new_session(g.graph) as sess:
        sess.run(g.init_op)
        run_chunk = lambda chunk, state: sess.run(  # noqa: E731
            g.final_state, g.feed(chunk.ids, chunk.lengths, state=state))
        state = bpt3c.run_prefix(p.prefix, g.zero_state(3), run_chunk)
        feed = g.feed(p.window.ids, p.window.lengths, labels=[0, 2, 1], state=state,
                      training=True)
        grad_rows = sess.run(dense, feed)
        if isinstance(grad, tf.IndexedSlices):
            indices = sess.run(grad.indices, feed)
            assert set(indices.tolist()) <= set(p.window.ids.ravel().tolist())
    touched = set(np.flatnonzero(np.abs(grad_rows).sum(1)).tolist())
    window_ids = {int(i) for b, n in enumerate(lengths) for i in ids[b, max(0, n - 4):n]}
    prefix_only = set(ids[ids > 1].tolist()) - window_ids
    assert prefix_only and window_ids <= set(WINDOW_IDS)
    assert touched == window_ids                       # not the prefix's ids, nor the pad
