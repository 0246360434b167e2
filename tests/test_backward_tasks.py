"""Task heads on a backward LM's encoder (ULMFiT's backward classifier): each row is read
right to left, as the backward LM read its text, in training, in the Predictor and in
the SavedModel; a tagger's encoders must come forward then backward. And ULMFiT's
ensemble of a forward and a backward classifier (`awdrnn.tasks.ensemble`,
examples/ensemble.py): the mean of the two runs' probabilities, against NumPy.

The references: the rows reversed in NumPy (`bos s eos` -> `eos reversed(s) bos`,
the order of `lm.backward.reversed_corpus`'s stream) and fed to the run's own
inference graph; the export against that Predictor. Before the directions were
checked, a backward encoder given to classifier.py read the text forward and
nothing said so.

Broken on purpose to see these fail (then restored): no reversal in
`FineTuneTask._batch` (the Predictor then equals the forward-read rows), no
reversal in `Source.build` (the export then differs from the Predictor), the
export's encoder output left in reversed order, the tagger's direction check
removed, the ensemble's prediction and its scored mean replaced by one run's.
"""

import json
import os
import subprocess

import numpy as np
import pytest

from awdrnn.lm import encoder_io
from awdrnn.serving import savedmodel_export
from awdrnn.tasks import datasets, ensemble, predictor, task_config, task_data, task_training
from awdrnn.text import subwords
from awdrnn.training import checkpoints, loop

import task_test_data
from saved_model_session import SavedModelSession
from scripts import python_command

TOL = 1e-5
ENSEMBLE_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "examples", "ensemble.py")
TEXTS = ["the lovely cat", "a dog ran under the big old house", "great", "the old river"]


def _quiet(*args):
    del args


def backward_encoder(root, name="bwd", steps=30):
    """A backward LM's encoder folder of the tiny tasks (`encoder_io` reads the
    direction off the run's `TrainConfig.backward`)."""
    encoder = encoder_io.load_encoder(
        task_test_data.train_encoder(root, name, backward=True, steps=steps))
    assert encoder.direction == "backward"
    return encoder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = task_test_data.write_tasks(tmp_path_factory.mktemp("backward"))
    encoder = backward_encoder(root)
    spm = subwords.load_model(encoder.spm_model)
    labels = task_data.LabelMap.from_labels(["neg", "pos"])
    clas = [datasets.classification_dataset(str(root / f"clas_{s}.tsv"), spm, "sentence",
                                            "label", labels) for s in ("train", "dev")]
    cfg = task_config.TaskConfig(kind="classify", n_outputs=2, batch_size=16, epochs=1,
                                 lr=3e-2, awd_off=True, lr_schedule="constant", unfreeze=False,
                                 max_len=6, bptt=4)  # BPT3C on the reversed rows too
    folder = _train(root, "run", cfg, encoder, clas, labels)
    export = str(root / "export")
    savedmodel_export.export_savedmodel(folder, export)
    fwd = encoder_io.load_encoder(task_test_data.train_encoder(root, "fwd", steps=30))
    forward = _train(root, "run_fwd", cfg, fwd, clas, labels)
    reg = [datasets.regression_dataset(str(root / f"reg_{s}.tsv"), spm,
                                       ["sentence1", "sentence2"], "score")
           for s in ("train", "dev")]
    reg_cfg = task_config.TaskConfig(kind="regress", n_outputs=1, batch_size=16, epochs=1,
                                     awd_off=True, pair_encoding="siamese")
    regressor = _train(root, "run_reg", reg_cfg, fwd, reg, None)
    regressor_bwd = _train(root, "run_reg_bwd", reg_cfg, encoder, reg, None)
    return {"regressor_bwd": regressor_bwd, "root": root, "folder": folder, "export": export, "spm": spm, "encoder": encoder,
            "forward": forward, "regressor": regressor}


def _train(root, name, cfg, encoder, data, labels):
    task = task_training.FineTuneTask(cfg, [encoder], *data, labels, encoder.spm_model,
                                      log=_quiet)
    folder = str(root / name)
    loop.TrainingLoop(task, folder, epochs=cfg.epochs, log=_quiet, log_interval=1000).run()
    return folder


def _graph_probabilities(model, rows):
    """The run's inference graph on `rows` as given (no BPT3C: each row whole)."""
    ids, lengths = task_data.pad_batch(rows)
    return model.session.run(model.g.outputs, model.g.feed(ids, lengths))


def test_the_run_records_the_direction_and_reads_rows_reversed(run):
    config = checkpoints.read_json(run["folder"] + "/config.json")
    assert config["encoder_directions"] == ["backward"]
    model = predictor.load(run["folder"], max_seq_len=None)
    model.config.max_len = 10 ** 6  # whole rows, as _graph_probabilities feeds them
    got = np.array([list(r["probabilities"].values()) for r in model.predict(TEXTS)])
    rows, _ = task_data.encode_texts(run["spm"], TEXTS)
    reversed_rows = [r[::-1] for r in rows]
    assert reversed_rows[0][0] == subwords.EOS_ID and reversed_rows[0][-1] == subwords.BOS_ID
    np.testing.assert_allclose(got, _graph_probabilities(model, reversed_rows), rtol=0,
                               atol=TOL)
    assert not np.allclose(got, _graph_probabilities(model, rows), atol=1e-4)
    model.close()


def test_the_export_reverses_as_the_predictor(run):
    model = predictor.load(run["folder"])
    want = np.array([list(r["probabilities"].values()) for r in model.predict(TEXTS)])
    rows, _ = task_data.encode_texts(run["spm"], TEXTS)
    ids, lengths = task_data.pad_batch([r[::-1] for r in rows])
    encoder_out = model.session.run(model.g.encoder_outputs[0].raw_output,
                                    model.g.feed(ids, lengths))
    model.close()
    served = SavedModelSession(run["export"])
    np.testing.assert_allclose(served("classify", text=TEXTS)["probabilities"], want, rtol=0,
                               atol=TOL)
    # string_encoder's output is in reading order: token t's feature at t.
    out = served("string_encoder", text=TEXTS)
    for k, n in enumerate(lengths):
        np.testing.assert_allclose(out["output"][k, :n], encoder_out[k, :n][::-1], rtol=0,
                                   atol=TOL)


def test_a_taggers_encoders_must_be_forward_then_backward(run):
    bwd = run["encoder"]
    cfg = task_config.TaskConfig(kind="tag", n_outputs=3, head_hidden=0, head_drop=(0.4,),
                                 backward=True)
    with pytest.raises(ValueError, match=r"directions \['forward', 'backward'\].*got "
                                         r"\['backward', 'forward'\]"):
        task_training.reads_reversed(cfg, [bwd.direction, "forward"])
    with pytest.raises(ValueError, match=r"directions \['forward'\].*got \['backward'\]"):
        task_training.reads_reversed(
            task_config.TaskConfig(kind="tag", n_outputs=3, head_hidden=0, head_drop=(0.4,)),
            [bwd.direction])
    assert task_training.reads_reversed(cfg, ["forward", "backward"]) is False


# --- ULMFiT's forward + backward ensemble ---------------------------------------------
def _probabilities(folder, texts):
    model = predictor.load(folder)
    out = np.array([list(r["probabilities"].values()) for r in model.predict(texts)])
    model.close()
    return out


def test_the_ensemble_averages_the_runs_probabilities(run):
    want = (_probabilities(run["forward"], TEXTS) + _probabilities(run["folder"], TEXTS)) / 2
    models = ensemble.load([run["forward"], run["folder"]])
    got = models.predict(TEXTS)
    np.testing.assert_allclose([list(r["probabilities"].values()) for r in got], want,
                               rtol=0, atol=1e-6)
    assert [r["label"] for r in got] == [["neg", "pos"][k] for k in want.argmax(1)]
    # The dev file's accuracy of each run and of the mean, against NumPy.
    data = task_data.read_tsv_columns(str(run["root"] / "clas_dev.tsv"), ["sentence", "label"])
    labels = models.labels.ids(data["label"])
    each = [_probabilities(f, data["sentence"]) for f in (run["forward"], run["folder"])]
    scores = models.score(data["sentence"], labels)
    assert scores == {
        run["forward"]: {"accuracy": np.mean(each[0].argmax(1) == labels)},
        run["folder"]: {"accuracy": np.mean(each[1].argmax(1) == labels)},
        "ensemble": {"accuracy": np.mean((each[0] + each[1]).argmax(1) == labels)}}
    models.close()


def test_the_ensemble_of_two_regressors_scores_the_mean_score(run):
    """Scores are continuous, so the ensemble's Pearson pins the mean (an accuracy
    of barely trained classifiers can equal one run's by chance)."""
    from scipy import stats

    data = task_data.read_tsv_columns(str(run["root"] / "reg_dev.tsv"),
                                      ["sentence1", "sentence2", "score"])
    targets = task_data.read_regression_targets(data["score"], "reg_dev.tsv")
    each = []
    for folder in (run["regressor"], run["regressor_bwd"]):
        model = predictor.load(folder)
        each.append(np.array([r["score"] for r in model.predict(data["sentence1"],
                                                                 pairs=data["sentence2"])]))
        model.close()
    models = ensemble.load([run["regressor"], run["regressor_bwd"]])
    got = models.score(data["sentence1"], targets, pairs=data["sentence2"])
    predicted = models.predict(data["sentence1"][:3], pairs=data["sentence2"][:3])
    models.close()
    mean = (each[0] + each[1]) / 2
    assert got["ensemble"]["pearson"] == pytest.approx(stats.pearsonr(targets, mean)[0],
                                                       abs=1e-9)
    assert got[run["regressor_bwd"]]["pearson"] == pytest.approx(
        stats.pearsonr(targets, each[1])[0], abs=1e-9)
    np.testing.assert_allclose([r["score"] for r in predicted], mean[:3], rtol=0, atol=1e-6)


def test_an_ensemble_of_other_kinds_or_labels_is_refused(run):
    with pytest.raises(ValueError, match="of one kind"):
        ensemble.load([run["forward"], run["regressor"]])
    first, second = predictor.load(run["forward"]), predictor.load(run["folder"])
    second.labels = task_data.LabelMap(["pos", "neg"])  # a run of another label order
    with pytest.raises(ValueError, match="must share one label map"):
        ensemble.Ensemble([first, second])
    first.close()
    second.close()


def test_the_ensemble_script_prints_each_run_and_the_mean(run):
    dev = str(run["root"] / "clas_dev.tsv")
    proc = subprocess.run(python_command(
        ENSEMBLE_SCRIPT,
        f"--runs={run['forward']},{run['folder']}", f"--file={dev}",
        "--text_columns=sentence", "--label_column=label"),
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    models = ensemble.load([run["forward"], run["folder"]])
    data = task_data.read_tsv_columns(dev, ["sentence", "label"])
    want = models.score(data["sentence"], models.labels.ids(data["label"]))
    models.close()
    assert result == want  # floats round-trip through JSON exactly
    bad = subprocess.run(python_command(
        ENSEMBLE_SCRIPT,
        f"--runs={run['forward']},{run['regressor']}", f"--file={dev}"),
        capture_output=True, text=True, timeout=600)
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert bad.returncode == 2 and len(errors) == 1 and "of one kind" in errors[0]
    three = subprocess.run(python_command(
        ENSEMBLE_SCRIPT, f"--runs={run['forward']}", f"--file={dev}", "--text_columns=a,b,c"),
        capture_output=True, text=True, timeout=600)
    errors = [line for line in three.stderr.splitlines() if line.startswith("error:")]
    assert three.returncode == 2 and len(errors) == 1 and "one column, or two" in errors[0]


def test_predictor_outputs_are_the_predictions_as_arrays(run):
    model = predictor.load(run["regressor"])
    data = task_data.read_tsv_columns(str(run["root"] / "reg_dev.tsv"),
                                      ["sentence1", "sentence2"])
    scores = model.outputs(data["sentence1"][:5], pairs=data["sentence2"][:5])
    assert scores.shape == (5,) and scores.dtype == np.float64
    assert scores.tolist() == [r["score"] for r in model.predict(data["sentence1"][:5],
                                                                 pairs=data["sentence2"][:5])]
    model.close()
