"""awdrnn.serving.text_inputs: in-graph ids equal the Python layouts the task models
were trained on (`task_data.encode_texts` single and paired, `datasets.tag_words`),
padded to the longest row or to a fixed length, cut keeping bos and eos; a
siamese regressor's rows are the Python pairs cut back by `task_data.split_pair`.

Broken on purpose to see these fail (then restored): `single` without the final
eos (`pieces[:, :L - 1]` and no eos column), pairs cut by halves only (no rest
passed to the longer sentence), `words` split by `tf.strings.split` alone (no
Unicode whitespace), no `UNK_ID` for a word without pieces, the siamese rows in
the wrong order (second sentences first), the fixed-length word
cut off by one (`ends < L - 2`). Each layout runs with a SentencePiece model and
with a word vocabulary (`awdrnn.text.word_tokenizer`: a word-level model
imported from fastai).
"""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.serving import text_inputs
from awdrnn.tasks import datasets, task_data
from awdrnn.text import subwords, word_tokenizer

import task_test_data

# Words at whitespace Python's str.split() knows and tf.strings.split alone does not
# (no-break space, ideographic space), a zero-width space that SentencePiece turns
# into no piece at all, an empty text, a long text.
TEXTS = ["the lovely cat saw a big dog near the river and the old house",
         "", "John  Smith\u00a0ran\tto Paris \u200b x\u3000y", "a"]
SECONDS = ["sun moon", "the old cat ran quickly slowly", "", "big big big big big big"]


@pytest.fixture(scope="module")
def subword_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("spm")
    (root / "lm").mkdir()
    lines = [r[0] for r in task_test_data.classification_rows(200, 1)]
    (root / "lm" / "train.txt").write_text("\n".join(lines + TEXTS) + "\n", encoding="utf-8")
    return subwords.train_model([str(root / "lm" / "train.txt")], str(root / "sp"),
                                vocab_size=50)


def _word_tokenizer():
    """A fastai-style word vocabulary: some words of TEXTS and SECONDS, not all."""
    known = sorted({w for t in TEXTS + SECONDS for w in t.split()})[::2]
    return word_tokenizer.WordTokenizer(["xxunk", "xxpad", "xxbos", "xxeos", "xxmaj"] + known)


@pytest.fixture(scope="module", params=["subword", "word"])
def spm(request, subword_model):
    """Each layout test runs with a SentencePiece model and with a word vocabulary."""
    return subword_model if request.param == "subword" else _word_tokenizer()


def _padded(sequences, fixed_length):
    ids, _ = task_data.pad_batch(sequences)
    if fixed_length:
        ids = np.pad(ids, [(0, 0), (0, fixed_length - ids.shape[1])], constant_values=1)
    return ids


def _run(spm, fixed_length, layouts):
    with tf.Graph().as_default():
        text = tf.compat.v1.placeholder(tf.string, [None])
        second = tf.compat.v1.placeholder(tf.string, [None])
        inputs = text_inputs.TextInputs(spm, fixed_length=fixed_length)
        fetch = {"single": lambda: inputs.single(text), "pair": lambda: inputs.pair(text, second),
                 "siamese": lambda: inputs.siamese(text, second),
                 "words": lambda: inputs.words(text)._asdict()}
        fetches = {k: fetch[k]() for k in layouts}
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.tables_initializer())   # a word vocabulary's table
            return sess.run(fetches, {text: TEXTS, second: SECONDS})


@pytest.mark.parametrize("fixed_length", [None, 2, 4, 5, 9, 14])
def test_layouts_equal_the_python_encoders(spm, fixed_length):
    layouts = ["single", "words"] + (["pair", "siamese"]
                                     if fixed_length is None or fixed_length >= 4 else [])
    out = _run(spm, fixed_length, layouts)
    single, _ = task_data.encode_texts(spm, TEXTS, fixed_length)
    np.testing.assert_array_equal(out["single"], _padded(single, fixed_length))
    if "pair" in out:
        pairs, _ = task_data.encode_texts(spm, TEXTS, fixed_length, pairs=SECONDS)
        np.testing.assert_array_equal(out["pair"], _padded(pairs, fixed_length))
        # A siamese regressor's rows: the first sentences of the cut pairs, then
        # the second ones, padded to the longest row whatever fixed_length.
        halves = [task_data.split_pair(p) for p in pairs]
        np.testing.assert_array_equal(
            out["siamese"], _padded([a for a, _ in halves] + [b for _, b in halves], None))
    words = [t.split() for t in TEXTS]
    seqs, _, firsts, n_words, _ = datasets.tag_words(spm, words, max_seq_len=fixed_length)
    got = out["words"]
    np.testing.assert_array_equal(got["ids"], _padded(seqs, fixed_length))
    for k, sentence in enumerate(words):
        assert [w.decode() for w in got["words"][k]] == sentence + [""] * (
            got["words"].shape[1] - len(sentence))
        assert got["word_mask"][k].tolist() == [i < len(sentence)
                                                for i in range(got["words"].shape[1])]
        assert got["kept"][k].sum() == n_words[k]
        assert got["first_piece"][k][:n_words[k]].tolist() == np.nonzero(firsts[k])[0].tolist()


def test_fixed_length_keeps_bos_and_eos_and_pads(spm):
    out = _run(spm, 5, ["single"])["single"]
    assert out.shape == (len(TEXTS), 5)
    assert (out[:, 0] == subwords.BOS_ID).all()
    assert out[0, -1] == subwords.EOS_ID          # the long text: cut, its eos kept
    assert out[1].tolist() == [2, 3, 1, 1, 1]     # the empty text: bos eos, then pads


@pytest.mark.parametrize("layout,bad", [("single", 1), ("pair", 3), ("words", 0),
                                        ("single", 2.5), ("single", True)])
def test_bad_fixed_length_names_what_is_valid(layout, bad):
    with pytest.raises(ValueError, match=r"fixed_length must be None .* or an int >= "):
        text_inputs.check_fixed_length(bad, layout)


def test_pairs_of_different_sizes_fail_saying_so(spm):
    with tf.Graph().as_default():
        a, b = (tf.compat.v1.placeholder(tf.string, [None]) for _ in range(2))
        ids = text_inputs.TextInputs(spm).pair(a, b)
        with tf.compat.v1.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="one string per pair"):
                sess.run(ids, {a: ["x", "y"], b: ["z"]})
