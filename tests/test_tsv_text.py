"""awdrnn.text.tsv_text and `examples/subwords.py column`: a TSV column as raw text."""

import importlib.util
import os
import types

import pytest

from awdrnn.text import tsv_text
from awdrnn.text.text_files import DEFAULT_MAX_LINE_BYTES, TextError
from conftest import shared_data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_column_by_header_name(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text('index\tsentence\n0\tuneasy "mishmash" . \n\n1\ta b\tc\n', encoding="utf-8")
    assert tsv_text.read_column(str(tsv), "sentence") == ['uneasy "mishmash" .', "a b"]
    assert tsv_text.read_column(str(tsv), "index") == ["0", "1"]
    out = tmp_path / "t.txt"
    assert tsv_text.write_column(str(tsv), "sentence", str(out)) == 2
    assert out.read_text(encoding="utf-8") == 'uneasy "mishmash" .\na b\n'


def test_bad_tsv_files(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("index\tsentence\n0\tfine\n7\n", encoding="utf-8")
    with pytest.raises(TextError, match=r"no column 'label' in the header row; its columns: "
                                        r"\['index', 'sentence'\]"):
        tsv_text.read_column(str(tsv), "label")
    out = tmp_path / "out.txt"
    with pytest.raises(TextError, match=r"t.tsv, line 3: 1 tab-separated fields, no 'sentence'"):
        tsv_text.write_column(str(tsv), "sentence", str(out))
    assert not out.exists()
    tsv.write_text("sentence\tlabel\n", encoding="utf-8")
    with pytest.raises(TextError, match="no rows under the header"):
        tsv_text.read_column(str(tsv), "sentence")


def test_column_command_of_subwords_script(tmp_path):
    spec = importlib.util.spec_from_file_location("subwords_script_tsv",
                                                  os.path.join(ROOT, "examples", "subwords.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    tsv = tmp_path / "train.tsv"
    tsv.write_text("sentence\tlabel\ngood film \t1\nbad film \t0\n", encoding="utf-8")
    opts = types.SimpleNamespace(input=[str(tsv)], output=str(tmp_path / "train.txt"),
                                 column="sentence", max_line_bytes=DEFAULT_MAX_LINE_BYTES)
    assert script.run("column", opts) == {"output": opts.output, "lines": 2}
    assert (tmp_path / "train.txt").read_text() == "good film\nbad film\n"


@pytest.mark.needs_data
def test_sst2_sentences(tmp_path):
    folder = shared_data("classification/sst2")
    # Rows counted with `wc -l` minus the header: 67,349 train, 872 dev, 1,821 test.
    for name, column, rows in (("train", "sentence", 67349), ("dev", "sentence", 872),
                               ("test", "sentence", 1821)):
        values = tsv_text.read_column(str(folder / f"{name}.tsv"), column)
        assert len(values) == rows
    assert values[0] == "uneasy mishmash of styles and genres ."
