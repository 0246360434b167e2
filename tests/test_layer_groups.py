"""ULMFiT layer groups from variable names (awdrnn/training/layer_groups.py).

Expected groups are written by hand from fastai v1's `awd_lstm_lm_split`:
one group per recurrent layer, then embedding + decoder as the top group.
"""

import pytest
import tensorflow as tf

from awdrnn.lm import model as lm_model
from awdrnn.training import layer_groups


def _variables(**config):
    with tf.Graph().as_default():
        model = lm_model.LanguageModel(lm_model.LMConfig(vocab_size=7, emsize=3, nhid=4, **config))
        model(tf.compat.v1.placeholder(tf.int32, [None, None]))
        return tf.compat.v1.trainable_variables()


def _names(groups):
    return [(g.name, [layer_groups.variable_name(v) for v in g.variables]) for g in groups]


def test_lstm_tied_pytorch_biases():
    groups = layer_groups.lm_layer_groups(_variables(nlayers=2))
    assert _names(groups) == [
        ("layer0", ["lm/layer0/lstm_cell/kernel", "lm/layer0/lstm_cell/bias_ih",
                    "lm/layer0/lstm_cell/bias_hh"]),
        ("layer1", ["lm/layer1/lstm_cell/kernel", "lm/layer1/lstm_cell/bias_ih",
                    "lm/layer1/lstm_cell/bias_hh"]),
        ("embedding", ["lm/embedding", "lm/softmax_b"])]


def test_lstm_untied_tf_biases_three_layers():
    groups = layer_groups.lm_layer_groups(
        _variables(nlayers=3, tie_weights=False, lstm_biases="tf"))
    assert _names(groups) == [
        ("layer0", ["lm/layer0/lstm_cell/kernel", "lm/layer0/lstm_cell/bias"]),
        ("layer1", ["lm/layer1/lstm_cell/kernel", "lm/layer1/lstm_cell/bias"]),
        ("layer2", ["lm/layer2/lstm_cell/kernel", "lm/layer2/lstm_cell/bias"]),
        ("embedding", ["lm/embedding", "lm/softmax_w", "lm/softmax_b"])]


def test_qrnn_with_the_embedding_group_first():
    groups = layer_groups.lm_layer_groups(_variables(nlayers=2, model="qrnn"),
                                          embedding_last=False)
    assert _names(groups) == [
        ("embedding", ["lm/embedding", "lm/softmax_b"]),
        ("layer0", ["lm/layer0/qrnn_cell/kernel", "lm/layer0/qrnn_cell/bias"]),
        ("layer1", ["lm/layer1/qrnn_cell/kernel", "lm/layer1/qrnn_cell/bias"])]


def test_other_scope():
    with tf.Graph().as_default():
        model = lm_model.LanguageModel(lm_model.LMConfig(vocab_size=7, emsize=3, nhid=4,
                                                         nlayers=1), scope="clas/encoder")
        model(tf.compat.v1.placeholder(tf.int32, [None, None]))
        variables = tf.compat.v1.trainable_variables()
    groups = layer_groups.lm_layer_groups(variables, scope="clas/encoder")
    assert [g.name for g in groups] == ["layer0", "embedding"]


def test_a_foreign_variable_is_named_in_the_error():
    variables = _variables(nlayers=2)
    with tf.Graph().as_default():
        variables.append(tf.compat.v1.get_variable("head/dense/kernel", [2, 2]))
    with pytest.raises(ValueError, match="'head/dense/kernel' belongs to no layer group"):
        layer_groups.lm_layer_groups(variables)


def test_a_wrong_scope_is_suggested():
    with pytest.raises(ValueError, match="is scope='model' the model's variable scope"):
        layer_groups.lm_layer_groups(_variables(nlayers=1), scope="model")


def test_a_missing_layer_is_reported():
    variables = [v for v in _variables(nlayers=3) if "layer1/" not in v.op.name]
    with pytest.raises(ValueError, match=r"numbered \[0, 2\]; expected 0..1"):
        layer_groups.lm_layer_groups(variables)
