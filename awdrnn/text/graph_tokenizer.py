"""SentencePiece tokenization inside a TF graph (tensorflow-text), for serving.

The model's bytes are stored in the graph (an attribute of the tokenizer's
resource op), so an exported graph needs no `.model` file beside it. Ids are
those of the Python path (`SubwordModel.encode_lines`), tested on WikiText-2,
SST-2 and CoNLL text:

    import tensorflow as tf
    from awdrnn.text import graph_tokenizer, subwords

    model = subwords.load_model("runs/spm/sp.model")
    with tf.Graph().as_default():
        text = tf.compat.v1.placeholder(tf.string, [None])          # [batch]
        ids, lengths = graph_tokenizer.tokenize_padded(model, text)  # [batch, max_len]
        with tf.compat.v1.Session() as sess:
            print(sess.run(ids, {text: ["Hello world.", "Hi"]}))

Ids agree with `sentencepiece` below 0.2.2 (the `awdrnn[text]` pin); 0.2.2
changed how equal-score ties are broken (e.g. "000" as 0+00 or 00+0) and
tensorflow-text 2.21 keeps the old choice, so a newer Python package warns.

Needs the `tensorflow-text` package of the installed TensorFlow's version
(`pip install --no-deps "tensorflow-text==2.21.1"`: see doc/subwords.md).
"""

import warnings

import sentencepiece
import tensorflow as tf

from awdrnn.text.subwords import PAD_ID

# sentencepiece 0.2.2 changed how Viterbi breaks equal-score ties; the copy
# built into tensorflow-text 2.21 keeps the old choice (tested).
_TIES_CHANGED = (0, 2, 2)

try:
    import tensorflow_text
except ImportError as _e:  # pragma: no cover - depends on the environment
    tensorflow_text = None
    _IMPORT_ERROR = _e


def _tokenizer_class():
    if tensorflow_text is None:
        raise ImportError(
            f"awdrnn.text.graph_tokenizer needs tensorflow-text ({_IMPORT_ERROR}); install "
            f"the version matching TensorFlow {tf.__version__} with --no-deps so that pip "
            f"does not add the full tensorflow wheel, e.g. "
            f"pip install --no-deps \"tensorflow-text==2.21.1\"")
    version = tuple(int(p) for p in sentencepiece.__version__.split(".")[:3]
                    if p.isdigit())
    if version >= _TIES_CHANGED:
        warnings.warn(
            f"sentencepiece {sentencepiece.__version__} breaks equal-score ties unlike "
            f"tensorflow-text's built-in copy: in-graph ids can differ from "
            f"SubwordModel.encode_lines on strings such as '1,000'; install "
            f"sentencepiece<0.2.2 (awdrnn[text] does)", stacklevel=3)
    return tensorflow_text.SentencepieceTokenizer


def sentencepiece_tokenizer(model, add_bos=True, add_eos=True, name=None):
    """A `tensorflow_text.SentencepieceTokenizer` holding `model`'s bytes.

    Its ops are created in the current default graph.

    Args:
      model: a `subwords.SubwordModel` (special ids already checked).
      add_bos, add_eos: wrap each string in `BOS_ID` ... `EOS_ID`, as
        `SubwordModel.encode_lines` does by default.
    """
    return _tokenizer_class()(model=model.proto, out_type=tf.int32, add_bos=add_bos,
                              add_eos=add_eos, name=name)


def tokenize(model, strings, add_bos=True, add_eos=True):
    """Ids of a batch of strings.

    Args:
      model: a `subwords.SubwordModel`.
      strings: string tensor `[batch]`.

    Returns:
      int32 `tf.RaggedTensor` `[batch, (tokens)]`.
    """
    return sentencepiece_tokenizer(model, add_bos, add_eos).tokenize(strings)


def tokenize_padded(model, strings, add_bos=True, add_eos=True):
    """Ids of a batch of strings, padded with `PAD_ID` (1) on the right.

    Args:
      model: a `subwords.SubwordModel`.
      strings: string tensor `[batch]`.

    Returns:
      ids: int32 `[batch, max_tokens]`.
      lengths: int32 `[batch]`, the number of ids of each string.
    """
    ragged = tokenize(model, strings, add_bos, add_eos)
    return (ragged.to_tensor(default_value=PAD_ID),
            tf.cast(ragged.row_lengths(), tf.int32))
