"""Shared test set-up: quiet TensorFlow logs, locate the shared corpora."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pathlib

import pytest
import tensorflow as tf

# The real corpora live beside the checkout (../shared/data); users do not have them.
SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(name):
    """Path of a shared corpus folder, or skips the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"needs the shared corpus {path} (absent on this machine)")
    return path


@pytest.fixture(params=["v2", "v1"])
def tf1_flavour(request):
    """Runs a test under TF2 graph defaults (control flow v2, resource
    variables) and under TF1's (v1 while loops, ref variables), as users of
    `tf.compat.v1.disable_v2_behavior()` get."""
    if request.param == "v1":
        tf.compat.v1.disable_control_flow_v2()
        tf.compat.v1.disable_resource_variables()
    yield request.param
    if request.param == "v1":
        tf.compat.v1.enable_control_flow_v2()
        tf.compat.v1.enable_resource_variables()
