"""Raw-text corpora tokenized by a SentencePiece model, for language-model training.

A corpus folder holds raw UTF-8 `train.txt`, `valid.txt` and `test.txt`, one
sentence or document per line. Each line is encoded as `[bos] pieces [eos]`
(`awdrnn.text.subwords`, ids unk 0, pad 1, bos 2, eos 3) and the lines are
concatenated into one id stream per split, the layout `awdrnn.data.corpus.Corpus`
gives word-level corpora, so the `lm_training.Trainer` takes either:

    import os, tempfile
    from awdrnn.text import subword_corpus, subwords
    folder = tempfile.mkdtemp()
    for split in ("train", "valid", "test"):
        with open(os.path.join(folder, f"{split}.txt"), "w") as f:
            f.write("".join(f"the {i} cats sat on mat {i % 7}\\n" for i in range(300)))
    subwords.train_model([os.path.join(folder, "train.txt")], os.path.join(folder, "sp"),
                         vocab_size=40)
    c = subword_corpus.SubwordCorpus(folder, os.path.join(folder, "sp.model"))
    print(len(c.vocab), c.train[:3], c.words["valid"])     # 40 [2 ...] 2400

Words (for per-word perplexity, `awdrnn.lm.word_perplexity`): the
whitespace-separated words of a line plus one for its end, as word-level
corpora count `<eos>`. `vocab.word_starts[i]` is True for the pieces that
begin a word (SentencePiece marks them with `▁`, U+2581) and for eos, so the
words of any stretch of ids can be counted without the text.
"""

import os

import numpy as np

from awdrnn.data import corpus
from awdrnn.text import subwords
from awdrnn.text import text_files
from awdrnn.text.text_files import DEFAULT_MAX_LINE_BYTES

WORD_START = "\u2581"  # SentencePiece's whitespace mark, at the start of a word's first piece
MODEL_FILE = "sp.model"  # the model's copy in a run folder, beside vocab.txt


class SubwordVocabulary(corpus.Vocabulary):
    """The pieces of a SentencePiece model as a `corpus.Vocabulary` (id = piece id).

    Equal to the `corpus.Vocabulary` read back from its saved `vocab.txt`, so a
    run's resume check compares pieces as it compares words.

    Attributes:
      model: the `subwords.SubwordModel`.
      word_starts: `[vocab_size]` bool, True for pieces that begin a word and for eos.
    """

    def __init__(self, model):
        self.model = model
        proc = model.processor
        super().__init__(proc.id_to_piece(i) for i in range(model.vocab_size))
        self.word_starts = np.array(
            [self.words[i].startswith(WORD_START) for i in range(len(self))], bool)
        self.word_starts[subwords.EOS_ID] = True

    def save(self, path):
        """Writes the pieces to `path` (one per line) and the model to `sp.model`
        beside it (both atomically), where `load_run_vocabulary` finds them."""
        text = "".join(f"{w}\n" for w in self.words).encode("utf-8")
        text_files.write_files({path: text,
                                os.path.join(os.path.dirname(path), MODEL_FILE): self.model.proto})

    def encode_text(self, text):
        """Ids of one line of text, `[bos] pieces` (no eos: the line goes on)."""
        return list(self.model.encode_lines([text], add_bos=True, add_eos=False)[0])

    def decode_lines(self, ids):
        """Text of an id sequence, a line break at each eos."""
        lines, line = [], []
        for i in ids:
            if int(i) == subwords.EOS_ID:
                lines.append(line)
                line = []
            else:
                line.append(int(i))
        return "\n".join(self.model.decode(line) for line in lines + [line])


def load_run_vocabulary(save_dir):
    """The vocabulary saved in a run folder: a `SubwordVocabulary` if the run
    has `sp.model`, else the word-level `corpus.Vocabulary` of `vocab.txt`."""
    path = os.path.join(save_dir, MODEL_FILE)
    if os.path.isfile(path):
        return SubwordVocabulary(subwords.load_model(path))
    return corpus.Vocabulary.load(os.path.join(save_dir, "vocab.txt"))


def count_words(path, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
    """Whitespace-separated words of a text file plus one per line."""
    return sum(len(line.split()) + 1 for _, line in text_files.read_lines(path, max_line_bytes))


class SubwordCorpus:
    """The three splits of a raw-text folder as SentencePiece id streams.

    Args:
      path: folder with `train.txt`, `valid.txt`, `test.txt` (raw UTF-8 text).
      model: a `subwords.SubwordModel` or the path of its `.model` file.
      max_line_bytes: longest line allowed.

    Attributes:
      vocab: `SubwordVocabulary`.
      train, valid, test: `[num_tokens]` int32 id streams (`bos ... eos` per line).
      words: `{split: number of words}` (whitespace words + one per line).

    Raises:
      TextError: bad model (special ids), missing or empty file, non-UTF-8
        bytes or a line over `max_line_bytes` (the message names the file).
      corpus.CorpusError: `path` is not a folder.
    """

    def __init__(self, path, model, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
        if not os.path.isdir(path):
            raise corpus.CorpusError(
                f"data folder {path!r} does not exist (expected a folder with "
                "train.txt, valid.txt and test.txt).")
        if not isinstance(model, subwords.SubwordModel):
            model = subwords.load_model(model)
        self.path = path
        self.vocab = SubwordVocabulary(model)
        self.words = {}
        for split in corpus.SPLITS:
            file = os.path.join(path, f"{split}.txt")
            lines = model.encode_file(file, max_line_bytes)
            setattr(self, split, np.concatenate(lines).astype(np.int32))
            self.words[split] = count_words(file, max_line_bytes)
