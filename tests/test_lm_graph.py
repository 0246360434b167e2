"""Tests of awdrnn.lm.graph: the training step against its equations, evaluation, restore."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.kernels import fast_rnn
from awdrnn.lm import errors as lm_errors, graph as lm_graph

import lm_test_data

NO_DROPOUT = lm_test_data.NO_DROPOUT
_configs = lm_test_data.tiny_configs


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return lm_test_data.tiny_corpus(tmp_path_factory.mktemp("corpus"))


def test_one_step_is_clipped_sgd_with_weight_decay_on_xent_ar_tar(data):
    mcfg, tcfg = _configs(data, NO_DROPOUT, alpha=2.0, beta=1.0, wdecay=0.01, clip=0.05)
    g = lm_graph.LMGraph(mcfg, tcfg, graph_seed=1)
    streams = corpus.batchify(data.train, 8)
    x, y = streams[:, :9], streams[:, 1:10]
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        feed = g.feed(x, g.model.zero_state(8), y, training=True)
        feed[g.lr] = 0.5
        loss, xent, dropped, raw, grads, before = sess.run(
            [g.loss, g.xent, g.out.dropped_output, g.out.raw_output, g.dense_grads,
             g.model_vars], feed)
        sess.run(g.step_op, feed)
        after = sess.run(g.model_vars)
    ar = 2.0 * np.mean(dropped ** 2)
    tar = 1.0 * np.mean((raw[:, 1:] - raw[:, :-1]) ** 2)
    np.testing.assert_allclose(loss, xent + ar + tar, rtol=1e-5)
    norm = np.sqrt(sum(np.sum(gr ** 2) for gr in grads))
    assert norm > 0.05                                   # clipping is active
    scale = 0.05 / norm
    for w0, w1, gr in zip(before, after, grads):
        np.testing.assert_allclose(w1, w0 - 0.5 * (scale * gr + 0.01 * w0), rtol=1e-4,
                                   atol=1e-6)


def test_evaluate_carries_the_state_across_segments(data):
    mcfg, _ = _configs(data)
    g = lm_graph.LMGraph(mcfg)
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        ids = data.valid[:101]
        short = lm_graph.evaluate(sess, g, ids, batch_size=1, bptt_len=7)
        whole = lm_graph.evaluate(sess, g, ids, batch_size=1, bptt_len=100)
    assert short == pytest.approx(whole, rel=1e-5)


def test_save_restore_round_trip_and_shape_check(data, tmp_path):
    mcfg, _ = _configs(data)
    g = lm_graph.LMGraph(mcfg)
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        saved = sess.run(g.model_vars)
        lm_graph.save_model(sess, g, str(tmp_path))
    g2 = lm_graph.LMGraph(mcfg)
    with tf.compat.v1.Session(graph=g2.graph) as sess:
        sess.run(g2.init)
        lm_graph.restore_model(sess, g2, str(tmp_path))
        for a, b in zip(saved, sess.run(g2.model_vars)):
            np.testing.assert_array_equal(a, b)
    other = lm_graph.LMGraph(_configs(data, {"emsize": 6})[0])
    with tf.compat.v1.Session(graph=other.graph) as sess:
        sess.run(other.init)
        with pytest.raises(lm_errors.CheckpointMismatch,
                           match=r"lm/embedding has shape \[\d+, 8\] there but \[\d+, 6\] here"):
            lm_graph.restore_model(sess, other, str(tmp_path))


@pytest.mark.parametrize("batch,path", [(1, fast_rnn.FUSED_LSTM_XLA), (6, fast_rnn.FUSED_LSTM),
                                        (None, fast_rnn.FUSED_LSTM)])
def test_inference_graph_equals_the_training_graph_in_eval_mode(data, tmp_path, batch, path):
    """An inference-only LMGraph (cells built with training=False, the fused
    inference pass, XLA at batch 1) gives the training graph's evaluation."""
    mcfg, tcfg = _configs(data)
    train_g = lm_graph.LMGraph(mcfg, tcfg, graph_seed=3)
    ids = data.valid[:121]
    n = batch or 2
    with tf.compat.v1.Session(graph=train_g.graph) as sess:
        sess.run(train_g.init)
        want = lm_graph.evaluate(sess, train_g, ids, batch_size=n, bptt_len=9)
        lm_graph.save_model(sess, train_g, str(tmp_path))
    g = lm_graph.LMGraph(mcfg, batch_size=batch)
    assert g.training is False
    assert all(fast_rnn.path_of(c, batch)[0] == path for c in g.model.cells)
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        lm_graph.restore_model(sess, g, str(tmp_path))
        got = lm_graph.evaluate(sess, g, ids, batch_size=n, bptt_len=9)
        with pytest.raises(ValueError, match="built for inference only"):
            g.feed(ids[None, :5], g.model.zero_state(1), training=True)
        if batch is not None:
            with pytest.raises(ValueError, match=f"built for batch size {batch}, "
                                                 f"evaluate was asked for {batch + 1}"):
                lm_graph.evaluate(sess, g, ids, batch_size=batch + 1, bptt_len=9)
    assert got == pytest.approx(want, rel=1e-5)


def test_untied_embedding_gradient_is_clipped_by_its_dense_norm(data):
    # The untied embedding's gradient is IndexedSlices with a row per occurrence;
    # the clipping norm must be that of the dense gradient (PyTorch's
    # clip_grad_norm_), in which a repeated word's rows are summed first.
    mcfg, tcfg = _configs(data, dict(NO_DROPOUT, tie_weights=False), alpha=0.0, beta=0.0,
                          wdecay=0.0, clip=0.05)
    g = lm_graph.LMGraph(mcfg, tcfg, graph_seed=1)
    streams = corpus.batchify(data.train, 8)
    x, y = streams[:, :9], streams[:, 1:10]
    assert len(np.unique(x)) < x.size                    # repeated words
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        feed = g.feed(x, g.model.zero_state(8), y, training=True)
        feed[g.lr] = 0.5
        grads, norm, before = sess.run([g.dense_grads, g.grad_norm, g.model_vars], feed)
        sess.run(g.step_op, feed)
        after = sess.run(g.model_vars)
    squares = [np.sum(gr.astype(np.float64) ** 2) for gr in grads]
    emb = [v.op.name for v in g.model_vars].index("lm/embedding")
    # The embedding's share of the squared norm is small (~1e-4 of it), so
    # compare that share itself: what the norm holds beyond the other
    # gradients must be the dense embedding gradient's squared norm.
    others = sum(squares) - squares[emb]
    np.testing.assert_allclose(float(norm) ** 2 - others, squares[emb], rtol=0.02)
    want = np.sqrt(sum(squares))
    assert want > 0.05                                   # clipping is active
    for v, w0, w1, gr in zip(g.model_vars, before, after, grads):
        np.testing.assert_allclose(w1, w0 - 0.5 * (0.05 / want) * gr, rtol=1e-4, atol=1e-7,
                                   err_msg=v.op.name)
