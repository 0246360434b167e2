"""examples/train_lm.py --init_from (ULMFiT stage 2): fine-tuning a trained LM
on shifted text, the word-level vocabulary remap, the encoder written at the end
of a run, and bad --init_from folders.

`main` runs in-process (the code path and exit codes of the command line, as
in test_train_lm_errors.py); one bad folder also runs as a subprocess, as a
user runs it, to see the single `error:` line without a traceback.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import lm_test_data
import scripts
from awdrnn.training.checkpoints import read_json
from awdrnn.data import corpus, synthetic_corpus
from awdrnn.lm import encoder_io, graph as lm_graph, training as lm_training
from awdrnn.training import checkpoints
from awdrnn.text import subword_corpus, subwords
from scripts import python_command
from conftest import input_check_tf1_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "train_lm.py")
TINY = ["--emsize=16", "--nhid=24", "--nlayers=2", "--batch_size=4", "--bptt=12",
        "--eval_batch_size=2", "--test_batch_size=2", "--sample_words=0", "--log_interval=1000",
        "--dropout=0", "--dropouth=0", "--dropouti=0", "--dropoute=0", "--wdrop=0"]


@pytest.fixture(scope="module")
def train_lm():
    return scripts.in_process_runner(SCRIPT)


def _reverse_lines(folder, out):
    """A shifted corpus: every sentence of `folder` with its words in reverse order
    (the same words, another grammar)."""
    os.makedirs(out)
    for split in ("train", "valid", "test"):
        with open(os.path.join(folder, f"{split}.txt")) as f:
            lines = [" ".join(reversed(line.split())) for line in f]
        with open(os.path.join(out, f"{split}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return out


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    """Generated text, its shifted twin, and a SentencePiece model of the first."""
    root = tmp_path_factory.mktemp("texts")
    synthetic_corpus.generate_corpus(str(root / "plain"), seed=1, train_tokens=4000,
                                     valid_tokens=400, test_tokens=200)
    _reverse_lines(str(root / "plain"), str(root / "shifted"))
    subwords.train_model([str(root / "plain" / "train.txt")], str(root / "sp"), vocab_size=100)
    subwords.train_model([str(root / "plain" / "train.txt")], str(root / "sp_other"),
                         vocab_size=90)
    return root


@pytest.fixture(scope="module")
def pretrained(train_lm, texts, tmp_path_factory):
    """A subword LM trained on the plain text (2 epochs)."""
    save = tmp_path_factory.mktemp("pre") / "run"
    code = train_lm(f"--data={texts / 'plain'}", f"--spm_model={texts / 'sp.model'}",
                    f"--save={save}", *TINY, "--epochs=2", "--optimizer=adam", "--lr=0.01",
                    "--clip=0.5")
    assert code == 0
    return save


def _valid_ppl(run, data, batch_size=2, bptt=12):
    """Perplexity of `data.valid` under the best model of `run` (lm_graph.evaluate)."""
    sess, g, _ = lm_training.open_best_model(str(run))
    with sess:
        return float(np.exp(lm_graph.evaluate(sess, g, data.valid, batch_size, bptt)))


def test_fine_tuning_on_shifted_text_lowers_its_perplexity(train_lm, capsys, texts, pretrained,
                                                          tmp_path):
    shifted = subword_corpus.SubwordCorpus(str(texts / "shifted"), str(texts / "sp.model"))
    before = _valid_ppl(pretrained, shifted)
    save, scratch = tmp_path / "ft", tmp_path / "scratch"
    recipe = ["--epochs=3", "--optimizer=adam", "--lr=0.01", "--clip=0.5", "--discriminative",
              "--unfreeze", "--lr_schedule=one_cycle"]
    code = train_lm(f"--data={texts / 'shifted'}", f"--init_from={pretrained}", f"--save={save}",
                    "--batch_size=4", "--bptt=12", "--eval_batch_size=2", "--test_batch_size=2",
                    "--sample_words=0", "--log_interval=1000", *TINY[-5:], *recipe)
    out = capsys.readouterr()
    assert code == 0, out.err
    # The same recipe and steps from a random start (measured once: 36.7 before,
    # 9.9 fine-tuned, 23.7 from scratch).
    code = train_lm(f"--data={texts / 'shifted'}", f"--spm_model={texts / 'sp.model'}",
                    f"--save={scratch}", *TINY, *recipe)
    assert code == 0, capsys.readouterr().err
    assert f"starting from the best model of {pretrained}" in out.out
    config = read_json(save / "config.json")
    assert config["model"]["nhid"] == 24 and config["model"]["nlayers"] == 2  # from the init run
    assert config["train"]["discriminative"] and config["train"]["unfreeze"]
    after, from_scratch = _valid_ppl(save, shifted), _valid_ppl(scratch, shifted)
    assert after < 0.8 * before, (before, after)
    assert after < 0.8 * from_scratch, (after, from_scratch)
    # The encoder of the fine-tuned model, loaded by path: the embedding is best/'s.
    encoder = encoder_io.load_encoder(str(save / "encoder"))
    assert encoder.spm_model is not None and encoder.config.nhid == 24
    best = checkpoints.CheckpointStore(str(save / "best")).latest()
    saved = tf.train.load_checkpoint(os.path.join(best, "model")).get_tensor("lm/embedding")
    with tf.Graph().as_default() as graph:
        encoder.build(tf.compat.v1.placeholder(tf.int32, [None, None]), training=False,
                      scope="head/encoder")
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(encoder.variables["embedding"]), saved)


@pytest.fixture(scope="module")
def word_run(train_lm, tmp_path_factory):
    """A word-level LM (1 epoch) on a generated corpus."""
    root = tmp_path_factory.mktemp("word")
    data = lm_test_data.small_corpus(root / "data")
    code = train_lm(f"--data={data}", f"--save={root / 'run'}", *lm_test_data.TINY_FLAGS,
                    "--epochs=1")
    assert code == 0
    return root / "run"


def test_new_vocabulary_rows_counted(train_lm, capsys, word_run, tmp_path):
    old = set(corpus.Vocabulary.load(str(word_run / "vocab.txt")).words)
    known = ["the", "cat", "sees", "a", "dog"]
    assert set(known) <= old  # the generated corpus has these words
    assert not {"zebra", "yak"} & old
    folder = tmp_path / "target"
    folder.mkdir()
    # Words: the cat sees a dog <eos> zebra yak = 8, of which zebra and yak are new.
    (folder / "train.txt").write_text("the cat sees a dog\nzebra sees the yak\n" * 20)
    (folder / "valid.txt").write_text("a zebra sees the cat\n" * 3)
    (folder / "test.txt").write_text("the dog sees a yak\n" * 3)
    save = tmp_path / "ft"
    code = train_lm(f"--data={folder}", f"--init_from={word_run}", f"--save={save}",
                    "--batch_size=4", "--bptt=10", "--eval_batch_size=2", "--test_batch_size=2",
                    "--sample_words=0", "--epochs=1", "--max_steps=2")
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "2 of 8 rows new (mean embedding / mean bias)" in out.out
    remap = read_json(save / "metrics.json")["vocab_remap"]
    assert remap["new_rows"] == 2 and remap["new_vocab_size"] == 8
    assert encoder_io.load_encoder(str(save / "encoder")).config.vocab_size == 8


# Added to the bad-input commands so that, were a check missing, the run would end fast.
SHORT = ["--epochs=1", "--max_steps=1", "--sample_words=0"]


def _expect_error(capsys, code, save, *fragments):
    err = capsys.readouterr().err
    assert code not in (0, None), err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], err
    assert "Traceback" not in err
    assert not os.path.exists(save), os.listdir(save)


def test_init_from_not_a_run(train_lm, capsys, texts, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    save = tmp_path / "ft"
    code = train_lm(f"--data={texts / 'plain'}", f"--init_from={empty}", f"--save={save}",
                    *SHORT)
    _expect_error(capsys, code, save, f"--init_from={empty} is not a train_lm.py run",
                  "give the --save folder of a trained")


def test_init_from_without_best_model(train_lm, capsys, word_run, tmp_path):
    folder = tmp_path / "unfinished"
    folder.mkdir()
    shutil.copy(word_run / "config.json", folder)
    shutil.copy(word_run / "vocab.txt", folder)
    save = tmp_path / "ft"
    code = train_lm(f"--init_from={folder}", f"--save={save}", *SHORT)
    _expect_error(capsys, code, save, f"--init_from={folder} has no best model")


def test_init_from_other_architecture(train_lm, capsys, word_run, tmp_path):
    save = tmp_path / "ft"
    code = train_lm(f"--init_from={word_run}", f"--save={save}", "--model=qrnn", "--nhid=8",
                    *SHORT)
    _expect_error(capsys, code, save, "another architecture: --model=qrnn (it has lstm)")


def test_init_from_other_spm_model(train_lm, capsys, texts, pretrained, tmp_path):
    save = tmp_path / "ft"
    code = train_lm(f"--data={texts / 'plain'}", f"--init_from={pretrained}", f"--save={save}",
                    f"--spm_model={texts / 'sp_other.model'}", *SHORT)
    _expect_error(capsys, code, save, "is not the SentencePiece model of --init_from")


@input_check_tf1_run
def test_init_from_other_architecture_as_subprocess(word_run, tmp_path):
    save = tmp_path / "ft"
    result = subprocess.run(python_command(SCRIPT, f"--init_from={word_run}", f"--save={save}",
                                           "--emsize=32"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--emsize=32 (it has 8)" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not os.path.exists(save)
