"""Importing fastai and salesforce models (`awdrnn.weights.importer`,
`examples/import_weights.py`): the imported model computes what the PyTorch
model computed.

The model files and the outputs they must reproduce are real: written once
by `tests/fixtures/make_import_fixtures.py` with PyTorch 2.14.1, fastai
2.8.12 (`language_model_learner`, `text_classifier_learner`, `learn.save`,
`save_encoder`), fastai 1.0.61 (AWD_LSTM and AWD_QRNN, saved after a
training-mode forward so that the file's `module.weight_hh_l0` is a dropped
copy; that generator's docstring lists the compatibility shims it needed) and
the salesforce reference's own `main.py` (its `--save` checkpoints, LSTM and
`--model QRNN` with torchqrnn 0.2.1's QRNNLayer on CPU, and its corpus cache).
No PyTorch is needed here.

* The NumPy reference of PyTorch's conventions (`lstm_reference.
  pytorch_lstm_forward`, `qrnn_reference.qrnn_forward`, written from the
  equations and applied to the files' tensors under their PyTorch names)
  reproduces the PyTorch outputs of every fixture (1e-5): the fixtures, the
  reader and the conventions agree, independently of our mapping.
* The imported run folder's next-token log-probabilities equal PyTorch's to
  1e-5 (float32) for salesforce LSTM (zip and legacy format) and QRNN (its
  checkpoint, and its state dict alone), fastai v1 LSTM and QRNN, fastai v2
  (`.pth`, `.npz`, safetensors), with each `lstm_biases` ("pytorch" two
  vectors, "summed", "tf" with its forget offset); imported
  encoders (fastai v1 / v2 `save_encoder`, a v2 classifier's encoder) give
  fastai's last-layer output.
* Random PyTorch-layout weights of an untied salesforce state dict with
  nhid != emsize against the NumPy reference.
* The run folder is one that `--init_from` and task heads take (with a
  SentencePiece model as the vocabulary too), and `--resume` refuses it; bad input
  (other architectures, vocabularies of another size, repeated words, an
  existing output, a write that fails half-way, unsupported salesforce
  variants: GRU, a split softmax, QRNN layers with zoneout, without the output
  gate or with other windows) raises the specific error and leaves nothing
  behind; the script prints one `error:` line with the exit code.

Deliberate breakages seen to fail here: PyTorch's gate order kept (i, f, g,
o), `bias = 2 * b_ih` (the TF2 port's converter), the "tf" biases without
taking 1 off the forget block, fastai v1's dropped `module.weight_hh_l0`
taken instead of `weight_hh_l0_raw`, the QRNN window read as `[x_{t-1},
x_t]`, the QRNN gates read as `f, z, o`, an untied decoder's weight dropped;
for salesforce QRNN: its f and o rows swapped, its first layer's window read
as `[x_{t-1}, x_t]`, the zoneout check removed, the NumPy reference run with
window 1 in the first layer.
"""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import tensorflow as tf

import scripts
from awdrnn.data import corpus
from awdrnn.lm import encoder_io, training as lm_training
from awdrnn.weights import importer, salesforce, state_dicts, torch_pickle
from awdrnn.weights.errors import ArchitectureMismatch, VocabularyMismatch, WeightImportError
from lstm_reference import pytorch_lstm_forward
from qrnn_reference import qrnn_forward
from tf_session import new_session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "weights")
SCRIPT = os.path.join(ROOT, "examples", "import_weights.py")


def fixture(name):
    return os.path.join(FIXTURES, name)


def expected(part, name):
    with np.load(fixture(f"{part}_expected.npz")) as f:
        return {k.split("/")[1]: f[k] for k in f.files if k.startswith(f"{name}/")}


def log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


# --- the NumPy reference of the PyTorch models ------------------------------------------


def reference_outputs(state, layout, ids):
    """The PyTorch model of `state` (PyTorch names) on `ids` from a zero state:
    `(last layer's output, log-probs or None)`. `layout`: "salesforce", or the
    fastai encoder prefix ("0.", "", "0.module.")."""
    sf = layout == "salesforce"
    prefix = "" if sf else layout
    x = state[f"{prefix}encoder.weight"][ids].astype(np.float64)
    layer = 0
    while any(k.startswith(f"{prefix}rnns.{layer}.") for k in state):
        rnn = f"{prefix}rnns.{layer}."
        if f"{rnn}layers.0.linear.weight_raw" in state:       # fastai AWD_QRNN
            x = qrnn_forward(x, state[f"{rnn}layers.0.linear.weight_raw"],
                             state[f"{rnn}layers.0.linear.module.bias"],
                             window=2 if layer == 0 else 1)[0]
        elif f"{rnn}linear.module.weight_raw" in state:       # salesforce --model QRNN
            x = qrnn_forward(x, state[f"{rnn}linear.module.weight_raw"],
                             state[f"{rnn}linear.module.bias"], window=2 if layer == 0 else 1)[0]
        else:
            raw = f"{rnn}module.weight_hh_l0_raw" if sf else f"{rnn}weight_hh_l0_raw"
            x = pytorch_lstm_forward(x, state[f"{rnn}module.weight_ih_l0"], state[raw],
                                     state[f"{rnn}module.bias_ih_l0"],
                                     state[f"{rnn}module.bias_hh_l0"])
        layer += 1
    decoder = "" if sf else "1."
    if f"{decoder}decoder.weight" not in state:
        return x, None
    logits = x @ state[f"{decoder}decoder.weight"].T + state[f"{decoder}decoder.bias"]
    return x, log_softmax(logits)


LMS = [  # (file, vocabulary, expected part, name, reference layout)
    ("salesforce_lstm.pt", "salesforce_corpus.data", "salesforce", "lstm", "salesforce"),
    ("salesforce_lstm_legacy.pt", "salesforce_corpus.data", "salesforce", "lstm", "salesforce"),
    ("fastai1_lm.pth", "fastai1_itos.pkl", "fastai1", "lm", "0."),
    ("fastai1_qrnn_lm.pth", "fastai1_itos.pkl", "fastai1", "qrnn_lm", "0."),
    ("fastai2_lm.pth", "fastai2_itos.pkl", "fastai2", "lm", "0."),
    ("fastai2_lm.npz", "fastai2_itos.pkl", "fastai2", "lm", "0."),
    ("fastai2_lm.safetensors", "fastai2_itos.pkl", "fastai2", "lm", "0."),
    # the QRNN run's corpus is the LSTM run's (the generator checks that the vocabularies match)
    ("salesforce_qrnn.pt", "salesforce_corpus.data", "salesforce_qrnn", "qrnn", "salesforce"),
]
ENCODERS = [
    ("fastai1_encoder.pth", "fastai1_itos.pkl", "fastai1", "encoder", ""),
    ("fastai2_encoder.pth", "fastai2_itos.pkl", "fastai2", "encoder", ""),
    ("fastai2_classifier.pth", "fastai2_itos.pkl", "fastai2", "classifier", "0.module."),
]


@pytest.mark.parametrize("weights,vocab,part,name,layout", LMS + ENCODERS,
                         ids=[c[0] for c in LMS + ENCODERS])
def test_numpy_reference_of_pytorch_conventions_reproduces_the_fixtures(weights, vocab, part,
                                                                        name, layout):
    state = state_dicts.read_weights(fixture(weights)).state_dict
    want = expected(part, name)
    output, log_probs = reference_outputs(state, layout, want["ids"])
    if "log_probs" in want:
        np.testing.assert_allclose(log_probs, want["log_probs"], atol=1e-5)
    else:
        np.testing.assert_allclose(output, want["output"], atol=1e-5)


# --- the imported models ----------------------------------------------------------------


def imported_log_probs(folder, ids):
    sess, g, _ = lm_training.open_best_model(folder)
    with sess:
        logits = sess.run(g.out.logits, g.feed(ids, g.model.zero_state(ids.shape[0])))
    return log_softmax(logits.astype(np.float64))


def encoder_output(folder, ids):
    encoder = encoder_io.load_encoder(folder)
    with tf.Graph().as_default() as graph:
        placeholder = tf.compat.v1.placeholder(tf.int32, [None, None])
        out = encoder.build(placeholder, training=False, scope="task/encoder")
        with new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = encoder.model.state_feed(out.initial_state,
                                            encoder.model.zero_state(ids.shape[0]))
            feed[placeholder] = ids
            return sess.run(out.raw_output, feed)


# Each format once (the legacy checkpoint, .npz and safetensors hold the same arrays as
# their .pth: test_torch_pickle.py, test_zip_and_legacy_checkpoints_give_the_same_variables),
# each bias parametrisation on the salesforce checkpoint.
LM_CASES = ([pytest.param(*LMS[i][:4], "pytorch", id=LMS[i][0]) for i in (0, 2, 3, 4, 7)]
            + [pytest.param(*LMS[0][:4], biases, id=f"{LMS[0][0]}-{biases}")
               for biases in ("summed", "tf")])


@pytest.mark.parametrize("weights,vocab,part,name,lstm_biases", LM_CASES)
def test_imported_lm_gives_pytorchs_log_probs(tmp_path, weights, vocab, part, name,
                                              lstm_biases):
    out = str(tmp_path / "run")
    report = importer.import_weights(fixture(weights), out, vocab=fixture(vocab),
                                     lstm_biases=lstm_biases)
    assert report.kind == "language model" and report.config.tie_weights
    want = expected(part, name)
    np.testing.assert_allclose(imported_log_probs(out, want["ids"]), want["log_probs"],
                               atol=1e-5)


@pytest.mark.parametrize("weights,vocab,part,name,layout", ENCODERS, ids=[c[0] for c in ENCODERS])
def test_imported_encoder_gives_fastais_output(tmp_path, weights, vocab, part, name, layout):
    out = str(tmp_path / "encoder")
    report = importer.import_weights(fixture(weights), out, vocab=fixture(vocab))
    assert report.kind == "encoder"
    want = expected(part, name)
    np.testing.assert_allclose(encoder_output(out, want["ids"]), want["output"], atol=1e-5)


def _random_salesforce_state(rng, vocab=11, emsize=5, nhid=7, nlayers=2):
    """An untied salesforce state dict (last layer nhid units) of random weights."""
    state, inputs = {"encoder.weight": rng.uniform(-1, 1, (vocab, emsize))}, emsize
    for layer in range(nlayers):
        rnn = f"rnns.{layer}.module."
        state[rnn + "weight_ih_l0"] = rng.uniform(-1, 1, (4 * nhid, inputs))
        state[rnn + "bias_ih_l0"] = rng.uniform(-1, 1, 4 * nhid)
        state[rnn + "bias_hh_l0"] = rng.uniform(-1, 1, 4 * nhid)
        state[rnn + "weight_hh_l0_raw"] = rng.uniform(-1, 1, (4 * nhid, nhid))
        inputs = nhid
    state["decoder.weight"] = rng.uniform(-1, 1, (vocab, nhid))
    state["decoder.bias"] = rng.uniform(-1, 1, vocab)
    return {k: v.astype(np.float32) for k, v in state.items()}


@pytest.mark.parametrize("lstm_biases", ["pytorch", "tf"])
def test_untied_salesforce_state_dict_against_the_numpy_reference(tmp_path, lstm_biases):
    rng = np.random.RandomState(3)
    state = _random_salesforce_state(rng)
    np.savez(tmp_path / "sd.npz", **state)
    (tmp_path / "vocab.txt").write_text("".join(f"w{i}\n" for i in range(11)))
    out = str(tmp_path / "run")
    report = importer.import_weights(str(tmp_path / "sd.npz"), out,
                                     vocab=str(tmp_path / "vocab.txt"), lstm_biases=lstm_biases)
    assert not report.config.tie_weights and (report.config.emsize, report.config.nhid) == (5, 7)
    assert any("main.py's defaults" in n for n in report.notes)
    ids = rng.randint(11, size=(3, 6))
    np.testing.assert_allclose(imported_log_probs(out, ids),
                               reference_outputs(state, "salesforce", ids)[1], atol=1e-5)


def test_the_run_folder_is_what_fine_tuning_and_task_heads_take(tmp_path):
    out = str(tmp_path / "run")
    report = importer.import_weights(fixture("fastai1_lm.pth"), out,
                                     vocab=fixture("fastai1_itos.pkl"))
    config, train_config, vocab = lm_training.load_config(out)
    assert config == report.config and config.lstm_biases == "pytorch"
    assert vocab.words[-2:] == ["xxfake", "xxfake_23"]       # fastai's padding, made unique
    lm_training.check_init_from(out, config, vocab)          # what --init_from checks
    with open(os.path.join(out, "config.json")) as f:
        imported = json.load(f)["extra"]["imported"]
    assert imported["source"] == "fastai language model, AWD_LSTM"
    assert any("dropped copies" in n and "raw weights used" in n for n in imported["notes"])
    encoder = encoder_io.load_encoder(os.path.join(out, "encoder"))
    encoder.check_vocabulary(vocab)
    assert encoder.config == config and encoder.direction == "forward"
    backward = importer.import_weights(fixture("fastai2_encoder.pth"), str(tmp_path / "bwd"),
                                       vocab=fixture("fastai2_itos.pkl"), backward=True)
    assert encoder_io.load_encoder(backward.folder).direction == "backward"


def test_a_sentencepiece_model_gives_the_vocabulary_and_travels_with_the_run(tmp_path):
    from awdrnn.text import subword_corpus, subwords
    text = tmp_path / "text.txt"
    rng = np.random.RandomState(0)
    words = "the a cat dog bird sat ran on under mat tree big small".split()
    text.write_text("".join(" ".join(rng.choice(words, 8)) + "\n" for _ in range(300)))
    subwords.train_model([str(text)], str(tmp_path / "sp"), vocab_size=24)   # 24 rows, as the LM
    spm = str(tmp_path / "sp.model")
    out = str(tmp_path / "run")
    importer.import_weights(fixture("fastai2_lm.pth"), out, spm_model=spm)
    _, _, vocab = lm_training.load_config(out)
    assert isinstance(vocab, subword_corpus.SubwordVocabulary)
    assert encoder_io.load_encoder(os.path.join(out, "encoder")).spm_model is not None
    with pytest.raises(VocabularyMismatch, match="differ at id 0 \\('xxunk' vs '<unk>'\\)"):
        importer.import_weights(fixture("fastai2_lm.pth"), str(tmp_path / "out"), spm_model=spm,
                                vocab=fixture("fastai2_itos.pkl"))


def test_train_lm_refuses_to_resume_an_imported_model(tmp_path, capsys):
    out = importer.import_weights(fixture("salesforce_lstm.pt"), str(tmp_path / "run"),
                                  vocab=fixture("salesforce_corpus.data")).folder
    train_lm = scripts.in_process_runner(os.path.join(ROOT, "examples", "train_lm.py"))
    assert train_lm(f"--save={out}", "--resume") == 4
    assert (f"holds a model imported by examples/import_weights.py, not a training run; "
            f"fine-tune it with --init_from={out}") in capsys.readouterr().err


# --- bad input ----------------------------------------------------------------------


def _fastai2_npz(tmp_path, **changes):
    state = dict(state_dicts.read_weights(fixture("fastai2_lm.pth")).state_dict)
    state.update(changes)
    path = tmp_path / "changed.npz"
    np.savez(path, **state)
    return str(path)


def _nothing_written(tmp_path):
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == []


@pytest.mark.parametrize("changes,fragment", [
    ({"0.rnns.1.module.weight_ih_l0": np.zeros([48, 10], np.float32)},
     r"0.rnns.1.module.weight_ih_l0 has shape \[48, 10\] but \[48, 12\] was expected "
     r"\(layer 1: 4 x 12 gate rows by its 12 inputs\)"),
    ({"1.decoder.weight": np.zeros([24, 12], np.float32)},
     r"1.decoder.weight has shape \[24, 12\] but \[24, 8\] was expected"),
    ({"0.rnns.2.module.weight_ih_l0_reverse": np.zeros([32, 12], np.float32)},
     "a bidirectional model"),
    ({"0.extra.weight": np.zeros([3], np.float32)},
     r"unexpected key 0.extra.weight \(shape \[3\]\)"),
])
def test_a_state_dict_of_another_architecture_names_the_key_and_shapes(tmp_path, changes,
                                                                       fragment):
    with pytest.raises(ArchitectureMismatch, match=fragment):
        importer.import_weights(_fastai2_npz(tmp_path, **changes), str(tmp_path / "out"),
                                vocab=fixture("fastai2_itos.pkl"))
    _nothing_written(tmp_path)


def test_a_state_dict_of_no_known_layout(tmp_path):
    np.savez(tmp_path / "resnet.npz", **{"conv1.weight": np.zeros([4, 3], np.float32)})
    with pytest.raises(ArchitectureMismatch,
                       match=r"neither a fastai .* first keys are conv1.weight \[4, 3\]"):
        importer.import_weights(str(tmp_path / "resnet.npz"), str(tmp_path / "out"),
                                vocab=fixture("fastai2_itos.pkl"))


def test_a_file_read_as_the_wrong_source(tmp_path):
    with pytest.raises(ArchitectureMismatch, match="the state dict has no encoder.weight"):
        importer.import_weights(fixture("fastai1_qrnn_lm.pth"), str(tmp_path / "out"),
                                vocab=fixture("fastai1_itos.pkl"), source="salesforce")


@pytest.mark.parametrize("field,value,fragment", [
    ("rnn_type", "GRU", "a salesforce --model GRU checkpoint; only LSTM and QRNN"),
    ("nsplits", 3, "SplitCrossEntropyLoss has 3 splits"),
])
def test_salesforce_variants_that_cannot_be_reproduced(field, value, fragment):
    weights = state_dicts.read_weights(fixture("salesforce_lstm.pt"))
    target = weights.model if field == "rnn_type" else weights.criterion
    target.state[field] = value
    with pytest.raises(ArchitectureMismatch, match=fragment):
        salesforce.read(weights)


@pytest.mark.parametrize("layer,field,value,fragment", [
    (0, "zoneout", 0.1, r"rnns.0 \(torchqrnn QRNNLayer\) has zoneout=0.1 where 0 is needed: "
                        "awdrnn's QRNN language model has no zoneout"),
    (2, "output_gate", False, r"rnns.2 \(torchqrnn QRNNLayer\) has output_gate=False where "
                              "True is needed"),
    (0, "window", 1, r"rnns.0 \(torchqrnn QRNNLayer\) has window=1 where 2 is needed"),
    (1, "window", 2, r"rnns.1 \(torchqrnn QRNNLayer\) has window=2 where 1 is needed"),
])
def test_salesforce_qrnn_settings_that_cannot_be_reproduced(layer, field, value, fragment):
    weights = state_dicts.read_weights(fixture("salesforce_qrnn.pt"))
    record = weights.model.get("_modules")["rnns"].get("_modules")[str(layer)]
    record.state[field] = value
    with pytest.raises(ArchitectureMismatch, match=fragment):
        salesforce.read(weights)


def test_salesforce_qrnn_stored_layers_that_do_not_match_its_keys():
    # A stored model with a layer missing, or one that is not torchqrnn's layer,
    # is not the RNNModel of model.py: refused, naming the layer.
    weights = state_dicts.read_weights(fixture("salesforce_qrnn.pt"))
    layers = weights.model.get("_modules")["rnns"].get("_modules")
    layers["1"].class_name = "torch.nn.modules.rnn.LSTM"
    with pytest.raises(ArchitectureMismatch, match=r"rnns.1 is a torch.nn.modules.rnn.LSTM, "
                                                   r"not torchqrnn's QRNNLayer"):
        salesforce.read(weights)
    del layers["1"].class_name                      # its class again
    del layers["2"]
    with pytest.raises(ArchitectureMismatch, match=r"the state dict has rnns.2.\* keys but the "
                                                   r"stored model has no layer 2"):
        salesforce.read(weights)


def test_salesforce_qrnn_state_dict_imports_as_its_checkpoint(tmp_path):
    state = state_dicts.read_weights(fixture("salesforce_qrnn.pt")).state_dict
    np.savez(tmp_path / "sd.npz", **state)
    report = importer.import_weights(str(tmp_path / "sd.npz"), str(tmp_path / "run"),
                                     vocab=fixture("salesforce_corpus.data"))
    assert report.source == "salesforce awd-lstm-lm QRNN" and report.config.model == "qrnn"
    assert any("QRNN settings: salesforce model.py's" in n for n in report.notes)
    assert any("WeightDrop's last weight: the raw weight itself" in n for n in report.notes)
    want = expected("salesforce_qrnn", "qrnn")
    np.testing.assert_allclose(imported_log_probs(report.folder, want["ids"]),
                               want["log_probs"], atol=1e-5)


def test_a_vocabulary_of_another_size(tmp_path):
    with pytest.raises(VocabularyMismatch, match=r"has 14 entries but the embedding of .* has 24 "
                                                 "rows"):
        importer.import_weights(fixture("fastai2_lm.pth"), str(tmp_path / "out"),
                                vocab=fixture("salesforce_corpus.data"))
    _nothing_written(tmp_path)


def test_vocabularies_that_are_not_usable(tmp_path):
    words = torch_pickle.load_pickle(fixture("fastai2_itos.pkl"))
    (tmp_path / "twice.txt").write_text("".join(w + "\n" for w in ["the"] + words[1:]))
    with pytest.raises(VocabularyMismatch, match="the word 'the' is at ids 0 and 11"):
        importer.import_weights(fixture("fastai2_lm.pth"), str(tmp_path / "out"),
                                vocab=str(tmp_path / "twice.txt"))
    with pytest.raises(VocabularyMismatch, match="holds a list, not a vocabulary"):
        importer.import_weights(fixture("fastai2_lm.pth"), str(tmp_path / "out"),
                                vocab=fixture("salesforce_lstm.pt"))
    with pytest.raises(VocabularyMismatch, match="no vocabulary given"):
        importer.import_weights(fixture("fastai2_lm.pth"), str(tmp_path / "out"))
    _nothing_written(tmp_path)


def test_an_existing_output_is_left_as_it_is(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(WeightImportError, match="already exists; give a new folder"):
        importer.import_weights(fixture("fastai2_lm.pth"), str(out),
                                vocab=fixture("fastai2_itos.pkl"))
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_a_write_that_fails_half_way_leaves_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(encoder_io, "write_encoder", fail)   # after config, vocab and best/
    with pytest.raises(OSError, match="disk full"):
        importer.import_weights(fixture("fastai2_lm.pth"), str(tmp_path / "out"),
                                vocab=fixture("fastai2_itos.pkl"))
    assert list(tmp_path.iterdir()) == []


# --- the script -------------------------------------------------------------------------

# Runs examples/import_weights.py's main once per command line in one subprocess (absl
# flags parsed anew each time; one TensorFlow start-up for all), in the test's world.
_DRIVER = """
import contextlib, io, json, os, sys
if os.environ.get("AWDRNN_TF1", "") not in ("", "0"):
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
sys.path.insert(0, "tests")
import scripts
run = scripts.in_process_runner(sys.argv[1])
results = []
for args in json.loads(sys.argv[2]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(*args)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def test_script_imports_and_reports_bad_input_in_one_error_line(tmp_path):
    cut = tmp_path / "cut.pth"
    data = open(fixture("fastai2_lm.pth"), "rb").read()
    cut.write_bytes(data[:len(data) // 2])
    evil = tmp_path / "evil.pth"      # a torch.save archive whose pickle calls os.system
    with zipfile.ZipFile(fixture("fastai2_encoder.pth")) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00true\x85R."
                         if item.filename.endswith("/data.pkl") else src.read(item))
    other = _fastai2_npz(tmp_path, **{"0.rnns.1.module.weight_ih_l0": np.zeros([48, 10],
                                                                            np.float32)})
    vocab2 = f"--vocab={fixture('fastai2_itos.pkl')}"
    sf = f"--vocab={fixture('salesforce_corpus.data')}"
    run = tmp_path / "run"
    cases = [  # (arguments, exit code, fragment of stdout or of the one stderr line)
        ([f"--weights={fixture('salesforce_lstm.pt')}", sf, f"--out={run}"], 0,
         f"wrote language model folder {run}"),
        ([f"--weights={cut}", vocab2], 2, "truncated or corrupt"),
        ([f"--weights={evil}", vocab2], 2, "posix.system is not allowed"),
        ([f"--weights={other}", vocab2], 4, "has shape [48, 10] but [48, 12] was expected"),
        ([f"--weights={fixture('fastai2_lm.pth')}", sf], 2, "has 14 entries but the embedding"),
        ([f"--weights={fixture('fastai2_lm.pth')}", vocab2, f"--out={run}"], 2,
         "already exists; give a new folder"),
    ]
    argv = [args + ([] if any(a.startswith("--out=") for a in args) else
                    [f"--out={tmp_path / 'out'}"]) for args, _, _ in cases]
    result = subprocess.run([sys.executable, "-c", _DRIVER, SCRIPT, json.dumps(argv)],
                            capture_output=True, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
    assert result.returncode == 0, result.stderr
    for (args, code, fragment), (got, out, err) in zip(cases, json.loads(
            result.stdout.strip().splitlines()[-1])):
        assert got == code, (args, out, err)
        if code == 0:
            assert fragment in out and err == "", (out, err)
        else:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), err
            assert fragment in lines[0], lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tmp").exists()
    assert len(corpus.Vocabulary.load(str(run / "vocab.txt"))) == 14


def test_zip_and_legacy_checkpoints_give_the_same_variables(tmp_path):
    a = importer.import_weights(fixture("salesforce_lstm.pt"), str(tmp_path / "a"),
                                vocab=fixture("salesforce_corpus.data"))
    b = importer.import_weights(fixture("salesforce_lstm_legacy.pt"), str(tmp_path / "b"),
                                vocab=fixture("salesforce_corpus.data"))
    ra = tf.train.load_checkpoint(os.path.join(a.folder, "best", "best-0", "model"))
    rb = tf.train.load_checkpoint(os.path.join(b.folder, "best", "best-0", "model"))
    names = sorted(ra.get_variable_to_shape_map())
    assert names == sorted(rb.get_variable_to_shape_map())
    assert names == ["lm/embedding", "lm/layer0/lstm_cell/bias_hh", "lm/layer0/lstm_cell/bias_ih",
                     "lm/layer0/lstm_cell/kernel", "lm/layer1/lstm_cell/bias_hh",
                     "lm/layer1/lstm_cell/bias_ih", "lm/layer1/lstm_cell/kernel",
                     "lm/layer2/lstm_cell/bias_hh", "lm/layer2/lstm_cell/bias_ih",
                     "lm/layer2/lstm_cell/kernel", "lm/softmax_b"]
    for name in names:
        np.testing.assert_array_equal(ra.get_tensor(name), rb.get_tensor(name))
