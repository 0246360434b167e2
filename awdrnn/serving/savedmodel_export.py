"""A SavedModel of an encoder or a task model, served without awdrnn or its Python code.

`export_savedmodel(source, export_dir)` writes, from our TF1 graph
(`tf.compat.v1.saved_model.Builder`, tag "serve"), the inference pass of an
encoder folder or a task run folder (`model_sources.load`: no dropout, the
encoders' inference pass) with tokenization in the graph (tensorflow-text's
SentencePiece op, or for a word-level model, e.g. one imported from fastai,
a lookup table of its vocabulary: `text_inputs`) and these signatures:

    string_encoder         text [batch] string -> output [batch, time, emsize] float32,
                                numericalized [batch, time] int32, mask [batch, time] bool
    numericalized_encoder  ids [batch, time] int32 (right-padded with 1) -> output, mask
    spm_processor          text -> numericalized, mask
    classify               text -> probabilities [batch, n_classes] float32, label [batch] string
    regress                text -> score [batch] float32 (in the training labels' units)
    regress_pair           text, text_b [batch] string -> score   (bos a eos bos b eos;
                                a siamese regressor: each sentence on its own, and it
                                has no `regress` signature)
    tag                    text -> words, tags [batch, max_words] string, mask [batch,
                                max_words] bool, probabilities [batch, max_words, n_tags]
    serving_default        the task's signature (string_encoder for an encoder,
                                regress_pair for a siamese regressor)

Text becomes `bos pieces eos` (a tagger: each whitespace-separated word
encoded on its own), right-padded with 1 to the longest row of the batch,
or to exactly `fixed_length` ids with longer rows cut keeping bos and eos.
A classifier or regressor pools only the last `TaskConfig.max_len` tokens
of a longer row, as BPT3C does in `awdrnn.tasks.predictor`. The assets are
the tokenizer's file (`spm.model`; a word-level model's `words.txt`, or
`vocab.txt` of an encoder, its words also in the graph's table) and
`labels.txt` / `tags.txt` (one name per line, in
probability-column order); `assets.extra/awdrnn_export.json` describes the
export.

    from awdrnn.serving import savedmodel_export
    savedmodel_export.export_savedmodel("runs/sst2_clas", "exports/sst2/1")

    # then, with only tensorflow and tensorflow-text installed:
    import tensorflow as tf, tensorflow_text          # registers the SentencePiece ops
    classify = tf.saved_model.load("exports/sst2/1").signatures["classify"]
    print(classify(text=tf.constant(["a charming film"]))["label"])

See doc/serving.md (commands, `saved_model_cli`, measured speed).
"""

import json
import os

import tensorflow as tf

from awdrnn.serving import model_sources, text_inputs
from awdrnn.serving.model_sources import ExportError
from awdrnn.text import tokenizers
from awdrnn.text.subwords import PAD_ID
from awdrnn.training import checkpoint_files

FORMAT = "awdrnn-savedmodel"
VERSION = 1
INFO_FILE = os.path.join("assets.extra", "awdrnn_export.json")
# What `serving_default` is, by the source's kind.
DEFAULT_SIGNATURE = {"encoder": "string_encoder", "classify": "classify",
                     "regress": "regress", "tag": "tag"}
LABEL_FILES = {"classify": "labels.txt", "tag": "tags.txt"}
OUTSIDE_TAG = "O"  # the tag of words cut by fixed_length (as awdrnn.tasks.predictor gives)


def _signature(inputs, outputs):
    return tf.compat.v1.saved_model.predict_signature_def(inputs, outputs)


def _text_ids(source, inputs, text):
    """`(ids, extra)`: the model's default ids from `text` and what the task
    signatures need besides (`text_b` of a regressor, the words of a tagger)."""
    if source.kind == "tag":
        words = inputs.words(text)
        return words.ids, {"words": words}
    if source.kind == "regress":
        text_b = tf.compat.v1.placeholder_with_default(
            tf.constant([], tf.string), [None], name="text_b")
        pair = inputs.siamese if source.pair_encoding == "siamese" else inputs.pair
        ids = tf.cond(tf.size(text_b) > 0, lambda: pair(text, text_b),
                      lambda: inputs.single(text))
        ids.set_shape([None, None])
        return ids, {"text_b": text_b}
    return inputs.single(text), {}


def _pool_mask(mask, lengths, window):
    """The last `window` real tokens of each row (BPT3C's window), `[batch, time]`."""
    positions = tf.range(tf.shape(mask)[1])[None, :]
    return tf.logical_and(mask, positions >= (lengths - window)[:, None])


def _tag_outputs(source, words, tag_probabilities):
    """Per-word probabilities and tags read at each kept word's first piece."""
    per_word = tf.gather(tag_probabilities, words.first_piece, axis=1, batch_dims=1)
    per_word = tf.where(words.kept[:, :, None], per_word, tf.zeros_like(per_word))
    names = tf.gather(tf.constant(source.labels), tf.argmax(per_word, axis=-1))
    blank = tf.fill(tf.shape(names), "")
    tags = tf.where(words.kept, names,
                    tf.where(words.word_mask, tf.fill(tf.shape(names), OUTSIDE_TAG), blank))
    return {"words": words.words, "tags": tags, "mask": words.word_mask,
            "probabilities": per_word}


def _build(source, fixed_length):
    """Builds the serving graph in the current graph; returns `{name: SignatureDef}`."""
    text = tf.compat.v1.placeholder(tf.string, [None], name="text")
    inputs = text_inputs.TextInputs(source.spm, fixed_length)
    default_ids, extra = _text_ids(source, inputs, text)
    ids = tf.compat.v1.placeholder_with_default(default_ids, [None, None], name="ids")
    mask = tf.not_equal(ids, PAD_ID, name="mask")
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1, name="lengths")
    pool_mask = (_pool_mask(mask, lengths, source.window) if source.window is not None
                 else None)
    out = source.build(ids, lengths, pool_mask)
    encoder = {"output": out["output"], "mask": mask}
    sigs = {"string_encoder": _signature({"text": text}, dict(encoder, numericalized=ids)),
            "numericalized_encoder": _signature({"ids": ids}, encoder),
            "spm_processor": _signature({"text": text}, {"numericalized": ids, "mask": mask})}
    if source.kind == "classify":
        label = tf.gather(tf.constant(source.labels), tf.argmax(out["probabilities"], axis=1))
        sigs["classify"] = _signature({"text": text}, {"probabilities": out["probabilities"],
                                                       "label": label})
    elif source.kind == "regress":
        if source.pair_encoding != "siamese":  # a siamese head needs both sentences
            sigs["regress"] = _signature({"text": text}, {"score": out["score"]})
        sigs["regress_pair"] = _signature({"text": text, "text_b": extra["text_b"]},
                                          {"score": out["score"]})
    elif source.kind == "tag":
        sigs["tag"] = _signature({"text": text}, _tag_outputs(source, extra["words"],
                                                              out["tag_probabilities"]))
    default = ("regress_pair" if source.pair_encoding == "siamese"
               else DEFAULT_SIGNATURE[source.kind])
    sigs["serving_default"] = sigs[default]
    return sigs


def _check_new(export_dir):
    if os.path.lexists(export_dir):
        raise ExportError(
            f"export path {export_dir!r} already exists; a SavedModel is written to a new "
            "path only (TF Serving reads <model>/<version>/): give a new version folder or "
            "delete this one.")


def export_savedmodel(source, export_dir, fixed_length=None):
    """Writes the SavedModel of an encoder folder or a task run folder.

    Args:
      source: an encoder folder or a task run folder (`model_sources.load`).
      export_dir: the SavedModel folder to create; must not exist. Written
        under a temporary name and renamed when complete, so a failure
        leaves nothing there.
      fixed_length: None (pad each batch to its longest row) or the number of
        ids of every row: longer rows are cut keeping bos and eos (>= 2;
        >= 4 for a regressor, whose pairs keep both sentences' bos and eos).

    Returns:
      The description written to `assets.extra/awdrnn_export.json`: format,
      version, source, kind, signatures (`{name: {"inputs": [...],
      "outputs": [...]}}`), fixed_length, pad_id, directions, labels.

    Raises:
      ExportError: `export_dir` exists, or `source` cannot be served
        (`model_sources.load`).
      ValueError: a bad `fixed_length`.
    """
    export_dir = os.path.normpath(export_dir)
    _check_new(export_dir)
    source = model_sources.load(source)
    layout = {"tag": "words", "regress": "pair"}.get(source.kind, "single")
    fixed_length = text_inputs.check_fixed_length(fixed_length, layout)
    graph = tf.Graph()
    with graph.as_default():
        sigs = _build(source, fixed_length)
        assets = {os.path.basename(source.spm_path): source.spm_path}
        if source.kind in LABEL_FILES:
            assets[LABEL_FILES[source.kind]] = os.path.join(source.path,
                                                            LABEL_FILES[source.kind])
        asset_tensors = []
        for name, path in assets.items():
            tensor = tf.constant(path, name=f"asset_{name.replace('.', '_')}")
            tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS, tensor)
            asset_tensors.append(tensor)
        init = tf.group(tf.compat.v1.local_variables_initializer(),
                        tf.compat.v1.tables_initializer(), name="serving_init")
        info = {"format": FORMAT, "version": VERSION, "source": os.path.abspath(source.path),
                "kind": source.kind, "pair_encoding": source.pair_encoding,
                "tokenizer": tokenizers.kind_of_file(source.spm_path),
                "fixed_length": fixed_length, "pad_id": PAD_ID,
                "directions": source.directions, "labels": source.labels,
                "signatures": {name: {"inputs": sorted(sig.inputs),
                                      "outputs": sorted(sig.outputs)}
                               for name, sig in sorted(sigs.items())}}
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(init)
            source.restore(sess)

            def write(folder):
                builder = tf.compat.v1.saved_model.Builder(folder)
                builder.add_meta_graph_and_variables(
                    sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
                    signature_def_map=sigs, assets_collection=asset_tensors, main_op=init,
                    strip_default_attrs=True)
                builder.save()
                os.makedirs(os.path.join(folder, "assets.extra"))
                with open(os.path.join(folder, INFO_FILE), "w", encoding="utf-8") as f:
                    json.dump(info, f, indent=1)

            _check_new(export_dir)  # again: the path may have appeared meanwhile
            checkpoint_files.publish_folder(export_dir, write)
    return info
