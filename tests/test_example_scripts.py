"""The example scripts as a user meets them (subprocesses): flag errors, start-up
output, Ctrl-C and SIGTERM. Bad data and resume flags: test_train_lm_errors.py;
training, generation and evaluation end to end: test_train_lm_example.py."""

import os
import signal
import subprocess
import sys

import pytest

import lm_test_data
from conftest import own_world_subprocess

# Plain `python examples/...` subprocesses, as a user runs them.
pytestmark = own_world_subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def _env():
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)   # what a user's shell has: the scripts set it
    return env


@pytest.mark.parametrize("script,args,fragment", [
    ("train_lm.py", ["--lr=abc"], "error: flag --lr=abc: could not convert string to float"),
    ("train_lm.py", ["--model=gru"], "error: flag --model=gru: value should be one of"),
    ("evaluate.py", [], "error: flag --file=None: Flag --file must have a value"),
    ("generate.py", ["--words=many"], "error: flag --words=many: invalid literal for int()"),
    ("subwords.py", ["train", "--vocab_size=abc"],
     "error: flag --vocab_size=abc: invalid literal for int()"),
    ("subwords.py", ["frobnicate"], "error: give one command, one of train, encode"),
])
def test_flag_errors_exit_2_with_one_error_line_and_no_start_up_noise(script, args, fragment):
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args],
                            capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=300)
    assert result.returncode == 2, result.stderr
    # One line: neither absl's "FATAL Flags parsing error" block nor TensorFlow's
    # start-up lines (absl::InitializeLog, oneDNN) before it.
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(fragment), result.stderr
    assert result.stdout == ""


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    return lm_test_data.small_corpus(tmp_path_factory.mktemp("small"))


def _start_training(tmp_path, small_corpus):
    """train_lm.py running its (long) first epoch, after its first progress line."""
    save = str(tmp_path / "run")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(EXAMPLES, "train_lm.py"), f"--data={small_corpus}",
         f"--save={save}", *lm_test_data.TINY_FLAGS],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("| epoch"):
            return proc, save, lines
    proc.wait(timeout=60)
    pytest.fail("train_lm.py ended before training: " + "".join(lines) + proc.stderr.read())


def test_sigterm_says_what_happens_and_saves_a_checkpoint(tmp_path, small_corpus):
    proc, save, _ = _start_training(tmp_path, small_corpus)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "SIGTERM received: finishing the current step, saving a checkpoint and exiting" in out
    assert "Ctrl-C again" not in out
    assert err.startswith("error: interrupted at step") and "Traceback" not in err, err
    assert os.path.isfile(os.path.join(save, "checkpoints", "latest"))


def test_a_second_signal_aborts_with_one_line_and_no_traceback(tmp_path, small_corpus):
    proc, save, _ = _start_training(tmp_path, small_corpus)
    # Both signals reach the stopped process; Python runs their handlers in
    # signal-number order on resuming: SIGINT (stop requested), then SIGTERM
    # (the second signal). Sent one after the other to a running process, the
    # first stop could finish before the second signal arrives.
    proc.send_signal(signal.SIGSTOP)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "SIGINT received" in out and "press Ctrl-C again to abort without saving" in out
    assert err.splitlines() == [err.strip()], err
    assert err.startswith("error: aborted by a second signal (SIGTERM) at step "), err
    assert "no checkpoint had been written yet" in err
    assert not os.path.exists(os.path.join(save, "checkpoints", "latest"))


def test_errors_reported_turns_listed_errors_into_one_line_and_their_exit_code(capsys):
    sys.path.insert(0, EXAMPLES)
    import script_support
    from awdrnn.lm.errors import DataError, TrainingError

    with pytest.raises(SystemExit) as stop:
        with script_support.errors_reported(TrainingError, ValueError):
            raise DataError("data.txt, line 3: no tokens; give a non-empty line")
    assert stop.value.code == DataError.exit_code == 2
    with pytest.raises(SystemExit) as stop:
        with script_support.errors_reported(TrainingError):
            raise TrainingError("cannot resume: no checkpoint")
    assert stop.value.code == 1                      # TrainingError's own code
    with pytest.raises(SystemExit) as stop:
        with script_support.errors_reported(ValueError):
            raise ValueError("--bptt must be positive, got 0.")
    assert stop.value.code == 2                      # no exit_code: a usage error
    assert capsys.readouterr().err.splitlines() == [
        "error: data.txt, line 3: no tokens; give a non-empty line",
        "error: cannot resume: no checkpoint", "error: --bptt must be positive, got 0."]
    with pytest.raises(KeyError):                    # not listed: a bug, with its traceback
        with script_support.errors_reported(ValueError):
            raise KeyError("layer9")
