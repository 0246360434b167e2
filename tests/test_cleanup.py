"""Optional raw-text cleanup (awdrnn/text/cleanup.py): hand-written cases."""

import os

import pytest

from awdrnn.text import cleanup
from awdrnn.text.text_files import TextError
from conftest import shared_data


@pytest.mark.parametrize("tokenized,written", [
    ("weigh 0 @.@ 7 kg ( 1 @.@ 5 lb ) , although", "weigh 0.7 kg (1.5 lb), although"),
    ("red @-@ tipped , 1 @,@ 000 men .", "red-tipped, 1,000 men."),
    ("I do n't know ; it 's theirs , they 're sure !", "I don't know; it's theirs, they're sure!"),
    ('he said " I know " and left .', 'he said "I know" and left.'),
    ('" Yes " , " no "', '"Yes", "no"'),
    ("costs $ 5 – 6 million [ 1 ] { a } 50 %", "costs $5 – 6 million [1] {a} 50%"),
    ("  spaces \t and   tabs  ", "spaces and tabs"),
    ("Already written: fine (really), isn't it?", "Already written: fine (really), isn't it?"),
])
def test_detokenize(tokenized, written):
    assert cleanup.detokenize(tokenized) == written


@pytest.mark.parametrize("paragraph,sentences", [
    ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
    ("H. gammarus is red. Mr. Smith saw it on Jan. 5. It ran.",
     ["H. gammarus is red.", "Mr. Smith saw it on Jan. 5.", "It ran."]),
    ('He said "Stop." Then (Later.) "Quoted" ends. 1990 was a year.',
     ['He said "Stop."', "Then (Later.)", '"Quoted" ends.', "1990 was a year."]),
    ("e.g. this stays, as does 3.5 and a.m. use. Next one.",
     ["e.g. this stays, as does 3.5 and a.m. use.", "Next one."]),
    ("lower. case does not start a sentence", ["lower. case does not start a sentence"]),
    ("Wait... What?! Yes.", ["Wait...", "What?!", "Yes."]),
    ("Ask (Dr. Who) now. Then go.", ["Ask (Dr. Who) now.", "Then go."]),
    ("", []),
])
def test_split_sentences(paragraph, sentences):
    assert cleanup.split_sentences(paragraph) == sentences


def test_clean_file(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text(" = Title = \n\nIt 's red . It ran ( fast ) .\n\n", encoding="utf-8")
    out = str(tmp_path / "out.txt")
    assert cleanup.clean_file(str(source), out) == 3
    assert open(out, encoding="utf-8").read() == "= Title =\nIt's red.\nIt ran (fast).\n"
    assert cleanup.clean_file(str(source), out, detokenize_text=False,
                              one_sentence_per_line=False) == 2
    assert open(out, encoding="utf-8").read() == "= Title =\nIt 's red . It ran ( fast ) .\n"


@pytest.mark.parametrize("content,message", [
    (b"good line .\nbad \xff line\n", r"in.txt, line 2: not UTF-8"),
    (b"\n \n", r"in.txt: empty")])
def test_clean_file_bad_input_writes_nothing(tmp_path, content, message):
    source = tmp_path / "in.txt"
    source.write_bytes(content)
    with pytest.raises(TextError, match=message):
        cleanup.clean_file(str(source), str(tmp_path / "out.txt"))
    assert os.listdir(tmp_path) == ["in.txt"]


@pytest.mark.needs_data
def test_wikitext2_paragraph():
    with open(shared_data("wikitext-2") / "valid.txt", encoding="utf-8") as f:
        line = f.read().splitlines()[7]
    sentences = cleanup.split_sentences(cleanup.detokenize(line))
    assert sentences == [
        "Homarus gammarus is a large <unk>, with a body length up to 60 centimetres (24 "
        "in) and weighing up to 5 – 6 kilograms (11 – 13 lb), although the lobsters "
        "caught in lobster pots are usually 23 – 38 cm (9 – 15 in) long and weigh 0.7 – "
        "2.2 kg (1.5 – 4.9 lb).",
        "Like other crustaceans, lobsters have a hard <unk> which they must shed in order "
        "to grow, in a process called <unk> (<unk>).",
        "This may occur several times a year for young lobsters, but decreases to once "
        "every 1 – 2 years for larger animals."]
