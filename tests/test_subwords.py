"""SentencePiece subword models (awdrnn/text/subwords.py).

Expected ids come from the `sentencepiece` package called directly on the
same strings; round trips and the special ids are checked against the text
and the fastai convention (unk 0, pad 1, bos 2, eos 3).
"""

import io
import os

import numpy as np
import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2

from awdrnn.text import subwords
from awdrnn.text.text_files import TextError
from text_samples import generated_lines, write_lines


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    return write_lines(tmp_path_factory.mktemp("corpus") / "train.txt",
                       generated_lines(3000, seed=1))


@pytest.fixture(scope="module")
def unigram(corpus_file, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("unigram") / "sp"
    return subwords.train_model(corpus_file, str(prefix), vocab_size=300)


def _trainer_spec(model):
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.proto)
    return proto.trainer_spec


@pytest.mark.parametrize("model_type,expected", [
    ("unigram", sentencepiece_model_pb2.TrainerSpec.UNIGRAM),
    ("bpe", sentencepiece_model_pb2.TrainerSpec.BPE)])
def test_train_writes_model_with_fixed_special_ids(corpus_file, tmp_path, model_type,
                                                   expected):
    prefix = str(tmp_path / "sp")
    model = subwords.train_model([corpus_file], prefix, vocab_size=250,
                                 model_type=model_type)
    assert sorted(os.listdir(tmp_path)) == ["sp.model", "sp.vocab"]
    raw = spm.SentencePieceProcessor(model_file=prefix + ".model")  # not via awdrnn
    assert (raw.unk_id(), raw.pad_id(), raw.bos_id(), raw.eos_id()) == (0, 1, 2, 3)
    assert raw.vocab_size() == model.vocab_size == 250
    assert _trainer_spec(model).model_type == expected
    vocab = open(prefix + ".vocab", encoding="utf-8").read().splitlines()
    assert len(vocab) == 250
    assert [line.split("\t")[0] for line in vocab[:4]] == ["<unk>", "<pad>", "<s>", "</s>"]
    assert subwords.load_model(prefix + ".model").proto == model.proto


def test_encode_file_wraps_each_line_in_bos_eos_like_sentencepiece(unigram, tmp_path):
    lines = generated_lines(50, seed=7) + ["", "   "]
    path = write_lines(tmp_path / "valid.txt", lines)
    raw = spm.SentencePieceProcessor(model_proto=unigram.proto)
    ids = unigram.encode_file(path)
    assert len(ids) == len(lines)
    for got, line in zip(ids, lines):
        assert got.dtype == np.int32
        assert got.tolist() == [2] + raw.encode(line) + [3]
    assert ids[-1].tolist() == [2, 3]  # blank line
    assert unigram.encode_file(path, add_bos=False, add_eos=False)[0].tolist() == \
        raw.encode(lines[0])


def test_encode_file_in_chunks_keeps_order(unigram, tmp_path, monkeypatch):
    lines = generated_lines(10, seed=3)
    path = write_lines(tmp_path / "t.txt", lines)
    whole = unigram.encode_file(path)
    monkeypatch.setattr(subwords, "_ENCODE_CHUNK", 3)
    assert [a.tolist() for a in unigram.encode_file(path)] == [a.tolist() for a in whole]


def test_decode_gives_the_text_back(unigram):
    lines = ["The cat saw a river .", "Paris , 1996 : 12 percent", "café naïve Zürich"]
    for line, ids in zip(lines, unigram.encode_lines(lines)):
        assert unigram.decode(ids) == line
    assert unigram.decode(np.array([[2, 1, 1, 3]])) == ""  # bos, pad, eos dropped


def test_decode_rejects_ids_outside_the_vocabulary(unigram):
    with pytest.raises(TextError, match=r"id 300 is outside \[0, 300\), the vocabulary "
                                        r"of .*sp.model"):
        unigram.decode([2, 300, 3])


def test_casing_kept_or_folded(corpus_file, tmp_path, unigram):
    lower = subwords.train_model(corpus_file, str(tmp_path / "lc"), vocab_size=300,
                                 lower_case=True)
    cased_ids = unigram.encode_lines(["The Cat", "the cat"])
    assert cased_ids[0].tolist() != cased_ids[1].tolist()
    assert unigram.decode(cased_ids[0]) == "The Cat"
    lower_ids = lower.encode_lines(["The CAT Zürich", "the cat zürich"])
    assert lower_ids[0].tolist() == lower_ids[1].tolist()
    assert lower.decode(lower_ids[0]) == "the cat zürich"


def test_character_coverage_maps_rare_characters_to_unk(tmp_path):
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lines = [" ".join("".join(rng.choice(letters, 5)) for _ in range(8))
             for _ in range(500)]
    path = write_lines(tmp_path / "t.txt", lines + ["one rare ø"])  # 1 in ~24,000
    full = subwords.train_model(path, str(tmp_path / "full"), vocab_size=60,
                                character_coverage=1.0)
    part = subwords.train_model(path, str(tmp_path / "part"), vocab_size=60,
                                character_coverage=0.9999)
    assert subwords.UNK_ID not in full.encode_lines(["ø"])[0].tolist()
    assert subwords.UNK_ID in part.encode_lines(["ø"])[0].tolist()


def test_model_with_other_special_ids_is_refused(corpus_file, tmp_path):
    path = str(tmp_path / "default_ids.model")
    with open(path, "wb") as f:  # SentencePiece's defaults: unk 0, bos 1, eos 2, no pad
        spm.SentencePieceTrainer.train(input=corpus_file, model_writer=f, vocab_size=150,
                                       minloglevel=2)
    with pytest.raises(TextError, match=r"default_ids.model: special ids are unk 0, pad "
                                        r"-1, bos 1, eos 2 .* awdrnn needs unk 0, pad 1, "
                                        r"bos 2, eos 3 .* Retrain"):
        subwords.load_model(path)


def test_load_model_bad_files(tmp_path):
    with pytest.raises(TextError, match="missing.model: no such SentencePiece model"):
        subwords.load_model(str(tmp_path / "missing.model"))
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"not a model")
    with pytest.raises(TextError, match="junk.model: not a SentencePiece model"):
        subwords.load_model(str(junk))


@pytest.mark.parametrize("content,message", [
    (b"", r"bad.txt: empty"),
    (b"good line\nanother\n\xff\xfe broken\n", r"bad.txt, line 3: not UTF-8"),
    (b"ok\n" + b"y" * 101 + b"\n", r"bad.txt, line 2: 101 bytes, longer than the limit "
                                   r"of max_line_bytes=100")])
def test_bad_input_raises_and_writes_nothing(tmp_path, unigram, content, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(TextError, match=message):
        subwords.train_model([str(bad)], str(out / "sp"), vocab_size=50,
                             max_line_bytes=100)
    with pytest.raises(TextError, match=message):
        unigram.encode_file(str(bad), max_line_bytes=100)
    assert os.listdir(out) == []


def test_failed_training_keeps_the_previous_model(corpus_file, tmp_path):
    prefix = str(tmp_path / "sp")
    first = subwords.train_model(corpus_file, prefix, vocab_size=150)
    small = write_lines(tmp_path / "small.txt", ["ab ab"])
    with pytest.raises(TextError, match=r"could not train on .*small.txt: .*Vocabulary "
                                        r"size too high"):
        subwords.train_model(small, prefix, vocab_size=150)
    assert open(prefix + ".model", "rb").read() == first.proto
    assert sorted(os.listdir(tmp_path)) == ["small.txt", "sp.model", "sp.vocab"]


def test_crash_while_writing_keeps_the_previous_model(corpus_file, tmp_path,
                                                    monkeypatch):
    prefix = str(tmp_path / "sp")
    first = subwords.train_model(corpus_file, prefix, vocab_size=150)
    vocab = open(prefix + ".vocab", "rb").read()
    real_fsync = os.fsync

    def disk_full(fd):  # fails on the second file (Linux: /proc names the fd)
        if ".vocab" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError("No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        subwords.train_model(corpus_file, prefix, vocab_size=200)
    assert open(prefix + ".model", "rb").read() == first.proto
    assert open(prefix + ".vocab", "rb").read() == vocab
    assert sorted(os.listdir(tmp_path)) == ["sp.model", "sp.vocab"]  # no temp file


@pytest.mark.parametrize("kwargs,message", [
    (dict(model_type="word"), r"model_type must be one of \('unigram', 'bpe'\), got 'word'"),
    (dict(vocab_size=4), r"vocab_size must be an int > 4 .* got 4"),
    (dict(character_coverage=0.0), r"character_coverage must be in \(0, 1\], got 0.0"),
    (dict(model_prefix="/no/such/folder/sp"), r"folder of model_prefix='/no/such/folder/sp'"),
    (dict(input_paths=[]), r"input_paths is empty")])
def test_bad_arguments(corpus_file, tmp_path, kwargs, message):
    args = dict(input_paths=corpus_file, model_prefix=str(tmp_path / "sp"), vocab_size=100)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        subwords.train_model(**args)


def test_save_and_load_ids(unigram, tmp_path):
    ids = unigram.encode_lines(["a cat", "", "the river ran"])
    path = str(tmp_path / "ids.npz")
    subwords.save_ids(path, ids)
    back = subwords.load_ids(path)
    assert [a.tolist() for a in back] == [a.tolist() for a in ids]
    assert all(a.dtype == np.int32 for a in back)
    subwords.save_ids(path, [])
    assert subwords.load_ids(path) == []
