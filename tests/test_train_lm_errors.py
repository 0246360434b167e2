"""Bad input to examples/train_lm.py: a clear message, an exit code, no traceback.

The script's `main` runs in-process (the same code path and `sys.exit` codes
as on the command line) to keep these fast; test_train_lm_example.py runs it
as a subprocess.
"""

import json
import os

import pytest


import lm_test_data
import scripts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "train_lm.py")
TINY = lm_test_data.TINY_FLAGS


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    return lm_test_data.small_corpus(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def train_lm():
    """The script as a module; its flags parsed anew for each call."""
    return scripts.in_process_runner(SCRIPT)


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
    _expect(capsys, 2, code, "--nhid=12, but the run in")
    code = train_lm(save, "--resume", "--nhid=12", "--override=nhid")
    _expect(capsys, 2, code, "--override=nhid: nhid cannot be named there")
    code = train_lm(f"--data={small_corpus}", save, *TINY)
    _expect(capsys, 2, code, "already holds a run")


def test_nan_loss(train_lm, capsys, tmp_path, small_corpus):
    code = train_lm(f"--data={small_corpus}", f"--save={tmp_path}/r", *TINY, "--lr=1e30",
                    "--clip=0")
    err = capsys.readouterr().err
    assert code == 3 and "training stopped" in err and "Traceback" not in err
    # --clip=0 is off: the advice is to turn clipping on, not to lower it.
    assert "a lower --clip" not in err and "--clip=0.25" in err, err
    code = train_lm(f"--data={small_corpus}", f"--save={tmp_path}/r2", *TINY, "--lr=1e30",
                    "--clip=1e30")
    _expect(capsys, 3, code, "or a lower --clip (now 1e+30)")


def _json(path):
    with open(path) as f:
        return json.load(f)


def test_resume_takes_the_saved_flags(train_lm, capsys, tmp_path, small_corpus):
    save = tmp_path / "r"
    assert train_lm(f"--data={small_corpus}", f"--save={save}", *TINY, "--dropout=0.3",
                    "--dropouti=0.2", "--lr=7", "--when=3,4", "--max_steps=1") == 0
    # No model flag repeated: the run's shape and rates come from config.json.
    assert train_lm(f"--save={save}", "--resume", "--max_steps=2", "--sample_words=0") == 0
    config, metrics = _json(save / "config.json"), _json(save / "metrics.json")
    assert metrics["steps"] == 2
    assert config["model"] == metrics["model"] and config["train"] == metrics["train"]
    assert metrics["model"]["nhid"] == 8 and metrics["model"]["dropout_kr"] == pytest.approx(0.7)
    assert metrics["model"]["dropouti_kr"] == pytest.approx(0.8)
    assert metrics["model"]["dropouth_kr"] == pytest.approx(0.75)   # the default, as saved
    assert metrics["train"]["lr"] == 7 and metrics["train"]["when"] == [3, 4]
    assert metrics["train"]["max_steps"] == 2 and "overrides" not in metrics
    # The same values given again are accepted.
    assert train_lm(f"--save={save}", "--resume", "--max_steps=3", "--dropout=0.3",
                    "--when=3,4", *TINY) == 0
    capsys.readouterr()


def test_resume_with_another_value_is_an_error_or_a_recorded_override(
        train_lm, capsys, tmp_path, small_corpus):
    save = tmp_path / "r"
    assert train_lm(f"--data={small_corpus}", f"--save={save}", *TINY, "--dropout=0.3",
                    "--max_steps=1") == 0
    capsys.readouterr()
    code = train_lm(f"--save={save}", "--resume", "--dropout=0.5", "--max_steps=2")
    _expect(capsys, 2, code, f"--dropout=0.5, but the run in '{save}' has --dropout=0.3")
    code = train_lm(f"--save={save}", "--resume", "--when=2", "--max_steps=2")
    _expect(capsys, 2, code, "add --override=when to change it")
    code = train_lm(f"--save={save}", "--resume", "--batch_size=5", "--override=batch_size")
    _expect(capsys, 2, code, "batch_size cannot be named there")
    code = train_lm(f"--save={save}", "--resume", "--batch_size=5", "--max_steps=2")
    _expect(capsys, 2, code, "its checkpoint depends on it")
    # The LSTM bias parametrisation names the checkpoint's variables.
    code = train_lm(f"--save={save}", "--resume", "--lstm_biases=tf", "--max_steps=2")
    _expect(capsys, 2, code, "has --lstm_biases=pytorch")
    assert _json(save / "metrics.json")["steps"] == 1          # nothing ran
    assert train_lm(f"--save={save}", "--resume", "--max_steps=2", "--dropout=0.5",
                    "--lr=3", "--override=dropout,lr", "--sample_words=0") == 0
    out = capsys.readouterr().out
    assert "--override: dropout 0.3 -> 0.5" in out and "training continues at lr 3" in out
    latest = open(save / "checkpoints" / "latest").read().strip()
    assert _json(save / "checkpoints" / latest / "state.json")["lr"] == 3   # the rate applied
    config, metrics = _json(save / "config.json"), _json(save / "metrics.json")
    assert config["model"] == metrics["model"] and config["train"] == metrics["train"]
    assert metrics["model"]["dropout_kr"] == pytest.approx(0.5) and metrics["train"]["lr"] == 3
    expected = [{"flag": "dropout", "from": 0.3, "to": 0.5},
                {"flag": "lr", "from": 30.0, "to": 3.0}]
    assert metrics["overrides"] == expected and config["extra"]["overrides"] == expected
    # The override is now the run's value: resuming needs no flag.
    assert train_lm(f"--save={save}", "--resume", "--max_steps=3", "--sample_words=0") == 0
    assert _json(save / "metrics.json")["model"]["dropout_kr"] == pytest.approx(0.5)
    assert _json(save / "metrics.json")["overrides"] == expected


def test_resume_or_bad_flags_write_nothing_into_save(train_lm, capsys, tmp_path):
    save = tmp_path / "new"
    code = train_lm(f"--save={save}", "--resume")
    _expect(capsys, 4, code, f"cannot resume: no run in --save='{save}'")
    code = train_lm(f"--save={save}", "--finetune")
    _expect(capsys, 4, code, "cannot fine-tune: no run in")
    for bad, message in [("--dropout=1.0", "--dropout is a drop rate"),
                         ("--lr=-1", "lr must be a number > 0"),
                         ("--bptt=100000", "bptt=100000 with batch_size=32 is too large")]:
        code = train_lm(f"--save={save}", bad)   # no --data: the generated corpus
        _expect(capsys, 2, code, message)
    assert not save.exists()
