r"""Samples text from a model trained by train_lm.py.

    python examples/generate.py --save=runs/demo --words=100
    python examples/generate.py --save=runs/demo --prime="the cats that"

Prints the prime (if any) followed by the sampled words, one sentence per
line. A subword run samples `--words` pieces and decodes them with its
`sp.model`; a backward run samples leftwards: the prime ends the text. The default temperature, 0.8, is also train_lm.py's for its sample.

Loads `<save>/best` (the best validation model, averaged weights under
NT-ASGD) with the configuration and vocabulary saved beside it.
Exit codes: 0 done, 2 bad flags or prime words, 4 missing/mismatched checkpoint.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()  # before anything else imports it: no start-up noise
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from awdrnn.data import corpus  # noqa: E402
from awdrnn.lm import generation, training as lm_training  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("save", "runs/lm", "Run folder written by train_lm.py.")
flags.DEFINE_integer("words", 100, "Number of words to sample.")
flags.DEFINE_float("temperature", 0.8, "Sampling temperature (> 0; < 1 is more conservative, "
                   "1 samples the model's own distribution).")
flags.DEFINE_integer("seed", 1, "Sampling seed.")
flags.DEFINE_string("prime", None, "Words to start from, printed before the sample "
                    "(default: a new sentence).")


def main(argv):
    del argv
    with script_support.errors_reported(lm_training.TrainingError, corpus.CorpusError,
                                        ValueError):
        generation.check_temperature(FLAGS.temperature)
        if FLAGS.words < 1:
            raise ValueError(f"--words must be positive, got {FLAGS.words}.")
        _, train_config, _ = lm_training.load_config(FLAGS.save)
        sess, g, vocab = lm_training.open_best_model(FLAGS.save, batch_size=1)
        with sess:
            print(generation.sample_text(sess, g, vocab, FLAGS.words, FLAGS.temperature,
                                         seed=FLAGS.seed, prime=FLAGS.prime,
                                         backward=train_config.backward))


if __name__ == "__main__":
    script_support.run(main)
