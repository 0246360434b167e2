r"""Fine-tunes a regressor (a score per text, or per sentence pair) on a pretrained encoder.

    python examples/regressor.py --encoder=runs/stsb_lm/encoder \
        --train=../shared/data/sts-b/train.tsv --valid=../shared/data/sts-b/dev.tsv \
        --text_columns=sentence1,sentence2 --label_column=score --normalize_labels \
        --save=runs/stsb_reg
    printf 'A man plays a guitar.\tA man is playing music.\n' | \
        python examples/regressor.py --save=runs/stsb_reg --interactive

Input: TSV files with a header; one text column, or two for a sentence pair
(`--pair_encoding`: "siamese", each sentence through the shared encoder and
the head on `[u, v, |u-v|, u*v]` of their pooled features, the default; or
"joined", one sequence `bos s1 eos bos s2 eos`; doc/tasks.md compares them),
and a score column. The head: concat pooling -> BatchNorm -> dropout -> dense(50, ReLU)
-> BatchNorm -> dropout -> dense(1), trained with `--loss_fn` (MSE or MAE);
`--normalize_labels` trains on scores scaled to [0, 1] by the training
set's minimum and maximum and unscales predictions. `metrics.json` has dev
Pearson and Spearman each epoch; `--interactive` reads a text per line (a
pair: two sentences separated by a tab) and prints the score.
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
from awdrnn.tasks import datasets  # noqa: E402
from awdrnn.tasks.heads import LabelScaler  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("text_columns", ["sentence1", "sentence2"],
                  "TSV column(s) of the text: one, or two for a sentence pair.")
flags.DEFINE_string("label_column", "score", "TSV column of the score.")
flags.DEFINE_enum("loss_fn", "mse", ["mse", "mae"], "Loss: mean squared or absolute error.")
flags.DEFINE_enum("pair_encoding", "siamese", ["siamese", "joined"],
                  "Sentence pairs (two --text_columns): siamese (each sentence encoded on its "
                  "own, the head on [u, v, |u-v|, u*v]) or joined (one sequence "
                  "bos s1 eos bos s2 eos). One text column is always one sequence.")
flags.DEFINE_bool("normalize_labels", False, "Train on scores scaled to [0, 1] (the "
                  "training set's min and max); predictions are unscaled.")


def load_data(spm):
    data = [datasets.regression_dataset(path, spm, FLAGS.text_columns, FLAGS.label_column,
                                        max_seq_len=FLAGS.max_seq_len)
            for path in task_script.data_files()]
    return data, None


def pair_encoding():
    """--pair_encoding for two text columns; one column is one sequence ("joined")."""
    if len(FLAGS.text_columns) == 2:
        return FLAGS.pair_encoding
    if FLAGS["pair_encoding"].present and FLAGS.pair_encoding == "siamese":
        raise DataError(f"--pair_encoding=siamese needs two --text_columns (a sentence "
                        f"pair), got {FLAGS.text_columns}; give two columns or drop the flag.")
    return "joined"


def make_config(labels):
    del labels
    return task_script.common_config("regress", 1, loss=FLAGS.loss_fn,
                                     normalize_labels=FLAGS.normalize_labels,
                                     pair_encoding=pair_encoding())


def scaler_of(train):
    return LabelScaler.fit(train.targets) if FLAGS.normalize_labels else None


def run():
    if FLAGS.interactive:
        return task_script.interactive(read_pair=len(FLAGS.text_columns) == 2)
    return task_script.run_task("regress", load_data, make_config, scaler_of=scaler_of)


main = task_script.main_of(run)

if __name__ == "__main__":
    script_support.run(main)
