"""Saving an LM's encoder and loading it by path (awdrnn/lm/encoder_io.py).

The reference is the trained LM's own forward pass: the last layer's
undropped output of the run's inference graph (`lm_training.open_best_model`),
compared with the encoder rebuilt in a fresh graph under another scope.
"""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.lm import encoder_io, training as lm_training
from awdrnn.training import checkpoints

import lm_test_data
from tf_session import new_session


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return lm_test_data.tiny_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module", params=["lstm", "qrnn"])
def run(request, data, tmp_path_factory):
    """A tiny tied 2-layer LM trained for 3 steps."""
    mcfg, tcfg = lm_test_data.tiny_configs(data, dict(model=request.param), max_steps=3,
                                           epochs=1)
    folder = str(tmp_path_factory.mktemp("run") / "run")
    lm_training.Trainer(mcfg, tcfg, data, folder, log=lambda *a: None).run()
    return folder


def test_encoder_outputs_equal_the_lm_hidden_outputs(run, tmp_path):
    folder = encoder_io.save_encoder(run, str(tmp_path / "encoder"))
    ids = np.random.RandomState(0).randint(0, 20, size=(3, 7)).astype(np.int32)
    session, g, vocab = lm_training.open_best_model(run)
    with session:
        want = session.run(g.out.raw_output, g.feed(ids, g.model.zero_state(3)))
        lm_names = sorted(v.op.name for v in g.model_vars)

    encoder = encoder_io.load_encoder(folder)
    assert encoder.vocab == vocab and encoder.direction == "forward"
    with tf.Graph().as_default() as graph:
        ids_t = tf.compat.v1.placeholder(tf.int32, [None, None])
        out = encoder.build(ids_t, training=False, scope="clas/encoder")
        assert sorted(encoder.variables) == [n[len("lm/"):] for n in lm_names
                                             if not n.startswith("lm/softmax")]
        assert all(v.op.name.startswith("clas/encoder/") for v in encoder.variables.values())
        feed = encoder.model.state_feed(out.initial_state, encoder.model.zero_state(3))
        feed[ids_t] = ids
        with new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            got = sess.run(out.raw_output, feed)
    assert got.shape == (3, 7, 8)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_folder_contents(run, tmp_path):
    spm = tmp_path / "sp.model"
    spm.write_bytes(b"not really a model")
    folder = encoder_io.save_encoder(run, str(tmp_path / "encoder"), spm_model=str(spm))
    info = checkpoints.read_json(os.path.join(folder, "encoder.json"))
    assert info["format"] == "awdrnn-encoder" and info["vocab"] == "vocab.txt"
    assert info["model"]["emsize"] == 8 and info["spm_model"] == "spm.model"
    names = [n for n, _ in tf.train.list_variables(os.path.join(folder, "model"))]
    assert "embedding" in names and not any("softmax" in n for n in names)
    assert encoder_io.load_encoder(folder).spm_model == os.path.join(folder, "spm.model")


def test_direction_from_the_run_config(run, tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(run, copy)
    config = checkpoints.read_json(os.path.join(copy, "config.json"))
    config["extra"]["direction"] = "backward"
    checkpoints.write_json(os.path.join(copy, "config.json"), config)
    folder = encoder_io.save_encoder(copy, str(tmp_path / "encoder"))
    assert encoder_io.load_encoder(folder).direction == "backward"


def test_direction_from_a_trainer_run_with_backward(run, tmp_path):
    """A run of lm_training.Trainer records only TrainConfig.backward."""
    copy = str(tmp_path / "run")
    shutil.copytree(run, copy)
    config = checkpoints.read_json(os.path.join(copy, "config.json"))
    config.get("extra", {}).pop("direction", None)
    config["train"]["backward"] = True
    checkpoints.write_json(os.path.join(copy, "config.json"), config)
    folder = encoder_io.save_encoder(copy, str(tmp_path / "encoder"))
    assert encoder_io.load_encoder(folder).direction == "backward"


def test_not_an_encoder_folder(tmp_path):
    with pytest.raises(encoder_io.EncoderError, match="is not an encoder folder"):
        encoder_io.load_encoder(str(tmp_path))


def test_weights_that_do_not_fit_the_description(run, tmp_path):
    folder = encoder_io.save_encoder(run, str(tmp_path / "encoder"))
    info = checkpoints.read_json(os.path.join(folder, "encoder.json"))
    info["model"]["nhid"] = 13
    checkpoints.write_json(os.path.join(folder, "encoder.json"), info)
    encoder = encoder_io.load_encoder(folder)
    with tf.Graph().as_default():
        with pytest.raises(encoder_io.EncoderError, match=r"layer0/.* has shape \[.*\] in its"):
            encoder.build(tf.compat.v1.placeholder(tf.int32, [None, None]))


def test_vocabulary_and_override_mismatches(run, tmp_path):
    encoder = encoder_io.load_encoder(encoder_io.save_encoder(run, str(tmp_path / "e")))
    encoder.check_vocabulary(encoder.vocab)
    other = corpus.Vocabulary(encoder.vocab.words[:-1] + ["platypus"])
    with pytest.raises(encoder_io.EncoderError, match=r"words it lacks \['platypus'\].*remap"):
        encoder.check_vocabulary(other)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"cannot override \['emsize'\]"):
            encoder.build(tf.compat.v1.placeholder(tf.int32, [None, None]), emsize=4)


def test_save_errors(run, tmp_path):
    with pytest.raises(encoder_io.EncoderError, match="spm_model '/nope.model' does not exist"):
        encoder_io.save_encoder(run, str(tmp_path / "e"), spm_model="/nope.model")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(ValueError, match="already exists and is not empty"):
        encoder_io.save_encoder(run, str(tmp_path / "used"))
    assert sorted(os.listdir(tmp_path)) == ["used"]
