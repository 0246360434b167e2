r"""Trains an AWD-LSTM language model (the salesforce `main.py` recipe).

    python examples/train_lm.py --save=runs/demo                 # generated corpus, ~3 min
    python examples/train_lm.py --data=../shared/data/ptb --save=runs/ptb \
        --batch_size=20 --dropouti=0.4 --dropouth=0.25 --seed=141 --epochs=500

Flags are named as in salesforce `main.py`; their dropout flags are *drop*
rates (`--dropout=0.4` drops 40%) and are passed to the library as keep rates
(`keep = 1 - dropout`). Defaults are the paper's PTB ones. Without `--data`
the script writes a corpus generated from a small grammar into
`<save>/data` and, for every flag not given on the command line, uses the
small configuration `DEMO_CONFIG` below, so that the run takes a few minutes
on 2 CPU cores; it says so in its first lines.

Exit codes: 0 done, 2 bad data or flags, 3 NaN loss, 4 checkpoint mismatch,
130 interrupted (a checkpoint was saved; continue with --resume).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ start-up noise

from absl import app, flags  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from awdrnn import corpus, generation, lm_model, lm_training, synthetic_corpus  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("data", None, "Corpus folder with train.txt, valid.txt, test.txt. "
                    "Absent: a generated corpus and the small demo configuration.")
flags.DEFINE_enum("model", "lstm", list(lm_model.MODELS), "Recurrent layer type.")
flags.DEFINE_integer("emsize", 400, "Size of word embeddings (and of the last layer).")
flags.DEFINE_integer("nhid", 1150, "Number of hidden units per layer.")
flags.DEFINE_integer("nlayers", 3, "Number of layers.")
flags.DEFINE_float("lr", 30.0, "Initial learning rate.")
flags.DEFINE_float("clip", 0.25, "Gradient norm clipping (0: none).")
flags.DEFINE_integer("epochs", 500, "Upper epoch limit.")
flags.DEFINE_integer("batch_size", 20, "Batch size.")
flags.DEFINE_integer("eval_batch_size", 10, "Batch size of validation.")
flags.DEFINE_integer("test_batch_size", 1, "Batch size of the final test evaluation.")
flags.DEFINE_integer("bptt", 70, "Base sequence length.")
flags.DEFINE_float("dropout", 0.4, "Drop rate of the output locked dropout.")
flags.DEFINE_float("dropouth", 0.25, "Drop rate between recurrent layers.")
flags.DEFINE_float("dropouti", 0.4, "Drop rate of the embedding output.")
flags.DEFINE_float("dropoute", 0.1, "Drop rate of whole words in the embedding.")
flags.DEFINE_float("wdrop", 0.5, "DropConnect drop rate of the recurrent weights.")
flags.DEFINE_integer("seed", 141, "Random seed.")
flags.DEFINE_integer("nonmono", 5, "Non-monotone interval of NT-ASGD.")
flags.DEFINE_float("alpha", 2.0, "AR coefficient (0: off).")
flags.DEFINE_float("beta", 1.0, "TAR coefficient (0: off).")
flags.DEFINE_float("wdecay", 1.2e-6, "Weight decay.")
flags.DEFINE_enum("optimizer", "sgd", list(lm_training.OPTIMIZERS),
                  "sgd: NT-ASGD (SGD, then averaging once validation stalls); adam.")
flags.DEFINE_string("save", "runs/lm", "Run folder (checkpoints, metrics.json, curves.png, tb/).")
flags.DEFINE_bool("resume", False, "Continue the run in --save exactly where it stopped.")
flags.DEFINE_list("when", [], "Epochs after which the learning rate is divided by 10.")
flags.DEFINE_integer("max_steps", None, "Stop after this many training steps (global).")
flags.DEFINE_float("max_minutes", None, "Stop after this many minutes of training.")
flags.DEFINE_bool("finetune", False, "Fine-tuning stage: averaging from the start, from "
                  "the best model in --save, until validation stalls.")
flags.DEFINE_bool("evaluate", True, "Validate each epoch and test at the end; "
                  "--noevaluate for speed measurements.")
flags.DEFINE_integer("log_interval", 200, "Steps between progress lines.")
flags.DEFINE_enum("rnn_impl", "fast", list(lm_model.RNN_IMPLS),
                  "fast: awdrnn.dynamic_rnn (fused LSTM); stock: tf.compat.v1.nn.dynamic_rnn.")
flags.DEFINE_enum("lstm_biases", "pytorch", list(lm_model.LSTM_BIASES),
                  "LSTM biases: pytorch (bias_ih + bias_hh as PyTorch draws and trains them), "
                  "summed (one vector drawn as their sum), tf (zero, forget_bias 1).")
flags.DEFINE_integer("sample_words", 60, "Words of sample text printed at the end (0: none).")
flags.DEFINE_float("temperature", 0.8, "Temperature of the sample text.")

# Without --data: flags not set on the command line take these values. The
# generated corpus is plentiful and simple, so the model is small, dropout
# light, and training a few epochs gets close to the entropy floor.
DEMO_CONFIG = {"emsize": 96, "nhid": 384, "nlayers": 2, "batch_size": 32, "bptt": 35,
               "lr": 10.0, "epochs": 5, "dropout": 0.1, "dropouth": 0.1, "dropouti": 0.1,
               "dropoute": 0.0, "wdrop": 0.2, "nonmono": 2, "log_interval": 50}
DEMO_CORPUS = {"seed": 1, "train_tokens": 200_000, "valid_tokens": 20_000,
               "test_tokens": 20_000}


def _flag(name, overrides):
    if name in overrides and not FLAGS[name].present:
        return overrides[name]
    return FLAGS[name].value


def _configs(vocab_size, overrides):
    f = lambda name: _flag(name, overrides)  # noqa: E731
    keep = lambda name: 1.0 - f(name)  # noqa: E731  salesforce drop rate -> keep rate
    for name in ("dropout", "dropouth", "dropouti", "dropoute", "wdrop"):
        if not 0.0 <= f(name) < 1.0:
            raise ValueError(f"--{name} is a drop rate and must be in [0, 1), got {f(name)!r}.")
    model_config = lm_model.LMConfig(
        vocab_size=vocab_size, emsize=f("emsize"), nhid=f("nhid"), nlayers=f("nlayers"),
        model=f("model"), dropout_kr=keep("dropout"), dropouth_kr=keep("dropouth"),
        dropouti_kr=keep("dropouti"), dropoute_kr=keep("dropoute"), wdrop_kr=keep("wdrop"),
        rnn_impl=f("rnn_impl"), lstm_biases=f("lstm_biases"))
    try:
        when = tuple(int(e) for e in f("when"))
    except ValueError:
        raise ValueError(f"--when must be a comma-separated list of epochs, got {f('when')!r}.") from None
    train_config = lm_training.TrainConfig(
        lr=f("lr"), clip=f("clip"), epochs=f("epochs"), batch_size=f("batch_size"),
        eval_batch_size=f("eval_batch_size"), test_batch_size=f("test_batch_size"),
        bptt=f("bptt"), seed=f("seed"), nonmono=f("nonmono"), alpha=f("alpha"),
        beta=f("beta"), wdecay=f("wdecay"), optimizer=f("optimizer"), when=when,
        log_interval=f("log_interval"), max_steps=f("max_steps"),
        max_minutes=f("max_minutes"), finetune=f("finetune"),
        evaluate=f("evaluate"))
    return model_config.validate(), train_config.validate()


def run():
    extra, overrides = {}, {}
    if FLAGS.data is None:
        folder = os.path.join(FLAGS.save, "data")
        info = synthetic_corpus.generate_corpus(folder, **DEMO_CORPUS)
        overrides = DEMO_CONFIG
        used = {k: v for k, v in DEMO_CONFIG.items() if not FLAGS[k].present}
        print(f"no --data: generated corpus in {folder} ({info['vocab_size']} words; "
              f"entropy floor {info['entropy_nats']:.3f} nats/token = perplexity "
              f"{info['perplexity_floor']:.2f}; the grammar's own valid ppl "
              f"{info['valid_true_ppl']:.2f})")
        print(f"small config for it: {used}")
        extra = {"perplexity_floor": info["perplexity_floor"],
                 "entropy_nats": info["entropy_nats"], "data": "generated"}
        data = corpus.Corpus(folder)
    else:
        data = corpus.Corpus(FLAGS.data)
        extra = {"data": os.path.abspath(FLAGS.data)}
    try:  # flag values the library rejects: a message, not a traceback
        model_config, train_config = _configs(len(data.vocab), overrides)
    except ValueError as e:
        raise lm_training.DataError(str(e)) from None
    print(f"data: {len(data.vocab)} words; {len(data.train)} / {len(data.valid)} / "
          f"{len(data.test)} tokens (train / valid / test)")
    print(f"model: {model_config}")
    print(f"training: {train_config}")
    try:
        trainer = lm_training.Trainer(model_config, train_config, data, FLAGS.save,
                                      resume=FLAGS.resume, extra_metrics=extra)
    except ValueError as e:
        raise lm_training.DataError(str(e)) from None
    metrics = trainer.run()
    print(f"metrics: {os.path.join(FLAGS.save, 'metrics.json')}  curves: "
          f"{os.path.join(FLAGS.save, 'curves.png')}  tensorboard: {os.path.join(FLAGS.save, 'tb')}")
    if FLAGS.sample_words and metrics["valid_ppl"] is not None:
        sess, g, vocab = lm_training.open_best_model(FLAGS.save, batch_size=1)
        with sess:
            text = generation.sample_text(sess, g, vocab, FLAGS.sample_words,
                                          FLAGS.temperature, seed=FLAGS.seed)
        print(f"sample (temperature {FLAGS.temperature}):\n{text}")


def main(argv):
    del argv
    tf.get_logger().setLevel("ERROR")
    try:
        run()
    except (lm_training.TrainingError, corpus.CorpusError) as e:
        code = getattr(e, "exit_code", 2)
        print(f"error: {e}", file=sys.stderr)
        sys.exit(code)


if __name__ == "__main__":
    app.run(main)
