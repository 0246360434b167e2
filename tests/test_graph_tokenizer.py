"""In-graph SentencePiece tokenization (awdrnn/text/graph_tokenizer.py).

The reference is the Python path (`SubwordModel.encode_lines`, i.e. the
`sentencepiece` package): the graph must give the same ids on generated text
(always runs) and on real text from ../shared/data (WikiText-2 lines, SST-2
sentences, CoNLL-2003 words).
"""

import csv
import os

import numpy as np
import pytest
import sentencepiece as spm
import tensorflow as tf
from sentencepiece import sentencepiece_model_pb2

pytest.importorskip("tensorflow_text", reason="needs tensorflow-text: pip install "
                    "--no-deps \"tensorflow-text==2.21.1\" (the Makefile does)")

from awdrnn.text import graph_tokenizer, subwords
from conftest import shared_data
from text_samples import generated_lines, write_lines
from tf_session import new_session


def _graph_ids(model, strings, add_bos=True, add_eos=True):
    """Ids from a fresh graph, fed through a placeholder, as lists."""
    with tf.Graph().as_default() as graph:
        text = tf.compat.v1.placeholder(tf.string, [None])
        ragged = graph_tokenizer.tokenize(model, text, add_bos, add_eos)
        with new_session(graph) as sess:
            values = sess.run(ragged, {text: strings})
    return values.to_list()


def _is_tie(model, a, b):
    """Two segmentations of the same text with the same total score."""
    score = lambda ids: sum(model.processor.get_score(i) for i in ids)
    return (model.decode(a) == model.decode(b)
            and abs(score(a) - score(b)) < 1e-4 * max(1.0, abs(score(a))))


def _assert_same_ids(model, strings):
    expected = [a.tolist() for a in model.encode_lines(strings)]
    got = _graph_ids(model, strings)
    assert len(got) == len(expected)
    mismatches = [i for i, (a, b) in enumerate(zip(got, expected)) if a != b]
    if not mismatches:
        return
    i = mismatches[0]
    pieces = lambda ids: [model.processor.id_to_piece(n) for n in ids]
    what = f"first {strings[i]!r}: graph {pieces(got[i])}, Python {pieces(expected[i])}"
    if all(_is_tie(model, got[i], expected[i]) for i in mismatches):
        pytest.fail(f"{len(mismatches)} of {len(strings)} strings differ, all of them "
                    f"equal-score ties ({what}): sentencepiece {spm.__version__} breaks "
                    f"ties unlike the copy built into tensorflow-text; install "
                    f"sentencepiece<0.2.2 as setup.py asks")
    pytest.fail(f"{len(mismatches)} of {len(strings)} strings differ ({what})")


@pytest.fixture(scope="module")
def generated_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    path = write_lines(folder / "train.txt", generated_lines(3000, seed=1))
    return {
        "unigram": subwords.train_model(path, str(folder / "uni"), vocab_size=300),
        "bpe_lower": subwords.train_model(path, str(folder / "bpe"), vocab_size=300,
                                          model_type="bpe", lower_case=True),
    }


@pytest.mark.parametrize("name", ["unigram", "bpe_lower"])
def test_same_ids_as_python_on_generated_text(generated_models, name):
    strings = generated_lines(400, seed=11) + ["", " ", "  two  spaces ", "ＡＢＣ ﬁ",
                                                "unseen ☃ ✓ ß"]
    _assert_same_ids(generated_models[name], strings)


def test_equal_score_ties_broken_alike(generated_models):
    """In "1,000" with pieces "0" and "00" (no "000"), 0+00 and 00+0 score the
    same up to float rounding; both paths must pick the same split. These
    scores are those of a model trained on WikiText-2 where sentencepiece
    0.2.3 and tensorflow-text 2.21 differed (0.2.2 changed the choice)."""
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(generated_models["unigram"].proto)
    special = list(proto.pieces[:4])
    del proto.pieces[:]
    proto.pieces.extend(special)
    for piece, score in [("▁1", -7.015024662017822), (",", -13.4474458694458),
                         ("00", -8.39452075958252), ("0", -8.8392972946167), ("▁", -3.0)]:
        proto.pieces.add(piece=piece, score=score)
    model = subwords.SubwordModel(proto.SerializeToString())
    _assert_same_ids(model, ["1,000", "1,000,000", "000", "10000"])


@pytest.mark.parametrize("add_bos,add_eos", [(False, False), (True, False),
                                             (False, True)])
def test_bos_eos_options(generated_models, add_bos, add_eos):
    model = generated_models["unigram"]
    strings = ["the cat saw Paris ."]
    expected = model.encode_lines(strings, add_bos=add_bos, add_eos=add_eos)[0].tolist()
    assert _graph_ids(model, strings, add_bos, add_eos) == [expected]


def test_padded_ids_and_lengths(generated_models):
    model = generated_models["unigram"]
    strings = ["the cat saw a dog under the river", "a", ""]
    expected = [a.tolist() for a in model.encode_lines(strings)]
    width = max(map(len, expected))
    with tf.Graph().as_default() as graph:
        text = tf.compat.v1.placeholder(tf.string, [None])
        ids, lengths = graph_tokenizer.tokenize_padded(model, text)
        assert ids.dtype == tf.int32 and lengths.dtype == tf.int32
        with new_session(graph) as sess:
            ids_v, lengths_v = sess.run([ids, lengths], {text: strings})
    assert lengths_v.tolist() == [len(e) for e in expected]
    assert ids_v.tolist() == [e + [subwords.PAD_ID] * (width - len(e)) for e in expected]


def test_model_bytes_travel_in_the_graph(generated_models, tmp_path):
    """A GraphDef imported elsewhere tokenizes with no .model file around."""
    model = generated_models["bpe_lower"]
    with tf.Graph().as_default() as graph:
        text = tf.compat.v1.placeholder(tf.string, [None], name="text")
        ids, _ = graph_tokenizer.tokenize_padded(model, text)
        tf.identity(ids, name="ids")
        graph_def = graph.as_graph_def()
    moved = subwords.SubwordModel(model.proto, str(tmp_path / "gone.model"))
    assert not os.path.exists(moved.path)
    strings = ["The River", "a DOG ran"]
    with tf.Graph().as_default() as graph:
        tf.compat.v1.import_graph_def(graph_def, name="")
        with new_session(graph) as sess:
            got = sess.run("ids:0", {"text:0": strings})
    expected = model.encode_lines(strings)
    for row, e in zip(got, expected):
        assert row[:len(e)].tolist() == e.tolist()
        assert set(row[len(e):].tolist()) <= {subwords.PAD_ID}


# ---- real text --------------------------------------------------------------

@pytest.fixture(scope="module")
def real_models(tmp_path_factory):
    """A cased unigram model on WikiText-2 and a lower-cased BPE one on SST-2."""
    wt2 = shared_data("wikitext-2")
    sst2 = shared_data("classification/sst2")
    folder = tmp_path_factory.mktemp("real")
    wt2_head = folder / "wt2_head.txt"
    with open(wt2 / "train.txt", encoding="utf-8") as f:
        wt2_head.write_text("".join(line for _, line in zip(range(6000), f)),
                            encoding="utf-8")
    sst2_text = write_lines(folder / "sst2.txt", _sst2_sentences(sst2 / "train.tsv"))
    return [subwords.train_model(str(wt2_head), str(folder / "wt2"), vocab_size=8000),
            subwords.train_model(sst2_text, str(folder / "sst2"), vocab_size=4000,
                                 model_type="bpe", lower_case=True)]


def _sst2_sentences(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [row["sentence"] for row in csv.DictReader(f, delimiter="\t",
                                                          quoting=csv.QUOTE_NONE)]


@pytest.mark.needs_data
def test_same_ids_on_wikitext2_lines(real_models):
    with open(shared_data("wikitext-2") / "valid.txt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) == 3760
    for model in real_models:
        _assert_same_ids(model, lines)


@pytest.mark.needs_data
def test_same_ids_on_sst2_sentences(real_models):
    folder = shared_data("classification/sst2")
    sentences = _sst2_sentences(folder / "dev.tsv")
    assert len(sentences) == 872
    for model in real_models:
        _assert_same_ids(model, sentences)


@pytest.mark.needs_data
def test_same_ids_on_conll_words(real_models):
    with open(shared_data("ner/conll2003") / "valid.txt", encoding="utf-8") as f:
        words = sorted({line.split(" ")[0] for line in f
                        if line.strip() and not line.startswith("-DOCSTART-")})
    assert len(words) > 9000
    for model in real_models:
        _assert_same_ids(model, words)
