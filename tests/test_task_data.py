"""Labelled text for the task heads (awdrnn/tasks/task_data.py).

Expected values are written by hand (parsed rows, label ids, padded
matrices, cut lengths) or come from the `sentencepiece` package called
directly on the same strings; batch orders are checked by their properties
(a permutation, sorted within batches, the longest first, the same for the
same seed and epoch).
"""

import numpy as np
import pytest
import sentencepiece as spm

from awdrnn.lm.errors import DataError
from awdrnn.tasks import task_data
from awdrnn.text import subwords
from awdrnn.text.text_files import TextError
from conftest import shared_data
from text_samples import generated_lines, write_lines


@pytest.fixture(scope="module")
def unigram(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spm")
    corpus = write_lines(folder / "train.txt", generated_lines(3000, seed=1))
    return subwords.train_model(corpus, str(folder / "sp"), vocab_size=300)


class WordIds:
    """A stand-in subword model: one id per word (10, 11, ...), so lengths are
    known by hand: a text of `k` words encodes to `k + 2` ids."""

    def encode_lines(self, lines):
        return [np.array([2] + [10 + i for i, _ in enumerate(line.split())] + [3], np.int32)
                for line in lines]


def _tsv(tmp_path, text, name="t.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_columns_by_name_split_at_tabs_only(tmp_path):
    path = _tsv(tmp_path, 'index\tsentence1\tsentence2\tscore\n'
                          '0\tA "quoted" man .\tHe said "hi\t4.750 \n'
                          '1\t  spaced  \tb\t0\textra field\n')
    got = task_data.read_tsv_columns(path, ["score", "sentence1", "sentence2"])
    assert got == {"score": ["4.750", "0"], "sentence1": ['A "quoted" man .', "spaced"],
                   "sentence2": ['He said "hi', "b"]}
    assert task_data.read_tsv_columns(path, "index") == {"index": ["0", "1"]}


def test_a_final_newline_or_blank_lines_at_the_end_are_fine(tmp_path):
    for text in ("sentence\tlabel\na\t1\nb\t0", "sentence\tlabel\na\t1\nb\t0\n",
                 "sentence\tlabel\na\t1\nb\t0\n\n  \n"):
        assert task_data.read_tsv_columns(_tsv(tmp_path, text), ["label"]) == \
            {"label": ["1", "0"]}


@pytest.mark.parametrize("text,message", [
    ("sentence\tlabel\na\t1\n",
     r"t.tsv, line 1: no column 'score' in the header row; its columns: "
     r"\['sentence', 'label'\]; give one of them"),
    ("sentence\tscore\na\t1\nb\n",
     r"t.tsv, line 3: 1 tab-separated fields, no 'score' \(field 2\); fix or remove"),
    ("sentence\tscore\na\t1\n\nb\t0\n",
     r"t.tsv, line 3: blank line between data rows"),
    ("sentence\tscore\n\na\t1\n",
     r"t.tsv, line 2: blank line between data rows"),
    ("sentence\tscore\na\t1\n \t0\n",
     r"t.tsv, line 3: empty 'sentence' \(field 1\); fill it in or remove the line"),
    ("sentence\tscore\na\t \n", r"t.tsv, line 2: empty 'score'"),
    ("sentence\tscore\n", r"t.tsv: no rows under the header"),
    ("", r"t.tsv: no rows under the header"),
])
def test_bad_tsv_files(tmp_path, text, message):
    with pytest.raises(TextError, match=message):
        task_data.read_tsv_columns(_tsv(tmp_path, text), ["sentence", "score"])


def test_bad_columns_argument(tmp_path):
    with pytest.raises(ValueError, match="columns must be a non-empty list"):
        task_data.read_tsv_columns(_tsv(tmp_path, "a\nb\n"), [])


def test_label_map_sorts_numbers_by_value_and_maps_both_ways():
    numeric = task_data.LabelMap.from_labels(["10", "2", "1", "2", "10"])
    assert numeric.classes == ("1", "2", "10") and len(numeric) == 3
    assert task_data.LabelMap.from_labels(["-1", "0.5", "0"]).classes == ("-1", "0", "0.5")
    assert task_data.LabelMap.from_labels(["pos", "neg", "neutral", "neg"]).classes == \
        ("neg", "neutral", "pos")
    assert task_data.LabelMap.from_labels(["2", "b", "10"]).classes == ("10", "2", "b")
    ids = numeric.ids(["2", "10", "1", "10"])
    assert ids.dtype == np.int32 and ids.tolist() == [1, 2, 0, 2]
    assert numeric.labels(np.array([2, 0, 1])) == ["10", "1", "2"]
    with pytest.raises(ValueError, match=r"id 3 is outside \[0, 3\)"):
        numeric.labels([0, 3])


def test_unknown_label_names_its_line():
    labels = task_data.LabelMap.from_labels(["0", "1"])
    with pytest.raises(TextError, match=r"dev.tsv, line 4: label '2' is not one of the 2 "
                                        r"known labels \['0', '1'\]"):
        labels.ids(["0", "1", "2"], path="dev.tsv")
    with pytest.raises(TextError, match=r"dev.tsv, line 12: label 'x'"):
        labels.ids(["x"], path="dev.tsv", first_line=12)
    with pytest.raises(TextError, match=r"labels\[1\]: label 'pos' is not one of"):
        labels.ids(["1", "pos"])


def test_label_map_file_round_trip(tmp_path):
    labels = task_data.LabelMap(["neg", "pos", "10"])
    path = str(tmp_path / "labels.txt")
    labels.save(path)
    assert open(path, encoding="utf-8").read() == "neg\npos\n10\n"
    assert task_data.LabelMap.load(path) == labels
    assert task_data.LabelMap.load(path) != task_data.LabelMap(["neg", "pos"])
    for text, message in (("a\n\nb\n", r"labels.txt, line 2: blank line in a label file"),
                          ("a\nb\na\n", r"labels.txt, line 3: label 'a' again \(first on "
                                        r"line 1\)"),
                          ("", r"labels.txt: no labels; give a label file written by")):
        (tmp_path / "labels.txt").write_text(text, encoding="utf-8")
        with pytest.raises(TextError, match=message):
            task_data.LabelMap.load(path)


def test_label_map_refuses_bad_labels():
    with pytest.raises(ValueError, match=r"given more than once: \['a'\]"):
        task_data.LabelMap(["a", "b", "a"])
    with pytest.raises(ValueError, match="non-empty one-line strings, got 'a\\\\nb'"):
        task_data.LabelMap(["a\nb"])
    with pytest.raises(ValueError, match="no labels"):
        task_data.LabelMap.from_labels([])


def test_check_same_gives_both_lists():
    saved = task_data.LabelMap(["0", "1"])
    saved.check_same(task_data.LabelMap(["0", "1"]), "labels")
    with pytest.raises(DataError, match=r"the label map disagrees with the saved model: labels "
                                        r"\['0', '1'\] vs \['0', '1', '2'\] \(only in the "
                                        r"first: \[\], only in the second: \['2'\]\)"):
        saved.check_same(task_data.LabelMap(["0", "1", "2"]),
                         "the label map disagrees with the saved model")
    with pytest.raises(DataError, match=r"\['0', '1'\] vs \['1', '0'\] \(the same labels "
                                        r"in another order\)"):
        saved.check_same(task_data.LabelMap(["1", "0"]), "x")


def test_regression_targets():
    got = task_data.read_regression_targets(["0.000", "4.750", "5", "-1e-3"], "s.tsv")
    assert got.dtype == np.float32
    assert got.tolist() == [0.0, 4.75, 5.0, np.float32(-0.001)]
    for values, message in ((["1", "abc"], r"s.tsv, line 3: score 'abc' is not a number"),
                            (["nan"], r"s.tsv, line 2: score 'nan' is not a finite"),
                            (["1", "2", "-inf"], r"s.tsv, line 4: score '-inf' is not"),
                            (["1e39"], r"s.tsv, line 2: score '1e39' is not a finite "
                                       r"float32")):
        with pytest.raises(TextError, match=message):
            task_data.read_regression_targets(values, "s.tsv")


def test_texts_and_pairs_encode_like_sentencepiece(unigram):
    raw = spm.SentencePieceProcessor(model_proto=unigram.proto)  # not via awdrnn
    texts = generated_lines(20, seed=5)
    seconds = generated_lines(20, seed=6)
    ids, cut = task_data.encode_texts(unigram, texts)
    assert cut == 0
    for got, text in zip(ids, texts):
        assert got.dtype == np.int32 and got.tolist() == [2] + raw.encode(text) + [3]
    ids, cut = task_data.encode_texts(unigram, texts, pairs=seconds)
    assert cut == 0
    for got, first, second in zip(ids, texts, seconds):
        assert got.dtype == np.int32
        assert got.tolist() == [2] + raw.encode(first) + [3, 2] + raw.encode(second) + [3]


def test_long_texts_are_cut_keeping_bos_and_eos(unigram):
    raw = spm.SentencePieceProcessor(model_proto=unigram.proto)
    texts = generated_lines(40, seed=8)
    full = [[2] + raw.encode(t) + [3] for t in texts]
    ids, cut = task_data.encode_texts(unigram, texts, max_seq_len=8)
    assert cut == sum(len(f) > 8 for f in full) > 0
    for got, want in zip(ids, full):
        assert got.tolist() == (want if len(want) <= 8 else want[:7] + [3])
    words = task_data.encode_texts(WordIds(), ["a b c d e", "a b c d", "a"], max_seq_len=6)
    assert [x.tolist() for x in words[0]] == [[2, 10, 11, 12, 13, 3], [2, 10, 11, 12, 13, 3],
                                              [2, 10, 3]]
    assert words[1] == 1


@pytest.mark.parametrize("first,second,max_len,kept", [
    ("a", "a b c d e f g h", 8, (3, 5)),           # the short one whole, the rest to the other
    ("a b c d e f g h", "a", 8, (5, 3)),
    ("a b c d e f g h", "a b c d e f g h", 8, (4, 4)),  # both long: half each
    ("a b c d e f g h", "a b c d e f g h", 9, (4, 5)),  # the second gets the odd id
    ("a b", "a b c d", 10, (4, 6)),                 # fits: not cut
])
def test_pairs_are_cut_sentence_by_sentence(first, second, max_len, kept):
    ids, cut = task_data.encode_texts(WordIds(), [first], max_seq_len=max_len, pairs=[second])
    want = [2] + list(range(10, 10 + kept[0] - 2)) + [3, 2] + \
        list(range(10, 10 + kept[1] - 2)) + [3]
    assert ids[0].tolist() == want
    assert cut == (len(first.split()) + len(second.split()) + 4 > max_len)


def test_cut_real_pairs_keep_both_sentences(unigram):
    raw = spm.SentencePieceProcessor(model_proto=unigram.proto)
    firsts, seconds = generated_lines(30, seed=9), generated_lines(30, seed=10)
    ids, cut = task_data.encode_texts(unigram, firsts, max_seq_len=11, pairs=seconds)
    n_cut = 0
    for got, a, b in zip(ids, firsts, seconds):
        full_a, full_b = [2] + raw.encode(a) + [3], [2] + raw.encode(b) + [3]
        got = got.tolist()
        split = got.index(3) + 1
        part_a, part_b = got[:split], got[split:]
        n_cut += len(full_a) + len(full_b) > 11
        assert len(got) == min(11, len(full_a) + len(full_b))
        for part, full in ((part_a, full_a), (part_b, full_b)):
            assert part[-1] == 3 and part[:-1] == full[:len(part) - 1]
    assert cut == n_cut > 0


def test_encode_texts_bad_arguments(unigram):
    with pytest.raises(ValueError, match=r"pairs has 1 sentences for 2 texts"):
        task_data.encode_texts(unigram, ["a", "b"], pairs=["c"])
    with pytest.raises(ValueError, match=r"max_seq_len must be None or an int >= 4 .* got 3"):
        task_data.encode_texts(unigram, ["a"], max_seq_len=3, pairs=["b"])
    with pytest.raises(ValueError, match=r"max_seq_len must be None or an int >= 2 .* got 1"):
        task_data.encode_texts(unigram, ["a"], max_seq_len=1)


def test_pad_batch_right_and_left():
    seqs = [np.array([2, 7, 8, 3]), [2, 3], np.array([], np.int32)]
    ids, lengths = task_data.pad_batch(seqs)
    assert ids.dtype == np.int32 and lengths.dtype == np.int32
    assert ids.tolist() == [[2, 7, 8, 3], [2, 3, 1, 1], [1, 1, 1, 1]]
    assert lengths.tolist() == [4, 2, 0]
    ids, lengths = task_data.pad_batch(seqs, pad_id=0, side="left")
    assert ids.tolist() == [[2, 7, 8, 3], [0, 0, 2, 3], [0, 0, 0, 0]]
    assert lengths.tolist() == [4, 2, 0]
    with pytest.raises(ValueError, match="side must be 'right' or 'left', got 'top'"):
        task_data.pad_batch(seqs, side="top")
    with pytest.raises(ValueError, match="no sequences"):
        task_data.pad_batch([])
    with pytest.raises(ValueError, match=r"sequence 1 has shape \(1, 2\)"):
        task_data.pad_batch([[1], [[1, 2]]])


def _check_permutation(batches, n, batch_size):
    assert all(b.dtype == np.int64 for b in batches)
    assert sorted(np.concatenate(batches).tolist()) == list(range(n))
    assert sorted(len(b) for b in batches)[1:] == [batch_size] * (len(batches) - 1)


def test_training_batches_are_sortish_and_fixed_by_seed_and_epoch():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 500, size=1003)
    batches = task_data.epoch_batches(lengths, 8, seed=3, epoch=0)
    _check_permutation(batches, 1003, 8)
    for b in batches:  # a batch is a slice of a chunk sorted longest first
        assert np.all(np.diff(lengths[b]) <= 0)
    assert lengths[batches[0][0]] == lengths.max()
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(1003)[:8]]) for _ in range(50)])
    assert spread < random_spread / 5  # similar lengths in a batch
    again = task_data.epoch_batches(lengths, 8, seed=3, epoch=0)
    assert [b.tolist() for b in again] == [b.tolist() for b in batches]
    for other in (task_data.epoch_batches(lengths, 8, seed=3, epoch=1),
                  task_data.epoch_batches(lengths, 8, seed=4, epoch=0)):
        _check_permutation(other, 1003, 8)
        assert [b.tolist() for b in other] != [b.tolist() for b in batches]


def test_one_chunk_is_the_sorted_order_in_batches_two_are_not():
    lengths = np.random.default_rng(1).permutation(np.arange(5, 5 + 37))  # distinct
    batches = task_data.epoch_batches(lengths, 4, seed=0, epoch=2)
    _check_permutation(batches, 37, 4)
    order = np.argsort(-lengths)
    assert lengths[batches[0]].tolist() == [41, 40, 39, 38]
    assert sorted(b.tolist() for b in batches) == \
        sorted(order[i:i + 4].tolist() for i in range(0, 37, 4))
    first_lengths = [int(lengths[b[0]]) for b in batches[1:]]
    assert first_lengths != sorted(first_lengths, reverse=True)  # batches shuffled
    lengths = np.random.default_rng(2).permutation(400)  # two chunks of 50 * 4
    batches = task_data.epoch_batches(lengths, 4, seed=0, epoch=0)
    _check_permutation(batches, 400, 4)
    order = np.argsort(-lengths)
    assert sorted(b.tolist() for b in batches) != \
        sorted(order[i:i + 4].tolist() for i in range(0, 400, 4))  # not one sort


def test_evaluation_batches_longest_first():
    batches = task_data.epoch_batches([3, 9, 3, 7, 1, 9, 2], 3, shuffle=False)
    assert [b.tolist() for b in batches] == [[1, 5, 3], [0, 2, 6], [4]]
    assert len(task_data.epoch_batches([4], 5, seed=1, epoch=0)) == 1


def test_epoch_batches_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        task_data.epoch_batches([1, 2], 0)
    with pytest.raises(ValueError, match="epoch must be an int >= 0, got -1"):
        task_data.epoch_batches([1, 2], 2, seed=0, epoch=-1)
    with pytest.raises(ValueError, match="lengths is empty"):
        task_data.epoch_batches([], 2)


@pytest.mark.needs_data
def test_sst2_and_stsb():
    sst2 = shared_data("classification/sst2")
    # Rows and labels from sst2/SOURCE.md (wc -l minus the header): dev 872 (428 / 444),
    # train 67,349 (29,780 / 37,569).
    for name, rows, counts in (("dev", 872, [428, 444]), ("train", 67349, [29780, 37569])):
        path = str(sst2 / f"{name}.tsv")
        data = task_data.read_tsv_columns(path, ["sentence", "label"])
        assert len(data["sentence"]) == len(data["label"]) == rows
        labels = task_data.LabelMap.from_labels(data["label"])
        assert labels.classes == ("0", "1")
        assert np.bincount(labels.ids(data["label"], path)).tolist() == counts
    assert data["sentence"][0] == "hide new secretions from the parental units"
    stsb = shared_data("regression/stsb")
    path = str(stsb / "dev.tsv")
    data = task_data.read_tsv_columns(path, ["sentence1", "sentence2", "score"])
    scores = task_data.read_regression_targets(data["score"], path)
    assert len(scores) == 1500 and scores.min() == 0.0 and scores.max() == 5.0
    assert abs(scores.mean() - 2.364) < 1e-3  # SOURCE.md: mean 2.364
    assert data["sentence1"][0] == "A man with a hard hat is dancing."
    assert data["score"][1] == "4.750"
