"""Text to padded ids inside a TF graph, laid out as the task models were trained.

The in-graph twin of `awdrnn.tasks.task_data.encode_texts` (single texts and
sentence pairs) and `awdrnn.tasks.datasets.tag_words` (a tagger's words), on
tensorflow-text's SentencePiece op (`awdrnn.text.graph_tokenizer`) or, for a
word-level model, a lookup table of its vocabulary
(`awdrnn.text.word_tokenizer`: "pieces" below are then whole words), so a
SavedModel needs no Python of ours to read text:

    single:  bos pieces eos                             (as `SubwordModel.encode_lines`)
    pair:    bos pieces_a eos bos pieces_b eos          (one sequence, doc/tasks.md)
    siamese: bos pieces_a eos  (rows 0..B-1), then      (a siamese regressor's
             bos pieces_b eos  (rows B..2B-1)            2 * batch rows)
    words:   bos pieces(w_1) .. pieces(w_n) eos         each whitespace-separated word
                                                        encoded on its own

Rows are right-padded with `PAD_ID` (1): to the longest row of the batch by
default, or to exactly `fixed_length` ids. A longer row is cut keeping its
bos and its final eos (`task_data.encode_texts(max_seq_len=...)`'s rule: a
pair is cut sentence by sentence, each keeping its eos; a tagger's sentence
loses whole words from the end):

    import tensorflow as tf
    from awdrnn.serving import text_inputs
    from awdrnn.text import subwords

    model = subwords.load_model("runs/spm/sp.model")
    with tf.Graph().as_default():
        text = tf.compat.v1.placeholder(tf.string, [None])              # [batch]
        inputs = text_inputs.TextInputs(model, fixed_length=8)
        ids = inputs.single(text)                                        # [batch, 8]
        with tf.compat.v1.Session() as sess:
            print(sess.run(ids, {text: ["a very long sentence indeed", "hi"]}))
    # [[2 .. .. .. .. .. .. 3]      cut: bos, the first 6 pieces, eos
    #  [2 .. 3  1  1  1  1  1]]     padded with 1

The model's bytes are stored once in the graph (one tokenizer op without
bos/eos; this module adds them).
"""

import collections
import numbers

import tensorflow as tf

from awdrnn.text import tokenizers, word_tokenizer
from awdrnn.text.subwords import BOS_ID, EOS_ID, PAD_ID, UNK_ID

# Fewest ids a row can be cut to: bos and eos (a pair: both sentences' bos and eos).
MIN_FIXED_LENGTH = {"single": 2, "pair": 4, "words": 2}

Words = collections.namedtuple("Words", ["ids", "words", "word_mask", "kept", "first_piece"])
Words.__doc__ = """A batch of sentences laid out for a tagger (`TextInputs.words`).

Attributes:
  ids: int32 `[batch, time]`, `bos + pieces of the kept words + eos`, padded.
  words: string `[batch, max_words]`, the whitespace-separated words ("" pads).
  word_mask: bool `[batch, max_words]`, True on real words.
  kept: bool `[batch, max_words]`, True on the words whose pieces are in
    `ids` (all real words unless `fixed_length` cut some from the end).
  first_piece: int32 `[batch, max_words]`, the position in `ids` of each kept
    word's first piece (0 elsewhere).
"""


def check_fixed_length(fixed_length, layout="single"):
    """`fixed_length` as an int, or None; raises ValueError naming what is valid.

    Args:
      fixed_length: None (pad to the longest row) or the ids of every row.
      layout: "single", "pair" or "words" (a pair needs room for 4 special ids).
    """
    if fixed_length is None:
        return None
    least = MIN_FIXED_LENGTH[layout]
    if (isinstance(fixed_length, bool) or not isinstance(fixed_length, numbers.Integral)
            or fixed_length < least):
        room = "bos and eos of both sentences" if layout == "pair" else "bos and eos"
        raise ValueError(f"fixed_length must be None (pad to the longest row) or an int >= "
                         f"{least} (room for {room}), got {fixed_length!r}.")
    return int(fixed_length)


def _keep_first(ragged, counts):
    """The first `counts[b]` values of each row `b` of a 2-D `ragged`."""
    positions = tf.ragged.range(ragged.row_lengths())
    return tf.ragged.boolean_mask(ragged, positions < tf.cast(counts, tf.int64)[:, None])


def _column(value, like):
    """A `[batch, 1]` int32 column of `value`, one row per row of ragged `like`."""
    return tf.fill(tf.stack([like.nrows(out_type=tf.int32), 1]), tf.constant(value, tf.int32))


class TextInputs:
    """Strings to right-padded ids in the current graph (see the module docstring).

    Args:
      subword_model: an `awdrnn.text.subwords.SubwordModel`, or the
        `awdrnn.text.word_tokenizer.WordTokenizer` of a word-level model
        (each whitespace-separated word one id; its table needs
        `tf.compat.v1.tables_initializer()`).
      fixed_length: None (pad each batch to its longest row) or the number of
        ids of every row (longer rows cut, bos and eos kept).

    Raises:
      ValueError: a bad `fixed_length`.
      ImportError: tensorflow-text is not installed.
    """

    def __init__(self, subword_model, fixed_length=None):
        self.fixed_length = check_fixed_length(fixed_length)
        self.tokenizer = tokenizers.in_graph(subword_model)

    def _pad(self, ragged):
        """Right-padded `[batch, time]`: `fixed_length` wide, or the longest row."""
        width = self.fixed_length
        return ragged.to_tensor(default_value=PAD_ID, shape=[None, width])

    def single(self, strings):
        """`bos pieces eos` of each string.

        Args:
          strings: string `[batch]`.

        Returns:
          int32 `[batch, time]`, right-padded with `PAD_ID`.
        """
        pieces = self.tokenizer.tokenize(strings)
        if self.fixed_length is not None:
            pieces = pieces[:, :self.fixed_length - 2]
        return self._pad(tf.concat([_column(BOS_ID, pieces), pieces,
                                    _column(EOS_ID, pieces)], axis=1))

    def _pair_pieces(self, first, second):
        """The pieces of both sentences of each pair, cut as `task_data.encode_texts`
        cuts a pair with `fixed_length`: each sentence gets half the ids (the
        second the odd one), one shorter than its half leaves the rest to the
        other, and each keeps room for its bos and eos."""
        check_fixed_length(self.fixed_length, "pair")
        same = tf.debugging.assert_equal(
            tf.size(first), tf.size(second),
            message="a pair's two inputs (text, text_b) need one string per pair each; "
                    "their sizes differ")
        with tf.control_dependencies([same]):
            first, second = tf.identity(first), tf.identity(second)
        a, b = self.tokenizer.tokenize(first), self.tokenizer.tokenize(second)
        if self.fixed_length is not None:
            budget = self.fixed_length
            size_a = tf.cast(a.row_lengths(), tf.int32) + 2
            size_b = tf.cast(b.row_lengths(), tf.int32) + 2
            half_a, half_b = budget // 2, budget - budget // 2
            cut = size_a + size_b > budget
            keep_a = tf.where(size_a <= half_a, size_a,
                              tf.where(size_b <= half_b, budget - size_b, half_a))
            keep_b = tf.where(size_a <= half_a, budget - size_a,
                              tf.where(size_b <= half_b, size_b, half_b))
            a = _keep_first(a, tf.where(cut, keep_a, size_a) - 2)
            b = _keep_first(b, tf.where(cut, keep_b, size_b) - 2)
        return a, b

    def pair(self, first, second):
        """`bos pieces_a eos bos pieces_b eos` of each pair, one sequence per pair.

        With `fixed_length`, a longer pair is cut as `task_data.encode_texts`
        cuts it: each sentence gets half the ids (the second the odd one),
        one shorter than its half leaves the rest to the other, and each cut
        sentence keeps its eos.

        Args:
          first, second: string `[batch]` each, the two sentences of each pair.

        Returns:
          int32 `[batch, time]`, right-padded with `PAD_ID`; a run with inputs of
          different sizes fails (`InvalidArgumentError` naming them).
        """
        a, b = self._pair_pieces(first, second)
        return self._pad(tf.concat([_column(BOS_ID, a), a, _column(EOS_ID, a),
                                    _column(BOS_ID, a), b, _column(EOS_ID, a)], axis=1))

    def siamese(self, first, second):
        """A siamese regressor's rows: `bos pieces_a eos` of every pair, then
        `bos pieces_b eos` of every pair (`task_data.split_pair` of `pair`).

        The sentences are cut as `pair` cuts them (`fixed_length` is the
        budget of both together, as in training), and the `2 * batch` rows
        are padded to the longest of them, not to `fixed_length`.

        Args:
          first, second: string `[batch]` each, the two sentences of each pair.

        Returns:
          int32 `[2 * batch, time]`, right-padded with `PAD_ID`.
        """
        a, b = self._pair_pieces(first, second)
        rows = tf.concat([tf.concat([_column(BOS_ID, a), a, _column(EOS_ID, a)], axis=1),
                          tf.concat([_column(BOS_ID, b), b, _column(EOS_ID, b)], axis=1)],
                         axis=0)
        return rows.to_tensor(default_value=PAD_ID)

    def words(self, strings):
        """A tagger's layout: each whitespace-separated word encoded on its own.

        Words are split where Python's `str.split()` splits (Unicode
        whitespace included), as `awdrnn.tasks.predictor` splits them; a word
        SentencePiece gives no piece (e.g. a zero-width space) gets `UNK_ID`,
        as `awdrnn.tasks.tagging.word_pieces` gives it. With `fixed_length`,
        whole words are dropped from the end until the pieces fit
        (`tagging.align`).

        Args:
          strings: string `[batch]`, one sentence each.

        Returns:
          `Words` (ids `[batch, time]`; words, masks and first-piece positions
          `[batch, max_words]`).
        """
        spaced = tf.strings.regex_replace(strings, word_tokenizer.python_whitespace(), " ")
        words = tf.strings.split(spaced)                              # [batch, (words)]
        per_word = self.tokenizer.tokenize(words.flat_values)        # [all words, (pieces)]
        empty = tf.equal(per_word.row_lengths(), 0)
        unk = tf.RaggedTensor.from_row_lengths(
            tf.fill(tf.reshape(tf.reduce_sum(tf.cast(empty, tf.int32)), [1]), UNK_ID),
            tf.cast(empty, tf.int64))
        per_word = tf.concat([per_word, unk], axis=1)                # every word >= 1 piece
        sizes = words.with_flat_values(tf.cast(per_word.row_lengths(), tf.int32)).to_tensor(0)
        word_mask = tf.sequence_mask(words.row_lengths(), tf.shape(sizes)[1])  # [batch, words]
        ends = tf.cumsum(sizes, axis=1)
        kept = word_mask
        if self.fixed_length is not None:
            kept = tf.logical_and(word_mask, ends <= self.fixed_length - 2)
        first_piece = tf.where(kept, 1 + ends - sizes, tf.zeros_like(sizes))
        kept_words = tf.ragged.boolean_mask(per_word, tf.boolean_mask(kept, word_mask))
        sentences = tf.RaggedTensor.from_row_lengths(
            kept_words, tf.reduce_sum(tf.cast(kept, tf.int64), axis=1)).merge_dims(1, 2)
        ids = self._pad(tf.concat([_column(BOS_ID, sentences), sentences,
                                   _column(EOS_ID, sentences)], axis=1))
        return Words(ids, words.to_tensor(""), word_mask, kept, first_piece)
