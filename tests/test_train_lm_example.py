"""Tests of examples/train_lm.py run as a user runs it (a subprocess): smoke test,
end-to-end learning on the generated corpus, Ctrl-C and --resume; also
generate.py and evaluate.py on its output. Bad input: test_train_lm_errors.py.
"""

import json
import math
import os
import signal
import subprocess

import pytest
import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.lm import model as lm_model, training as lm_training

import lm_test_data
from scripts import python_command
from conftest import input_check_tf1_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "train_lm.py")
TINY = lm_test_data.TINY_FLAGS


def _env():
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    return env


def _script(*args, **kw):
    return subprocess.run(python_command(SCRIPT, *args), capture_output=True, text=True,
                          env=_env(), cwd=ROOT, timeout=300, **kw)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    return lm_test_data.small_corpus(tmp_path_factory.mktemp("small"))


def test_smoke_generated_corpus_and_the_other_scripts(tmp_path):
    save = str(tmp_path / "demo")
    result = _script(f"--save={save}", "--max_steps=3", "--emsize=16", "--nhid=16",
                     "--test_batch_size=10", "--sample_words=5", "--log_interval=1")
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "no --data: generated corpus" in out and "small config" in out
    assert out.count("| epoch   1") == 3 and "tok/s" in out and "ppl" in out
    assert "sample (temperature" in out
    metrics = json.load(open(os.path.join(save, "metrics.json")))
    assert metrics["steps"] == 3 and metrics["test_ppl"] > 1 and metrics["valid_ppl"] > 1
    assert metrics["tokens_per_sec"] > 0 and len(metrics["epochs"]) == 1
    env = _env()

    def generate(*flags):
        gen = subprocess.run(python_command(os.path.join(ROOT, "examples", "generate.py"),
                                             f"--save={save}", "--words=7", "--prime=the cats", *flags),
                             capture_output=True, text=True, env=env, timeout=300)
        assert gen.returncode == 0, gen.stderr[-2000:]
        return gen.stdout

    text = generate()
    # The prime, echoed, then the sample (<eos> prints as a line break, and may come first).
    assert text.split()[:2] == ["the", "cats"] and len(text.split()) > 2, text
    # The default temperature is 0.8, as README and train_lm.py's sample say.
    assert generate("--temperature=0.8") == text
    ev = subprocess.run(python_command(os.path.join(ROOT, "examples", "evaluate.py"),
                                        f"--save={save}", f"--file={save}/data/valid.txt",
                                        "--batch_size=10", "--bptt=35"), capture_output=True, text=True, env=env, timeout=300)
    assert ev.returncode == 0, ev.stderr[-2000:]
    # Same number as the training run's validation (batch 10, bptt 35).
    assert json.loads(ev.stdout)["ppl"] == pytest.approx(metrics["valid_ppl"], rel=1e-4)


@input_check_tf1_run
@pytest.mark.parametrize("flag,message", [("--batch_size=0", "--batch_size must be positive"),
                                          ("--bptt=0", "--bptt must be positive")])
def test_evaluate_rejects_bad_sizes(tmp_path, flag, message):
    ev = subprocess.run(python_command(os.path.join(ROOT, "examples", "evaluate.py"),
                                        f"--save={tmp_path}", f"--file={tmp_path}/x.txt", flag),
                        capture_output=True, text=True, env=_env(), timeout=300)
    assert ev.returncode == 2 and f"error: {message}" in ev.stderr


def test_end_to_end_validation_perplexity_falls_well_below_untrained(tmp_path):
    save = str(tmp_path / "e2e")
    result = _script(f"--save={save}", "--max_steps=100", "--test_batch_size=10",
                     "--sample_words=0", "--log_interval=50")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.load(open(os.path.join(save, "metrics.json")))
    # The untrained model of the same configuration and seed, on the same data.
    data = corpus.Corpus(os.path.join(save, "data"))
    mcfg = lm_model.LMConfig(**metrics["model"])
    g = lm_training.LMGraph(mcfg, lm_training.TrainConfig(**metrics["train"]),
                            graph_seed=metrics["train"]["seed"])
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        untrained = math.exp(lm_training.evaluate(sess, g, data.valid, 10, 35))
    assert untrained > 0.8 * len(data.vocab)          # about uniform
    assert metrics["valid_ppl"] < 0.3 * untrained, (metrics["valid_ppl"], untrained)
    assert metrics["valid_ppl"] > metrics["perplexity_floor"] * 0.98


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path, small_corpus):
    save = str(tmp_path / "int")
    args = [SCRIPT, f"--data={small_corpus}", f"--save={save}", *TINY]
    proc = subprocess.Popen(python_command(*args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    for line in proc.stdout:
        if line.startswith("| epoch"):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted at step" in err and "Traceback" not in err
    state_dir = os.path.join(save, "checkpoints")
    assert open(os.path.join(state_dir, "latest")).read().strip().startswith("ckpt-")
    result = _script(f"--data={small_corpus}", f"--save={save}", "--resume", "--max_steps=6",
                     *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resumed from" in result.stdout
