"""awdrnn works with or without TF_USE_LEGACY_KERAS, in either import order,
and leaves `tf.keras` as the user's environment made it."""

import os
import pathlib
import subprocess
import sys

import pytest

from conftest import own_world_subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = """
import os, sys
first = sys.argv[1]
if first == "tf":
    import tensorflow as tf
    import awdrnn
else:
    import awdrnn
    import tensorflow as tf
with tf.Graph().as_default():
    cell = awdrnn.rnn_cell.MultiRNNCell(
        [awdrnn.WeightDropLSTMCell(3, weight_drop_kr=0.5, use_vd=True) for _ in range(2)])
    out, _ = tf.compat.v1.nn.dynamic_rnn(cell, tf.zeros([2, 4, 5]), dtype=tf.float32)
    assert out.shape.as_list() == [2, 4, 3]
keras_package = tf.keras.layers.Dense.__module__.split(".")[0]
legacy = os.environ.get("TF_USE_LEGACY_KERAS") == "1"
if legacy:
    assert keras_package == "tf_keras", keras_package
    # The stock names are the very classes awdrnn re-exports.
    assert tf.compat.v1.nn.rnn_cell.MultiRNNCell is awdrnn.rnn_cell.MultiRNNCell
    assert isinstance(awdrnn.WeightDropLSTMCell(3), tf.compat.v1.nn.rnn_cell.LSTMCell)
else:
    assert keras_package == "keras", keras_package  # Keras 3, untouched
assert os.environ.get("TF_USE_LEGACY_KERAS") == ("1" if legacy else None)
print("OK", keras_package)
"""


@own_world_subprocess
@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("first", ["tf", "awdrnn"])
def test_import_orders_and_legacy_keras_switch(legacy, first):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if legacy:
        env["TF_USE_LEGACY_KERAS"] = "1"
    result = subprocess.run([sys.executable, "-c", SCRIPT, first], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK" in result.stdout


@own_world_subprocess
def test_missing_tf_keras_says_how_to_install_it():
    script = "import sys; sys.modules['tf_keras'] = None; import awdrnn"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_USE_LEGACY_KERAS", None)
    result = subprocess.run([sys.executable, "-c", script], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "awdrnn needs the tf-keras package" in result.stderr
    assert 'pip install "tf-keras==2.' in result.stderr
