"""What classifier.py, regressor.py and sequence_tagger.py share: their common flags and
the run of a task (training, --lr_finder, --interactive), wired to `awdrnn.tasks`.

Each script defines its own data flags and a `load_data(spm, labels)` function;
`run_task(kind, ...)` does the rest. The library holds the logic; this maps flags.
"""

import json
import os
import sys

from absl import flags

import script_support  # examples/: the scripts importing this one put it on sys.path
from awdrnn.lm import encoder_io
from awdrnn.lm.errors import DataError, TrainingError
from awdrnn.tasks import lr_finder, predictor, task_config, task_training
from awdrnn.tasks.heads import LabelScaler
from awdrnn.text import tokenizers
from awdrnn.training import loop

FLAGS = flags.FLAGS
flags.DEFINE_string("encoder", None, "Encoder folder of a pretrained (and fine-tuned) LM: "
                    "<save>/encoder of examples/train_lm.py (with its spm.model), or a "
                    "word-level one imported from fastai (examples/import_weights.py; "
                    "the text must then be split into fastai's words).")
flags.DEFINE_string("train", None, "Training file.")
flags.DEFINE_string("valid", None, "Dev file (metrics each epoch, --save_best).")
flags.DEFINE_string("test", None, "Test file (the format of --valid), evaluated once after "
                    "training with the best model: test_* in metrics.json.")
flags.DEFINE_string("save", None, "Run folder (config.json, best/, metrics.json, curves.png, "
                    "tb/). Must be new unless --resume; with --interactive, the trained run.")
flags.DEFINE_integer("epochs", 4, "Epochs (with --unfreeze: epoch e trains the top e groups).")
flags.DEFINE_integer("batch_size", 64, "Batch size.")
flags.DEFINE_float("lr", 1e-2, "Peak learning rate of the top layer group (the head).")
flags.DEFINE_enum("lr_scheduler", "stlr", ["stlr", "1cycle", "constant"],
                  "stlr: slanted triangular (ULMFiT); 1cycle: one-cycle (fastai); constant.")
flags.DEFINE_bool("lr_finder", False, "Run the LR finder (1e-7 to 10 over --lr_finder_steps "
                  "steps) instead of training: writes <save>/lr_finder.png and "
                  "lr_finder.json, prints the suggested rate; the weights are left as before.")
flags.DEFINE_integer("lr_finder_steps", 100, "Steps of the LR finder's sweep.")
flags.DEFINE_bool("save_best", True, "Keep the model of the best dev metric in best/ "
                  "(--nosave_best: the last epoch's).")
flags.DEFINE_bool("interactive", False, "Read text from standard input, one per line, and "
                  "print the predictions of the trained run in --save.")
flags.DEFINE_bool("random_encoder", False,
                  "Draw the encoder's weights afresh instead of loading them (--encoder "
                  "still gives the architecture and spm.model): the from-scratch baseline.")
flags.DEFINE_bool("awd_off", False, "No AWD-LSTM dropout in the encoder.")
flags.DEFINE_float("drop_mult", 1.0, "Multiplies every drop rate (encoder and head).")
flags.DEFINE_integer("max_seq_len", 1400, "Longer sequences (in subword ids) are cut to "
                     "this length (the run says how many).")
flags.DEFINE_integer("bptt", 70, "BPT3C chunk length.")
flags.DEFINE_integer("max_len", 1400, "BPT3C: the last max_len tokens of a sequence are "
                     "pooled and get gradients; the tokens before run forward in bptt chunks.")
flags.DEFINE_bool("discriminative", True, "Discriminative learning rates (--disc_factor).")
flags.DEFINE_float("disc_factor", 2.6, "Rate ratio of neighbouring layer groups.")
flags.DEFINE_bool("unfreeze", True, "Gradual unfreezing: head first, one more group per epoch.")
flags.DEFINE_enum("optimizer", "adamw", list(task_config.OPTIMIZERS), "Optimizer.")
flags.DEFINE_float("adam_beta1", 0.8, "Adam beta1 (fastai: 0.8; 1cycle cycles 0.8 -> 0.7).")
flags.DEFINE_float("adam_beta2", 0.99, "Adam beta2 (fastai: 0.99).")
flags.DEFINE_float("weight_decay", 0.01, "AdamW's decoupled weight decay.")
flags.DEFINE_float("clip", 0.0, "Gradient clipping by global norm (0: none).")
flags.DEFINE_integer("head_hidden", 50, "Units of the head's hidden block (0: none).")
flags.DEFINE_integer("seed", 0, "Random seed.")
flags.DEFINE_integer("max_steps", None, "Stop after this many steps.")
flags.DEFINE_float("max_minutes", None, "Stop after this many minutes of training.")
flags.DEFINE_integer("log_interval", 50, "Steps between progress lines.")

SCHEDULES = {"stlr": "stlr", "1cycle": "one_cycle", "constant": "constant"}


def common_config(kind, n_outputs, **task_fields):
    """The `TaskConfig` of the common flags plus the script's own fields."""
    head_drop = (0.4, 0.1) if FLAGS.head_hidden else (0.4,)
    if kind == "tag":
        head_drop = (0.4,)
    return task_config.TaskConfig(
        kind=kind, n_outputs=n_outputs, head_hidden=FLAGS.head_hidden if kind != "tag" else 0,
        head_drop=head_drop, drop_mult=FLAGS.drop_mult, awd_off=FLAGS.awd_off,
        bptt=FLAGS.bptt, max_len=FLAGS.max_len, batch_size=FLAGS.batch_size,
        epochs=FLAGS.epochs, lr=FLAGS.lr, optimizer=FLAGS.optimizer,
        adam_beta1=FLAGS.adam_beta1, adam_beta2=FLAGS.adam_beta2,
        weight_decay=FLAGS.weight_decay, clip=FLAGS.clip,
        discriminative=FLAGS.discriminative, disc_factor=FLAGS.disc_factor,
        unfreeze=FLAGS.unfreeze, lr_schedule=SCHEDULES[FLAGS.lr_scheduler],
        seed=FLAGS.seed, **task_fields).validate()


def data_files():
    """The data files to load: --train, --valid and, when given, --test."""
    return [FLAGS.train, FLAGS.valid] + ([FLAGS.test] if FLAGS.test else [])


def _require(*names):
    missing = [f"--{n}" for n in names if getattr(FLAGS, n) is None]
    if missing:
        raise DataError(f"{', '.join(missing)} must be given.")


def _load_encoder(folder, flag):
    encoder = encoder_io.load_encoder(folder)
    encoder.tokenizer_file()  # a word-level encoder needs fastai's special tokens
    return encoder


def interactive(check_labels=None, read_pair=False):
    """Reads lines from standard input and prints the trained run's predictions."""
    _require("save")
    model = predictor.load(FLAGS.save, max_seq_len=FLAGS.max_seq_len)
    if check_labels is not None:
        check_labels(model)
    print(f"{model.config.kind}: type a text per line"
          + (" (a pair: two sentences separated by a tab)" if read_pair else "")
          + "; end with Ctrl-D", file=sys.stderr)
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        pairs = None
        if read_pair:
            first, _, second = line.partition("\t")
            line, pairs = first, [second]
        result = model.predict([line], pairs=pairs)[0]
        if "probabilities" in result:
            probs = "  ".join(f"{k}: {v:.3f}" for k, v in result["probabilities"].items())
            print(f"{result['label']}\t{probs}")
        elif "score" in result:
            print(f"{result['score']:.4f}")
        else:
            print(" ".join(f"{w}/{t}" for w, t in zip(result["words"], result["tags"])))
        sys.stdout.flush()
    model.close()


def run_task(kind, load_data, make_config, encoder_flags=("encoder",), scaler_of=None):
    """Trains a task model (or runs the LR finder) from the flags.

    Args:
      kind: "classify" / "regress" / "tag".
      load_data: `f(spm_model) -> (datasets, labels)`: the datasets of `data_files()`
        (train, valid[, test]) and the label map.
      make_config: `f(labels) -> TaskConfig`.
      encoder_flags: the flags naming the encoder folders (forward[, backward]).
      scaler_of: `f(train) -> LabelScaler` for regression targets, or None.
    """
    _require("encoder", "train", "valid", "save")
    encoders = [_load_encoder(getattr(FLAGS, f), f"--{f}") for f in encoder_flags
                if getattr(FLAGS, f)]
    for other in encoders[1:]:
        with open(other.tokenizer_file(), "rb") as a, \
                open(encoders[0].tokenizer_file(), "rb") as b:
            if a.read() != b.read():
                raise DataError("the forward and backward encoders use different tokenizers "
                                "(SentencePiece models or vocabularies); give two encoders "
                                "trained on one.")
    spm = tokenizers.load(encoders[0].tokenizer_file())
    data, labels = load_data(spm)
    train, valid, test = (list(data) + [None])[:3]
    for data in filter(None, (train, valid, test)):
        if data.n_cut:
            print(f"  {data.path}: {data.n_cut} sequences cut to --max_seq_len="
                  f"{FLAGS.max_seq_len} ids", file=sys.stderr)
    config = make_config(labels)
    scaler = scaler_of(train) if scaler_of is not None else None
    extra = {"argv": list(sys.argv)}
    task = task_training.FineTuneTask(config, encoders, train, valid, labels,
                                      encoders[0].tokenizer_file(), scaler=scaler,
                                      save_best=FLAGS.save_best, extra=extra,
                                      random_encoder=FLAGS.random_encoder, test=test)
    if FLAGS.lr_finder:
        return _lr_finder(task)
    print(f"{kind}: {len(train.sequences)} training and {len(valid.sequences)} dev rows; "
          f"{len(task.encoders)} encoder(s) "
          + (f"drawn at random (architecture of {FLAGS.encoder})" if FLAGS.random_encoder
             else f"from {FLAGS.encoder}") + f"; run folder {FLAGS.save}")
    result = loop.TrainingLoop(task, FLAGS.save, epochs=config.epochs,
                               max_steps=FLAGS.max_steps, max_minutes=FLAGS.max_minutes,
                               log_interval=FLAGS.log_interval).run()
    metric = task_training.METRIC[kind]
    print(f"best {metric.replace('_', ' ')}: {result.get('best_' + metric)}")


def _lr_finder(task):
    import tensorflow as tf

    if os.path.exists(FLAGS.save) and os.listdir(FLAGS.save):
        raise DataError(f"--save {FLAGS.save!r} exists and is not empty; the LR finder "
                        "writes lr_finder.png there: give a new folder.")
    task.build_graph(task.seed)
    with tf.compat.v1.Session(graph=task.graph) as sess:
        sess.run(task.init_op)
        result = task.find_lr(sess, num_steps=FLAGS.lr_finder_steps)
    os.makedirs(FLAGS.save, exist_ok=True)
    lr_finder.plot_lr_finder(result, os.path.join(FLAGS.save, "lr_finder.png"))
    with open(os.path.join(FLAGS.save, "lr_finder.json"), "w") as f:
        json.dump({"lrs": list(map(float, result.lrs)), "losses": list(map(float, result.losses)),
                   "smoothed": list(map(float, result.smoothed)),
                   "suggested_lr": result.suggested_lr, "min_loss_lr": result.min_loss_lr,
                   "stopped_early": result.stopped_early}, f, indent=1)
    print(f"LR finder: {len(result.lrs)} steps; suggested --lr={result.suggested_lr:.3g} "
          f"(steepest descent of the smoothed loss); minimum loss / 10: "
          f"{result.min_loss_lr:.3g}; plot: {os.path.join(FLAGS.save, 'lr_finder.png')}")


def main_of(run):
    """`main(argv)` for absl: `run()` with library errors as one `error:` line."""
    def main(argv):
        del argv
        with script_support.errors_reported(TrainingError, ValueError):
            run()
    return main


__all__ = ["LabelScaler", "common_config", "interactive", "main_of", "run_task"]
