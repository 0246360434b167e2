"""Tests of awdrnn.training.checkpoints: publication is atomic, failures leave the old one."""

import os

import pytest

from awdrnn.training import checkpoints


def _writer(text):
    def write(folder):
        with open(os.path.join(folder, "data"), "w") as f:
            f.write(text)
    return write


def _read(folder):
    with open(os.path.join(folder, "data")) as f:
        return f.read()


def test_write_publishes_and_prunes(tmp_path):
    store = checkpoints.CheckpointStore(str(tmp_path))
    assert store.latest() is None
    first = store.write("ckpt-1", _writer("one"))
    assert store.latest() == first and _read(first) == "one"
    second = store.write("ckpt-2", _writer("two"))
    assert store.latest() == second
    assert not os.path.exists(first)          # keep=1
    assert sorted(os.listdir(tmp_path)) == ["ckpt-2", "latest", "latest.history"]


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    store = checkpoints.CheckpointStore(str(tmp_path))
    good = store.write("ckpt-1", _writer("good"))

    def crash(folder):
        _writer("half")(folder)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.write("ckpt-2", crash)
    assert store.latest() == good and _read(good) == "good"
    assert not any(e.endswith(".tmp") for e in os.listdir(tmp_path))


def test_stale_temporary_folders_never_become_current(tmp_path):
    store = checkpoints.CheckpointStore(str(tmp_path))
    os.makedirs(tmp_path / "ckpt-9.tmp")      # left by a crash mid-write
    assert store.latest() is None
    store.write("ckpt-3", _writer("x"))
    assert not os.path.exists(tmp_path / "ckpt-9.tmp")


def test_same_name_is_never_overwritten(tmp_path):
    store = checkpoints.CheckpointStore(str(tmp_path), keep=2)
    a = store.write("ckpt-5", _writer("a"))
    b = store.write("ckpt-5", _writer("b"))
    assert a != b and _read(a) == "a" and _read(b) == "b" and store.latest() == b


def test_write_json_round_trip(tmp_path):
    path = str(tmp_path / "m.json")
    checkpoints.write_json(path, {"a": [1, 2.5, None]})
    assert checkpoints.read_json(path) == {"a": [1, 2.5, None]}
    assert os.listdir(tmp_path) == ["m.json"]
