"""Importing a fastai or salesforce model file as an awdrnn run folder or encoder.

    from awdrnn.weights import importer
    report = importer.import_weights("models/lm.pth", "runs/imported", vocab="models/itos.pkl")
    print("\\n".join(report.lines()))

A language model (a file with a decoder) becomes a run folder of
`lm_training.Trainer`'s layout, which `examples/train_lm.py --init_from`
fine-tunes, `evaluate.py` / `generate.py --save` use, and
`lm_training.open_best_model` opens:

    config.json   {"model": LMConfig, "train": TrainConfig defaults, "extra":
                   {"direction", "imported": where from, how, what was skipped}}
    vocab.txt     the vocabulary (with sp.model beside it for a SentencePiece model)
    best/         the weights (lm/embedding, lm/layer<l>/..., lm/softmax_b [, softmax_w])
    encoder/      its encoder (awdrnn.lm.encoder_io.load_encoder), for task heads

An encoder file (fastai `save_encoder`, or a fastai classifier, whose encoder
is taken) becomes an encoder folder (`encoder_io.write_encoder`). Either is
written under a temporary name and renamed into place: complete or absent.
"""

import dataclasses
import os

import tensorflow as tf

from awdrnn.data import corpus
from awdrnn.lm import encoder_io, model as lm_model, training as lm_training
from awdrnn.training import checkpoint_files, checkpoints
from awdrnn.weights import fastai, salesforce, state_dicts, vocabulary
from awdrnn.weights.errors import ArchitectureMismatch, VocabularyMismatch, WeightImportError

READERS = {"fastai": fastai.read, "salesforce": salesforce.read}
SOURCES = ("auto",) + tuple(READERS)
SCOPE = "lm"


@dataclasses.dataclass
class ImportReport:
    """What `import_weights` wrote.

    Attributes:
      folder: the run or encoder folder.
      kind: "language model" (a run folder) or "encoder" (an encoder folder).
      source: what the file was read as.
      container: what held the state dict.
      config: the `LMConfig` written.
      vocab: where the vocabulary came from.
      notes: what else to know (one line each).
    """

    folder: str
    kind: str
    source: str
    container: str
    config: lm_model.LMConfig
    vocab: str
    notes: list

    def lines(self):
        """A short human-readable account."""
        c = self.config
        layers = f"{c.nlayers} {c.model.upper()} layers, emsize {c.emsize}, nhid {c.nhid}"
        decoder = ("no decoder" if self.kind == "encoder"
                   else f"{'tied' if c.tie_weights else 'untied'} decoder")
        biases = f", lstm_biases={c.lstm_biases}" if c.model == "lstm" else ""
        return ([f"read: {self.source} ({self.container})",
                 f"model: vocabulary {c.vocab_size}, {layers}, {decoder}{biases}",
                 f"vocabulary: {self.vocab}"]
                + [f"note: {n}" for n in self.notes]
                + [f"wrote {self.kind} folder {self.folder}"])


def read_lm(weights, source="auto"):
    """The `pytorch_lm.PyTorchLM` of a `state_dicts.WeightsFile`, read as `source`
    ("fastai", "salesforce", or "auto": the layout decides)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}.")
    if source == "auto":
        if fastai.layout(weights.state_dict) is not None:
            source = "fastai"
        elif salesforce.looks_like(weights):
            source = "salesforce"
        else:
            first = [f"{k} {list(v.shape)}" for k, v in list(weights.state_dict.items())[:3]]
            raise ArchitectureMismatch(
                f"{weights.path} is neither a fastai AWD_LSTM / AWD_QRNN file (keys like "
                "0.encoder.weight, 0.encoder_dp.emb.weight, 0.rnns.0.weight_hh_l0_raw) nor a "
                "salesforce awd-lstm-lm one (encoder.weight, rnns.0.module.weight_hh_l0_raw or "
                "for a QRNN rnns.0.linear.module.weight_raw, decoder.weight); its first keys "
                f"are {', '.join(first)}.")
    return READERS[source](weights)


def _vocabulary(vocab_path, spm_model, rows, weights_path):
    """`(Vocabulary, description, notes)` for an embedding of `rows` rows."""
    notes = []
    if vocab_path is None and spm_model is None:
        raise VocabularyMismatch(
            "no vocabulary given: give the list the model was trained with (fastai's itos "
            ".pkl, a salesforce corpus folder or cache, a text file) or its SentencePiece "
            "model.")
    words = what = None
    if vocab_path is not None:
        words, what = vocabulary.read_words(vocab_path)
        vocabulary.check_size(words, rows, what, weights_path)
        words, renamed = vocabulary.unique_words(words)
        if renamed:
            notes.append(f"fastai's padding word {vocabulary.FASTAI_PAD_WORD!r} repeated: "
                         f"{renamed} repeat(s) renamed {vocabulary.FASTAI_PAD_WORD}_<id>")
    if spm_model is None:
        return corpus.Vocabulary(words), what, notes
    from awdrnn.text import subword_corpus, subwords  # needs sentencepiece
    pieces = subword_corpus.SubwordVocabulary(subwords.load_model(spm_model))
    vocabulary.check_size(pieces.words, rows, f"the SentencePiece model {spm_model}", weights_path)
    if words is not None and words != pieces.words:
        i = next(i for i, (a, b) in enumerate(zip(words, pieces.words)) if a != b)
        raise VocabularyMismatch(
            f"{what} and the SentencePiece model {spm_model} differ at id {i} ({words[i]!r} vs "
            f"{pieces.words[i]!r}); give the pair the model was trained with, or one of them.")
    return pieces, what or f"the pieces of the SentencePiece model {spm_model}", notes


def _check_variables(config, variables, has_decoder):
    """Our converted variables against those `LanguageModel(config)` builds."""
    with tf.Graph().as_default():
        model = lm_model.LanguageModel(config, scope=SCOPE)
        ids = tf.compat.v1.placeholder(tf.int32, [None, None])
        model(ids) if has_decoder else model.encode(ids)
        built = {v.op.name[len(SCOPE) + 1:]: v.shape.as_list()
                 for v in tf.compat.v1.trainable_variables()}
    ours = {name: list(value.shape) for name, value in variables.items()}
    if built != ours:
        raise RuntimeError(f"internal error: the imported variables {ours} are not those of "
                           f"the model {built}.")


def import_weights(weights_path, out_dir, vocab=None, spm_model=None, source="auto",
                   lstm_biases="pytorch", backward=False):
    """Reads a fastai / salesforce file and writes the awdrnn folder (module docstring).

    Args:
      weights_path: `.pth` / `.pt` (`torch.save`), `.npz` or safetensors file.
      out_dir: the folder to create; must not exist.
      vocab: the vocabulary (see `vocabulary.read_words`); optional with `spm_model`.
      spm_model: the SentencePiece model of a subword LM (awdrnn's special ids:
        unk 0, pad 1, bos 2, eos 3), copied into the folder.
      source: "auto", "fastai" or "salesforce".
      lstm_biases: `LMConfig.lstm_biases` of the result: "pytorch" (two vectors,
        trained as PyTorch does), "summed" (their sum) or "tf" (their sum less
        TF's forget_bias 1); each computes the same function.
      backward: the model reads text reversed (fastai's `backwards=True`); recorded
        so that fine-tuning and task heads feed it reversed text.

    Returns:
      `ImportReport`.

    Raises:
      WeightImportError: the output exists, or a subclass: `WeightFileError` /
        `ForbiddenPickle` (the file), `ArchitectureMismatch` (its keys and
        shapes), `VocabularyMismatch`. Nothing is written then.
    """
    if os.path.lexists(out_dir):
        raise WeightImportError(f"output {out_dir} already exists; give a new folder (nothing "
                                "was written).")
    weights = state_dicts.read_weights(weights_path)
    lm = read_lm(weights, source)
    config = lm.lm_config(lstm_biases)
    vocab_obj, vocab_what, vocab_notes = _vocabulary(vocab, spm_model, config.vocab_size,
                                                     weights_path)
    variables = lm.variables(lstm_biases)
    _check_variables(config, variables, lm.has_decoder)
    notes = lm.notes + vocab_notes
    if weights.ignored:
        notes.append(f"not imported: {', '.join(weights.ignored)}")
    direction = "backward" if backward else "forward"
    final = os.path.abspath(out_dir)
    imported = {"weights": os.path.abspath(weights_path), "format": weights.format,
                "container": weights.container, "source": lm.source, "vocab": vocab_what,
                "lstm_biases": lstm_biases, "notes": notes}
    encoder_tensors = {k: v for k, v in variables.items() if not k.startswith("softmax_")}
    if not lm.has_decoder:
        encoder_io.write_encoder(out_dir, config, encoder_tensors, vocab_obj, direction,
                                 spm_model, source=imported["weights"])
        return ImportReport(final, "encoder", lm.source, weights.container, config, vocab_what,
                            notes)

    def write(folder):
        checkpoints.write_json(os.path.join(folder, "config.json"), {
            "model": dataclasses.asdict(config),
            "train": dataclasses.asdict(lm_training.TrainConfig(backward=backward)),
            "extra": {"direction": direction, "imported": imported}})
        vocab_obj.save(os.path.join(folder, "vocab.txt"))
        tensors = {f"{SCOPE}/{k}": v for k, v in variables.items()}
        checkpoints.CheckpointStore(os.path.join(folder, "best")).write(
            "best-0", lambda f: checkpoint_files.write_variables(os.path.join(f, "model"),
                                                                 tensors))
        encoder_io.write_encoder(os.path.join(folder, "encoder"), config, encoder_tensors,
                                 vocab_obj, direction, spm_model, source=final)

    checkpoint_files.publish_folder(out_dir, write)
    return ImportReport(final, "language model", lm.source, weights.container, config,
                        vocab_what, notes)
