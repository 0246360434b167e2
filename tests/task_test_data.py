"""Tiny generated tasks and encoders for the task-script tests (seconds to train).

Each task is learnable from a few hundred rows by a head on a barely trained
encoder, so a script run that trains anything at all beats chance clearly:

    classify: label "pos" when the sentence has a word of POSITIVE, else "neg"
    regress:  score = 2 * (marker words in sentence 1) + (marker words in sentence 2)
    tag:      PERSON names tagged B-PER / I-PER, CITIES B-LOC, every other word O
"""

import random

from awdrnn.lm import encoder_io, training as lm_training
from awdrnn.text import subword_corpus, subwords

import lm_test_data

FILLER = ("the a cat dog river house saw ran under over of and near with then "
          "quickly slowly green old small big").split()
POSITIVE = ("great", "lovely")
MARKERS = ("sun", "moon")
PERSONS = (("John", "Smith"), ("Maria",), ("Anna", "Lee"))
CITIES = ("Paris", "Berlin", "Rome")


def _filler(rng, lo=3, hi=9):
    return [rng.choice(FILLER) for _ in range(rng.randint(lo, hi))]


def classification_rows(n, seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = _filler(rng)
        label = "pos" if rng.random() < 0.5 else "neg"
        if label == "pos":
            words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE))
        rows.append((" ".join(words), label))
    return rows


def regression_rows(n, seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        pair, counts = [], []
        for _ in range(2):
            words, k = _filler(rng, 2, 6), rng.randint(0, 2)
            for _ in range(k):
                words.insert(rng.randrange(len(words) + 1), rng.choice(MARKERS))
            pair.append(" ".join(words))
            counts.append(k)
        rows.append((pair[0], pair[1], f"{2 * counts[0] + counts[1]:.1f}"))
    return rows


def tagged_sentences(n, seed):
    rng = random.Random(seed)
    sentences = []
    for _ in range(n):
        words, tags = [], []
        for _ in range(rng.randint(2, 4)):
            r = rng.random()
            if r < 0.3:
                name = rng.choice(PERSONS)
                words += name
                tags += ["B-PER"] + ["I-PER"] * (len(name) - 1)
            elif r < 0.5:
                words.append(rng.choice(CITIES))
                tags.append("B-LOC")
            else:
                chunk = _filler(rng, 1, 3)
                words += chunk
                tags += ["O"] * len(chunk)
        sentences.append((words, tags))
    return sentences


def write_tsv(path, header, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    return str(path)


def write_conll(path, sentences):
    with open(path, "w", encoding="utf-8") as f:
        f.write("-DOCSTART- -X- O O\n\n")
        for words, tags in sentences:
            for word, tag in zip(words, tags):
                f.write(f"{word} NN O {tag}\n")
            f.write("\n")
    return str(path)


def write_tasks(root):
    """Writes `clas_{train,dev}.tsv`, `reg_{train,dev}.tsv`, `ner_{train,dev}.txt`
    and a raw-text LM corpus of their sentences (`lm/`); returns `root`."""
    write_tsv(root / "clas_train.tsv", ["sentence", "label"], classification_rows(240, 1))
    write_tsv(root / "clas_dev.tsv", ["sentence", "label"], classification_rows(60, 2))
    write_tsv(root / "reg_train.tsv", ["sentence1", "sentence2", "score"],
              regression_rows(240, 3))
    write_tsv(root / "reg_dev.tsv", ["sentence1", "sentence2", "score"], regression_rows(60, 4))
    write_conll(root / "ner_train.txt", tagged_sentences(240, 5))
    write_conll(root / "ner_dev.txt", tagged_sentences(60, 6))
    lines = ([r[0] for r in classification_rows(300, 7)] + [r[0] for r in regression_rows(200, 8)]
             + [" ".join(w) for w, _ in tagged_sentences(200, 9)])
    (root / "lm").mkdir()
    for split, part in (("train", lines), ("valid", lines[:40]), ("test", lines[40:80])):
        (root / "lm" / f"{split}.txt").write_text("\n".join(part) + "\n", encoding="utf-8")
    subwords.train_model([str(root / "lm" / "train.txt")], str(root / "sp"), vocab_size=60)
    return root


def train_encoder(root, name, backward=False, steps=300):
    """A 2-layer LSTM LM (32 units) on `root/lm`, trained by Adam (3e-3) without
    dropout for `steps` steps; its encoder folder (with the SentencePiece
    model) is `root/name/encoder`.

    The recipe's own LM settings (SGD at 30, AWD dropout) leave so small an LM
    after 150 steps nearly input-blind: its pooled last-layer features vary by
    ~0.004 between rows, and a logistic regression on them reaches 0.66
    training accuracy on the classification task. This one's vary by ~0.05
    (logistic regression: 0.96), so a short fine-tuning run can beat chance."""
    spm = str(root / "sp.model")
    data = subword_corpus.SubwordCorpus(str(root / "lm"), spm)
    no_dropout = dict(dropout_kr=1.0, dropouth_kr=1.0, dropouti_kr=1.0, dropoute_kr=1.0,
                      wdrop_kr=1.0)
    mcfg, tcfg = lm_test_data.tiny_configs(
        data, dict(emsize=32, nhid=32, **no_dropout), max_steps=steps, epochs=1,
        batch_size=16, backward=backward, optimizer="adam", lr=3e-3)
    run = str(root / name)
    lm_training.Trainer(mcfg, tcfg, data, run, log=lambda *a: None).run()
    return encoder_io.save_encoder(run, str(root / name / "encoder"), spm_model=spm)
