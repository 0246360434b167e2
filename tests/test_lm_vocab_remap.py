"""Moving a trained LM to a new vocabulary (awdrnn/lm/vocab_remap.py).

Expected rows are written by hand (fastai v1's `convert_weights`: kept rows
for known words, the mean row for new ones), and on a real run trained for a
few steps here, read back from the checkpoint files.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.lm import training as lm_training, vocab_remap as lm_vocab_remap
from awdrnn.training import checkpoint_files, checkpoints
from awdrnn.lm.errors import CheckpointMismatch

import lm_test_data


def test_rows_by_hand():
    result = lm_vocab_remap.remap_rows(
        ["a", "b", "c"], corpus.Vocabulary(["c", "x", "a", "y"]),
        embedding=[[1.0, 2.0], [3.0, 4.0], [8.0, 0.0]], bias=[0.5, -1.0, 2.0],
        decoder=[[1.0], [2.0], [6.0]])
    np.testing.assert_array_equal(result.embedding, [[8, 0], [4, 2], [1, 2], [4, 2]])
    np.testing.assert_array_equal(result.bias, [2.0, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(result.decoder, [[6], [3], [1], [3]])
    assert result.new_rows == 2 and result.new_words == ["x", "y"]


def test_same_vocabulary_keeps_everything():
    emb = np.random.RandomState(0).randn(4, 3)
    result = lm_vocab_remap.remap_rows("abcd", "abcd", emb, np.arange(4.0))
    np.testing.assert_array_equal(result.embedding, emb)
    assert result.new_rows == 0 and result.decoder is None


def test_rows_that_do_not_match_the_old_vocabulary():
    with pytest.raises(ValueError, match=r"bias has shape \[2\]; expected \[3\]"):
        lm_vocab_remap.remap_rows("abc", "ab", np.zeros([3, 2]), np.zeros([2]))
    with pytest.raises(ValueError, match="new_vocab lists a word twice"):
        lm_vocab_remap.remap_rows("abc", "aa", np.zeros([3, 2]), np.zeros([3]))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny untied LM trained for 3 steps (with its best/ weights)."""
    data = lm_test_data.tiny_corpus(tmp_path_factory.mktemp("corpus"))
    mcfg, tcfg = lm_test_data.tiny_configs(data, dict(tie_weights=False, nlayers=1),
                                           max_steps=3, epochs=1)
    folder = str(tmp_path_factory.mktemp("run") / "run")
    lm_training.Trainer(mcfg, tcfg, data, folder, log=lambda *a: None).run()
    return folder


def _best_tensors(folder):
    best = checkpoints.CheckpointStore(os.path.join(folder, "best")).latest()
    reader = tf.train.load_checkpoint(os.path.join(best, "model"))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


def test_saved_run_remapped(run, tmp_path):
    old_words = corpus.Vocabulary.load(os.path.join(run, "vocab.txt")).words
    new_words = ["zebra"] + old_words[::-2] + ["yak"]
    out = str(tmp_path / "ft")
    report = lm_vocab_remap.remap_saved_lm(run, corpus.Vocabulary(new_words), out)
    assert (report.new_rows, report.new_words) == (2, ["zebra", "yak"])
    assert (report.old_vocab_size, report.new_vocab_size) == (len(old_words), len(new_words))
    old, new = _best_tensors(run), _best_tensors(out)
    assert sorted(old) == sorted(new)
    for name in ("lm/embedding", "lm/softmax_w", "lm/softmax_b"):
        want = np.stack([old[name][old_words.index(w)] if w in old_words
                         else old[name].mean(axis=0) for w in new_words])
        np.testing.assert_allclose(new[name], want, rtol=1e-6, err_msg=name)
    for name in old:
        if not name.startswith(("lm/embedding", "lm/softmax")):
            np.testing.assert_array_equal(new[name], old[name], err_msg=name)
    model_config, _, vocab = lm_training.load_config(out)
    assert model_config.vocab_size == len(new_words) and vocab.words == new_words
    saved = checkpoints.read_json(os.path.join(out, "config.json"))
    assert saved["extra"]["vocab_remap"]["new_rows"] == 2
    session, g, _ = lm_training.open_best_model(out)  # loads with its shape checks
    session.close()
    assert not os.path.exists(out + ".tmp")


def test_a_used_output_folder_is_refused(run, tmp_path):
    (tmp_path / "ft").mkdir()
    (tmp_path / "ft" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists and is not empty"):
        lm_vocab_remap.remap_saved_lm(run, ["a"], str(tmp_path / "ft"))


def test_a_failed_write_leaves_nothing(run, tmp_path, monkeypatch):
    def fail(prefix, tensors):
        raise OSError("disk full")
    monkeypatch.setattr(checkpoint_files, "write_variables", fail)
    with pytest.raises(OSError, match="disk full"):
        lm_vocab_remap.remap_saved_lm(run, ["a"], str(tmp_path / "ft"))
    assert os.listdir(tmp_path) == []


def test_not_a_run_folder(tmp_path):
    with pytest.raises(CheckpointMismatch, match="has no config.json"):
        lm_vocab_remap.remap_saved_lm(str(tmp_path), ["a"], str(tmp_path / "ft"))
