"""Siamese sentence pairs (`TaskConfig.pair_encoding="siamese"`): the split of a joined
pair, the `[u, v, |u - v|, u * v]` features against NumPy, the run's Predictor, and
the SavedModel's `regress_pair` against that Predictor (padded and fixed length).

The references: `split_pair` against hand-written ids; the head's features
against ULMFiT's concat pooling and InferSent's pair features written in NumPy
from the encoder's own per-token outputs (which `test_pooling` and the LM tests
pin); the encoder rows of a pair against the same sentences encoded alone (a
siamese encoder reads each sentence on its own); the export against the
in-session Predictor. Learning (dev Pearson above 0.6 on the tiny pair task) is
`test_task_scripts`' regressor run, siamese by default.

Broken on purpose to see these fail (then restored): `split_pair` cutting at the
first eos only (a pair without a following bos accepted), u and v swapped in
`siamese_features`, `|u - v|` written `u - v`, the batch's second sentences fed
in the order of the first ones reversed, the export's `regress_pair` built from
the joined layout, `regress` kept in a siamese export.
"""

import json
import os

import numpy as np
import pytest

from awdrnn.lm import encoder_io
from awdrnn.serving import savedmodel_export
from awdrnn.tasks import datasets, predictor, task_config, task_data, task_training
from awdrnn.tasks.heads import LabelScaler
from awdrnn.text import subwords
from awdrnn.training import loop

import task_test_data
from saved_model_session import SavedModelSession

TOL = 1e-5
FIXED = 9
FIRST = ["sun the moon dog", "the dog ran", "moon", "a"]
SECOND = ["sun cat", "the cat", "the old cat saw a dog near the river and moon", "sun"]


def _quiet(*args):
    del args


def test_split_pair_cuts_after_the_first_eos_bos():
    first, second = task_data.split_pair([2, 7, 8, 3, 2, 9, 3])
    assert first.tolist() == [2, 7, 8, 3] and second.tolist() == [2, 9, 3]
    first, second = task_data.split_pair(np.array([2, 3, 2, 3]))  # two empty sentences
    assert first.tolist() == [2, 3] and second.tolist() == [2, 3]
    first, second = task_data.split_pair([2, 3, 5, 3, 2, 6, 3])  # eos not followed by bos
    assert first.tolist() == [2, 3, 5, 3] and second.tolist() == [2, 6, 3]


@pytest.mark.parametrize("ids", [[2, 7, 3], [2, 7, 3, 5, 3], [7, 3, 2, 3], [2, 3, 2, 5], []])
def test_split_pair_refuses_what_is_not_a_pair(ids):
    with pytest.raises(ValueError, match="not a joined sentence pair"):
        task_data.split_pair(ids)


def test_siamese_is_only_for_the_regressor():
    with pytest.raises(ValueError, match="pair_encoding 'siamese' is for kind 'regress'"):
        task_config.TaskConfig(kind="classify", n_outputs=2, pair_encoding="siamese").validate()
    with pytest.raises(ValueError, match="pair_encoding must be one of"):
        task_config.TaskConfig(kind="regress", n_outputs=1, pair_encoding="both").validate()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A siamese regressor trained briefly on the tiny pair task, and its exports."""
    root = task_test_data.write_tasks(tmp_path_factory.mktemp("siamese"))
    encoder = encoder_io.load_encoder(task_test_data.train_encoder(root, "fwd", steps=30))
    spm = subwords.load_model(encoder.spm_model)
    reg = [datasets.regression_dataset(str(root / f"reg_{s}.tsv"), spm,
                                       ["sentence1", "sentence2"], "score")
           for s in ("train", "dev")]
    cfg = task_config.TaskConfig(kind="regress", n_outputs=1, pair_encoding="siamese",
                                 normalize_labels=True, batch_size=16, epochs=1, lr=3e-2,
                                 awd_off=True, lr_schedule="constant", unfreeze=False)
    task = task_training.FineTuneTask(cfg, [encoder], *reg, None, encoder.spm_model,
                                      scaler=LabelScaler.fit(reg[0].targets), log=_quiet)
    folder = str(root / "run")
    loop.TrainingLoop(task, folder, epochs=1, log=_quiet, log_interval=1000).run()
    exports = {"padded": str(root / "export"), "fixed": str(root / "export_fixed")}
    savedmodel_export.export_savedmodel(folder, exports["padded"])
    savedmodel_export.export_savedmodel(folder, exports["fixed"], fixed_length=FIXED)
    return {"folder": folder, "spm": spm, "exports": exports}


def _concat_pool(h, mask):
    """ULMFiT's [h_T, max, mean] over the real tokens of each row (NumPy)."""
    out = []
    for row, m in zip(h, mask):
        real = row[m]
        out.append(np.concatenate([real[-1], real.max(0), real.mean(0)]))
    return np.array(out)


def test_features_are_u_v_absdiff_product_of_each_sentence_alone(run):
    model = predictor.load(run["folder"])
    g = model.g
    pairs, _ = task_data.encode_texts(run["spm"], FIRST, pairs=SECOND)
    halves = [task_data.split_pair(p) for p in pairs]
    ids, lengths = task_data.pad_batch([a for a, _ in halves] + [b for _, b in halves])
    h, mask, features, scores = model.session.run(
        [g.encoder_outputs[0].raw_output, g.mask, g.head_features, g.outputs],
        g.feed(ids, lengths))
    pooled = _concat_pool(h, mask)
    n = len(FIRST)
    u, v = pooled[:n], pooled[n:]
    np.testing.assert_allclose(features, np.concatenate([u, v, np.abs(u - v), u * v], 1),
                               rtol=1e-5, atol=1e-6)
    assert scores.shape == (n,)
    # Each sentence is read on its own: its rows equal the sentence encoded alone.
    for k, (a, b) in enumerate(halves):
        for row, sentence in ((k, a), (n + k, b)):
            alone = model.session.run(g.encoder_outputs[0].raw_output,
                                      g.feed(sentence[None, :], [len(sentence)]))
            np.testing.assert_allclose(h[row, :len(sentence)], alone[0], rtol=0, atol=1e-5)
    model.close()


def test_the_predictor_scores_pairs_as_the_graph_does(run):
    """`Predictor.predict` (batched by length, unscaled) equals the head run on
    each pair alone; (a, b) and (b, a) differ only as the head's weights make them."""
    model = predictor.load(run["folder"])
    got = [r["score"] for r in model.predict(FIRST, pairs=SECOND)]
    g = model.g
    for k in range(len(FIRST)):
        pair, _ = task_data.encode_texts(run["spm"], [FIRST[k]], pairs=[SECOND[k]])
        a, b = task_data.split_pair(pair[0])
        ids, lengths = task_data.pad_batch([a, b])
        score = model.session.run(g.outputs, g.feed(ids, lengths))[0]
        assert got[k] == pytest.approx(float(model.scaler.unscale(np.array([score]))[0]),
                                       abs=TOL)
    with pytest.raises(ValueError, match="reads sentence pairs"):
        model.predict(FIRST)
    model.close()


@pytest.mark.parametrize("layout,max_seq_len", [("padded", None), ("fixed", FIXED)])
def test_export_regress_pair_equals_the_predictor(run, layout, max_seq_len):
    model = predictor.load(run["folder"], max_seq_len=max_seq_len)
    want = [r["score"] for r in model.predict(FIRST, pairs=SECOND)]
    model.close()
    served = SavedModelSession(run["exports"][layout])
    assert "regress" not in served.meta.signature_def  # a siamese head needs both sentences
    got = served("regress_pair", text=FIRST, text_b=SECOND)["score"]
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    np.testing.assert_allclose(served("serving_default", text=FIRST, text_b=SECOND)["score"],
                               want, rtol=0, atol=TOL)
    with open(os.path.join(run["exports"][layout], savedmodel_export.INFO_FILE)) as f:
        info = json.load(f)
    assert info["pair_encoding"] == "siamese" and "regress" not in info["signatures"]


def test_an_odd_number_of_rows_is_refused_by_the_graph(run):
    import tensorflow as tf

    model = predictor.load(run["folder"])
    ids, lengths = task_data.pad_batch([np.array([2, 5, 3]), np.array([2, 3]),
                                        np.array([2, 6, 3])])
    with pytest.raises(tf.errors.InvalidArgumentError, match="even number of rows"):
        model.session.run(model.g.outputs, model.g.feed(ids, lengths))
    model.close()
