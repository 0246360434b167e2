"""examples/train_lm.py on subword corpora: --spm_model, presets, --backward,
per-word perplexity in metrics.json, and bad subword input.

`main` runs in-process (the code path and exit codes of the command line, as
in test_train_lm_errors.py); one bad input also runs as a subprocess, as a
user runs it, to see the single `error:` line without a traceback.
"""

import json
import os
import subprocess

import pytest
import sentencepiece as spm

import lm_test_data
from awdrnn.lm import presets
from awdrnn.text import subwords
import scripts
from awdrnn.training.checkpoints import read_json
from scripts import python_command
from text_samples import generated_lines, write_lines
from conftest import input_check_tf1_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "train_lm.py")
TINY = lm_test_data.TINY_FLAGS


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """A raw-text folder and a 120-piece SentencePiece model trained on it."""
    root = tmp_path_factory.mktemp("raw")
    write_lines(root / "train.txt", generated_lines(600, seed=1))
    write_lines(root / "valid.txt", generated_lines(60, seed=2))
    write_lines(root / "test.txt", generated_lines(60, seed=3))
    subwords.train_model([str(root / "train.txt")], str(root / "sp"), vocab_size=120)
    return root


@pytest.fixture(scope="module")
def train_lm():
    return scripts.in_process_runner(SCRIPT)


def test_subword_run_with_preset_override_and_word_ppl(train_lm, capsys, raw, tmp_path):
    save = tmp_path / "r"
    code = train_lm(f"--data={raw}", f"--spm_model={raw / 'sp.model'}", f"--save={save}",
                    "--preset=multifit_small", *TINY, "--epochs=1", "--max_steps=3",
                    "--dropouth=0.3")
    out = capsys.readouterr()
    assert code == 0, out.err
    config = read_json(save / "config.json")
    preset = presets.get("multifit_small")
    model, train = config["model"], config["train"]
    # Set by the preset (not on the command line):
    assert model["model"] == "qrnn" and train["optimizer"] == "adamw"
    assert train["lr_schedule"] == "one_cycle" and train["adam_beta2"] == 0.99
    assert train["clip"] == preset["clip"] == 0.12 and train["moms"] == [0.8, 0.7]
    assert model["dropout_kr"] == pytest.approx(1 - preset["dropout"])
    # Given on the command line: they win.
    assert model["nhid"] == 8 and model["nlayers"] == 1 and train["batch_size"] == 4
    assert model["dropouth_kr"] == pytest.approx(0.7)
    assert config["extra"]["preset"] == "multifit_small"
    assert os.path.isfile(save / "sp.model")
    metrics = read_json(save / "metrics.json")
    # Word ppl = exp(loss * tokens / words) > token ppl (more pieces than words).
    assert metrics["valid_word_ppl"] > metrics["valid_ppl"] > 1
    assert metrics["test_word_ppl"] > metrics["test_ppl"] > 1
    assert metrics["epochs"][-1]["valid_word_ppl"] == metrics["valid_word_ppl"]
    assert "word ppl" in out.out


def test_backward_is_saved_and_kept_on_resume(train_lm, capsys, raw, tmp_path):
    save = f"--save={tmp_path / 'b'}"
    assert train_lm(f"--data={raw}", f"--spm_model={raw / 'sp.model'}", save, *TINY,
                    "--backward", "--max_steps=2", "--drop_mult=0.5") == 0
    config = read_json(tmp_path / "b" / "config.json")
    assert config["train"]["backward"] is True
    assert config["model"]["dropout_kr"] == pytest.approx(1 - 0.4 * 0.5)
    capsys.readouterr()
    code = train_lm(save, "--resume", "--nobackward")
    err = capsys.readouterr().err
    assert code == 2 and "--backward=False, but the run in" in err, err
    code = train_lm(save, "--resume", "--drop_mult=0.3")
    err = capsys.readouterr().err
    assert code == 2 and "--drop_mult=0.3 cannot be given with --resume" in err, err
    assert train_lm(save, "--resume", "--max_steps=3", "--sample_words=0") == 0
    out = capsys.readouterr().out
    assert "backward (reversed streams)" in out and "resumed from" in out
    # evaluate.py reads the text the way the run was trained: reversed pieces.
    metrics = read_json(tmp_path / "b" / "metrics.json")
    proc = subprocess.run(python_command(
        os.path.join(ROOT, "examples", "evaluate.py"), save, f"--file={raw / 'valid.txt'}",
        "--batch_size=2", "--bptt=10"), capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["backward"] is True
    assert result["ppl"] == pytest.approx(metrics["valid_ppl"], rel=1e-5)
    assert result["word_ppl"] == pytest.approx(metrics["valid_word_ppl"], rel=1e-5)


def _bad_folder(raw, tmp_path, test_bytes):
    folder = tmp_path / "bad"
    folder.mkdir()
    for split in ("train", "valid"):
        (folder / f"{split}.txt").write_bytes((raw / f"{split}.txt").read_bytes())
    (folder / "test.txt").write_bytes(test_bytes)
    return folder


@pytest.mark.parametrize("test_bytes,fragment", [
    (b"", "test.txt: empty (no non-blank line); give a file with text"),
    (b"ok\ncaf\xe9 noir\n", "test.txt, line 2: not UTF-8 (byte 0xe9"),
    (b"a" * 70000 + b"\n", "test.txt, line 1: 70000 bytes, longer than the limit"),
])
def test_bad_text_is_one_error_line(train_lm, capsys, raw, tmp_path, test_bytes, fragment):
    folder = _bad_folder(raw, tmp_path, test_bytes)
    code = train_lm(f"--data={folder}", f"--spm_model={raw / 'sp.model'}",
                    f"--save={tmp_path / 'r'}", *TINY)
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err and err.count("error:") == 1 and "Traceback" not in err, err
    assert not os.path.exists(tmp_path / "r")


@input_check_tf1_run
def test_wrong_special_ids_subprocess(raw, tmp_path):
    prefix = str(tmp_path / "default_ids")
    spm.SentencePieceTrainer.train(input=str(raw / "train.txt"), model_prefix=prefix,
                                   vocab_size=120, minloglevel=2)  # unk 0, bos 1, eos 2
    save = tmp_path / "r"
    proc = subprocess.run(python_command(SCRIPT, f"--data={raw}", f"--spm_model={prefix}.model",
                                         f"--save={save}", *TINY),
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    # (The TF1 world's launcher adds TensorFlow's own deprecation warning.)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "default_ids.model: special ids are unk 0, pad -1, bos 1, eos 2" in lines[0]
    assert "--unk_id=0 --pad_id=1 --bos_id=2 --eos_id=3" in lines[0]
    assert not os.path.exists(save)


def test_spm_model_needs_data(train_lm, capsys, raw, tmp_path):
    code = train_lm(f"--spm_model={raw / 'sp.model'}", f"--save={tmp_path / 'r'}")
    err = capsys.readouterr().err
    assert code == 2 and "needs --data" in err, err
    assert not os.path.exists(tmp_path / "r")
