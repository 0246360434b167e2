"""Word labels on subword pieces and entity scores (awdrnn/tasks/tagging.py).

Alignments are written out by hand; piece ids come from `sentencepiece`
called directly; entity precision/recall/F1 are counted by hand from the
entities listed beside each case, and compared with seqeval's own functions;
the real CoNLL-2003 entity count is the one published in its SOURCE.md.
"""

import numpy as np
import pytest
import sentencepiece as spm
from seqeval import metrics

from awdrnn.tasks import conll, tagging
from awdrnn.text import subwords
from awdrnn.text.subwords import UNK_ID
from conftest import shared_data
from text_samples import generated_lines, write_lines


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_spm")
    path = write_lines(folder / "train.txt", generated_lines(500, seed=1))
    return subwords.train_model(path, str(folder / "sp"), vocab_size=120)


def test_word_pieces_encode_each_word_alone(tiny_model):
    raw = spm.SentencePieceProcessor(model_proto=tiny_model.proto)  # not via awdrnn
    words = ["the", "Government", "Zürich", "\u200b", "", "   ", "\ufeff", ","]
    pieces = tagging.word_pieces(tiny_model, words)
    assert len(pieces) == len(words)
    for word, got in zip(words, pieces):
        assert got.dtype == np.int32
        expected = raw.encode(word)
        assert got.tolist() == (expected if expected else [UNK_ID]), word
    for i in (0, 1, 2, 7):  # words with pieces: the first carries the word-start marker
        assert raw.id_to_piece(int(pieces[i][0])).startswith("\u2581")
        assert raw.decode(pieces[i].tolist()) == words[i]
    assert len(pieces[1]) > 1  # a word of many pieces
    assert [p.tolist() for p in pieces[3:7]] == [[UNK_ID]] * 4  # no piece: unk
    assert tagging.word_pieces(tiny_model.processor, words[:2])[1].tolist() == \
        raw.encode("Government")
    assert tagging.word_pieces(tiny_model, []) == []
    with pytest.raises(ValueError, match=r"words must be str, got 3"):
        tagging.word_pieces(tiny_model, ["a", 3])


# A sentence of 3 words: one piece, four pieces, and a word that gave no piece (unk).
PIECES = [np.array([7]), np.array([8, 9, 10, 11]), np.array([UNK_ID])]
LABELS = [5, 1, 4]


def test_align_labels_only_first_pieces():
    aligned = tagging.align(PIECES, LABELS)
    #                 bos  w0  w1 ..........  w2  eos
    assert aligned.ids.tolist() == [2, 7, 8, 9, 10, 11, 0, 3]
    assert aligned.labels.tolist() == [-1, 5, 1, -1, -1, -1, 4, -1]
    assert aligned.first_piece.tolist() == [False, True, True, False, False, False, True,
                                            False]
    assert aligned.n_words == 3
    assert aligned.ids.dtype == np.int32 and aligned.labels.dtype == np.int32
    assert aligned.first_piece.dtype == bool
    bare = tagging.align(PIECES, LABELS, ignore=-100, bos=False, eos=False)
    assert bare.ids.tolist() == [7, 8, 9, 10, 11, 0]
    assert bare.labels.tolist() == [5, 1, -100, -100, -100, 4]
    assert bare.first_piece.tolist() == [True, True, False, False, False, True]
    empty = tagging.align([], [])
    assert empty.ids.tolist() == [2, 3] and empty.labels.tolist() == [-1, -1]
    assert empty.n_words == 0


@pytest.mark.parametrize("max_len,ids,labels,n_words", [
    (None, [2, 7, 8, 9, 10, 11, 0, 3], [-1, 5, 1, -1, -1, -1, 4, -1], 3),
    (8, [2, 7, 8, 9, 10, 11, 0, 3], [-1, 5, 1, -1, -1, -1, 4, -1], 3),
    (7, [2, 7, 8, 9, 10, 11, 3], [-1, 5, 1, -1, -1, -1, -1], 2),   # drops the last word
    (6, [2, 7, 3], [-1, 5, -1], 1),             # word 1 (4 pieces) no longer fits: whole
    (3, [2, 7, 3], [-1, 5, -1], 1),
    (2, [2, 3], [-1, -1], 0)])
def test_align_truncates_whole_words_and_keeps_bos_eos(max_len, ids, labels, n_words):
    aligned = tagging.align(PIECES, LABELS, max_len=max_len)
    assert aligned.ids.tolist() == ids
    assert aligned.labels.tolist() == labels
    assert aligned.first_piece.tolist() == [label != -1 for label in labels]
    assert aligned.n_words == n_words
    no_eos = tagging.align(PIECES, LABELS, max_len=max_len and max_len - 1, eos=False)
    assert no_eos.ids.tolist() == ids[:-1] and no_eos.n_words == n_words


@pytest.mark.parametrize("args,message", [
    ((PIECES, [1, 2]), r"3 words \(pieces_per_word\) but 2 labels \(label_ids\)"),
    (([np.array([7]), np.array([], np.int32)], [1, 2]), r"word 1 has no piece"),
    ((PIECES, LABELS, 1), r"max_len must be None or an int >= 2 \(bos and eos\), got 1"),
    ((PIECES, LABELS, 4.0), r"max_len must be None or an int >= 2 .* got 4.0")])
def test_align_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        tagging.align(*args)


def test_words_from_pieces_inverts_align():
    aligned = tagging.align(PIECES, LABELS)
    got = tagging.words_from_pieces(aligned.labels, aligned.first_piece, aligned.n_words)
    assert got.tolist() == LABELS
    # [time, n_tags] scores of each piece; a padded batch row is longer than the mask.
    scores = np.arange(10 * 3).reshape(10, 3)
    words = tagging.words_from_pieces(scores, aligned.first_piece)
    assert words.tolist() == [[3, 4, 5], [6, 7, 8], [18, 19, 20]]  # rows 1, 2, 6
    cut = tagging.align(PIECES, LABELS, max_len=7)
    assert tagging.words_from_pieces(np.arange(7), cut.first_piece, 2).tolist() == [1, 2]


def test_words_from_pieces_bad_arguments():
    mask = np.array([False, True, True, False])
    with pytest.raises(ValueError, match=r"shape \[3\], fewer steps than first_piece \(4\)"):
        tagging.words_from_pieces(np.arange(3), mask)
    with pytest.raises(ValueError, match=r"first_piece marks 2 words, n_words=3"):
        tagging.words_from_pieces(np.arange(4), mask, n_words=3)
    with pytest.raises(ValueError, match=r"first_piece must be a 1-D bool array, got dtype "
                                         r"int64"):
        tagging.words_from_pieces(np.arange(4), np.array([0, 1, 1, 0]))


# Hand-made IOB1 cases: the entities (type, first word, last word) are listed by hand.
TRUE = [
    ["I-PER", "I-PER", "O", "I-LOC", "O"],   # PER 0-1, LOC 3 (I- after O starts one)
    ["I-ORG", "I-ORG", "B-ORG", "O"],        # ORG 0-1, ORG 2 (B- splits them)
    ["O", "I-MISC", "I-MISC", "I-MISC"],     # MISC 1-3
    ["I-LOC", "B-LOC"],                      # LOC 0, LOC 1
    ["I-PER"],                               # PER 0
    ["I-PER"]]                               # PER 0 (no merging across sentences)
PRED = [
    ["I-PER", "I-PER", "O", "I-ORG", "O"],   # PER 0-1 correct; ORG 3: type mismatch
    ["I-ORG", "I-ORG", "I-ORG", "O"],        # ORG 0-2: matches neither true ORG
    ["O", "I-MISC", "I-MISC", "O"],          # MISC 1-2: partial span, wrong
    ["B-LOC", "B-LOC"],                      # LOC 0, LOC 1: both correct (B- after O)
    ["I-PER"],                               # correct
    ["I-PER"]]                               # correct
# true 9 (PER 3, LOC 3, ORG 2, MISC 1); predicted 8 (PER 3, LOC 2, ORG 2, MISC 1);
# correct 5 (PER 3, LOC 2).
HAND = dict(precision=5 / 8, recall=5 / 9, f1=2 * 5 / (8 + 9), n_true=9, n_pred=8,
            n_correct=5)
HAND_PER_TYPE = {
    "LOC": dict(precision=2 / 2, recall=2 / 3, f1=2 * 2 / (2 + 3), support=3),
    "MISC": dict(precision=0.0, recall=0.0, f1=0.0, support=1),
    "ORG": dict(precision=0.0, recall=0.0, f1=0.0, support=2),
    "PER": dict(precision=1.0, recall=1.0, f1=1.0, support=3)}


def test_entity_scores_hand_counted_iob1():
    scores = tagging.entity_scores(TRUE, PRED)
    for key, value in HAND.items():
        assert scores[key] == pytest.approx(value), key
    assert sorted(scores["per_type"]) == sorted(HAND_PER_TYPE)
    for name, expected in HAND_PER_TYPE.items():
        for key, value in expected.items():
            assert scores["per_type"][name][key] == pytest.approx(value), (name, key)


def test_entity_scores_equal_seqeval():
    scores = tagging.entity_scores(TRUE, PRED)
    assert scores["precision"] == pytest.approx(metrics.precision_score(TRUE, PRED))
    assert scores["recall"] == pytest.approx(metrics.recall_score(TRUE, PRED))
    assert scores["f1"] == pytest.approx(metrics.f1_score(TRUE, PRED))
    report = metrics.classification_report(TRUE, PRED, output_dict=True, zero_division=0)
    for name, got in scores["per_type"].items():
        assert got["precision"] == pytest.approx(report[name]["precision"])
        assert got["recall"] == pytest.approx(report[name]["recall"])
        assert got["f1"] == pytest.approx(report[name]["f1-score"])
        assert got["support"] == report[name]["support"]


def test_entity_scores_read_iob1_and_iob2_alike():
    iob1 = [["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC"]]  # PER 0-1, PER 2, LOC 4-5
    iob2 = [["B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC"]]
    scores = tagging.entity_scores(iob1, iob2)
    assert (scores["precision"], scores["recall"], scores["f1"]) == (1.0, 1.0, 1.0)
    assert scores["n_true"] == scores["n_correct"] == 3
    # One PER 0-2 predicted where two PER are true: 0 correct of 1 predicted, 2 true.
    merged = tagging.entity_scores(iob1, [["I-PER", "I-PER", "I-PER", "O", "I-LOC", "I-LOC"]])
    assert merged["precision"] == pytest.approx(1 / 2)   # LOC right, PER 0-2 wrong
    assert merged["recall"] == pytest.approx(1 / 3)
    assert merged["f1"] == pytest.approx(2 * 1 / (2 + 3))


def test_entity_scores_without_entities_are_zero():
    scores = tagging.entity_scores([["O", "O"]], [["O", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    assert scores["per_type"] == {} and scores["n_true"] == scores["n_pred"] == 0
    missed = tagging.entity_scores([["I-PER", "O"]], [["O", "O"]])
    assert (missed["precision"], missed["recall"], missed["f1"]) == (0.0, 0.0, 0.0)
    assert missed["per_type"]["PER"]["support"] == 1


@pytest.mark.parametrize("true,pred,message", [
    ([["O"], ["O"]], [["O"]], r"2 true sentences but 1 predicted"),
    ([["O"], ["O", "I-PER"]], [["O"], ["O"]], r"sentence 1 has 2 true tags but 1 predicted"),
    ([["O", "PER"]], [["O", "O"]], r"true_tags\[0\]\[1\] = 'PER' is neither O nor B-TYPE"),
    ([["O"]], [["E-PER"]], r"pred_tags\[0\]\[0\] = 'E-PER' is neither")])
def test_entity_scores_bad_arguments(true, pred, message):
    with pytest.raises(ValueError, match=message):
        tagging.entity_scores(true, pred)


@pytest.mark.needs_data
def test_real_conll_round_trip_through_subwords(tmp_path):
    folder = shared_data("ner/conll2003")
    sentences = conll.read_conll(str(folder / "valid.txt"))
    some = sentences[:1000]
    text = write_lines(tmp_path / "text.txt", [" ".join(s.words) for s in some])
    model = subwords.train_model(text, str(tmp_path / "sp"), vocab_size=300,
                                 character_coverage=1.0)  # no unk: words decode back
    raw = spm.SentencePieceProcessor(model_proto=model.proto)
    tag_map = conll.TagMap.from_sentences(sentences)
    many = 0
    for s in some:
        pieces = tagging.word_pieces(model, s.words)
        for word, word_ids in zip(s.words, pieces):
            assert raw.decode(word_ids.tolist()) == word
        many += sum(len(p) > 1 for p in pieces)
        aligned = tagging.align(pieces, tag_map.ids(s.tags))
        assert len(aligned.ids) == 2 + sum(len(p) for p in pieces)
        back = tagging.words_from_pieces(aligned.labels, aligned.first_piece,
                                         aligned.n_words)
        assert tag_map.tags(back) == s.tags
    assert many > 5000  # most words span several pieces
    # entities: 5,942 in valid.txt (SOURCE.md); the true tags score themselves perfectly
    tags = [s.tags for s in sentences]
    scores = tagging.entity_scores(tags, tags)
    assert scores["n_true"] == scores["n_pred"] == scores["n_correct"] == 5942
    assert scores["f1"] == 1.0
