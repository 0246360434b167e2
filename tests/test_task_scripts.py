"""examples/classifier.py, regressor.py and sequence_tagger.py end to end on tiny
generated tasks (tests/task_test_data.py): training beats chance, the run folder
has its files, --interactive prints predictions, --lr_finder leaves a plot, and
bad input stops with one `error:` line before anything is written.

The expected values are the tasks' own rules (a sentence with "great" or
"lovely" is pos; score = 2 * markers in sentence 1 + markers in sentence 2;
names are PER, cities LOC), not outputs of the code under test.
"""

import json
import os
import pathlib
import subprocess

import pytest

import task_test_data
from scripts import python_command
from conftest import input_check_tf1_run

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
# Flags that make a 240-row task learnable in 6 short epochs (about 90 steps:
# BatchNorm's moving statistics need that many to settle).
FAST = ["--batch_size=16", "--epochs=6", "--lr=3e-2", "--awd_off", "--drop_mult=0.5",
        "--log_interval=1000"]


def _run(script, *args, stdin=None):
    return subprocess.run(python_command(EXAMPLES / script, *args), input=stdin,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    root = task_test_data.write_tasks(tmp_path_factory.mktemp("tasks"))
    task_test_data.train_encoder(root, "fwd")
    task_test_data.train_encoder(root, "bwd", backward=True)
    return root


@pytest.fixture(scope="module")
def trained(tasks):
    """The three scripts trained once: {kind: (run folder, completed process)}."""
    r = tasks
    runs = {
        "classify": ("classifier.py", [f"--train={r}/clas_train.tsv",
                                       f"--valid={r}/clas_dev.tsv", f"--test={r}/clas_dev.tsv"]),
        "regress": ("regressor.py", [f"--train={r}/reg_train.tsv", f"--valid={r}/reg_dev.tsv",
                                     "--normalize_labels"]),
        "tag": ("sequence_tagger.py", [f"--train={r}/ner_train.txt",
                                       f"--valid={r}/ner_dev.txt", f"--test={r}/ner_dev.txt",
                                       f"--encoder_bwd={r}/bwd/encoder"]),
    }
    out = {}
    for kind, (script, args) in runs.items():
        save = r / f"run_{kind}"
        proc = _run(script, f"--encoder={r}/fwd/encoder", f"--save={save}", *args, *FAST)
        out[kind] = (save, proc)
    return out


def _metrics(save):
    return json.loads((save / "metrics.json").read_text())


@pytest.mark.parametrize("kind,metric,floor,files", [
    ("classify", "best_valid_accuracy", 0.8, ["labels.txt", "confusion.png"]),
    ("regress", "best_valid_pearson", 0.6, []),
    ("tag", "best_valid_f1", 0.5, ["tags.txt"]),
])
def test_script_trains_above_chance_and_writes_its_files(trained, kind, metric, floor, files):
    save, proc = trained[kind]
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ["config.json", "metrics.json", "curves.png", "spm.model", "best", "tb",
                 *files]:
        assert (save / name).exists(), name
    result = _metrics(save)
    # Chance: accuracy 0.5, Pearson 0, entity F1 0.
    assert result[metric] >= floor, result


@pytest.mark.parametrize("kind,metric", [("classify", "accuracy"), ("tag", "f1")])
def test_test_file_is_scored_with_the_best_model(trained, kind, metric):
    """--test (here the dev file itself) is evaluated once after training with the
    best model, so its score is the best dev score."""
    save, proc = trained[kind]
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = _metrics(save)
    assert result[f"test_{metric}"] == pytest.approx(result[f"best_valid_{metric}"], abs=1e-9)
    assert "test (" in proc.stdout


def test_classifier_interactive_prints_label_probabilities(trained):
    save, _ = trained["classify"]
    proc = _run("classifier.py", f"--save={save}", "--interactive",
                stdin="the lovely old cat\n\nthe old cat ran\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2  # the empty line is skipped
    assert lines[0].split("\t")[0] == "pos" and lines[1].split("\t")[0] == "neg", lines
    probs = [float(p.split(": ")[1]) for p in lines[0].split("\t")[1].split("  ")]
    assert sum(probs) == pytest.approx(1.0, abs=2e-3)


def test_regressor_reads_pairs_siamese_by_default(trained):
    save, proc = trained["regress"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((save / "config.json").read_text())
    assert config["task"]["pair_encoding"] == "siamese"


@input_check_tf1_run
def test_regressor_siamese_with_one_text_column_is_an_error(tasks, tmp_path):
    proc, save = _bad(tmp_path, "regressor.py", "one.tsv", "sentence\tscore\nsun cat\t1.0\n",
                      f"--encoder={tasks}/fwd/encoder", "--text_columns=sentence",
                      "--pair_encoding=siamese")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode != 0 and len(errors) == 1 and "two --text_columns" in errors[0], \
        proc.stderr[-2000:]
    assert not save.exists()


def test_regressor_interactive_reads_pairs(trained):
    save, _ = trained["regress"]
    proc = _run("regressor.py", f"--save={save}", "--interactive",
                stdin="sun the moon dog\tsun cat\nthe dog ran\tthe cat\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    high, low = map(float, proc.stdout.split())
    assert high > low + 1.0, (high, low)  # true scores 5 and 0


def test_tagger_interactive_tags_each_word(trained):
    save, _ = trained["tag"]
    proc = _run("sequence_tagger.py", f"--save={save}", "--interactive",
                stdin="John Smith saw the old river\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    pairs = proc.stdout.split()
    assert [p.split("/")[0] for p in pairs] == "John Smith saw the old river".split()
    assert pairs[0] == "John/B-PER" and pairs[1] == "Smith/I-PER", pairs


def test_lr_finder_writes_plot_and_suggestion(tasks, tmp_path):
    save = tmp_path / "lr"
    proc = _run("classifier.py", f"--encoder={tasks}/fwd/encoder",
                f"--train={tasks}/clas_train.tsv", f"--valid={tasks}/clas_dev.tsv",
                f"--save={save}", "--batch_size=16", "--lr_finder", "--lr_finder_steps=30")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (save / "lr_finder.png").stat().st_size > 0
    found = json.loads((save / "lr_finder.json").read_text())
    assert 1e-7 <= found["suggested_lr"] <= 10
    assert found["lrs"][0] == pytest.approx(1e-7) and "suggested --lr=" in proc.stdout


def _bad(tmp_path, script, name, text, *args):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    save = tmp_path / "out"
    proc = _run(script, f"--save={save}", *args, f"--train={path}", f"--valid={path}")
    return proc, save


@input_check_tf1_run
@pytest.mark.parametrize("text,message", [
    ("text\tlabel\nfine film\tpos\n", "sentence"),          # no column named sentence
    ("sentence\tlabel\nfine film\tpos\n\nbad film\tneg\n", "empty"),
])
def test_classifier_bad_tsv_is_one_error_line(tasks, tmp_path, text, message):
    proc, save = _bad(tmp_path, "classifier.py", "bad.tsv", text,
                      f"--encoder={tasks}/fwd/encoder")
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0].lower(), proc.stderr[-2000:]
    assert not save.exists()


@input_check_tf1_run
def test_classifier_label_outside_label_map(tasks, tmp_path):
    (tmp_path / "labels.txt").write_text("neg\npos\n")
    proc, save = _bad(tmp_path, "classifier.py", "bad.tsv",
                      "sentence\tlabel\nfine film\tpos\nodd film\tmaybe\n",
                      f"--encoder={tasks}/fwd/encoder", f"--label_map={tmp_path}/labels.txt")
    assert proc.returncode != 0 and "error:" in proc.stderr and "maybe" in proc.stderr
    assert not save.exists()


@input_check_tf1_run
def test_tagger_words_and_tags_differ_in_number(tasks, tmp_path):
    proc, save = _bad(tmp_path, "sequence_tagger.py", "bad.txt",
                      "John NNP B-NP B-PER\nSmith NNP\n\n", f"--encoder={tasks}/fwd/encoder")
    assert proc.returncode != 0 and "error:" in proc.stderr, proc.stderr[-2000:]
    assert not save.exists()


@input_check_tf1_run
def test_interactive_label_map_disagreeing_with_saved_model(trained, tmp_path):
    save, _ = trained["classify"]
    (tmp_path / "labels.txt").write_text("pos\nneg\n")  # swapped ids
    proc = _run("classifier.py", f"--save={save}", "--interactive",
                f"--label_map={tmp_path}/labels.txt", stdin="a lovely cat\n")
    assert proc.returncode != 0 and "error:" in proc.stderr and proc.stdout == ""


def test_long_sequences_are_cut_and_reported(tasks, tmp_path):
    long_row = " ".join(["the old cat"] * 40)
    path = tmp_path / "long.tsv"
    path.write_text(f"sentence\tlabel\n{long_row}\tneg\nlovely cat\tpos\n")
    proc = _run("classifier.py", f"--encoder={tasks}/fwd/encoder", f"--train={path}",
                f"--valid={path}", f"--save={tmp_path}/out", "--max_seq_len=20",
                "--epochs=1", "--batch_size=2", "--lr_scheduler=constant")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 sequences cut to --max_seq_len=20" in proc.stderr
    assert os.path.isfile(tmp_path / "out" / "metrics.json")


@pytest.mark.parametrize("random_encoder", [False, True])
def test_random_encoder_draws_fresh_weights(tasks, random_encoder):
    """`random_encoder` (the script's --random_encoder): the encoder starts from the
    LM's initialisers, not the folder's weights, with the task's dropouts; the
    default loads the folder's weights exactly (read back with tf.train.load_checkpoint)."""
    import numpy as np
    import tensorflow as tf

    from awdrnn.lm import encoder_io
    from awdrnn.tasks import datasets, task_config, task_data, task_training
    from awdrnn.text import subwords

    encoder = encoder_io.load_encoder(str(tasks / "fwd" / "encoder"))
    spm = subwords.load_model(encoder.spm_model)
    labels = task_data.LabelMap.from_labels(["neg", "pos"])
    data = datasets.classification_dataset(str(tasks / "clas_dev.tsv"), spm, "sentence",
                                           "label", labels)
    cfg = task_config.TaskConfig(kind="classify", n_outputs=2, batch_size=8, epochs=1,
                                 lr_schedule="constant")
    task = task_training.FineTuneTask(cfg, encoder, data, data, labels, encoder.spm_model,
                                      random_encoder=random_encoder, log=lambda *a: None)
    task.build_graph(0)
    saved = tf.train.load_checkpoint(encoder.prefix).get_tensor("embedding")
    with tf.compat.v1.Session(graph=task.graph) as sess:
        sess.run(task.init_op)
        (embedding,) = [v for v in task.saved_vars if v.op.name == "encoder/embedding"]
        value = sess.run(embedding)
    assert value.shape == saved.shape
    assert np.array_equal(value, saved) is (not random_encoder)
    assert task.config()["encoder_init"] == ("random" if random_encoder else "pretrained")
    keeps = cfg.encoder_keep_rates(encoder.config.model)
    assert {k: getattr(task.g.models[0].config, k) for k in keeps} == keeps
