"""awdrnn.serving.savedmodel_export and examples/export_savedmodel.py: SavedModels of
encoder folders and task run folders (tests/task_test_data.py's tiny tasks and
encoders, trained for a few steps) served where awdrnn cannot be imported.

A fresh `python -S` from an empty folder, its path the venv's site-packages
without its `.pth` files (so not the editable install of awdrnn: the process
checks that `import awdrnn` fails, and that the `sentencepiece` Python package
is never imported), loads every export with `tf.saved_model.load(path)
.signatures[...]`; the stock `saved_model_cli run` runs one. Their outputs
equal the in-session models on the same text to 1e-5: `awdrnn.tasks.predictor`
(probabilities, unscaled scores, per-word tags) and `encoder_io.Encoder.build`
(encoder outputs; a backward encoder fed the text reversed). Those subprocess
tests run in the TF2 world; the TF1 world (and the TF2 one) loads the exports
into a TF1 session in this process instead.

Broken on purpose to see these fail (then restored): the eos dropped from the
fixed-length cut, `probabilities` and `label` built from another head output
(the first encoder's pooled features), the backward encoder's output not reversed
back, the regressor's scores left scaled, the BPT3C window not mapped (whole rows
pooled), the tagger's cut words tagged "" instead of "O", `ids` fed to the model
before the `placeholder_with_default` (numericalized_encoder ignoring its input),
the existence check removed (Builder's own AssertionError), `publish_folder`
replaced by a direct write (a failed export leaves a folder).
"""

import json
import os
import subprocess
import sys
import sysconfig

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm import encoder_io
from awdrnn.lm.errors import TrainingError
from awdrnn.serving import savedmodel_export
from awdrnn.serving.model_sources import ExportError
from awdrnn.tasks import (conll, datasets, predictor, tagging, task_config, task_data,
                          task_training)
from awdrnn.tasks.heads import LabelScaler
from awdrnn.text import subwords
from awdrnn.training import loop

import task_test_data
from conftest import own_world_subprocess
from saved_model_session import SavedModelSession
from scripts import in_process_runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "export_savedmodel.py")
TOL = 1e-5
WINDOW = 12  # the classifier's BPT3C window (TaskConfig.max_len): LONG is longer
LONG = " ".join(["the old cat saw a dog near the river"] * 3)
TEXTS = ["the lovely cat", "a dog ran under the big old house", LONG, ""]
PAIRS = (["sun the moon dog", "the dog ran", "moon"], ["sun cat", "the cat", LONG])
SENTENCES = ["John Smith saw Paris", "the  dog ran\u00a0to Rome with Anna Lee", "Maria"]
FIXED = 9  # ids of a fixed-length export: LONG and the long sentence are cut


def _quiet(*args):
    del args


def _train(root, name, cfg, encoders, train, valid, labels, scaler=None):
    task = task_training.FineTuneTask(cfg, encoders, train, valid, labels,
                                      encoders[0].spm_model, scaler=scaler, log=_quiet)
    loop.TrainingLoop(task, str(root / name), epochs=cfg.epochs, log=_quiet,
                      log_interval=1000).run()
    return str(root / name)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Encoder folders (forward, backward) and task runs of each kind, trained briefly."""
    root = task_test_data.write_tasks(tmp_path_factory.mktemp("serving"))
    fwd = encoder_io.load_encoder(task_test_data.train_encoder(root, "fwd", steps=30))
    bwd = encoder_io.load_encoder(task_test_data.train_encoder(root, "bwd", backward=True,
                                                               steps=30))
    assert bwd.direction == "backward"      # read from the run's TrainConfig.backward
    spm = subwords.load_model(fwd.spm_model)
    common = dict(batch_size=16, epochs=1, lr=3e-2, awd_off=True, lr_schedule="constant",
                  unfreeze=False)
    labels = task_data.LabelMap.from_labels(["neg", "pos"])
    clas = [datasets.classification_dataset(str(root / f"clas_{s}.tsv"), spm, "sentence",
                                            "label", labels) for s in ("train", "dev")]
    reg = [datasets.regression_dataset(str(root / f"reg_{s}.tsv"), spm,
                                       ["sentence1", "sentence2"], "score")
           for s in ("train", "dev")]
    tags = conll.TagMap.from_sentences(conll.read_conll(str(root / "ner_train.txt")))
    ner = [datasets.tagging_dataset(str(root / f"ner_{s}.txt"), spm, tags)
           for s in ("train", "dev")]
    return {
        "fwd": fwd.folder, "bwd": bwd.folder, "root": root,
        "classify": _train(root, "run_classify", task_config.TaskConfig(
            kind="classify", n_outputs=2, max_len=WINDOW, bptt=5, **common),
            [fwd], *clas, labels),
        "regress": _train(root, "run_regress", task_config.TaskConfig(
            kind="regress", n_outputs=1, normalize_labels=True, **common),
            [fwd], *reg, None, LabelScaler.fit(reg[0].targets)),
        "tag": _train(root, "run_tag", task_config.TaskConfig(
            kind="tag", n_outputs=len(tags), head_hidden=0, head_drop=(0.4,), backward=True,
            **common), [fwd, bwd], *ner, tags),
    }


@pytest.fixture(scope="module")
def exports(folders, tmp_path_factory):
    """name -> SavedModel folder: each folder padded to the longest row, and
    fixed-length exports of the classifier, the regressor and the tagger."""
    out = tmp_path_factory.mktemp("exports")
    paths = {}
    for name in ("fwd", "bwd", "classify", "regress", "tag"):
        paths[name] = str(out / name)
        savedmodel_export.export_savedmodel(folders[name], paths[name])
    for name in ("classify", "regress", "tag"):
        paths[f"{name}_fixed"] = str(out / f"{name}_fixed")
        savedmodel_export.export_savedmodel(folders[name], paths[f"{name}_fixed"],
                                            fixed_length=FIXED)
    return paths


# --- the in-session models -----------------------------------------------------------
def _probabilities(model, texts):
    return np.array([[p["probabilities"][c] for c in model.labels.classes]
                     for p in model.predict(texts)])


def _tag_reference(model, texts):
    """`(tags, per-word probabilities)` of the Predictor's session."""
    data = model.dataset(texts)
    ids, lengths = task_data.pad_batch(data.sequences)
    probs = model.session.run(model.g.outputs, model.g.feed(ids, lengths))
    per_word = [tagging.words_from_pieces(probs[k][:len(f)], f)
                for k, f in enumerate(data.first_pieces)]
    return [p["tags"] for p in model.predict(texts)], per_word


def _encoder_features(folder, ids):
    """`Encoder.build`'s last-layer output on right-padded `ids`, a backward
    encoder fed each row reversed within its length and its output reversed back."""
    encoder = encoder_io.load_encoder(folder)
    lengths = (ids != subwords.PAD_ID).sum(1)
    backward = encoder.direction == "backward"
    feed_ids = ids.copy()
    if backward:
        for k, n in enumerate(lengths):
            feed_ids[k, :n] = ids[k, :n][::-1]
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.int32, [None, None])
        n = tf.compat.v1.placeholder(tf.int32, [None])
        out = encoder.build(x, training=False, lengths=n)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = encoder.model.state_feed(out.initial_state,
                                            encoder.model.zero_state(len(ids)))
            feed.update({x: feed_ids, n: lengths})
            features = sess.run(out.raw_output, feed)
    if backward:
        for k, n in enumerate(lengths):
            features[k, :n] = features[k, :n][::-1]
    return features


def _padded_ids(spm, texts, fixed_length=None):
    ids, _ = task_data.pad_batch(task_data.encode_texts(spm, texts, fixed_length)[0])
    if fixed_length:
        ids = np.pad(ids, [(0, 0), (0, fixed_length - ids.shape[1])], constant_values=1)
    return ids


@pytest.fixture(scope="module")
def references(folders):
    """What the in-session models give on the test texts."""
    spm = subwords.load_model(os.path.join(folders["classify"], "spm.model"))
    ref = {"ids": _padded_ids(spm, TEXTS), "ids_fixed": _padded_ids(spm, TEXTS, FIXED)}
    for name in ("fwd", "bwd"):
        ref[name] = _encoder_features(folders[name], ref["ids"])
    for max_seq_len, suffix in ((None, ""), (FIXED, "_fixed")):
        clas = predictor.load(folders["classify"], max_seq_len=max_seq_len)
        ref["classify" + suffix] = _probabilities(clas, TEXTS)
        reg = predictor.load(folders["regress"], max_seq_len=max_seq_len)
        ref["regress" + suffix] = [p["score"] for p in reg.predict(TEXTS)]
        ref["regress_pair" + suffix] = [p["score"] for p in reg.predict(*PAIRS)]
        tag = predictor.load(folders["tag"], max_seq_len=max_seq_len)
        ref["tags" + suffix], ref["tag_probabilities" + suffix] = _tag_reference(tag, SENTENCES)
        for model in (clas, reg, tag):
            model.close()
    tag = predictor.load(folders["tag"])
    data = tag.dataset(SENTENCES)
    ids, lengths = task_data.pad_batch(data.sequences)
    fwd_out, bwd_out = tag.session.run([o.raw_output for o in tag.g.encoder_outputs],
                                       tag.g.feed(ids, lengths))
    for k, n in enumerate(lengths):
        bwd_out[k, :n] = bwd_out[k, :n][::-1]
    ref["tag_features"] = np.concatenate([fwd_out, bwd_out], axis=-1)
    tag.close()
    return ref


# --- a fresh process with only tensorflow and tensorflow-text ------------------------
SERVE = r"""
import json, sys
try:
    import awdrnn  # noqa: F401
    awdrnn_importable = True
except ImportError:
    awdrnn_importable = False
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SentencePiece ops)

def plain(value):
    value = value.numpy()
    if value.dtype == object:
        return [[b.decode() for b in row] if value.ndim > 1 else row.decode()
                for row in value]
    return value.tolist()

calls = json.load(open(sys.argv[1]))
results, loaded = {}, {}
for key, (path, signature, inputs) in calls.items():
    if path not in loaded:
        loaded[path] = tf.saved_model.load(path)
    fn = loaded[path].signatures[signature]
    out = fn(**{name: tf.constant(value) for name, value in inputs.items()})
    results[key] = {name: plain(value) for name, value in out.items()}
json.dump({"awdrnn_importable": awdrnn_importable,
           "sentencepiece_imported": "sentencepiece" in sys.modules,
           "path": sys.path, "results": results}, open(sys.argv[2], "w"))
"""


def _bare_python(tmp_path, args, plugin_dir=None):
    """Runs `python -S args` from an empty folder whose path is only the venv's
    site-packages (no .pth files: not the editable awdrnn) and, optionally, a
    folder of TensorFlow plugins."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWDRNN"))}
    env.update(PYTHONPATH=os.pathsep.join(paths + ([plugin_dir] if plugin_dir else [])),
               TF_CPP_MIN_LOG_LEVEL="3")
    cwd = tmp_path / "empty"
    cwd.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def served(exports, references, tmp_path_factory):
    """Every signature call of the tests, in one fresh process (`SERVE`)."""
    tmp = tmp_path_factory.mktemp("served")
    e = exports
    calls = {
        "classify": [e["classify"], "classify", {"text": TEXTS}],
        "regress": [e["regress"], "regress", {"text": TEXTS}],
        "regress_pair": [e["regress"], "regress_pair", {"text": PAIRS[0], "text_b": PAIRS[1]}],
        "tag": [e["tag"], "tag", {"text": SENTENCES}],
        "tag_encoder": [e["tag"], "string_encoder", {"text": SENTENCES}],
        "spm": [e["classify"], "spm_processor", {"text": TEXTS}],
        "default": [e["classify"], "serving_default", {"text": TEXTS}],
    }
    for name in ("fwd", "bwd"):
        calls[name] = [e[name], "string_encoder", {"text": TEXTS}]
        calls[f"{name}_one"] = [e[name], "string_encoder", {"text": TEXTS[1:2]}]
        calls[f"{name}_ids"] = [e[name], "numericalized_encoder",
                                {"ids": references["ids"].tolist()}]
    (tmp / "calls.json").write_text(json.dumps(calls))
    (tmp / "serve.py").write_text(SERVE)
    proc = _bare_python(tmp, [str(tmp / "serve.py"), str(tmp / "calls.json"),
                              str(tmp / "out.json")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp / "out.json").read_text())


@own_world_subprocess
def test_the_serving_process_has_no_awdrnn_and_no_python_sentencepiece(served):
    assert served["awdrnn_importable"] is False, served["path"]
    assert served["sentencepiece_imported"] is False
    assert not any(ROOT == os.path.abspath(p) for p in served["path"] if p)


@own_world_subprocess
def test_classify_equals_the_predictor(served, references):
    got = served["results"]["classify"]
    np.testing.assert_allclose(got["probabilities"], references["classify"], rtol=0, atol=TOL)
    assert got["label"] == [["neg", "pos"][int(k)] for k in references["classify"].argmax(1)]
    assert served["results"]["default"] == got  # serving_default is classify


@own_world_subprocess
def test_regress_scores_are_unscaled_and_pairs_are_two_inputs(served, references):
    np.testing.assert_allclose(served["results"]["regress"]["score"], references["regress"],
                               rtol=0, atol=TOL)
    np.testing.assert_allclose(served["results"]["regress_pair"]["score"],
                               references["regress_pair"], rtol=0, atol=TOL)


def _check_tags(got, references, suffix):
    for k, sentence in enumerate(SENTENCES):
        words = sentence.split()
        n = len(words)
        assert got["words"][k][:n] == words and set(got["words"][k][n:]) <= {""}
        assert list(got["mask"][k]) == [i < n for i in range(len(got["mask"][k]))]
        assert got["tags"][k][:n] == references["tags" + suffix][k]
        kept = len(references["tag_probabilities" + suffix][k])
        np.testing.assert_allclose(np.array(got["probabilities"][k])[:kept],
                                   references["tag_probabilities" + suffix][k],
                                   rtol=0, atol=TOL)


@own_world_subprocess
def test_tag_gives_each_word_its_tag_as_the_predictor(served, references):
    _check_tags(served["results"]["tag"], references, "")


@own_world_subprocess
@pytest.mark.parametrize("name", ["fwd", "bwd"])
def test_encoder_signatures_equal_the_encoder(served, references, name):
    got = served["results"][name]
    np.testing.assert_array_equal(got["numericalized"], references["ids"])
    np.testing.assert_array_equal(got["mask"], references["ids"] != 1)
    mask = references["ids"] != 1
    output = np.array(got["output"])
    np.testing.assert_allclose(output[mask], references[name][mask], rtol=0, atol=TOL)
    assert (output[~mask] == 0).all()
    # numericalized_encoder on the same ids gives the same output and mask
    again = served["results"][f"{name}_ids"]
    np.testing.assert_allclose(again["output"], got["output"], rtol=0, atol=TOL)
    assert again["mask"] == got["mask"]


@own_world_subprocess
def test_a_taggers_encoder_output_is_what_its_head_reads(served, references):
    got = np.array(served["results"]["tag_encoder"]["output"])
    mask = np.array(served["results"]["tag_encoder"]["mask"])
    assert got.shape[-1] == 2 * 32  # forward then backward features
    np.testing.assert_allclose(got[mask], references["tag_features"][mask], rtol=0, atol=TOL)


@own_world_subprocess
def test_default_pads_to_the_longest_row(served, references):
    got = served["results"]["spm"]
    ids = np.array(got["numericalized"])
    longest = max((row != 1).sum() for row in references["ids"])
    assert ids.shape == (len(TEXTS), longest)
    np.testing.assert_array_equal(ids, references["ids"])
    np.testing.assert_array_equal(got["mask"], ids != 1)
    # Padding changes nothing: a row alone gives the same output as in the batch.
    for name in ("fwd", "bwd"):
        alone = np.array(served["results"][f"{name}_one"]["output"])[0]
        batch = np.array(served["results"][name]["output"])[1, :len(alone)]
        np.testing.assert_allclose(alone, batch, rtol=0, atol=TOL)


@own_world_subprocess
def test_stock_saved_model_cli_runs_classify(exports, references, tmp_path):
    """The unmodified saved_model_cli script: TensorFlow loads the tensorflow-text
    op library at import from a `tensorflow-plugins` folder of a `site-packages`
    folder on the path (doc/serving.md)."""
    import tensorflow_text

    plugins = tmp_path / "site-packages" / "tensorflow-plugins"
    plugins.mkdir(parents=True)
    library = os.path.join(os.path.dirname(tensorflow_text.__file__), "python", "ops",
                           "_sentencepiece_tokenizer.so")
    os.symlink(library, plugins / "libtfkernel_sentencepiece.so")
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    texts = repr(TEXTS[:3])
    proc = _bare_python(tmp_path, [cli, "run", "--dir", exports["classify"], "--tag_set",
                                   "serve", "--signature_def", "classify", "--input_exprs",
                                   f"text={texts}"], plugin_dir=str(tmp_path / "site-packages"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = proc.stdout.split("Result for output key probabilities:")[1]
    values = np.array([float(v) for v in printed.replace("[", " ").replace("]", " ").split()])
    np.testing.assert_allclose(values.reshape(3, 2), references["classify"][:3], rtol=0,
                               atol=TOL)
    assert "Result for output key label:" in proc.stdout


# --- in this process: a TF1 session (both worlds) ------------------------------------
def test_exports_run_in_a_tf1_session(exports, references):
    got = SavedModelSession(exports["classify"])("classify", text=TEXTS)
    np.testing.assert_allclose(got["probabilities"], references["classify"], rtol=0, atol=TOL)
    _check_tags(SavedModelSession(exports["tag"])("tag", text=SENTENCES), references, "")
    got = SavedModelSession(exports["bwd"])("numericalized_encoder", ids=references["ids"])
    mask = references["ids"] != 1
    np.testing.assert_allclose(got["output"][mask], references["bwd"][mask], rtol=0, atol=TOL)


def test_fixed_length_keeps_bos_and_eos_and_equals_the_cut_predictor(exports, references):
    classify = SavedModelSession(exports["classify_fixed"])
    ids = classify("spm_processor", text=TEXTS)["numericalized"]
    np.testing.assert_array_equal(ids, references["ids_fixed"])
    assert ids.shape == (len(TEXTS), FIXED)
    assert (ids[:, 0] == subwords.BOS_ID).all() and ids[2, -1] == subwords.EOS_ID  # LONG cut
    np.testing.assert_allclose(classify("classify", text=TEXTS)["probabilities"],
                               references["classify_fixed"], rtol=0, atol=TOL)
    np.testing.assert_allclose(
        SavedModelSession(exports["regress_fixed"])("regress_pair", text=PAIRS[0],
                                           text_b=PAIRS[1])["score"],
        references["regress_pair_fixed"], rtol=0, atol=TOL)
    got = SavedModelSession(exports["tag_fixed"])("tag", text=SENTENCES)
    _check_tags(got, references, "_fixed")
    # bos, eos and 7 pieces: the second sentence loses words, which are tagged "O".
    n, kept = len(SENTENCES[1].split()), len(references["tag_probabilities_fixed"][1])
    assert kept < n and got["tags"][1][kept:n] == ["O"] * (n - kept)


def test_assets_and_description(exports, folders):
    path = exports["classify"]
    with open(os.path.join(path, "assets", "spm.model"), "rb") as f, \
            open(os.path.join(folders["classify"], "spm.model"), "rb") as g:
        assert f.read() == g.read()
    with open(os.path.join(path, "assets", "labels.txt")) as f:
        assert f.read().split() == ["neg", "pos"]
    info = json.load(open(os.path.join(path, "assets.extra", "awdrnn_export.json")))
    assert info["kind"] == "classify" and info["fixed_length"] is None
    assert set(info["signatures"]) == {"string_encoder", "numericalized_encoder",
                                       "spm_processor", "classify", "serving_default"}
    assert info["signatures"]["classify"] == {"inputs": ["text"],
                                              "outputs": ["label", "probabilities"]}
    tag = json.load(open(os.path.join(exports["tag"], "assets.extra", "awdrnn_export.json")))
    assert tag["directions"] == ["forward", "backward"]
    assert os.path.isfile(os.path.join(exports["tag"], "assets", "tags.txt"))


# --- bad input -------------------------------------------------------------------------
def test_an_existing_export_path_is_refused_and_left_alone(folders, exports, tmp_path):
    with pytest.raises(ExportError, match="already exists"):
        savedmodel_export.export_savedmodel(folders["classify"], exports["classify"])
    assert os.path.isfile(os.path.join(exports["classify"], "saved_model.pb"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ExportError, match="already exists"):
        savedmodel_export.export_savedmodel(folders["classify"], str(empty))
    assert os.listdir(empty) == []


@pytest.mark.parametrize("what", ["missing", "empty", "lm_run", "other_config"])
def test_a_folder_that_is_not_servable_is_named(folders, tmp_path, what):
    path = tmp_path / what
    if what != "missing":
        path.mkdir()
    if what == "lm_run":
        (path / "config.json").write_text(json.dumps({"model": {}, "train": {}}))
    if what == "other_config":
        (path / "config.json").write_text(json.dumps({"something": 1}))
    message = {"missing": "is not a folder", "empty": "neither an encoder folder",
               "lm_run": "language model's run folder", "other_config": "not a task run"}
    with pytest.raises(TrainingError, match=message[what]):
        savedmodel_export.export_savedmodel(str(path), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_a_failed_export_leaves_nothing(folders, tmp_path, monkeypatch):
    def fail(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.compat.v1.saved_model.Builder, "save", fail)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        savedmodel_export.export_savedmodel(folders["fwd"], str(out))
    assert os.listdir(tmp_path) == []


def test_bad_fixed_length_is_refused(folders, tmp_path):
    with pytest.raises(ValueError, match="fixed_length must be .* an int >= 4"):
        savedmodel_export.export_savedmodel(folders["regress"], str(tmp_path / "out"),
                                            fixed_length=3)
    assert not (tmp_path / "out").exists()


def test_the_script_exports_and_reports_errors_in_one_line(folders, exports, tmp_path, capsys):
    run = in_process_runner(SCRIPT)
    out = tmp_path / "enc"
    assert run(f"--source={folders['fwd']}", f"--export_dir={out}", "--fixed_length=6") == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["kind"] == "encoder" and printed["fixed_length"] == 6
    assert os.path.isfile(out / "saved_model.pb")
    for args, fragment in [([f"--source={folders['classify']}",
                             f"--export_dir={exports['classify']}"], "already exists"),
                           ([f"--source={tmp_path}", f"--export_dir={tmp_path}/x"],
                            "neither an encoder folder")]:
        assert run(*args) == 2
        errors = [l for l in capsys.readouterr().err.splitlines() if l.startswith("error:")]
        assert len(errors) == 1 and fragment in errors[0], errors
    assert not (tmp_path / "x").exists()


def test_predictor_outputs_refuses_a_tagger(folders):
    model = predictor.load(folders["tag"])
    with pytest.raises(ValueError, match="a tagger's predictions are per word"):
        model.outputs(SENTENCES)
    model.close()
