"""CoNLL tagging files and the tag vocabulary (awdrnn/tasks/conll.py).

Expected sentences are written by hand beside the file text they come from;
the real CoNLL-2003 counts are those published in its SOURCE.md.
"""

import os

import numpy as np
import pytest

from awdrnn.tasks import conll
from awdrnn.tasks.conll import Sentence, TagMap
from awdrnn.text.text_files import TextError
from conftest import shared_data


def _write(tmp_path, text, name="data.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_read_conll_sentences_documents_and_blank_lines(tmp_path):
    path = _write(tmp_path, (
        "-DOCSTART- -X- -X- O\n"
        "\n"
        "EU NNP I-NP I-ORG\n"
        "rejects VBZ I-VP O\n"
        "German JJ I-NP I-MISC\n"
        "\n"
        "\n"                                  # two blank lines: still one boundary
        "Peter NNP I-NP I-PER\r\n"            # CRLF line end
        "Blackburn NNP I-NP I-PER\n"
        "-DOCSTART- -X- O O\n"                # a document line also ends a sentence
        "\n"
        "S.\tNNP  I-NP   B-LOC\n"             # tabs and runs of spaces separate fields
        "Korea NNP I-NP I-LOC"))              # last sentence, no line end
    assert conll.read_conll(path) == [
        Sentence(["EU", "rejects", "German"], ["I-ORG", "O", "I-MISC"]),
        Sentence(["Peter", "Blackburn"], ["I-PER", "I-PER"]),
        Sentence(["S.", "Korea"], ["B-LOC", "I-LOC"])]


def test_tag_column_picks_another_field(tmp_path):
    path = _write(tmp_path, "EU NNP B-NP I-ORG\nrejects VBZ I-VP O\n\ncall NN B-NP O\n")
    chunks = [Sentence(["EU", "rejects"], ["B-NP", "I-VP"]), Sentence(["call"], ["B-NP"])]
    assert conll.read_conll(path, tag_column=2) == chunks
    assert conll.read_conll(path, tag_column=-2) == chunks
    assert conll.read_conll(path, tag_column=3) == conll.read_conll(path)
    two = _write(tmp_path, "Paris I-LOC\n", "two.txt")  # word and tag only
    assert conll.read_conll(two) == [Sentence(["Paris"], ["I-LOC"])]


@pytest.mark.parametrize("text,kwargs,message", [
    ("EU NNP I-NP I-ORG\nrejects\n", {},
     r"data.txt, line 2: one field \('rejects'\) .*words and tags differ in number; add "
     r"the tag"),
    ("EU NNP I-NP I-ORG\n\nPeter NNP I-NP PER\n", {},
     r"data.txt, line 3: tag 'PER' \(field -1\) is neither O nor B-TYPE / I-TYPE "
     r"\(IOB1, IOB2/BIO tags only\)"),
    ("EU NNP I-NP E-ORG\n", {}, r"line 1: tag 'E-ORG' .*\(IOB1, IOB2/BIO tags only\)"),
    ("EU NNP I-NP I-\n", {}, r"line 1: tag 'I-' "),
    ("EU NNP NP I-ORG\n", {"tag_column": 2}, r"line 1: tag 'NP' \(field 2\)"),
    ("EU NNP I-NP I-ORG\nrejects VBZ\n", {"tag_column": 3},
     r"line 2: 2 fields, no tag in field tag_column=3"),
    ("EU I-ORG\n", {"tag_column": -2}, r"line 1: 2 fields, no tag in field tag_column=-2 "
                                       r"\(the word is field 0\)"),
    ("-DOCSTART- -X- -X- O\n\n\n", {}, r"data.txt: no sentence \(no token line\)"),
    ("", {}, r"data.txt: no sentence"),
    ("EU I-ORG\n\xff\n", {}, r"data.txt, line 2: not UTF-8"),
    ("EU I-ORG\n" + "x" * 40 + " O\n", {"max_line_bytes": 30},
     r"line 2: 42 bytes, longer than the limit of max_line_bytes=30")])
def test_bad_files_name_the_line(tmp_path, text, kwargs, message):
    path = tmp_path / "data.txt"
    path.write_bytes(text.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(TextError, match=message):
        conll.read_conll(str(path), **kwargs)


def test_missing_file_and_bad_tag_column(tmp_path):
    with pytest.raises(TextError, match=r"missing.txt: no such file"):
        conll.read_conll(str(tmp_path / "missing.txt"))
    path = _write(tmp_path, "EU I-ORG\n")
    with pytest.raises(ValueError, match=r"tag_column=0 is the word's field"):
        conll.read_conll(path, tag_column=0)
    with pytest.raises(ValueError, match=r"tag_column must be an int .* got '3'"):
        conll.read_conll(path, tag_column="3")


@pytest.mark.needs_data
def test_real_conll2003_counts_and_tags():
    folder = shared_data("ner/conll2003")
    data = {name: conll.read_conll(str(folder / f"{name}.txt"))
            for name in ("train", "valid", "test")}
    counts = {name: (len(s), sum(len(x.words) for x in s)) for name, s in data.items()}
    assert counts == {"train": (14041, 203621), "valid": (3250, 51362),
                      "test": (3453, 46435)}  # SOURCE.md, the published statistics
    for sentences in data.values():
        assert all(len(s.words) == len(s.tags) > 0 for s in sentences)
    tags = {name: {t for s in sentences for t in s.tags} for name, sentences in data.items()}
    assert tags["train"] == tags["test"] == {"O", "I-PER", "I-LOC", "I-ORG", "I-MISC",
                                             "B-LOC", "B-MISC", "B-ORG"}
    assert tags["valid"] == {"O", "I-PER", "I-LOC", "I-ORG", "I-MISC", "B-MISC"}
    b_tags = {name: sum(t.startswith("B-") for s in sentences for t in s.tags)
              for name, sentences in data.items()}
    assert b_tags == {"train": 72, "valid": 4, "test": 20}  # SOURCE.md
    # test.txt begins "-DOCSTART- -X- -X- O", blank, "SOCCER NN I-NP O", ...
    assert data["test"][0].words[:3] == ["SOCCER", "-", "JAPAN"]
    assert data["test"][0].tags[:3] == ["O", "O", "I-LOC"]
    assert TagMap.from_sentences(data["train"]).names == (
        "O", "B-LOC", "B-MISC", "B-ORG", "I-LOC", "I-MISC", "I-ORG", "I-PER")


def test_tag_map_from_sentences_ids_and_tags():
    sentences = [Sentence(["a", "b"], ["I-PER", "O"]), (["c", "d"], ["B-LOC", "I-LOC"])]
    tag_map = TagMap.from_sentences(sentences)
    assert tag_map.names == ("O", "B-LOC", "I-LOC", "I-PER")  # O first, then sorted
    assert len(tag_map) == 4
    ids = tag_map.ids(["I-LOC", "O", "I-PER", "B-LOC"])
    assert ids.dtype == np.int32 and ids.tolist() == [2, 0, 3, 1]
    assert tag_map.tags(ids) == ["I-LOC", "O", "I-PER", "B-LOC"]
    assert tag_map.tags(np.array([[0], [3]])) == ["O", "I-PER"]
    assert tag_map.ids([]).tolist() == []
    assert TagMap.from_sentences([(["x"], ["I-ORG"])]).names == ("O", "I-ORG")  # O always


def test_tag_map_unknown_tag_names_it_and_lists_the_known():
    tag_map = TagMap(["O", "I-PER"])
    with pytest.raises(TextError, match=r"^valid.txt line 12: tag 'I-LOC' is not in the tag "
                                        r"map \(known: O, I-PER\); fix the tag, or build"):
        tag_map.ids(["O", "I-LOC"], where="valid.txt line 12")
    with pytest.raises(TextError, match=r"^tag 'X' is not in the tag map"):
        tag_map.ids(["X"])
    with pytest.raises(ValueError, match=r"id 2 is outside \[0, 2\)"):
        tag_map.tags([0, 2])
    with pytest.raises(ValueError, match=r"id -1 is outside"):
        tag_map.tags([-1])


@pytest.mark.parametrize("names,message", [
    ([], r"names is empty"),
    (["O", "PER"], r"'PER' is neither O nor B-TYPE / I-TYPE"),
    (["O", "I-PER", "O"], r"tag 'O' given twice")])
def test_tag_map_bad_names(names, message):
    with pytest.raises(ValueError, match=message):
        TagMap(names)


def test_tag_map_save_load_round_trip_and_equality(tmp_path):
    tag_map = TagMap(["O", "B-MISC", "I-MISC", "I-PER"])
    path = str(tmp_path / "tags.txt")
    tag_map.save(path)
    assert open(path, encoding="utf-8").read() == "O\nB-MISC\nI-MISC\nI-PER\n"
    loaded = TagMap.load(path)
    assert loaded == tag_map and loaded.names == tag_map.names
    assert loaded != TagMap(["O", "I-MISC", "B-MISC", "I-PER"])  # order is the ids
    assert TagMap(["O"]) != ["O"]
    assert os.listdir(tmp_path) == ["tags.txt"]  # no temporary left


def test_tag_map_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / "tags.txt")
    TagMap(["O", "I-PER"]).save(path)

    def disk_full(fd):
        raise OSError("No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        TagMap(["O", "I-LOC", "I-PER"]).save(path)
    assert open(path, encoding="utf-8").read() == "O\nI-PER\n"
    assert os.listdir(tmp_path) == ["tags.txt"]


@pytest.mark.parametrize("text,message", [
    ("O\nI-PER\nPER\n", r"tags.txt, line 3: 'PER' is neither O nor B-TYPE / I-TYPE"),
    ("O\nI-PER\nI-PER\n", r"tags.txt, line 3: tag 'I-PER' again \(first on line 2\)"),
    ("O\n\nI-PER\n", r"tags.txt, line 2: blank line in a tag file"),
    ("", r"tags.txt: no tags")])
def test_tag_map_load_bad_files(tmp_path, text, message):
    path = _write(tmp_path, text, "tags.txt")
    with pytest.raises(TextError, match=message):
        TagMap.load(path)
    with pytest.raises(TextError, match=r"nothing.txt: no such file"):
        TagMap.load(str(tmp_path / "nothing.txt"))
