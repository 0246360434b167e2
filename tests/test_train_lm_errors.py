"""Bad input to examples/train_lm.py: a clear message, an exit code, no traceback.

The script's `main` runs in-process (the same code path and `sys.exit` codes
as on the command line) to keep these fast; test_train_lm_example.py runs it
as a subprocess.
"""

import importlib.util
import os

import pytest

from absl import flags

import lm_test_data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "train_lm.py")
TINY = lm_test_data.TINY_FLAGS


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    return lm_test_data.small_corpus(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def train_lm():
    """The script as a module; its flags parsed anew for each call."""
    spec = importlib.util.spec_from_file_location("train_lm_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def run(*args):
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["train_lm.py", *args])
        try:
            module.main([])
        except SystemExit as e:
            return e.code
        finally:
            flags.FLAGS.unparse_flags()
        return 0

    return run


def _expect(capsys, code, got, fragment):
    err = capsys.readouterr().err
    assert got == code, err
    assert fragment in err, err
    assert "Traceback" not in err


def test_missing_data_folder(train_lm, capsys, tmp_path):
    code = train_lm("--data=/nonexistent/ptb", f"--save={tmp_path}/r")
    _expect(capsys, 2, code, "data folder '/nonexistent/ptb' does not exist")


def test_missing_and_empty_files(train_lm, capsys, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "train.txt").write_text("a b\n")
    (folder / "valid.txt").write_text("a\n")
    code = train_lm(f"--data={folder}", f"--save={tmp_path}/r")
    _expect(capsys, 2, code, "test.txt' does not exist")
    (folder / "test.txt").write_text("")
    code = train_lm(f"--data={folder}", f"--save={tmp_path}/r")
    _expect(capsys, 2, code, "test.txt' is empty")


def test_bptt_or_batch_too_large(train_lm, capsys, tmp_path, small_corpus):
    code = train_lm(f"--data={small_corpus}", f"--save={tmp_path}/r", *TINY, "--bptt=5000")
    _expect(capsys, 2, code, "bptt=5000 with batch_size=4 is too large")
    code = train_lm(f"--data={small_corpus}", f"--save={tmp_path}/r", *TINY,
                    "--eval_batch_size=1000")
    _expect(capsys, 2, code, "valid data: batch_size=1000 is too large")


def test_bad_drop_rate(train_lm, capsys, tmp_path, small_corpus):
    code = train_lm(f"--data={small_corpus}", f"--save={tmp_path}/r", *TINY, "--dropout=1.0")
    _expect(capsys, 2, code, "--dropout is a drop rate and must be in [0, 1), got 1.0")


def test_resume_with_other_vocabulary_or_shape(train_lm, capsys, tmp_path, small_corpus):
    save = f"--save={tmp_path}/r"
    assert train_lm(f"--data={small_corpus}", save, *TINY, "--max_steps=1") == 0
    capsys.readouterr()
    other = tmp_path / "other"
    other.mkdir()
    for split in ("train", "valid", "test"):
        text = open(os.path.join(small_corpus, f"{split}.txt")).read()
        (other / f"{split}.txt").write_text(text.replace("dog", "wolf"))
    code = train_lm(f"--data={other}", save, *TINY, "--resume")
    _expect(capsys, 4, code, "vocabulary")
    code = train_lm(f"--data={small_corpus}", save, *TINY, "--resume", "--nhid=12")
    _expect(capsys, 4, code, "different shape: nhid=8 in the checkpoint vs 12 now")
    code = train_lm(f"--data={small_corpus}", save, *TINY)
    _expect(capsys, 2, code, "already holds a run")


def test_nan_loss(train_lm, capsys, tmp_path, small_corpus):
    code = train_lm(f"--data={small_corpus}", f"--save={tmp_path}/r", *TINY, "--lr=1e30",
                    "--clip=0")
    _expect(capsys, 3, code, "training stopped")
