r"""Scores the average of several trained classifiers or regressors (ULMFiT's forward +
backward ensemble) on a labelled TSV file.

    python examples/ensemble.py --runs=runs/stsb_fwd,runs/stsb_bwd \
        --file=../shared/data/regression/stsb/dev.tsv \
        --text_columns=sentence1,sentence2 --label_column=score

Each run is a folder of classifier.py or regressor.py (a backward LM's
encoder reads its rows reversed, so a forward run and a backward run are
the usual pair). Prints one JSON object: each run's metric (accuracy; or
Pearson and Spearman) and the ensemble's, whose prediction is the mean of
the runs' probabilities or scores (awdrnn/tasks/ensemble.py). Runs of
different kinds, or classifiers with different labels, are an `error:`.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from awdrnn.lm.errors import TrainingError  # noqa: E402
from awdrnn.tasks import ensemble, task_data  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("runs", None, "Run folders of classifier.py / regressor.py to average.")
flags.DEFINE_string("file", None, "Labelled TSV file (header row) to score.")
flags.DEFINE_list("text_columns", ["sentence"], "Text column, or two for sentence pairs.")
flags.DEFINE_string("label_column", "label", "Label (classifier) or score (regressor) column.")
flags.DEFINE_integer("max_seq_len", 1400, "Longer sequences (in ids) are cut to this length.")
flags.mark_flags_as_required(["runs", "file"])


def main(argv):
    del argv
    with script_support.errors_reported(TrainingError, ValueError):
        if len(FLAGS.text_columns) not in (1, 2):
            raise ValueError(f"--text_columns: one column, or two for a pair; got "
                             f"{FLAGS.text_columns}.")
        models = ensemble.load(FLAGS.runs, max_seq_len=FLAGS.max_seq_len)
        columns = task_data.read_tsv_columns(FLAGS.file,
                                             FLAGS.text_columns + [FLAGS.label_column])
        values = columns[FLAGS.label_column]
        targets = (models.labels.ids(values, FLAGS.file) if models.kind == "classify"
                   else task_data.read_regression_targets(values, FLAGS.file))
        pairs = columns[FLAGS.text_columns[1]] if len(FLAGS.text_columns) == 2 else None
        result = models.score(columns[FLAGS.text_columns[0]], targets, pairs=pairs)
        models.close()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    script_support.run(main)
