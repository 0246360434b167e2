"""Heads against NumPy: PyTorch BatchNorm1d (train, eval, running statistics), fastai's
linear blocks, dropout statistics, label-smoothed cross-entropy, regression losses,
and the label scaler."""

import json

import numpy as np
import pytest
import tensorflow as tf

from awdrnn import shapes
from awdrnn.tasks import heads
from random_ops import random_op_seeds
from tf_session import new_session

EPS = 1e-5
RNG = np.random.RandomState(0)
F = 5


def np_bn(x, mean, var, gamma, beta, eps=EPS):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def np_bn_train(x, gamma, beta):
    return np_bn(x, x.mean(0), x.var(0), gamma, beta)     # biased variance


def np_running(mean, var, x, momentum):
    """PyTorch's running-statistics update (unbiased batch variance)."""
    return ((1 - momentum) * mean + momentum * x.mean(0),
            (1 - momentum) * var + momentum * x.var(0, ddof=1))


def by_name(variables):
    return {v.op.name: v for v in variables}


def _setter(variables):
    """`set(sess, {variable: value})`, with the assign ops built now (before any run)."""
    ops = {}
    for v in variables:
        ph = tf.compat.v1.placeholder(v.dtype.base_dtype, shapes.dims(v))
        ops[v] = (ph, tf.compat.v1.assign(v, ph))

    def set_values(sess, values):
        sess.run([ops[v][1] for v in values], {ops[v][0]: value for v, value in values.items()})

    return set_values


def _bn_graph(momentum=0.1, training=None):
    x = tf.compat.v1.placeholder(tf.float32, [None, F])
    if training is None:
        training = tf.compat.v1.placeholder_with_default(False, [])
    out, update = heads.batch_norm(x, training, momentum=momentum)
    return x, training, out, update


# --- batch norm -------------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_batch_norm_training_output_and_two_updates_match_pytorch_formulas(momentum):
    x1, x2 = RNG.randn(6, F).astype(np.float32) * 2 + 1, RNG.randn(4, F).astype(np.float32)
    gamma, beta = RNG.rand(F) + 0.5, RNG.randn(F)
    with tf.Graph().as_default():
        x, training, out, update = _bn_graph(momentum)
        v = by_name(tf.compat.v1.global_variables())
        set_values = _setter([v["batch_norm/gamma"], v["batch_norm/beta"]])
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            set_values(sess, {v["batch_norm/gamma"]: gamma, v["batch_norm/beta"]: beta})
            mean, var = np.zeros(F), np.ones(F)
            for batch in (x1, x2):
                got, _ = sess.run([out, update], {x: batch, training: True})
                np.testing.assert_allclose(got, np_bn_train(batch, gamma, beta),
                                           rtol=1e-4, atol=1e-5)
                mean, var = np_running(mean, var, batch, momentum)
                np.testing.assert_allclose(sess.run(v["batch_norm/moving_mean"]), mean,
                                           rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(sess.run(v["batch_norm/moving_variance"]), var,
                                           rtol=1e-5, atol=1e-6)
            # Evaluation normalises with the running statistics just checked.
            got = sess.run(out, {x: x1})
            np.testing.assert_allclose(got, np_bn(x1, mean, var, gamma, beta),
                                       rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("training_kind", ["tensor", "python"])
def test_batch_norm_update_in_evaluation_changes_nothing_and_eval_uses_moving_stats(
        training_kind):
    batch = RNG.randn(6, F).astype(np.float32)
    mean, var = RNG.randn(F), RNG.rand(F) + 0.5
    with tf.Graph().as_default():
        x, training, out, update = _bn_graph(training=None if training_kind == "tensor"
                                             else False)
        v = by_name(tf.compat.v1.global_variables())
        stats = [v["batch_norm/moving_mean"], v["batch_norm/moving_variance"]]
        set_values = _setter(stats)
        feed = {x: batch}
        if training_kind == "tensor":
            feed[training] = False
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            set_values(sess, dict(zip(stats, [mean, var])))
            for _ in range(2):
                got, _ = sess.run([out, update], feed)
            np.testing.assert_allclose(sess.run(stats[0]), mean, rtol=1e-6)
            np.testing.assert_allclose(sess.run(stats[1]), var, rtol=1e-6)
    np.testing.assert_allclose(got, np_bn(batch, mean, var, 1.0, 0.0), rtol=1e-4, atol=1e-5)


def test_batch_norm_variables_are_global_saved_and_only_gamma_beta_trainable(tmp_path):
    batch = RNG.randn(6, F).astype(np.float32)
    names = ["batch_norm/beta", "batch_norm/gamma", "batch_norm/moving_mean",
             "batch_norm/moving_variance"]
    with tf.Graph().as_default():
        x, training, out, update = _bn_graph()
        assert sorted(by_name(tf.compat.v1.global_variables())) == names
        assert sorted(by_name(tf.compat.v1.trainable_variables())) == names[:2]
        assert not tf.compat.v1.local_variables()
        assert tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS) == [update]
        saver = tf.compat.v1.train.Saver()
        v = by_name(tf.compat.v1.global_variables())
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(update, {x: batch, training: True})
            saved = sess.run([v[n] for n in names[2:]])
            path = saver.save(sess, str(tmp_path / "bn"))
    mean, var = np_running(np.zeros(F), np.ones(F), batch, 0.1)
    np.testing.assert_allclose(saved, [mean, var], rtol=1e-5, atol=1e-6)
    with tf.Graph().as_default():
        _bn_graph()
        v = by_name(tf.compat.v1.global_variables())
        with new_session() as sess:
            tf.compat.v1.train.Saver().restore(sess, path)
            np.testing.assert_array_equal(sess.run([v[n] for n in names[2:]]), saved)


def test_batch_norm_errors():
    with tf.Graph().as_default():
        x = tf.zeros([3, F])
        with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\], got 1.5"):
            heads.batch_norm(x, True, momentum=1.5)
        with pytest.raises(ValueError, match=r"epsilon must be in \(0.0, inf\), got 0.0"):
            heads.batch_norm(x, True, epsilon=0.0)
        with pytest.raises(ValueError, match="known number of features"):
            heads.batch_norm(tf.compat.v1.placeholder(tf.float32, [None, None]), True)
        with pytest.raises(ValueError, match="x must be .batch, features."):
            heads.batch_norm(tf.zeros([3, 4, F]), True)
        with pytest.raises(TypeError, match="training must be a Python bool"):
            heads.batch_norm(x, 1)


# --- linear blocks ----------------------------------------------------------------------
N_IN, SIZES = 6, [4, 3]


def _set_random_head_values(sess, variables, seed):
    """Random gamma / beta / running stats (so eval-mode outputs depend on all of them)."""
    rng = np.random.RandomState(seed)
    values = {}
    for name, v in variables.items():
        n = shapes.dim(v, -1)
        if name.endswith(("gamma", "moving_variance")):
            values[v] = rng.rand(n) + 0.5
        elif name.endswith(("beta", "moving_mean")):
            values[v] = rng.randn(n)
    _setter(list(values))(sess, values)   # fine here: no finalised graph in these tests
    return {name: sess.run(v) for name, v in variables.items()}


def np_head(x, w, training):
    """fastai's PoolingLinearClassifier body (no dropout) from the variables' values."""
    pre_relu = []
    for i in range(len(SIZES)):
        p = f"head/block{i}/"
        if training:
            x = np_bn_train(x, w[p + "batch_norm/gamma"], w[p + "batch_norm/beta"])
        else:
            x = np_bn(x, w[p + "batch_norm/moving_mean"], w[p + "batch_norm/moving_variance"],
                      w[p + "batch_norm/gamma"], w[p + "batch_norm/beta"])
        x = x @ w[p + "dense/kernel"] + w[p + "dense/bias"]
        if i < len(SIZES) - 1:
            pre_relu.append(x)
            x = np.maximum(x, 0.0)
    return x, pre_relu


@pytest.mark.parametrize("mode", ["eval", "train_keep_1"])
def test_linear_blocks_forward_matches_numpy(mode):
    batch = RNG.randn(8, N_IN).astype(np.float32)
    keeps = [0.5, 0.8] if mode == "eval" else [1.0, 1.0]
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, N_IN])
        training = tf.compat.v1.placeholder_with_default(False, [])
        logits = heads.linear_blocks(x, SIZES, keeps, training, seed=4)
        assert shapes.dims(logits) == [None, SIZES[-1]]
        variables = by_name(tf.compat.v1.global_variables())
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            w = _set_random_head_values(sess, variables, seed=5)
            got = sess.run(logits, {x: batch, training: mode != "eval"})
    want, pre_relu = np_head(batch, w, training=mode != "eval")
    assert (pre_relu[0] < 0).any() and (want < 0).any()   # ReLU between blocks only shows
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_linear_blocks_variables_init_seeds_and_update_ops():
    with tf.Graph().as_default() as graph:
        x = tf.zeros([2, N_IN])
        with tf.compat.v1.variable_scope("outer"):
            heads.linear_blocks(x, [3], [1.0], True, scope="other")
        heads.linear_blocks(x, SIZES, [0.5, 0.8], True, seed=7)
        names = sorted(v.op.name for v in tf.compat.v1.global_variables()
                       if v.op.name.startswith("head/"))
        trainable = {v.op.name for v in tf.compat.v1.trainable_variables()}
        updates = heads.head_update_ops("head")
        other = heads.head_update_ops("outer/other")
        seeds = random_op_seeds(graph)
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            values = {v.op.name: sess.run(v) for v in tf.compat.v1.global_variables()}
    want = sorted(f"head/block{i}/{v}" for i in range(2) for v in [
        "batch_norm/gamma", "batch_norm/beta", "batch_norm/moving_mean",
        "batch_norm/moving_variance", "dense/kernel", "dense/bias"])
    assert names == want
    assert {n for n in names if n in trainable} == {
        n for n in names if n.endswith(("gamma", "beta", "kernel", "bias"))}
    assert [op.name for op in updates] == [
        "head/block0/batch_norm/update_moving_stats",
        "head/block1/batch_norm/update_moving_stats"]
    assert [op.name for op in other] == ["outer/other/block0/batch_norm/update_moving_stats"]
    # nn.Linear's U(-1/sqrt(n_in), 1/sqrt(n_in)), kernel [n_in, n_out].
    for i, n_in in enumerate([N_IN, SIZES[0]]):
        bound = 1 / np.sqrt(n_in)
        kernel, bias = values[f"head/block{i}/dense/kernel"], values[f"head/block{i}/dense/bias"]
        assert kernel.shape == (n_in, SIZES[i]) and bias.shape == (SIZES[i],)
        assert np.abs(kernel).max() <= bound and np.abs(kernel).max() > 0.5 * bound
        assert np.abs(bias).max() <= bound and np.any(bias != 0)
    # Each seeded random op (2 kernels, 2 biases, 2 dropouts) has its own op seed.
    assert sorted(len(ops) for ops in seeds.values()) == [1] * 6


def test_linear_blocks_initialisation_follows_the_seed():
    def init(seed):
        with tf.Graph().as_default():
            heads.linear_blocks(tf.zeros([2, N_IN]), SIZES, [1.0, 1.0], False, seed=seed)
            with new_session() as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                return sess.run(tf.compat.v1.trainable_variables())

    a, b, c = init(3), init(3), init(4)
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(x, y)
        if x.size > 1 and not np.all(x == x.flat[0]):     # kernels and biases
            assert not np.array_equal(x, z)


def test_head_update_ops_run_in_train_op_move_the_running_statistics():
    batch = RNG.randn(8, N_IN).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, N_IN])
        training = tf.compat.v1.placeholder_with_default(False, [])
        logits = heads.linear_blocks(x, [3], [1.0], training)
        loss = tf.reduce_mean(tf.square(logits))
        step = tf.compat.v1.train.GradientDescentOptimizer(0.0).minimize(loss)
        train_op = tf.group(step, *heads.head_update_ops())
        v = by_name(tf.compat.v1.global_variables())
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(train_op, {x: batch, training: True})
            mean = sess.run(v["head/block0/batch_norm/moving_mean"])
            eval_logits = sess.run(logits, {x: batch})
            w = {n: sess.run(var) for n, var in v.items()}
    np.testing.assert_allclose(mean, 0.1 * batch.mean(0), rtol=1e-5, atol=1e-6)
    p = "head/block0/"
    want = np_bn(batch, w[p + "batch_norm/moving_mean"], w[p + "batch_norm/moving_variance"],
                 1.0, 0.0) @ w[p + "dense/kernel"] + w[p + "dense/bias"]
    np.testing.assert_allclose(eval_logits, want, rtol=1e-4, atol=1e-5)


def _dropout_probe(keep, training, batch):
    """The tensor that enters block 0's dense layer (BN output after dropout)."""
    x = tf.constant(batch)
    heads.linear_blocks(x, [2], [keep], training, seed=11)
    matmul = tf.compat.v1.get_default_graph().get_operation_by_name("head/block0/dense/MatMul")
    return matmul.inputs[0]


def test_dropout_only_in_training_keeps_about_keep_and_scales_by_one_over_keep():
    keep = 0.7
    batch = RNG.randn(2000, 50).astype(np.float32)
    bn = np_bn_train(batch, 1.0, 0.0)              # gamma 1, beta 0 at initialisation
    with tf.Graph().as_default():
        training = tf.compat.v1.placeholder_with_default(False, [])
        dropped = _dropout_probe(keep, training, batch)
        with new_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            first, second = (sess.run(dropped, {training: True}) for _ in range(2))
            evaluated = sess.run(dropped)
    kept = first != 0
    assert abs(kept.mean() - keep) < 0.01
    np.testing.assert_allclose(first[kept], bn[kept] / keep, rtol=1e-3, atol=1e-4)
    assert not np.array_equal(first != 0, second != 0)          # a fresh mask each run
    np.testing.assert_allclose(evaluated, np_bn(batch, 0.0, 1.0, 1.0, 0.0), rtol=1e-5)
    with tf.Graph().as_default() as graph:
        _dropout_probe(keep, False, batch[:4])
        # Only the dense initialisers draw: no dropout op in an evaluation-only graph.
        assert all("dense" in op for ops in random_op_seeds(graph).values() for op in ops)


def test_linear_blocks_errors():
    with tf.Graph().as_default():
        x = tf.zeros([2, N_IN])
        with pytest.raises(ValueError, match="same length .one keep rate per block"):
            heads.linear_blocks(x, [4, 3], [0.5], True)
        with pytest.raises(ValueError, match=r"keep_probs\[1\] must be in \(0, 1\]"):
            heads.linear_blocks(x, [4, 3], [0.5, 0.0], True)
        with pytest.raises(ValueError, match=r"keep_probs\[0\] must be in \(0, 1\].*1.5"):
            heads.linear_blocks(x, [4], [1.5], True)
        with pytest.raises(ValueError, match="sizes must be a non-empty list of positive ints"):
            heads.linear_blocks(x, [], [], True)
        with pytest.raises(ValueError, match=r"bad entry 0"):
            heads.linear_blocks(x, [4, 0], [1.0, 1.0], True)
        with pytest.raises(TypeError, match="training must be a Python bool"):
            heads.linear_blocks(x, [4], [1.0], "yes")
        with pytest.raises(ValueError, match="scope must be a non-empty variable scope"):
            heads.head_update_ops("")


# --- losses -----------------------------------------------------------------------------
def np_smoothed_ce(logits, labels, eps):
    logp = logits - logits.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    nll = -logp[np.arange(len(labels)), labels]
    return np.mean((1 - eps) * nll + eps * (-logp).mean(1))


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_classification_loss_matches_numpy(eps):
    logits = RNG.randn(7, 4).astype(np.float32) * 3
    labels = RNG.randint(0, 4, size=7).astype(np.int32)
    with tf.Graph().as_default():
        loss = heads.classification_loss(tf.constant(logits), tf.constant(labels), eps)
        with new_session() as sess:
            got = sess.run(loss)
    np.testing.assert_allclose(got, np_smoothed_ce(logits.astype(np.float64), labels, eps),
                               rtol=1e-5)


@pytest.mark.parametrize("kind", ["mse", "mae"])
def test_regression_loss_matches_numpy(kind):
    pred, target = RNG.randn(9).astype(np.float32), RNG.randn(9).astype(np.float32)
    with tf.Graph().as_default():
        loss = heads.regression_loss(tf.constant(pred), tf.constant(target), kind)
        with new_session() as sess:
            got = sess.run(loss)
    want = np.mean((pred - target) ** 2) if kind == "mse" else np.mean(np.abs(pred - target))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_loss_errors():
    with tf.Graph().as_default():
        logits, labels = tf.zeros([3, 4]), tf.zeros([3], tf.int32)
        with pytest.raises(ValueError, match=r"label_smoothing must be in \[0.0, 1.0\), got 1.0"):
            heads.classification_loss(logits, labels, 1.0)
        with pytest.raises(ValueError, match=r"label_smoothing must be in .*got -0.1"):
            heads.classification_loss(logits, labels, -0.1)
        with pytest.raises(ValueError, match="labels must be an int .batch. tensor"):
            heads.classification_loss(logits, tf.zeros([3]), 0.0)
        with pytest.raises(ValueError, match="logits must be a float .batch, classes."):
            heads.classification_loss(tf.zeros([3]), labels)
        with pytest.raises(ValueError, match=r"kind must be one of \('mse', 'mae'\), got 'l1'"):
            heads.regression_loss(tf.zeros([3]), tf.zeros([3]), "l1")
        with pytest.raises(ValueError, match=r"predictions must be .batch. .rank 1.*scores"):
            heads.regression_loss(tf.zeros([3, 1]), tf.zeros([3]))


# --- label scaler -----------------------------------------------------------------------
def test_label_scaler_round_trip_json_and_identity():
    labels = np.array([3.0, -1.0, 7.0, 2.5])
    scaler = heads.LabelScaler.fit(labels)
    assert (scaler.low, scaler.high) == (-1.0, 7.0)
    scaled = scaler.scale(labels)
    np.testing.assert_allclose(scaled, (labels + 1.0) / 8.0)
    np.testing.assert_allclose(scaler.unscale(scaled), labels)
    np.testing.assert_allclose(scaler.unscale(np.array([0.0, 1.0])), [-1.0, 7.0])
    again = heads.LabelScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert again == scaler and again.to_dict() == {"low": -1.0, "high": 7.0}
    identity = heads.LabelScaler.identity()
    assert identity.is_identity and not scaler.is_identity
    np.testing.assert_array_equal(identity.scale(labels), labels)
    np.testing.assert_array_equal(identity.unscale(labels), labels)
    assert scaler.scale(np.array([1, 3])).dtype == np.float64   # ints become floats


def test_label_scaler_errors():
    with pytest.raises(ValueError, match=r"all 3 labels are equal \(2.0\).*identity"):
        heads.LabelScaler.fit([2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="at least one label"):
        heads.LabelScaler.fit([])
    with pytest.raises(ValueError, match="needs finite labels, got nan"):
        heads.LabelScaler.fit([1.0, float("nan")])
    with pytest.raises(ValueError, match="needs low < high, got low=2.0, high=1.0"):
        heads.LabelScaler(2.0, 1.0)
    with pytest.raises(ValueError, match="high must be a finite number, got inf"):
        heads.LabelScaler(0.0, float("inf"))
    with pytest.raises(ValueError, match="needs a dict with keys 'low' and 'high'"):
        heads.LabelScaler.from_dict({"low": 0.0})
