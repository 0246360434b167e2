"""Task data sets from files: ids, targets and (for tagging) the words, ready for training.

    classify: TSV (header) -> text column -> `bos pieces eos`, label column -> LabelMap ids
    regress:  TSV -> one text column, or two (a sentence pair, one sequence
              `bos s1 eos bos s2 eos`) -> ids; label column -> float scores
    tag:      CoNLL columns (word ... tag) -> words -> pieces, the tag on each
              word's first piece (`tagging.align`)

Every sequence longer than `max_seq_len` ids is cut (`Dataset.n_cut` says how
many) so that no batch is larger than the user allowed. A `Dataset` holds:

    sequences  list of int32 id arrays
    targets    int32 label ids [n] / float32 scores [n] / list of int32 piece labels
    first_pieces, words, tags, n_words   tagging only: the layout and the words
    n_cut, path
"""

import collections

import numpy as np

from awdrnn.tasks import conll, tagging, task_data

Dataset = collections.namedtuple(
    "Dataset", ["sequences", "targets", "first_pieces", "words", "tags", "n_words", "n_cut",
                "path"])


def classification_dataset(path, subword_model, text_column, label_column, label_map,
                           max_seq_len=None):
    """A labelled TSV file for the classifier (`label_map`: a `task_data.LabelMap`).

    Raises:
      TextError: a bad file, column or label (the message names the line).
    """
    columns = task_data.read_tsv_columns(path, [text_column, label_column])
    targets = label_map.ids(columns[label_column], path)
    sequences, n_cut = task_data.encode_texts(subword_model, columns[text_column], max_seq_len)
    return Dataset(sequences, targets, None, None, None, None, n_cut, path)


def regression_dataset(path, subword_model, text_columns, label_column, max_seq_len=None):
    """A scored TSV file for the regressor: one text column, or two (a pair)."""
    text_columns = list(text_columns)
    if len(text_columns) not in (1, 2):
        raise ValueError(f"give one text column or two (a sentence pair), got {text_columns}.")
    columns = task_data.read_tsv_columns(path, text_columns + [label_column])
    targets = task_data.read_regression_targets(columns[label_column], path)
    pairs = columns[text_columns[1]] if len(text_columns) == 2 else None
    sequences, n_cut = task_data.encode_texts(subword_model, columns[text_columns[0]],
                                              max_seq_len, pairs=pairs)
    return Dataset(sequences, targets, None, None, None, None, n_cut, path)


def tag_words(subword_model, sentences_words, tag_ids=None, max_seq_len=None):
    """Aligns word lists (and their tag ids) on subword pieces.

    Returns `(sequences, piece_labels, first_pieces, n_words, n_cut)`.
    """
    sequences, labels, firsts, n_words, n_cut = [], [], [], [], 0
    for k, words in enumerate(sentences_words):
        pieces = tagging.word_pieces(subword_model, words)
        ids = tag_ids[k] if tag_ids is not None else np.zeros(len(words), np.int32)
        aligned = tagging.align(pieces, ids, max_len=max_seq_len)
        n_cut += aligned.n_words < len(words)
        sequences.append(aligned.ids)
        labels.append(aligned.labels)
        firsts.append(aligned.first_piece)
        n_words.append(aligned.n_words)
    return sequences, labels, firsts, n_words, n_cut


def tagging_dataset(path, subword_model, tag_map, max_seq_len=None, tag_column=-1):
    """A CoNLL file for the tagger (`tag_map`: a `conll.TagMap`; the tag in
    column `tag_column`, the word in column 0)."""
    sentences = conll.read_conll(path, tag_column=tag_column)
    tag_ids = [tag_map.ids(s.tags, where=f"{path}, sentence {k + 1}")
               for k, s in enumerate(sentences)]
    words = [s.words for s in sentences]
    sequences, labels, firsts, n_words, n_cut = tag_words(subword_model, words, tag_ids,
                                                          max_seq_len)
    return Dataset(sequences, labels, firsts, words, [s.tags for s in sentences], n_words,
                   n_cut, path)
