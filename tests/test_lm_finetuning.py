"""LM fine-tuning in the LM graph and Trainer: discriminative rates, gradual
unfreezing, starting from another run (`init_from`), exact resume mid-fine-tuning.

Expectations are written by hand: one SGD step moves each ULMFiT layer group
by `lr / 2.6 ** (n - 1 - g)` times its gradient (the factor computed here, not
by `discriminative.group_lr_factors`); a frozen group's weights are the
start model's exactly.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.lm import graph as lm_graph, training as lm_training
from awdrnn.training import checkpoints

import lm_test_data
from tf_session import new_session

NO_DROPOUT = lm_test_data.NO_DROPOUT


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return lm_test_data.tiny_corpus(tmp_path_factory.mktemp("corpus"))


def _train(data, save, resume=False, **train):
    mcfg, tcfg = lm_test_data.tiny_configs(data, NO_DROPOUT, **train)
    trainer = lm_training.Trainer(mcfg, tcfg, data, str(save), resume=resume,
                                  log=lambda *a: None)
    return trainer.run()


@pytest.fixture(scope="module")
def start_run(data, tmp_path_factory):
    """A trained 2-layer LM (one epoch, dropout off): the model fine-tuning starts from."""
    folder = tmp_path_factory.mktemp("start") / "run"
    _train(data, folder, epochs=1)
    return str(folder)


def _weights(folder, names=None):
    reader = tf.train.load_checkpoint(os.path.join(folder, "model"))
    return {n: reader.get_tensor(n) for n in names or reader.get_variable_to_shape_map()}


def _best(run):
    return _weights(checkpoints.CheckpointStore(os.path.join(run, "best")).latest())


def _latest_checkpoint(run, names):
    """The model weights (`names`) of the run's last checkpoint (not averaged)."""
    return _weights(checkpoints.CheckpointStore(os.path.join(run, "checkpoints")).latest(), names)


def _group(name, nlayers):
    """ULMFiT group of a variable by hand: layer l -> l, embedding/decoder -> top."""
    part = name.split("/")[1]
    return int(part[len("layer"):]) if part.startswith("layer") else nlayers


@pytest.mark.parametrize("nlayers", [1, 2])
def test_one_sgd_step_moves_each_group_by_its_rate(data, nlayers):
    mcfg, tcfg = lm_test_data.tiny_configs(
        data, dict(NO_DROPOUT, nlayers=nlayers), discriminative=True, clip=0.0, wdecay=0.0,
        alpha=0.0, beta=0.0, optimizer="sgd")
    g = lm_graph.LMGraph(mcfg, tcfg, graph_seed=3)
    lr = 0.7
    streams = corpus.batchify(data.train, 8)
    x, y = streams[:, :8], streams[:, 1:9]
    with new_session(g.graph) as sess:
        sess.run(g.init)
        feed = g.feed(x, g.model.zero_state(8), y, training=True)
        feed[g.lr] = lr
        before, grads = sess.run([g.model_vars, g.dense_grads], feed)
        sess.run(g.step_op, feed)
        after = sess.run(g.model_vars)
    n = nlayers + 1
    for v, w0, w1, grad in zip(g.model_vars, before, after, grads):
        rate = lr / 2.6 ** (n - 1 - _group(v.op.name, nlayers))
        assert np.abs(grad).max() > 0, v.op.name
        np.testing.assert_allclose(w0 - w1, rate * grad, rtol=1e-4, atol=1e-6,
                                   err_msg=v.op.name)


def test_init_from_refuses_another_shape(data, start_run, tmp_path):
    mcfg, tcfg = lm_test_data.tiny_configs(data, dict(NO_DROPOUT, nhid=16),
                                           init_from=start_run)
    with pytest.raises(lm_training.CheckpointMismatch, match="another shape: nhid=12 there"):
        lm_training.Trainer(mcfg, tcfg, data, str(tmp_path / "r"))
    assert not os.path.exists(tmp_path / "r")


def test_unfreezing_epoch_by_epoch_and_exact_resume(data, start_run, tmp_path):
    """One run stopped in epoch 1 (step 10 of about 18) and in epoch 2 (step 25),
    resumed each time, against the same three epochs without a stop."""
    start = _best(start_run)
    ft = dict(init_from=start_run, discriminative=True, unfreeze=True, optimizer="adam",
              lr=3e-3, epochs=3)
    # In epoch 1 only the top group (embedding + output bias) changes.
    cut = tmp_path / "cut"
    _train(data, cut, max_steps=10, **ft)
    epoch1 = _latest_checkpoint(cut, start)
    for name in start:
        if _group(name, 2) == 2:
            assert not np.allclose(epoch1[name], start[name]), name
        else:
            np.testing.assert_array_equal(epoch1[name], start[name], err_msg=name)
    # Resumed into epoch 2: layer1 trains too, layer0 is still frozen.
    _train(data, cut, resume=True, max_steps=25, **ft)
    epoch2 = _latest_checkpoint(cut, start)
    for name in start:
        if _group(name, 2) == 0:
            np.testing.assert_array_equal(epoch2[name], start[name], err_msg=name)
        else:
            assert not np.allclose(epoch2[name], epoch1[name]), name
    # Resumed to the end: the weights of the same three epochs without a stop.
    whole = tmp_path / "whole"
    _train(data, whole, **ft)
    _train(data, cut, resume=True, **ft)
    a, b = _latest_checkpoint(whole, start), _latest_checkpoint(cut, start)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert not np.allclose(a["lm/layer0/lstm_cell/kernel"], start["lm/layer0/lstm_cell/kernel"])
