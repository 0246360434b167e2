"""examples/tf1_awd_lstm.py (a TF1 program using the TF1 AWD-LSTM idioms) and
TF1 programs that import awdrnn before or after `disable_v2_behavior()`.

These run in subprocesses that choose their own world, so they are the same
in both runs of the suite; the TF1 run skips them (saying so).
"""

import math
import os
import re
import subprocess
import sys

import pytest

from conftest import own_world_subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "tf1_awd_lstm.py")

pytestmark = own_world_subprocess


def _run(args, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def test_example_trains_and_reports_validation_perplexity(tmp_path):
    result = _run([SCRIPT, f"--workdir={tmp_path}", "--steps=4", "--log_every=2",
                   "--batch_size=4", "--bptt=10", "--emsize=16", "--nhid=16"])
    assert result.returncode == 0, result.stderr[-2000:]
    losses = [float(v) for v in re.findall(r"step +\d+ +loss ([\d.]+)", result.stdout)]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    ppl = float(re.search(r"validation perplexity ([\d.]+) \(95 words\)", result.stdout)[1])
    assert 1 < ppl < 1000


@pytest.mark.parametrize("flag, message", [
    ("--wdrop=1.0", "--wdrop is a drop rate in [0, 1), got 1.0"),
    ("--steps=0", "--steps must be positive, got 0"),
])
def test_example_bad_flags(tmp_path, flag, message):
    result = _run([SCRIPT, f"--workdir={tmp_path}", flag])
    assert result.returncode == 2 and f"error: {message}" in result.stderr
    assert "Traceback" not in result.stderr


PROGRAM = """
import numpy as np
{first}
{second}
graph = tf.Graph()
with graph.as_default():
    x = tf.placeholder(tf.float32, [2, 3, 4])
    cell = awdrnn.WeightDropLSTMCell(5, weight_drop_kr=0.5, use_vd=True, input_size=4)
    vd = awdrnn.VariationalDropout(input_shape=[4], keep_prob=0.5)
    with tf.control_dependencies(cell.get_vd_update_op()):
        with tf.control_dependencies(vd.get_update_mask_op()):
            out, _ = awdrnn.dynamic_rnn(cell, vd(x), dtype=tf.float32)
    init = tf.global_variables_initializer()
with tf.Session(graph=graph) as sess:
    sess.run(init)
    a = sess.run(out, {{x: np.ones([2, 3, 4])}})
    b = sess.run(out, {{x: np.ones([2, 3, 4])}})
assert not tf.executing_eagerly() and not tf.resource_variables_enabled()
assert isinstance(x.shape[0], tf.Dimension)
assert a.shape == (2, 3, 5) and not np.allclose(a, b)  # new masks each run
print("ok")
"""


@pytest.mark.parametrize("order", ["awdrnn_first", "disable_first"])
def test_tf1_program_either_import_order(order):
    imports = ["import awdrnn",
               "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()"]
    if order == "disable_first":
        imports.reverse()
    result = _run(["-c", PROGRAM.format(first=imports[0], second=imports[1])])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
