r"""Imports a fastai or salesforce PyTorch model as an awdrnn run folder (or encoder).

    python examples/import_weights.py --weights=models/lm.pth --vocab=models/itos.pkl \
        --out=runs/ulmfit_imported                        # fastai learn.save (v1 or v2)
    python examples/import_weights.py --weights=PTB.pt --vocab=../shared/data/ptb \
        --out=runs/ptb_imported                           # salesforce main.py --save
    python examples/import_weights.py --weights=models/enc.pth --vocab=models/itos.pkl \
        --out=runs/encoder_imported                       # fastai save_encoder: an encoder

No PyTorch is needed; the file's pickle is read by a restricted unpickler that
never imports or runs what it names (awdrnn/weights/torch_pickle.py). A
language model becomes a run folder that `train_lm.py --init_from`,
`evaluate.py --save` and `generate.py --save` take, with `<out>/encoder/` for
task heads; an encoder file becomes an encoder folder. See
doc/weight_import.md.

Exit codes: 0 done, 2 bad file, vocabulary, flags or an existing --out,
4 a state dict of another architecture. Nothing is written on an error.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()  # before anything else imports it: no start-up noise
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from awdrnn.lm import errors as lm_errors, model as lm_model  # noqa: E402
from awdrnn.weights import importer  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("weights", None, "The PyTorch file: fastai learn.save / save_encoder "
                    "(.pth), salesforce main.py --save (LSTM or QRNN), or a state dict as .npz "
                    "/ safetensors.")
flags.DEFINE_string("out", None, "The folder to write (must not exist).")
flags.DEFINE_string("vocab", None, "The vocabulary: fastai's itos .pkl, a salesforce corpus "
                    "folder or corpus.<md5>.data cache, or a text file of one word per line.")
flags.DEFINE_string("spm_model", None, "The SentencePiece .model of a subword LM (awdrnn's "
                    "special ids unk 0, pad 1, bos 2, eos 3); --vocab is then optional.")
flags.DEFINE_enum("source", "auto", list(importer.SOURCES), "What wrote the file; auto: "
                  "told from its keys.")
flags.DEFINE_enum("lstm_biases", "pytorch", list(lm_model.LSTM_BIASES),
                  "LSTM biases of the result: pytorch (bias_ih and bias_hh kept), summed "
                  "(their sum), tf (their sum less TF's forget_bias 1); the same numbers.")
flags.DEFINE_bool("backward", False, "A backward model (fastai backwards=True): recorded so "
                  "that fine-tuning and task heads feed it reversed text.")
flags.mark_flags_as_required(["weights", "out"])


def main(argv):
    del argv
    with script_support.errors_reported(lm_errors.TrainingError):
        report = importer.import_weights(
            FLAGS.weights, FLAGS.out, vocab=FLAGS.vocab, spm_model=FLAGS.spm_model,
            source=FLAGS.source, lstm_biases=FLAGS.lstm_biases, backward=FLAGS.backward)
    print("\n".join(report.lines()))
    if report.kind == "encoder":
        print(f"next: awdrnn.lm.encoder_io.load_encoder({FLAGS.out!r}) under a task head")
    else:
        print(f"next: python examples/evaluate.py --save={FLAGS.out} --file=<text>; "
              f"python examples/train_lm.py --init_from={FLAGS.out} --data=<corpus> "
              "--save=<new run>")


if __name__ == "__main__":
    script_support.run(main)
