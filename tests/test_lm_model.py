"""Tests of awdrnn.lm.model: variables, a NumPy forward reference, state carry, dropout switch."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm import model as lm_model
from awdrnn.qrnn_cell import QRNNCell

from random_ops import random_op_seeds

CFG = dict(vocab_size=30, emsize=6, nhid=10, nlayers=3)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _numpy_forward(weights, ids, state, cfg):
    """AWD-LSTM forward from the equations (dropout off), tied softmax."""
    emb = weights["lm/embedding"]
    x = emb[ids]                                          # [B, T, emsize]
    new_state = []
    for layer in range(cfg.nlayers):
        kernel = weights[f"lm/layer{layer}/lstm_cell/kernel"]
        bias = (weights[f"lm/layer{layer}/lstm_cell/bias_ih"]
                + weights[f"lm/layer{layer}/lstm_cell/bias_hh"])
        c, h = state[layer]
        outs = []
        for t in range(x.shape[1]):
            gates = np.concatenate([x[:, t], h], 1) @ kernel + bias
            i, j, f, o = np.split(gates, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(j)     # no forget offset
            h = _sigmoid(o) * np.tanh(c)
            outs.append(h)
        x = np.stack(outs, 1)
        new_state.append((c, h))
    logits = x @ emb.T + weights["lm/softmax_b"]
    return logits, new_state


def _build(cfg, seed=3):
    ids = tf.compat.v1.placeholder(tf.int32, [None, None])
    model = lm_model.LanguageModel(cfg, seed=seed)
    return ids, model, model(ids)


def test_variables_names_and_shapes():
    with tf.Graph().as_default():
        _build(lm_model.LMConfig(**CFG))
        shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.trainable_variables()}
    assert shapes == {
        "lm/embedding": [30, 6],
        "lm/layer0/lstm_cell/kernel": [6 + 10, 40],
        "lm/layer0/lstm_cell/bias_ih": [40], "lm/layer0/lstm_cell/bias_hh": [40],
        "lm/layer1/lstm_cell/kernel": [10 + 10, 40],
        "lm/layer1/lstm_cell/bias_ih": [40], "lm/layer1/lstm_cell/bias_hh": [40],
        # last layer sized to the embedding, for tying
        "lm/layer2/lstm_cell/kernel": [10 + 6, 24],
        "lm/layer2/lstm_cell/bias_ih": [24], "lm/layer2/lstm_cell/bias_hh": [24],
        "lm/softmax_b": [30]}


def test_one_bias_vector_option():
    with tf.Graph().as_default():
        _build(lm_model.LMConfig(**CFG, lstm_biases="summed"))
        names = [v.op.name for v in tf.compat.v1.trainable_variables()]
    assert [n for n in names if "bias" in n] == [
        f"lm/layer{k}/lstm_cell/bias" for k in range(3)]


def test_tf_biases_option_is_lstm_cells_start():
    # Runs saved before lstm_biases existed: one zero bias, forget_bias 1.
    with tf.Graph().as_default():
        _, model, _ = _build(lm_model.LMConfig(**CFG, lstm_biases="tf"))
        assert [c._forget_bias for c in model.cells] == [1.0, 1.0, 1.0]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            biases = [sess.run(v) for v in tf.compat.v1.trainable_variables()
                      if "bias" in v.op.name and "lstm_cell" in v.op.name]
    assert len(biases) == 3 and all(not b.any() for b in biases)


def _initial_biases(lstm_biases, units=400):
    cfg = lm_model.LMConfig(vocab_size=30, emsize=units, nhid=units, nlayers=1,
                            lstm_biases=lstm_biases)
    with tf.Graph().as_default():
        _build(cfg, seed=5)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return {v.op.name.split("/")[-1]: sess.run(v)
                    for v in tf.compat.v1.trainable_variables() if "bias" in v.op.name}


def test_biases_start_as_pytorch_draws_them():
    # torch.nn.LSTM: bias_ih, bias_hh ~ U(-1/sqrt(H), 1/sqrt(H)) independently,
    # no forget-gate offset; the one-vector option draws their sum (a
    # triangular distribution on +-2/sqrt(H), variance 2 / (3 H)).
    bound = 1 / np.sqrt(400)
    two = _initial_biases("pytorch")
    for name in ("bias_ih", "bias_hh"):
        b = two[name]
        assert np.abs(b).max() <= bound and np.abs(b).max() > 0.98 * bound
        assert abs(b.var() - bound ** 2 / 3) < 0.1 * bound ** 2 / 3     # 1600 draws
    assert abs(np.corrcoef(two["bias_ih"], two["bias_hh"])[0, 1]) < 0.1   # two draws
    one = _initial_biases("summed")["bias"]
    assert np.abs(one).max() <= 2 * bound and np.abs(one).max() > bound
    assert abs(one.var() - 2 * bound ** 2 / 3) < 0.1 * 2 * bound ** 2 / 3


def test_untied_model_has_its_own_softmax():
    with tf.Graph().as_default():
        _build(lm_model.LMConfig(**CFG, tie_weights=False))
        shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.trainable_variables()}
    assert shapes["lm/softmax_w"] == [30, 10]
    assert shapes["lm/layer2/lstm_cell/kernel"] == [20, 40]


@pytest.mark.parametrize("rnn_impl", ["fast", "stock"])
def test_forward_matches_numpy_and_state_carries(rnn_impl):
    cfg = lm_model.LMConfig(**CFG, rnn_impl=rnn_impl)
    rng = np.random.RandomState(0)
    ids_np = rng.randint(0, 30, size=(4, 7)).astype(np.int32)
    with tf.Graph().as_default():
        ids, model, out = _build(cfg)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            # random biases, so that the test sees them
            for v in tf.compat.v1.trainable_variables():
                if "bias" in v.op.name:
                    v.load(rng.uniform(-0.5, 0.5, v.shape), sess)
            weights = {v.op.name: sess.run(v) for v in tf.compat.v1.trainable_variables()}
            state0 = [tuple(rng.uniform(-1, 1, s.shape).astype(np.float32) for s in st)
                      for st in model.zero_state(4)]
            feed = model.state_feed(out.initial_state, state0)
            feed[ids] = ids_np
            logits, final = sess.run([out.logits, out.final_state], feed)
            # Two segments with the state carried equal one long segment.
            feed_a = model.state_feed(out.initial_state, state0)
            feed_a[ids] = ids_np[:, :3]
            logits_a, mid = sess.run([out.logits, out.final_state], feed_a)
            feed_b = model.state_feed(out.initial_state, mid)
            feed_b[ids] = ids_np[:, 3:]
            logits_b = sess.run(out.logits, feed_b)
    ref_logits, ref_state = _numpy_forward(weights, ids_np, state0, cfg)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-4, atol=1e-5)
    for (c, h), (rc, rh) in zip(final, ref_state):
        np.testing.assert_allclose(c, rc, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(h, rh, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.concatenate([logits_a, logits_b], 1), logits,
                               rtol=1e-5, atol=1e-6)


def test_training_switch_turns_every_dropout_on_and_off():
    cfg = lm_model.LMConfig(**CFG, dropout_kr=0.5, dropouth_kr=0.5, dropouti_kr=0.5,
                            dropoute_kr=0.5, wdrop_kr=0.5)
    with tf.Graph().as_default():
        ids, model, out = _build(cfg)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = model.state_feed(out.initial_state, model.zero_state(2))
            feed[ids] = [[1, 2, 3, 4]] * 2
            eval1, eval2 = sess.run(out.logits, feed), sess.run(out.logits, feed)
            feed[out.training] = True
            train1, train2 = sess.run(out.logits, feed), sess.run(out.logits, feed)
            dropped = sess.run(out.dropped_output, feed)
    np.testing.assert_array_equal(eval1, eval2)                 # deterministic
    assert not np.allclose(train1, eval1) and not np.allclose(train1, train2)
    # Output locked dropout: the same units are zero at every time step.
    zero = dropped == 0
    assert zero.any()
    np.testing.assert_array_equal(zero, np.repeat(zero[:, :1], 4, axis=1))


def test_qrnn_model_uses_qrnn_cells():
    cfg = lm_model.LMConfig(**CFG, model="qrnn")
    with tf.Graph().as_default():
        ids, model, out = _build(cfg)
        assert all(isinstance(c, QRNNCell) for c in model.cells)
        assert [c.window for c in model.cells] == [2, 1, 1]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = model.state_feed(out.initial_state, model.zero_state(3))
            feed[ids] = [[1, 2]] * 3
            assert sess.run(out.logits, feed).shape == (3, 2, 30)


def test_custom_cell_factory():
    def factory(config, layer, training, seed):
        del training, seed
        from awdrnn.rnn_cell import GRUCell
        return GRUCell(config.layer_units(layer))

    with tf.Graph().as_default():
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        model = lm_model.LanguageModel(lm_model.LMConfig(**CFG, rnn_impl="stock"),
                                       cell_factory=factory)
        out = model(ids)
        assert out.logits.shape.as_list() == [None, None, 30]


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(nlayers=0), "nlayers must be a positive int, got 0"),
    (dict(model="gru"), "model must be one of"),
    (dict(dropout_kr=0.0), "dropout_kr must be in (0, 1]"),
    (dict(rnn_impl="cudnn"), "rnn_impl must be one of"),
    (dict(lstm_biases="torch"), "lstm_biases must be one of ('pytorch', 'summed', 'tf'), got 'torch'"),
])
def test_config_errors(kwargs, fragment):
    with pytest.raises(ValueError) as e:
        lm_model.LMConfig(**dict(CFG, **kwargs)).validate()
    assert fragment in str(e.value)


def test_called_once_and_ids_checked():
    with tf.Graph().as_default():
        model = lm_model.LanguageModel(lm_model.LMConfig(**CFG))
        with pytest.raises(ValueError, match=r"ids must be an int tensor \[batch, time\]"):
            model(tf.zeros([2, 3]))
        model(tf.zeros([2, 3], tf.int32))
        with pytest.raises(ValueError, match="once per instance"):
            model(tf.zeros([2, 3], tf.int32))


def test_every_seeded_random_op_has_its_own_seed():
    # Two random ops with one op seed draw the same stream: the layer-0
    # DropConnect mask repeated its kernel initialiser's numbers (and layer 1's
    # mask layer 2's) when the factory offset the seed by `layer` a second time.
    with tf.Graph().as_default() as graph:
        tf.compat.v1.set_random_seed(1)
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        model = lm_model.LanguageModel(lm_model.LMConfig(**CFG), seed=3)
        model(ids, training=tf.compat.v1.placeholder_with_default(True, []))
    seeds = random_op_seeds(graph)
    # embedding init + 3 dropouts + 3 kernel inits + 6 bias inits + 3 masks
    # + 2 between-layer dropouts
    assert sum(len(ops) for ops in seeds.values()) == 18
    shared = {s: sorted(ops) for s, ops in seeds.items() if len(ops) > 1}
    assert not shared
