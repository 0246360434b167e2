"""Labelled text for the classifier and the regressor: TSV columns, labels, ids, batches.

A GLUE-style TSV file (header row, fields split at tabs only, so a `"` is
text) gives the text and label columns; a `LabelMap` turns class labels into
ids `0 .. n-1`; `encode_texts` turns text into subword ids; `epoch_batches`
orders an epoch into batches of similar lengths and `pad_batch` pads them:

    import os, tempfile
    import numpy as np
    from awdrnn.tasks import task_data
    path = os.path.join(tempfile.mkdtemp(), "train.tsv")
    with open(path, "w") as f:
        f.write('sentence\\tlabel\\na "charming" film \\t1\\nbleak \\t0\\ndull \\t0\\n')
    data = task_data.read_tsv_columns(path, ["sentence", "label"])
    labels = task_data.LabelMap.from_labels(data["label"])
    print(data["sentence"], labels.ids(data["label"], path))
    # ['a "charming" film', 'bleak', 'dull'] [1 0 0]
    ids, lengths = task_data.pad_batch([np.array([2, 9, 3]), np.array([2, 3])])
    print(ids.tolist(), lengths.tolist())          # [[2, 9, 3], [2, 3, 1]] [3, 2]
    print(task_data.epoch_batches([3, 5, 4], batch_size=2, seed=0, epoch=0,
                                  shuffle=False))  # [array([1, 2]), array([0])]

Data row `k` (0-based) of a file is on line `k + 2`: the header is line 1 and
a blank line between rows is an error (a broken file), so error messages of
later steps (`LabelMap.ids`, `read_regression_targets`) can name the line.

Sentence pairs (STS-B) become ONE sequence, `bos pieces1 eos bos pieces2 eos`:
the encoder reads both sentences in order and the boundary is marked with the
language model's own sentence ids (eos then bos, as between two lines of its
training text), so no new embedding is needed. A siamese regressor
(`TaskConfig.pair_encoding="siamese"`) cuts that sequence back into its two
sentences (`split_pair`) and encodes each on its own.
"""

import numbers

import numpy as np

from awdrnn.lm import errors as lm_errors
from awdrnn.text import text_files
from awdrnn.text.subwords import BOS_ID, EOS_ID, PAD_ID
from awdrnn.text.text_files import DEFAULT_MAX_LINE_BYTES, TextError

FIRST_DATA_LINE = 2  # the line of the first data row (after the header)
SORTISH_CHUNK = 50   # fastai's SortishSampler sorts within chunks of 50 batches
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_tsv_columns(path, columns, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
    """The values of the named columns of a TSV file with a header row.

    The multi-column, strict variant of `awdrnn.text.tsv_text.read_column`:
    the same reading (`text_files.read_lines`: UTF-8 and line length checked;
    fields split at tabs only, no quoting; values stripped), but a blank line
    between data rows and an empty value are errors, since a row's line
    number must be `k + 2` for data row `k`. Blank lines after the last row
    (a file ending in extra newlines) are ignored.

    Args:
      path: the TSV file.
      columns: names of header columns (a list of str, or one str).
      max_line_bytes: longest line allowed, in UTF-8 bytes.

    Returns:
      `{column: [str, ...]}`, one value per data row, in file order.

    Raises:
      TextError: a bad file (as `text_files.read_lines`), a column missing
        from the header (the message lists the header's), a row with too few
        fields, a blank line between rows, an empty value, or no data rows.
      ValueError: `columns` is empty or not strings.
    """
    columns = [columns] if isinstance(columns, str) else list(columns)
    if not columns or not all(isinstance(c, str) for c in columns):
        raise ValueError(f"read_tsv_columns: columns must be a non-empty list of column "
                         f"names, got {columns!r}")
    values = {column: [] for column in columns}
    indices, blank = None, None
    for lineno, line in text_files.read_lines(path, max_line_bytes):
        fields = line.split("\t")
        if indices is None:
            names = [name.strip() for name in fields]
            missing = [c for c in columns if c not in names]
            if missing:
                raise TextError(f"{path}, line {lineno}: no column {missing[0]!r} in the "
                                f"header row; its columns: {names}; give one of them")
            indices = [names.index(c) for c in columns]
            continue
        if not line.strip():
            blank = blank or lineno
            continue
        if blank is not None:
            raise TextError(f"{path}, line {blank}: blank line between data rows (a row "
                            f"per line, no empty lines); remove the line or fill in the row")
        for column, index in zip(columns, indices):
            if len(fields) <= index:
                raise TextError(f"{path}, line {lineno}: {len(fields)} tab-separated fields, "
                                f"no {column!r} (field {index + 1}); fix or remove the line")
            value = fields[index].strip()
            if not value:
                raise TextError(f"{path}, line {lineno}: empty {column!r} (field "
                                f"{index + 1}); fill it in or remove the line")
            values[column].append(value)
    if indices is None or not values[columns[0]]:
        raise TextError(f"{path}: no rows under the header; give a file with data")
    return values


def _label_key(label):
    """Sort key: all-numeric label sets sort by value ("2" < "10")."""
    return float(label), label


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


class LabelMap:
    """Class labels <-> ids `0 .. n-1`, in the order of `classes`.

    Args:
      classes: the labels (str), each once, in id order.

    Attributes:
      classes: tuple of the labels; `classes[i]` has id `i`.

    Raises (constructor):
      ValueError: no labels, a label that is not a non-empty one-line str,
        or a label given twice.
    """

    def __init__(self, classes):
        classes = tuple(classes)
        if not classes:
            raise ValueError("LabelMap: no labels; give at least one")
        for label in classes:
            if not isinstance(label, str) or not label or "\n" in label or "\r" in label:
                raise ValueError(f"LabelMap: labels must be non-empty one-line strings, got "
                                 f"{label!r}")
        if len(set(classes)) != len(classes):
            twice = sorted({c for c in classes if classes.count(c) > 1})
            raise ValueError(f"LabelMap: labels given more than once: {twice}; give each "
                             f"once")
        self.classes = classes
        self._ids = {label: i for i, label in enumerate(classes)}

    @classmethod
    def from_labels(cls, labels):
        """The map of the distinct `labels`, sorted: by value when every label is a
        number ("2" < "10"), else as strings."""
        distinct = set(labels)
        numeric = all(isinstance(x, str) and _is_number(x) for x in distinct)
        return cls(sorted(distinct, key=_label_key if numeric else None))

    def ids(self, labels, path=None, first_line=FIRST_DATA_LINE):
        """The id of each label: `[n]` int32.

        Args:
          labels: strings, e.g. a column of `read_tsv_columns`.
          path: the file they came from (for messages); `labels[k]` is on line
            `first_line + k` there.
          first_line: the line of `labels[0]`.

        Raises:
          TextError: a label not in the map (the message names its line, or its
            index when `path` is None, and lists the known labels).
        """
        out = np.empty([len(labels)], np.int32)
        for k, label in enumerate(labels):
            i = self._ids.get(label)
            if i is None:
                where = f"{path}, line {first_line + k}" if path else f"labels[{k}]"
                raise TextError(f"{where}: label {label!r} is not one of the "
                                f"{len(self)} known labels {list(self.classes)}; fix the "
                                f"label, or train with data that has it")
            out[k] = i
        return out

    def labels(self, ids):
        """The label of each id (a list of str).

        Raises:
          ValueError: an id outside `[0, len(self))`.
        """
        ids = np.asarray(ids).reshape(-1)
        bad = [int(i) for i in ids if not 0 <= int(i) < len(self)]
        if bad:
            raise ValueError(f"LabelMap.labels: id {bad[0]} is outside [0, {len(self)}), "
                             f"the ids of {list(self.classes)}")
        return [self.classes[int(i)] for i in ids]

    def save(self, path):
        """Writes the labels, one per line in id order, atomically."""
        text_files.write_name_list(path, self.classes)

    @classmethod
    def load(cls, path):
        """The map written by `save` (order kept).

        Raises:
          TextError: as `text_files.read_name_list`: a bad file, a blank line, a
            label given twice, or no labels.
        """
        return cls(text_files.read_name_list(path, "label"))

    def check_same(self, other, what):
        """Raises unless `other` has the same labels in the same order.

        Args:
          other: a `LabelMap`.
          what: the message's start, e.g. "the label map of train.tsv disagrees
            with the saved model's (first)".

        Raises:
          DataError: the maps differ; the message gives both lists.
        """
        if self == other:
            return
        only_self = sorted(set(self.classes) - set(other.classes))
        only_other = sorted(set(other.classes) - set(self.classes))
        diff = (f"only in the first: {only_self}, only in the second: {only_other}"
                if only_self or only_other else "the same labels in another order")
        raise lm_errors.DataError(
            f"{what}: labels {list(self.classes)} vs {list(other.classes)} ({diff}); use "
            f"data with the labels the model was trained on, or train a new model")

    def __len__(self):
        return len(self.classes)

    def __eq__(self, other):
        if not isinstance(other, LabelMap):
            return NotImplemented
        return self.classes == other.classes

    __hash__ = None

    def __repr__(self):
        return f"LabelMap({list(self.classes)!r})"


def read_regression_targets(values, path, first_line=FIRST_DATA_LINE):
    """The numbers of a score column: `[n]` float32.

    Args:
      values: strings, e.g. a column of `read_tsv_columns`.
      path: the file they came from; `values[k]` is on line `first_line + k`.
      first_line: the line of `values[0]`.

    Raises:
      TextError: a value that is not a number, or not finite (nan, inf, or out
        of float32's range); the message names its line.
    """
    out = np.empty([len(values)], np.float32)
    for k, value in enumerate(values):
        try:
            number = float(value)
        except ValueError:
            raise TextError(f"{path}, line {first_line + k}: score {value!r} is not a "
                            f"number; give a decimal number such as 3.25") from None
        if not abs(number) <= _FLOAT32_MAX:  # also nan
            raise TextError(f"{path}, line {first_line + k}: score {value!r} is not a finite "
                            f"float32 number; give a finite decimal number such as 3.25")
        out[k] = number
    return out


def _check_max_seq_len(max_seq_len, least):
    if max_seq_len is None:
        return
    if (isinstance(max_seq_len, bool) or not isinstance(max_seq_len, numbers.Integral)
            or max_seq_len < least):
        raise ValueError(f"encode_texts: max_seq_len must be None or an int >= {least} (room "
                         f"for bos and eos of each sentence), got {max_seq_len!r}")


def _cut(ids, size):
    """`ids` (bos ... eos) cut to `size` ids keeping the final eos."""
    return ids if len(ids) <= size else np.append(ids[:size - 1], ids[-1]).astype(np.int32)


def _pair_sizes(a, b, budget):
    """Lengths to keep of two sentences of `a` and `b` ids within `budget`: each
    gets half, and a sentence shorter than its half leaves the rest to the other."""
    half_a = budget // 2
    half_b = budget - half_a
    if a <= half_a:
        return a, budget - a
    if b <= half_b:
        return budget - b, b
    return half_a, half_b


def encode_texts(subword_model, texts, max_seq_len=None, pairs=None):
    """Subword ids of each text (or sentence pair), optionally cut to a length.

    Single texts: `[BOS_ID] + pieces + [EOS_ID]`. Pairs (`pairs[k]` is the
    second sentence of `texts[k]`): `[BOS_ID] + pieces1 + [EOS_ID, BOS_ID] +
    pieces2 + [EOS_ID]`, one sequence (see the module docstring).

    With `max_seq_len`, a longer sequence is cut to `max_seq_len` ids, its
    start kept and its final eos put back. A longer pair is cut sentence by
    sentence so that both survive: each gets half of `max_seq_len` (the
    second the odd id), and when one sentence is shorter than its half the
    other gets the rest; each cut sentence keeps its eos.

    Args:
      subword_model: an `awdrnn.text.subwords.SubwordModel`.
      texts: strings.
      max_seq_len: None (no limit) or the most ids of a sequence: >= 2, or
        >= 4 for pairs.
      pairs: None, or the second sentences, as many as `texts`.

    Returns:
      `(ids, n_cut)`: a list of 1-D int32 arrays, and how many sequences
      (or pairs) were cut.

    Raises:
      ValueError: a bad `max_seq_len`, or `pairs` of another length.
    """
    texts = list(texts)
    if pairs is None:
        _check_max_seq_len(max_seq_len, 2)
        ids = subword_model.encode_lines(texts)
        if max_seq_len is None:
            return ids, 0
        cut = sum(len(x) > max_seq_len for x in ids)
        return [_cut(x, max_seq_len) for x in ids], cut
    pairs = list(pairs)
    if len(pairs) != len(texts):
        raise ValueError(f"encode_texts: pairs has {len(pairs)} sentences for {len(texts)} "
                         f"texts; give one second sentence per text")
    _check_max_seq_len(max_seq_len, 4)
    out, cut = [], 0
    for first, second in zip(subword_model.encode_lines(texts),
                             subword_model.encode_lines(pairs)):
        if max_seq_len is not None and len(first) + len(second) > max_seq_len:
            size_a, size_b = _pair_sizes(len(first), len(second), max_seq_len)
            first, second = _cut(first, size_a), _cut(second, size_b)
            cut += 1
        out.append(np.concatenate([first, second]).astype(np.int32))
    return out, cut


def split_pair(ids):
    """The two sentences of a joined pair `bos s1 eos bos s2 eos` (as
    `encode_texts(pairs=...)` writes it): `(bos s1 eos, bos s2 eos)`.

    The cut is after the first eos that a bos follows. SentencePiece never
    gives eos or bos for text; a word-level vocabulary maps the words
    "xxeos" and "xxbos" to them, so a first sentence holding "xxeos xxbos"
    would be cut there.

    Args:
      ids: 1-D int array of one pair.

    Returns:
      two int32 arrays.

    Raises:
      ValueError: `ids` is not a joined pair (not 1-D, no eos followed by
        bos, or not starting with bos and ending with eos).
    """
    ids = np.asarray(ids)
    cuts = np.flatnonzero((ids[:-1] == EOS_ID) & (ids[1:] == BOS_ID)) if ids.ndim == 1 else []
    if not len(cuts) or ids[0] != BOS_ID or ids[-1] != EOS_ID:
        raise ValueError(f"split_pair: {ids.tolist()} is not a joined sentence pair "
                         f"(bos s1 eos bos s2 eos, bos={BOS_ID}, eos={EOS_ID}); encode it "
                         f"with encode_texts(texts, pairs=...)")
    cut = int(cuts[0]) + 1
    return ids[:cut].astype(np.int32), ids[cut:].astype(np.int32)


def pad_batch(sequences, pad_id=PAD_ID, side="right"):
    """Pads 1-D id sequences into one matrix.

    Args:
      sequences: 1-D integer arrays (or lists), at least one.
      pad_id: the id filled in (fastai / SentencePiece here: 1).
      side: "right" (`ids[i, :len_i]` is sequence `i`) or "left"
        (`ids[i, max_len - len_i:]` is).

    Returns:
      `(ids, lengths)`: `[batch, max_len]` int32 and `[batch]` int32.

    Raises:
      ValueError: no sequences, a sequence that is not 1-D, or a bad `side`.
    """
    if side not in ("right", "left"):
        raise ValueError(f"pad_batch: side must be 'right' or 'left', got {side!r}")
    sequences = [np.asarray(s) for s in sequences]
    if not sequences:
        raise ValueError("pad_batch: no sequences; give at least one")
    for i, s in enumerate(sequences):
        if s.ndim != 1:
            raise ValueError(f"pad_batch: sequence {i} has shape {s.shape}; give 1-D arrays")
    lengths = np.array([len(s) for s in sequences], np.int32)
    ids = np.full([len(sequences), lengths.max()], pad_id, np.int32)
    for i, s in enumerate(sequences):
        if len(s):
            if side == "right":
                ids[i, :len(s)] = s
            else:
                ids[i, ids.shape[1] - len(s):] = s
    return ids, lengths


def _check_count(name, value, least):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"epoch_batches: {name} must be an int >= {least}, got {value!r}")


def epoch_batches(lengths, batch_size, seed=0, epoch=0, shuffle=True):
    """The batches of one epoch: index arrays that use every index exactly once.

    Training (`shuffle=True`), fastai's `SortishSampler`: the indices are
    shuffled, sorted by length (longest first) within chunks of
    `50 * batch_size`, cut into batches of `batch_size`; the batch holding
    the longest sequence goes first (an out-of-memory shows at once) and the
    others are shuffled. Batches hold sequences of similar lengths (little
    padding) in a random order. The order is a function of `(seed, epoch)`
    only, so a resumed run sees the same epoch again.

    Evaluation (`shuffle=False`): the indices sorted by length, longest first
    (ties in index order), cut into batches; `seed` and `epoch` are unused.

    Args:
      lengths: `[n]` sequence lengths.
      batch_size: the most indices of a batch (the last may hold fewer).
      seed, epoch: ints >= 0 that fix the order.
      shuffle: training (True) or evaluation (False) order.

    Returns:
      a list of int64 index arrays.

    Raises:
      ValueError: no lengths, or a bad `batch_size`, `seed` or `epoch`.
    """
    lengths = np.asarray(lengths).reshape(-1)
    if not len(lengths):
        raise ValueError("epoch_batches: lengths is empty; give one length per sequence")
    _check_count("batch_size", batch_size, 1)
    _check_count("seed", seed, 0)
    _check_count("epoch", epoch, 0)
    if not shuffle:
        order = np.argsort(-lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    chunk = SORTISH_CHUNK * batch_size
    order = np.concatenate([
        part[np.argsort(-lengths[part], kind="stable")]
        for part in (order[i:i + chunk] for i in range(0, len(order), chunk))])
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    longest = int(np.argmax([lengths[b[0]] for b in batches]))
    batches[0], batches[longest] = batches[longest], batches[0]
    rest = [batches[i] for i in rng.permutation(len(batches) - 1) + 1]
    return [batches[0]] + rest
