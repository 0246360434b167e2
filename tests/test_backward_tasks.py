"""Task heads on a backward LM's encoder (ULMFiT's backward classifier): each row is read
right to left, as the backward LM read its text, in training, in the Predictor and in
the SavedModel; a tagger's encoders must come forward then backward.

The references: the rows reversed in NumPy (`bos s eos` -> `eos reversed(s) bos`,
the order of `lm.backward.reversed_corpus`'s stream) and fed to the run's own
inference graph; the export against that Predictor. Before the directions were
checked, a backward encoder given to classifier.py read the text forward and
nothing said so.

Broken on purpose to see these fail (then restored): no reversal in
`FineTuneTask._batch` (the Predictor then equals the forward-read rows), no
reversal in `Source.build` (the export then differs from the Predictor), the
export's encoder output left in reversed order, the tagger's direction check
removed.
"""

import numpy as np
import pytest

from awdrnn.lm import encoder_io
from awdrnn.serving import savedmodel_export
from awdrnn.tasks import datasets, predictor, task_config, task_data, task_training
from awdrnn.text import subwords
from awdrnn.training import checkpoints, loop

import task_test_data
from saved_model_session import SavedModelSession

TOL = 1e-5
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
    task = task_training.FineTuneTask(cfg, [encoder], *clas, labels, encoder.spm_model,
                                      log=_quiet)
    folder = str(root / "run")
    loop.TrainingLoop(task, folder, epochs=1, log=_quiet, log_interval=1000).run()
    export = str(root / "export")
    savedmodel_export.export_savedmodel(folder, export)
    return {"root": root, "folder": folder, "export": export, "spm": spm, "encoder": encoder}


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
