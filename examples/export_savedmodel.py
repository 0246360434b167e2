r"""Exports an encoder or a task model as a SavedModel that serves text without awdrnn.

    python examples/export_savedmodel.py --source=runs/sst2_clas --export_dir=exports/sst2/1
    python examples/export_savedmodel.py --source=runs/lm/encoder --export_dir=exports/enc/1 \
        --fixed_length=70

`--source` is an encoder folder (`encoder.json`, written by train_lm.py as
`<save>/encoder`) or a task run folder (`--save` of classifier.py,
regressor.py, sequence_tagger.py). The SavedModel (tag "serve") tokenizes
text in the graph (tensorflow-text) and has the signatures `string_encoder`,
`numericalized_encoder`, `spm_processor` and the task's `classify`,
`regress` / `regress_pair` or `tag`; rows are padded to the longest of the
batch, or to `--fixed_length` ids (longer rows cut, bos and eos kept).
`--export_dir` must be new: it is written under a temporary name and renamed
when complete. Prints the export's description (JSON). doc/serving.md shows
how to call it from `tf.saved_model.load` and `saved_model_cli`.
Exit codes: 0 done, 2 bad flags, an existing --export_dir or a folder that
cannot be served, 4 a broken or mismatched run / encoder folder.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()  # before anything else imports it: no start-up noise
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from awdrnn.lm.errors import TrainingError  # noqa: E402
from awdrnn.serving import savedmodel_export  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("source", None, "Encoder folder or task run folder to export.")
flags.DEFINE_string("export_dir", None, "SavedModel folder to create (must not exist), "
                    "e.g. exports/<model>/1 for TF Serving.")
flags.DEFINE_integer("fixed_length", None, "Pad and cut every row to this many ids (bos "
                     "and eos kept); default: pad each batch to its longest row.")
flags.mark_flag_as_required("source")
flags.mark_flag_as_required("export_dir")


def main(argv):
    del argv
    # ImportError: tensorflow-text is not installed
    with script_support.errors_reported(TrainingError, ValueError, ImportError):
        info = savedmodel_export.export_savedmodel(FLAGS.source, FLAGS.export_dir,
                                                   fixed_length=FLAGS.fixed_length)
    print(json.dumps({"export_dir": FLAGS.export_dir, **info}))


if __name__ == "__main__":
    script_support.run(main)
