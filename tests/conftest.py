"""Shared test set-up: quiet TensorFlow logs, the TF1 world switch, shared corpora.

Two worlds: by default the suite runs under TensorFlow 2's graph defaults
(`tf.compat.v1` graphs with control flow v2, resource variables, TensorShape
dimensions as ints). With the environment variable `AWDRNN_TF1=1` it runs
under `tf.compat.v1.disable_v2_behavior()`, called before any test module is
imported, so before anything is built, as a TF1 program does: v1 tensor shapes
(`Dimension`s), ref variables, v1 control flow, v1 loss reductions. The call
is process-global, so `make test` runs the two worlds as two pytest processes.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pathlib

import pytest
import tensorflow as tf

TF1_WORLD = os.environ.get("AWDRNN_TF1", "") not in ("", "0")
if TF1_WORLD:
    tf.compat.v1.disable_v2_behavior()


def pytest_report_header(config):
    world = "TF1, disable_v2_behavior()" if TF1_WORLD else "TF2 graph defaults"
    return f"awdrnn test world: {world} (AWDRNN_TF1={os.environ.get('AWDRNN_TF1', '')!r})"


# The real corpora live beside the checkout (../shared/data); users do not have them.
SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(name):
    """Path of a shared corpus folder, or skips the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"needs the shared corpus {path} (absent on this machine)")
    return path


def _set_flavour(v1):
    if v1:
        tf.compat.v1.disable_control_flow_v2()
        tf.compat.v1.disable_resource_variables()
    else:
        tf.compat.v1.enable_control_flow_v2()
        tf.compat.v1.enable_resource_variables()


@pytest.fixture(params=["v2", "v1"])
def tf1_flavour(request):
    """Runs a test under both flavours of loops and variables, in either world:
    "v2" (control flow v2, resource variables) and "v1" (v1 while loops, ref
    variables). In the TF2 world "v1" is what a TF1 program gets; in the TF1
    world (`AWDRNN_TF1=1`) "v2" is a TF1 program that called
    `tf.compat.v1.enable_control_flow_v2()` and `enable_resource_variables()`.
    The world's own setting is restored afterwards."""
    _set_flavour(request.param == "v1")
    yield request.param
    restore_world_flavour()


def restore_world_flavour():
    """Back to the world's own loops and variables (after a test changed them)."""
    _set_flavour(TF1_WORLD)


# A test whose work runs in a subprocess that does not see the world switch (a plain
# `python script.py`, a doc block, a TF1 program that sets its own world) does the
# same thing in both runs of the suite, so it runs in one of them and the other skips
# it: `own_world_subprocess` runs in the TF2 run, `own_world_subprocess_tf1_run` (the
# doc blocks) in the TF1 run, which is the shorter one without them, so that the two
# runs, side by side, end closer together.
# (Scripts launched with `scripts.python_command` do see the switch and run in both.)
own_world_subprocess = pytest.mark.skipif(
    TF1_WORLD, reason="runs in a subprocess that does not see the TF1 world switch (it sets "
    "its own world or none): the same run as in the TF2 world, which covers it")
own_world_subprocess_tf1_run = pytest.mark.skipif(
    not TF1_WORLD, reason="runs in a subprocess that does not see the world switch: the "
    "same run in either world, so the TF1 world's run covers it (it has more time to spare)")


# A script's input check (bad flags or files, stopped with one `error:` line before
# any graph is built or run) takes the same path in both worlds: the TF1 world's
# launcher only calls `disable_v2_behavior()` first. Such a test that checks only
# the error line and what is left on disk runs in the TF1 run (the TF2 run, with
# the subprocess servings and benches, is the longer one).
input_check_tf1_run = pytest.mark.skipif(
    not TF1_WORLD, reason="a script's input check, stopped before any graph is built: the "
    "same path in either world, so the TF1 world's run covers it")


needs_eager = pytest.mark.skipif(
    TF1_WORLD, reason="the TF1 world runs with eager execution disabled for the whole "
    "process (disable_v2_behavior), so there is no eager mode to test")
