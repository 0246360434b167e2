"""Word labels on subword pieces and back, and entity-level scores (conlleval's).

A tagger reads subword pieces (SentencePiece) but is labelled and scored per
word. Each word is encoded on its own (`word_pieces`); `align` lays one
sentence out as `bos + pieces + eos` with the word's label on its FIRST piece
and `ignore` everywhere else (the loss skips those steps), so each word is
trained and predicted once; `words_from_pieces` reads per-piece predictions
back at the first pieces; `entity_scores` scores the words' tags by entities:

    import numpy as np
    from awdrnn.tasks import tagging
    # pieces = tagging.word_pieces(subword_model, ["EU", "rejects", "Germany"])
    pieces = [np.array([4, 46]), np.array([9]), np.array([4, 30, 31, 32])]
    aligned = tagging.align(pieces, [2, 0, 1])
    print(aligned.ids)          # [ 2  4 46  9  4 30 31 32  3]
    print(aligned.labels)       # [-1  2 -1  0  1 -1 -1 -1 -1]
    scores = np.eye(3)[[0, 2, 0, 0, 1, 1, 1, 1, 0]]     # [time, n_tags] per piece
    print(tagging.words_from_pieces(scores, aligned.first_piece).argmax(-1))  # [2 0 1]
    s = tagging.entity_scores([["I-ORG", "O", "I-LOC"]], [["I-ORG", "O", "I-PER"]])
    print(s["precision"], s["recall"], s["f1"])   # 0.5 0.5 0.5

Scores follow conlleval (the CoNLL shared tasks' script) through seqeval.
"""

import collections

import numpy as np
from seqeval.metrics import sequence_labeling

from awdrnn.tasks import conll
from awdrnn.text.subwords import BOS_ID, EOS_ID, UNK_ID

Aligned = collections.namedtuple("Aligned", ["ids", "labels", "first_piece", "n_words"])
Aligned.__doc__ = """One sentence laid out for a subword tagger (see `align`).

Attributes:
  ids: int32 `[time]`, `bos + pieces of the kept words + eos`.
  labels: int32 `[time]`, a word's label on its first piece, `ignore` elsewhere.
  first_piece: bool `[time]`, True at the first piece of each kept word.
  n_words: words kept (the first `n_words` of the sentence).
"""


def word_pieces(subword_model, words):
    """The piece ids of each word, each word encoded by SentencePiece on its own.

    Encoding words separately (not the joined sentence) fixes which pieces
    belong to which word; SentencePiece then starts each word with its
    word-start marker `▁`, as inside a sentence after a space. A word that
    gives no piece at all (e.g. a zero-width space U+200B or a whitespace-only
    string, which normalization removes) gets `[UNK_ID]`: every word must keep
    a piece, since every word is labelled, predicted and scored.

    Args:
      subword_model: an `awdrnn.text.subwords.SubwordModel` (or a
        `sentencepiece.SentencePieceProcessor`).
      words: the words of one sentence (str).

    Returns:
      a list of `len(words)` int32 arrays `[pieces of word i]`, none empty.
    """
    processor = getattr(subword_model, "processor", subword_model)
    words = list(words)
    if not all(isinstance(word, str) for word in words):
        bad = next(word for word in words if not isinstance(word, str))
        raise ValueError(f"word_pieces: words must be str, got {bad!r}")
    encoded = processor.encode(words) if words else []
    return [np.asarray(ids if ids else [UNK_ID], np.int32) for ids in encoded]


def align(pieces_per_word, label_ids, max_len=None, ignore=-1, bos=True, eos=True):
    """Lays out one sentence: its pieces, and each word's label on its first piece.

    For words `w_1 .. w_n` with pieces `p_i1 .. p_ik_i` and labels `y_i`:

        ids    = [bos] p_11 .. p_1k_1  p_21 ..  ..  p_nk_n [eos]
        labels = [ign]  y_1 .. ign      y_2 ..  ..  ign    [ign]

    Only the first piece of a word is labelled: copying a word's label onto
    all its pieces would count each word `k_i` times in the loss and, with
    IOB tags, would turn one `B-` word into a `B-` run of pieces.

    Args:
      pieces_per_word: `n` int arrays of piece ids, each of one piece or more
        (`word_pieces` gives them).
      label_ids: `n` int labels, one per word.
      max_len: longest `ids` allowed, bos and eos included (None: no limit).
        Whole words are dropped from the end until the sentence fits; bos and
        eos are kept. The caller reports the truncation (`n_words < n`).
      ignore: the label of unlabelled steps (non-first pieces, bos, eos).
      bos, eos: whether to put `BOS_ID` first and `EOS_ID` last.

    Returns:
      `Aligned(ids, labels, first_piece, n_words)`: `ids` and `labels` int32
      `[time]`, `first_piece` bool `[time]` (True at each kept word's first
      piece), `n_words` the words kept; `time <= max_len`.

    Raises:
      ValueError: the numbers of words and labels differ, a word has no piece,
        or `max_len` cannot hold bos and eos.
    """
    pieces_per_word = [np.asarray(p, np.int32).reshape(-1) for p in pieces_per_word]
    label_ids = np.asarray(label_ids).reshape(-1)
    if len(pieces_per_word) != len(label_ids):
        raise ValueError(f"align: {len(pieces_per_word)} words (pieces_per_word) but "
                         f"{len(label_ids)} labels (label_ids); give one label per word")
    empty = [i for i, p in enumerate(pieces_per_word) if not len(p)]
    if empty:
        raise ValueError(f"align: word {empty[0]} has no piece; every word needs one to "
                         f"carry its label (word_pieces gives [UNK_ID] then)")
    n_special = int(bool(bos)) + int(bool(eos))
    if max_len is not None and not (isinstance(max_len, (int, np.integer))
                                    and max_len >= n_special):
        raise ValueError(f"align: max_len must be None or an int >= {n_special} (bos and "
                         f"eos), got {max_len!r}")
    lengths = np.array([len(p) for p in pieces_per_word], np.int64)
    n_words = len(lengths)
    if max_len is not None:  # words whose pieces end within the budget
        n_words = int(np.searchsorted(np.cumsum(lengths), max_len - n_special, "right"))
    kept = pieces_per_word[:n_words]
    head = [np.array([BOS_ID], np.int32)] if bos else []
    tail = [np.array([EOS_ID], np.int32)] if eos else []
    ids = np.concatenate(head + kept + tail).astype(np.int32)
    first_piece = np.zeros(len(ids), bool)
    starts = int(bool(bos)) + np.concatenate([[0], np.cumsum(lengths[:n_words])[:-1]])
    starts = starts[:n_words].astype(np.int64)
    first_piece[starts] = True
    labels = np.full(len(ids), ignore, np.int32)
    labels[starts] = label_ids[:n_words]
    return Aligned(ids, labels, first_piece, n_words)


def words_from_pieces(piece_values, first_piece, n_words=None):
    """The values at the first piece of each word: per-piece predictions -> per word.

    Args:
      piece_values: `[time]` (e.g. predicted tag ids) or `[time, n_tags]` (scores)
        of one sentence, laid out as `align` gives `ids`; steps beyond
        `len(first_piece)` (padding of a batch) are ignored.
      first_piece: bool `[time']`, `time' <= time`: `Aligned.first_piece`.
      n_words: if given, the number of words expected (`Aligned.n_words`).

    Returns:
      `piece_values[:time'][first_piece]`: `[n_words]` or `[n_words, n_tags]`.

    Raises:
      ValueError: `piece_values` is shorter than `first_piece`, or `first_piece`
        does not mark `n_words` words.
    """
    values = np.asarray(piece_values)
    mask = np.asarray(first_piece)
    if mask.ndim != 1 or mask.dtype != bool:
        raise ValueError(f"words_from_pieces: first_piece must be a 1-D bool array, got "
                         f"dtype {mask.dtype} shape {list(mask.shape)}")
    if values.ndim < 1 or len(values) < len(mask):
        raise ValueError(f"words_from_pieces: piece_values has shape {list(values.shape)}, "
                         f"fewer steps than first_piece ({len(mask)}); give the values of "
                         f"the same sentence")
    words = values[:len(mask)][mask]
    if n_words is not None and len(words) != n_words:
        raise ValueError(f"words_from_pieces: first_piece marks {len(words)} words, "
                         f"n_words={n_words}; give the mask of the same sentence")
    return words


def _check_tags(name, sentences):
    for s, tags in enumerate(sentences):
        for t, tag in enumerate(tags):
            if not conll.is_tag(tag):
                raise ValueError(f"entity_scores: {name}[{s}][{t}] = {tag!r} is neither O "
                                 f"nor B-TYPE / I-TYPE (IOB1, IOB2/BIO tags only)")


def entity_scores(true_tags, pred_tags):
    """Entity-level precision, recall and F1 as conlleval computes them.

    An entity is a maximal span of one type: it starts at a `B-` tag, or at an
    `I-` tag after `O` or after another type (so IOB1, where entities begin
    with `I-` and `B-` only splits two adjacent entities of one type, and
    IOB2/BIO read alike), and ends where the next one starts or at `O`. A
    predicted entity counts only if its type, start and end all match a true
    one; spans never cross sentences.

        precision = correct / predicted,  recall = correct / true,
        f1 = 2 precision recall / (precision + recall)   (0 when undefined)

    The entities and counts come from seqeval (default mode): the Python port
    of conlleval's chunking rules that the field reports NER F1 with, so these
    numbers match published CoNLL-2003 results.

    Args:
      true_tags: the true tags, a list of sentences, each a list of tag str.
      pred_tags: the predicted tags, the same shape.

    Returns:
      a dict: `precision`, `recall`, `f1` (fractions in [0, 1], micro-averaged
      over all entities), `n_true`, `n_pred`, `n_correct` (entity counts), and
      `per_type`: `{type: {"precision", "recall", "f1", "support"}}` (support:
      the type's true entities) for each type in either list.

    Raises:
      ValueError: the lists differ in number of sentences, a sentence differs
        in length (the message names it), or a tag is not `O`, `B-` or `I-`.
    """
    true_tags = [list(tags) for tags in true_tags]
    pred_tags = [list(tags) for tags in pred_tags]
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"entity_scores: {len(true_tags)} true sentences but "
                         f"{len(pred_tags)} predicted; give one prediction per sentence")
    for i, (true, pred) in enumerate(zip(true_tags, pred_tags)):
        if len(true) != len(pred):
            raise ValueError(f"entity_scores: sentence {i} has {len(true)} true tags but "
                             f"{len(pred)} predicted; give one tag per word")
    _check_tags("true_tags", true_tags)
    _check_tags("pred_tags", pred_tags)
    true_entities = set(sequence_labeling.get_entities(true_tags))
    pred_entities = set(sequence_labeling.get_entities(pred_tags))
    types = sorted({entity[0] for entity in true_entities | pred_entities})
    result = dict(n_true=len(true_entities), n_pred=len(pred_entities),
                  n_correct=len(true_entities & pred_entities), per_type={})
    if not types:  # no entity anywhere: nothing to find, nothing found wrongly
        result.update(precision=0.0, recall=0.0, f1=0.0)
        return result
    micro = sequence_labeling.precision_recall_fscore_support(
        true_tags, pred_tags, average="micro", zero_division=0)
    result.update(precision=float(micro[0]), recall=float(micro[1]), f1=float(micro[2]))
    per_type = sequence_labeling.precision_recall_fscore_support(
        true_tags, pred_tags, average=None, zero_division=0)  # types sorted, as `types`
    for i, name in enumerate(types):
        result["per_type"][name] = dict(
            precision=float(per_type[0][i]), recall=float(per_type[1][i]),
            f1=float(per_type[2][i]), support=int(per_type[3][i]))
    return result
