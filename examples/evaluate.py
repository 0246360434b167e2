r"""Perplexity of a model trained by train_lm.py on a text file.

    python examples/evaluate.py --save=runs/ptb --file=../shared/data/ptb/test.txt
    python examples/evaluate.py --save=runs/ptb --file=... --batch_size=10 --bptt=70

The file is read like the training data (one sentence per line, `<eos>`
appended); words outside the model's vocabulary map to `<unk>` (an error if
the vocabulary has none). A subword run (trained with --spm_model) reads the
file as raw text, each line `bos pieces eos`, and reports the per-word
perplexity too (`word_ppl`, awdrnn/lm/word_perplexity.py). A backward run
reads the ids reversed, as it was trained. Uses `<save>/best`. The paper evaluates test with
batch size 1 (the default) and validation with 10.
Exit codes: 0 done, 2 bad file or flags, 4 missing/mismatched checkpoint.
"""

import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()  # before anything else imports it: no start-up noise
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpy as np  # noqa: E402

from awdrnn.data import corpus  # noqa: E402
from awdrnn.lm import training as lm_training, word_perplexity  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("save", "runs/lm", "Run folder written by train_lm.py.")
flags.DEFINE_string("file", None, "Text file to evaluate.")
flags.DEFINE_integer("batch_size", 1, "Number of streams the text is cut into.")
flags.DEFINE_integer("bptt", 70, "Segment length (the state is carried across segments).")
flags.mark_flag_as_required("file")


def main(argv):
    del argv
    with script_support.errors_reported(lm_training.TrainingError, corpus.CorpusError,
                                        ValueError):
        if FLAGS.bptt < 1:
            raise ValueError(f"--bptt must be positive, got {FLAGS.bptt}.")
        if FLAGS.batch_size < 1:
            raise ValueError(f"--batch_size must be positive, got {FLAGS.batch_size}.")
        _, train_config, _ = lm_training.load_config(FLAGS.save)
        sess, g, vocab = lm_training.open_best_model(FLAGS.save, batch_size=FLAGS.batch_size)
        word_starts = getattr(vocab, "word_starts", None)
        if word_starts is None:
            ids = vocab.encode(corpus.read_tokens(FLAGS.file), FLAGS.file)
        else:
            ids = np.concatenate(vocab.model.encode_file(FLAGS.file))
        if train_config.backward:
            ids = ids[::-1].copy()
        with sess:
            loss = lm_training.evaluate(sess, g, ids, FLAGS.batch_size, FLAGS.bptt)
        word_ppl = word_perplexity.word_perplexity(loss, ids, FLAGS.batch_size, word_starts)
    print(json.dumps({"file": FLAGS.file, "tokens": int(len(ids)), "loss": loss,
                      "ppl": math.exp(loss) if loss < 700 else float("inf"), "batch_size": FLAGS.batch_size,
                      "bptt": FLAGS.bptt, "word_ppl": word_ppl,
                      "backward": train_config.backward}))


if __name__ == "__main__":
    script_support.run(main)
