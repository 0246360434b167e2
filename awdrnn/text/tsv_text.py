"""One column of a tab-separated file as raw text, one line per row.

Classification data sets often come as TSV with a header row (GLUE's SST-2:
`sentence<TAB>label` in train.tsv and dev.tsv, `index<TAB>sentence` in
test.tsv). Their text column is what LM fine-tuning reads (ULMFiT stage 2):

    import os, tempfile
    from awdrnn.text import tsv_text
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "train.tsv"), "w") as f:
        f.write("sentence\tlabel\nit 's a charming journey . \t1\nbleak and desperate \t0\n")
    n = tsv_text.write_column(os.path.join(folder, "train.tsv"), "sentence",
                              os.path.join(folder, "train.txt"))
    print(n, open(os.path.join(folder, "train.txt")).read().splitlines())
    # 2 ["it 's a charming journey .", 'bleak and desperate']

Fields are split at tabs only (no quoting: a `"` is text, as in the GLUE
files); surrounding whitespace is stripped; the file is read through
`text_files.read_lines` (UTF-8 and line length checked) and the output is
written atomically.
"""

from awdrnn.text import text_files
from awdrnn.text.text_files import DEFAULT_MAX_LINE_BYTES, TextError


def read_column(path, column, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
    """The values of `column` (named in the header row) of a TSV file.

    Raises:
      TextError: a bad file (as `text_files.read_lines`), no such column (the
        message lists the header's), a row with too few fields, or no rows.
    """
    values, index = [], None
    for lineno, line in text_files.read_lines(path, max_line_bytes):
        fields = line.split("\t")
        if index is None:
            names = [name.strip() for name in fields]
            if column not in names:
                raise TextError(f"{path}: no column {column!r} in the header row; its "
                                f"columns: {names}; give one of them")
            index = names.index(column)
            continue
        if not line.strip():
            continue
        if len(fields) <= index:
            raise TextError(f"{path}, line {lineno}: {len(fields)} tab-separated fields, no "
                            f"{column!r} (field {index + 1}); fix or remove the line")
        values.append(fields[index].strip())
    if not values:
        raise TextError(f"{path}: no rows under the header; give a file with data")
    return values


def write_column(path, column, out_path, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
    """Writes the values of `column` of the TSV file `path` to `out_path`, one per
    line (atomically); returns the number of lines.

    Raises:
      TextError: as `read_column`; nothing is written then.
    """
    values = read_column(path, column, max_line_bytes)
    with text_files.atomic_write(out_path, "w") as f:
        f.write("".join(value + "\n" for value in values))
    return len(values)
