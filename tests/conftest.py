"""Shared test set-up: quiet TensorFlow logs, locate the shared corpora."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pathlib

import pytest

# The real corpora live beside the checkout (../shared/data); users do not have them.
SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(name):
    """Path of a shared corpus folder, or skips the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"needs the shared corpus {path} (absent on this machine)")
    return path
