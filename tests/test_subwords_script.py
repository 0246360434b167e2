"""examples/subwords.py: train, encode, decode, clean; bad input.

The commands run in-process through the script's `run` (fast); one
subprocess checks the command line itself: one `error:` line, exit code 2.
"""

import importlib.util
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from awdrnn.text import subwords
from awdrnn.text.text_files import DEFAULT_MAX_LINE_BYTES, TextError
from conftest import own_world_subprocess
from text_samples import write_lines

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "subwords.py")


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("subwords_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _opts(**kwargs):
    """The script's flags with their defaults, overridden by kwargs."""
    opts = dict(input=None, output=None, spm_model=None, vocab_size=15000,
                model_type="unigram", lower_case=False, character_coverage=0.99999,
                max_line_bytes=DEFAULT_MAX_LINE_BYTES, detokenize=True,
                split_sentences=True)
    opts.update(kwargs)
    return types.SimpleNamespace(**opts)


def test_train_encode_decode_clean(script, tmp_path):
    lines = [f"the {w} saw a {v} near the river ." for w in ("cat", "dog", "man")
             for v in ("house", "tree", "bird")] * 20
    text = write_lines(tmp_path / "train.txt", lines)
    prefix = str(tmp_path / "sp")
    summary = script.run("train", _opts(input=[text], spm_model=prefix, vocab_size=40,
                                        model_type="bpe"))
    assert summary == {"model": prefix + ".model", "vocab_size": 40}
    npz = str(tmp_path / "ids.npz")
    assert script.run("encode", _opts(input=[text], output=npz,
                                      spm_model=prefix + ".model"))["lines"] == len(lines)
    ids = subwords.load_ids(npz)
    np.testing.assert_array_equal(
        ids[0], subwords.load_model(prefix + ".model").encode_lines(lines[:1])[0])
    back = str(tmp_path / "back.txt")
    script.run("decode", _opts(input=[npz], output=back, spm_model=prefix + ".model"))
    assert open(back, encoding="utf-8").read().splitlines() == lines
    clean = str(tmp_path / "clean.txt")
    assert script.run("clean", _opts(input=[text], output=clean))["lines"] == len(lines)
    assert open(clean, encoding="utf-8").readline() == "the cat saw a house near the river.\n"


def test_decode_of_a_non_npz_file(script, tmp_path):
    text = write_lines(tmp_path / "t.txt", ["ab ba abba baab"] * 50)
    subwords.train_model(text, str(tmp_path / "sp"), vocab_size=10)
    with pytest.raises(TextError, match=r"t.txt: not an .npz written by `encode`"):
        script.run("decode", _opts(input=[text], output=str(tmp_path / "o.txt"),
                                   spm_model=str(tmp_path / "sp.model")))
    assert not os.path.exists(tmp_path / "o.txt")


def test_decode_crash_while_writing_leaves_no_output(script, tmp_path, monkeypatch):
    text = write_lines(tmp_path / "t.txt", ["ab ba abba baab"] * 50)
    model = subwords.train_model(text, str(tmp_path / "sp"), vocab_size=10)
    subwords.save_ids(str(tmp_path / "ids.npz"), model.encode_file(text))

    def disk_full(fd):
        raise OSError("No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        script.run("decode", _opts(input=[str(tmp_path / "ids.npz")],
                                   output=str(tmp_path / "out.txt"),
                                   spm_model=str(tmp_path / "sp.model")))
    assert not os.path.exists(tmp_path / "out.txt")


def test_missing_flag(script):
    with pytest.raises(ValueError, match="--output is required for this command"):
        script.run("encode", _opts(input=["x.txt"]))


@own_world_subprocess
def test_command_line_bad_input_one_error_line_and_nothing_written(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xe9t\xe9\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, SCRIPT, "train", f"--input={bad}",
                        f"--spm_model={tmp_path / 'sp'}"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 2
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {bad}, line 2: not UTF-8 (byte 0xe9 at byte 0 of the line: invalid "
        f"continuation byte); convert the file to UTF-8, e.g. `iconv -f latin1 -t utf-8`"]
    assert "Traceback" not in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["bad.txt"]
