r"""Fine-tunes a text classifier on a pretrained encoder (ULMFiT stage 3).

    python examples/classifier.py --encoder=runs/sst2_lm/encoder \
        --train=../shared/data/sst-2/train.tsv --valid=../shared/data/sst-2/dev.tsv \
        --text_column=sentence --label_column=label --save=runs/sst2_clas
    echo "a charming , funny film" | \
        python examples/classifier.py --save=runs/sst2_clas --interactive

Input: TSV files with a header naming the columns (`--text_column`,
`--label_column`). The label map (`--label_map`, one label per line) is the
sorted set of the training labels when not given; a dev label outside it is
an error. The head is ULMFiT's: concat pooling [h_T, max, mean] -> BatchNorm
-> dropout -> dense(50, ReLU) -> BatchNorm -> dropout -> dense -> softmax.
The run folder gets `metrics.json` (dev accuracy each epoch), `curves.png`,
`confusion.png` (dev, best model), `tb/`, `labels.txt` and `best/`.
Flags common to the three task scripts: examples/task_script.py; the recipe
and the measured figures: doc/tasks.md.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import task_script  # noqa: E402
from awdrnn.tasks import datasets, task_data  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("text_column", "sentence", "TSV column of the text.")
flags.DEFINE_string("label_column", "label", "TSV column of the label.")
flags.DEFINE_string("label_map", None, "Label file (one label per line, in id order); "
                    "default: the sorted labels of --train.")
flags.DEFINE_float("label_smoothing", 0.0, "Label smoothing epsilon (MultiFiT: 0.1).")


def _label_map(train_path):
    if FLAGS.label_map:
        return task_data.LabelMap.load(FLAGS.label_map)
    column = task_data.read_tsv_columns(train_path, [FLAGS.label_column])[FLAGS.label_column]
    return task_data.LabelMap.from_labels(column)


def load_data(spm):
    labels = _label_map(FLAGS.train)
    data = [datasets.classification_dataset(path, spm, FLAGS.text_column, FLAGS.label_column,
                                            labels, max_seq_len=FLAGS.max_seq_len)
            for path in task_script.data_files()]
    return data, labels


def make_config(labels):
    return task_script.common_config("classify", len(labels),
                                     label_smoothing=FLAGS.label_smoothing)


def check_labels(model):
    if FLAGS.label_map:
        task_data.LabelMap.load(FLAGS.label_map).check_same(
            model.labels, f"--label_map {FLAGS.label_map!r} disagrees with the saved model's "
            f"labels.txt in {FLAGS.save!r}")


def run():
    if FLAGS.interactive:
        return task_script.interactive(check_labels)
    return task_script.run_task("classify", load_data, make_config)


main = task_script.main_of(run)

if __name__ == "__main__":
    script_support.run(main)
