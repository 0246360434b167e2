r"""Fine-tunes a sequence tagger (e.g. named entities) on pretrained forward and backward encoders.

    python examples/sequence_tagger.py --encoder=runs/wt2_cased/encoder \
        --encoder_bwd=runs/wt2_cased_bwd/encoder \
        --train=../shared/data/conll2003/eng.train --valid=../shared/data/conll2003/eng.testa \
        --save=runs/conll_tagger
    echo "John Smith flew to Berlin ." | \
        python examples/sequence_tagger.py --save=runs/conll_tagger --interactive

Input: CoNLL column files (a word per line, its tag in the last column,
blank lines between sentences, `-DOCSTART-` lines skipped). Each word is cut
into SentencePiece pieces; its tag is the label of its first piece and the
other pieces are left out of the loss. Predictions are mapped back to words
and scored per entity as `conlleval` does (seqeval, IOB1 or IOB2 as the tags
are). With `--encoder_bwd` (a backward LM's encoder trained on the same
SentencePiece model) the two encoders' outputs are concatenated at each
token. `metrics.json` has dev entity F1, precision and recall each epoch;
`--interactive` reads a sentence per line and prints `word/TAG ...`.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import task_script  # noqa: E402
from awdrnn.lm.errors import DataError  # noqa: E402
from awdrnn.tasks import conll, datasets  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("encoder_bwd", None, "Encoder folder of a backward LM (train_lm.py "
                    "--backward) on the same SentencePiece model: forward + backward tagger.")
flags.DEFINE_string("tag_map", None, "Tag file (one tag per line, in id order); default: "
                    "the tags of --train.")
flags.DEFINE_integer("tag_column", -1, "Column of the tag in the CoNLL files (-1: last).")


def load_data(spm):
    train_sentences = conll.read_conll(FLAGS.train, tag_column=FLAGS.tag_column)
    tags = (conll.TagMap.load(FLAGS.tag_map) if FLAGS.tag_map
            else conll.TagMap.from_sentences(train_sentences))
    data = [datasets.tagging_dataset(path, spm, tags, max_seq_len=FLAGS.max_seq_len,
                                     tag_column=FLAGS.tag_column)
            for path in task_script.data_files()]
    return data, tags


def make_config(tags):
    return task_script.common_config("tag", len(tags), backward=bool(FLAGS.encoder_bwd))


def check_tags(model):
    if FLAGS.tag_map and conll.TagMap.load(FLAGS.tag_map) != model.labels:
        raise DataError(f"--tag_map {FLAGS.tag_map!r} disagrees with the saved model's "
                        f"tags.txt in {FLAGS.save!r}: {list(conll.TagMap.load(FLAGS.tag_map).names)}"
                        f" vs {list(model.labels.names)}; give the model's own tag map")


def run():
    if FLAGS.interactive:
        return task_script.interactive(check_tags)
    return task_script.run_task("tag", load_data, make_config,
                                encoder_flags=("encoder", "encoder_bwd"))


main = task_script.main_of(run)

if __name__ == "__main__":
    script_support.run(main)
