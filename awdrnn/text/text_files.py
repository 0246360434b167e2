"""Reading raw UTF-8 text files line by line, checked, and writing files atomically.

Every module of `awdrnn.text` reads its input through `read_lines`, so a bad
file fails the same way everywhere, before anything is written:

    from awdrnn.text import text_files
    for lineno, line in text_files.read_lines("corpus.txt", max_line_bytes=65536):
        ...                                   # line: str, without its line end

    with text_files.atomic_write("out.txt", "w") as f:   # temp file, fsync, rename
        f.write("...")
    text_files.write_files({"a.model": b"...", "a.vocab": b"..."})  # all or none
    text_files.write_name_list("labels.txt", ["neg", "pos"])   # id order, atomic
    names = text_files.read_name_list("labels.txt", "label")   # checked

A line is the bytes up to `\\n` (a trailing `\\r` is dropped too); its length
is counted in UTF-8 bytes without the line end, as SentencePiece counts its
`max_sentence_length`.
"""

import contextlib
import os

from awdrnn.lm import errors as lm_errors

DEFAULT_MAX_LINE_BYTES = 1 << 16


class TextError(lm_errors.DataError, ValueError):
    """A text input or model file the user must fix (the message says how)."""


def read_lines(path, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
    """Yields `(lineno, line)` for each line of a UTF-8 file, 1-based.

    Args:
      path: the text file.
      max_line_bytes: longest line allowed, in UTF-8 bytes without the line end.

    Raises:
      TextError: the file is missing, a line is not UTF-8 (the message names the
        line and the byte offset within it), or a line is longer than
        `max_line_bytes`.
    """
    if not os.path.isfile(path):
        raise TextError(f"{path}: no such file")
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            raw = raw.rstrip(b"\n")
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > max_line_bytes:
                raise TextError(
                    f"{path}, line {lineno}: {len(raw)} bytes, longer than the limit of "
                    f"max_line_bytes={max_line_bytes}; split the line (one sentence or "
                    f"document per line) or raise the limit")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise TextError(
                    f"{path}, line {lineno}: not UTF-8 (byte {raw[e.start]:#04x} at byte "
                    f"{e.start} of the line: {e.reason}); convert the file to UTF-8, e.g. "
                    f"`iconv -f latin1 -t utf-8`") from None
            yield lineno, line


def check_text_file(path, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
    """Reads the whole file once through `read_lines`; returns its number of lines.

    Raises:
      TextError: as `read_lines`, or the file has no non-blank line.
    """
    lines = nonblank = 0
    for lines, line in read_lines(path, max_line_bytes):
        nonblank += bool(line.strip())
    if not nonblank:
        raise TextError(f"{path}: empty (no non-blank line); give a file with text")
    return lines


@contextlib.contextmanager
def atomic_write(path, mode="w"):
    """Opens a temporary file beside `path`; renames it to `path` on success.

    On an exception inside the block the temporary file is removed and `path`
    is left as it was (absent, or its previous content).

    Args:
      path: the file to write.
      mode: "w" (UTF-8 text) or "wb".
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    tmp = _temporary_name(path)
    encoding = "utf-8" if mode == "w" else None
    try:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_files(contents):
    """Writes `{path: bytes}` so that a failure leaves every path as it was.

    Each file goes to a temporary beside it (flushed to disk); only when all
    are written are they renamed into place, one after another.
    """
    temporaries = {}
    try:
        for path, data in contents.items():
            temporaries[path] = _temporary_name(path)
            with open(temporaries[path], "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for path, tmp in temporaries.items():
            os.replace(tmp, path)
    finally:
        for tmp in temporaries.values():
            if os.path.exists(tmp):
                os.remove(tmp)


def write_name_list(path, names):
    """Writes `names` (one-line strs, e.g. the labels or tags of a task in id
    order) one per line, atomically: the file `read_name_list` reads."""
    with atomic_write(path, "w") as f:
        f.write("".join(name + "\n" for name in names))


def read_name_list(path, kind, check=None):
    """The names of a file written by `write_name_list`, in file order (the ids).

    Args:
      path: the file.
      kind: what a name is, for messages ("label", "tag").
      check: optional `check(name) -> str or None`: a message saying what is
        wrong with a name (it gets the path and line in front), None if good.

    Returns:
      list of str.

    Raises:
      TextError: a bad file (as `read_lines`), a blank line, a name `check`
        refuses, a name given twice (each name is one id), or no names.
    """
    names, first = [], {}
    for lineno, line in read_lines(path):
        where = f"{path}, line {lineno}"
        if not line.strip():
            raise TextError(f"{where}: blank line in a {kind} file (one {kind} per line); "
                            f"remove it")
        problem = check(line) if check else None
        if problem:
            raise TextError(f"{where}: {problem}")
        if line in first:
            raise TextError(f"{where}: {kind} {line!r} again (first on line {first[line]}); "
                            f"a {kind} file lists each {kind} once (its place in the file "
                            f"is its id)")
        first[line] = lineno
        names.append(line)
    if not names:
        raise TextError(f"{path}: no {kind}s; give a {kind} file written by the map's save()")
    return names


def _temporary_name(path):
    return f"{path}.tmp{os.getpid()}"
