"""Checked line reading and atomic writes (awdrnn/text/text_files.py)."""

import os

import pytest

from awdrnn.lm import errors as lm_errors
from awdrnn.text import text_files
from awdrnn.text.text_files import TextError


def test_read_lines_numbers_lines_and_drops_line_ends(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("one\r\ntwo é\n\nlast".encode("utf-8"))
    assert list(text_files.read_lines(str(path))) == [
        (1, "one"), (2, "two é"), (3, ""), (4, "last")]


def test_non_utf8_names_file_line_and_byte(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"fine\nalso fine\ncaf\xe9 au lait\n")
    with pytest.raises(TextError, match=r"latin1.txt, line 3: not UTF-8 \(byte 0xe9 at "
                                        r"byte 3 of the line"):
        list(text_files.read_lines(str(path)))


def test_long_line_names_line_and_limit(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("short\n" + "x" * 11 + "\n", encoding="utf-8")
    assert len(list(text_files.read_lines(str(path), max_line_bytes=11))) == 2
    with pytest.raises(TextError, match=r"long.txt, line 2: 11 bytes, longer than the "
                                        r"limit of max_line_bytes=10"):
        list(text_files.read_lines(str(path), max_line_bytes=10))


def test_line_length_counts_utf8_bytes(tmp_path):
    path = tmp_path / "u.txt"
    path.write_text("ééé\n", encoding="utf-8")  # 3 characters, 6 bytes
    with pytest.raises(TextError, match="6 bytes"):
        list(text_files.read_lines(str(path), max_line_bytes=5))


@pytest.mark.parametrize("content", [b"", b"\n\n  \n\t\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(TextError, match=r"empty.txt: empty \(no non-blank line\)"):
        text_files.check_text_file(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(TextError, match="nope.txt: no such file"):
        text_files.check_text_file(str(tmp_path / "nope.txt"))


def test_text_error_is_a_data_error_for_the_scripts():
    assert issubclass(TextError, lm_errors.DataError)
    assert issubclass(TextError, ValueError)


def test_atomic_write_replaces_only_on_success(tmp_path):
    path = str(tmp_path / "out.txt")
    with text_files.atomic_write(path) as f:
        f.write("first\n")
    with pytest.raises(RuntimeError):
        with text_files.atomic_write(path) as f:
            f.write("half of the sec")
            raise RuntimeError("crash while writing")
    assert open(path, encoding="utf-8").read() == "first\n"
    assert os.listdir(tmp_path) == ["out.txt"]  # no temporary file left


def test_atomic_write_binary_and_bad_mode(tmp_path):
    path = str(tmp_path / "b.bin")
    with text_files.atomic_write(path, "wb") as f:
        f.write(b"\x00\x01")
    assert open(path, "rb").read() == b"\x00\x01"
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb', got 'a'"):
        with text_files.atomic_write(path, "a"):
            pass


def test_write_files_all_or_none(tmp_path):
    a, b = str(tmp_path / "a.model"), str(tmp_path / "b.vocab")
    text_files.write_files({a: b"model 1", b: b"vocab 1"})
    with pytest.raises(OSError):  # the second file cannot be written
        text_files.write_files({a: b"model 2", str(tmp_path / "no" / "b.vocab"): b"x"})
    assert open(a, "rb").read() == b"model 1"
    assert sorted(os.listdir(tmp_path)) == ["a.model", "b.vocab"]
