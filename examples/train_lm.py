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
on 2 CPU cores; it says so in its first lines. Flag values are checked
before anything is written into `--save`.

    python examples/train_lm.py --save=runs/demo --resume            # no other flag needed
    python examples/train_lm.py --save=runs/demo --resume --lr=5 --override=lr

`--resume` (and `--finetune`) take the run's flags from `<save>/config.json`;
a saved flag given again with another value stops with an error unless
`--override` names it (the change is recorded in `config.json` and
`metrics.json`). `--max_steps`, `--max_minutes`, `--evaluate` and the sample
flags belong to each invocation.

Subword language models (doc/language_model.md, "Subword language models"):

    python examples/train_lm.py --data=../shared/data/wikitext-2 \
        --spm_model=runs/spm/sp.model --preset=multifit_small --save=runs/wt2_spm
    python examples/train_lm.py ... --backward --save=runs/wt2_spm_bwd

`--spm_model` reads `--data` as raw text (each line `bos pieces eos`);
`--preset` sets every flag not given on the command line (awdrnn.lm.presets);
`--drop_mult` multiplies the five drop rates when a run starts;
`--backward` trains on the reversed token streams.

LM fine-tuning (ULMFiT stage 2, doc/fine_tuning.md):

    python examples/train_lm.py --data=runs/sst2_text --init_from=runs/wt2_multifit_small \
        --save=runs/sst2_lm --preset=multifit_small --drop_mult=0.3 \
        --discriminative --unfreeze --epochs=4

`--init_from` starts a new run from another run's best model, with its
architecture and SentencePiece model (a word-level vocabulary that differs
is remapped: new words start at the mean embedding and bias);
`--discriminative` (`--disc_factor`) and `--unfreeze` are saved with the run.
Every run ends by writing its best model's encoder to `<save>/encoder/`
(`awdrnn.lm.encoder_io.load_encoder` loads it by path).

Exit codes: 0 done, 2 bad data or flags, 3 NaN loss, 4 checkpoint mismatch
or no run to resume, 130 interrupted (by a first Ctrl-C/SIGTERM a checkpoint
was saved, continue with --resume; by a second one, the previous checkpoint
is kept).
"""

import math
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()  # before anything else imports it: no start-up noise
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from awdrnn.data import corpus, synthetic_corpus  # noqa: E402
from awdrnn.lm import (  # noqa: E402
    encoder_io, generation, model as lm_model, presets, training as lm_training,
    vocab_remap as lm_vocab_remap)
from awdrnn.training import checkpoints  # noqa: E402
from awdrnn.text import subword_corpus  # noqa: E402

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
                  "sgd: NT-ASGD (SGD, then averaging once validation stalls); adam; adamw: "
                  "Adam with decoupled weight decay (--wdecay).")
flags.DEFINE_float("adam_beta1", 0.9, "Adam/AdamW beta1 (with adamw, one_cycle cycles it "
                   "over --moms instead).")
flags.DEFINE_float("adam_beta2", 0.999, "Adam/AdamW beta2.")
flags.DEFINE_enum("lr_schedule", "constant", list(lm_training.LR_SCHEDULES),
                  "constant: --lr (and --when); stlr: slanted triangular; one_cycle: "
                  "fastai's one-cycle, peak --lr, over --epochs.")
flags.DEFINE_list("moms", ["0.95", "0.85"], "With one_cycle and adamw: beta1 at the start "
                  "and end, beta1 at the peak rate.")
flags.DEFINE_bool("backward", False, "Backward LM: train on the reversed token stream of "
                  "each split (saved with the run).")
flags.DEFINE_string("spm_model", None, "SentencePiece .model (ids unk 0, pad 1, bos 2, eos 3; "
                    "examples/subwords.py trains one): --data then holds raw text, each "
                    "line encoded as bos pieces eos.")
flags.DEFINE_enum("preset", None, sorted(presets.PRESETS), "Hyper-parameters of a paper "
                  "(awdrnn/lm/presets.py) for every flag not given on the command line.")
flags.DEFINE_float("drop_mult", 1.0, "Multiplies the five drop rates when a run starts "
                   "(presets may set it; saved as the multiplied rates).")
flags.DEFINE_string("save", "runs/lm", "Run folder (checkpoints, metrics.json, curves.png, tb/).")
flags.DEFINE_bool("resume", False, "Continue the run in --save exactly where it stopped, "
                  "with its saved flags (config.json); see --override.")
flags.DEFINE_list("when", [], "Epochs after which the learning rate is divided by 10.")
flags.DEFINE_integer("max_steps", None, "Stop after this many training steps (global).")
flags.DEFINE_float("max_minutes", None, "Stop training once this many minutes of wall "
                   "time have passed since training began in this invocation (validation at "
                   "epoch ends included; checked between steps). After the stop come the "
                   "validation of the cut epoch, the test of the best model and the sample: "
                   "about two evaluation passes more.")
flags.DEFINE_bool("finetune", False, "Fine-tuning stage: averaging from the start, from "
                  "the best model in --save, until validation stalls.")
flags.DEFINE_string("init_from", None, "LM fine-tuning (ULMFiT stage 2): a trained LM's run "
                    "folder (its --save); its best model starts a NEW run in --save, with its "
                    "architecture; a word-level vocabulary that differs is remapped (new words "
                    "start at the mean embedding and bias). --finetune is something else: "
                    "NT-ASGD's second stage of the run in --save.")
flags.DEFINE_bool("discriminative", False, "Discriminative learning rates: one optimizer per "
                  "layer group (each recurrent layer; embedding + decoder on top), each group "
                  "below the top at the rate of the one above divided by --disc_factor.")
flags.DEFINE_float("disc_factor", 2.6, "Ratio of the rates of neighbouring layer groups "
                   "(ULMFiT: 2.6).")
flags.DEFINE_bool("unfreeze", False, "Gradual unfreezing: epoch 1 trains the top layer group "
                  "only, each later epoch one group more.")
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

# Flags saved with a run (config.json). With --resume or --finetune they are
# read back from it; given again with another value they are an error, unless
# named in --override (FIXED ones never change: the checkpoint depends on them;
# FREE ones change without --override). The other flags (--max_steps,
# --max_minutes, --evaluate, --sample_words, ...) belong to each invocation.
MODEL_FLAGS = ("model", "emsize", "nhid", "nlayers", "rnn_impl", "lstm_biases")
DROP_FLAGS = {"dropout": "dropout_kr", "dropouth": "dropouth_kr", "dropouti": "dropouti_kr",
              "dropoute": "dropoute_kr", "wdrop": "wdrop_kr"}
TRAIN_FLAGS = ("lr", "clip", "epochs", "batch_size", "eval_batch_size", "test_batch_size",
               "bptt", "seed", "nonmono", "alpha", "beta", "wdecay", "optimizer", "when",
               "log_interval", "adam_beta1", "adam_beta2", "lr_schedule", "moms", "backward",
               "discriminative", "disc_factor", "unfreeze")
FIXED_ON_RESUME = ("model", "emsize", "nhid", "nlayers", "lstm_biases", "batch_size",
                   "optimizer", "backward", "discriminative", "unfreeze")
# With --init_from these come from the run started from (given again: the same value).
INIT_FLAGS = ("model", "emsize", "nhid", "nlayers", "lstm_biases", "backward")
FREE_ON_RESUME = ("log_interval",)

flags.DEFINE_list("override", [], "With --resume/--finetune: saved flags that may take the "
                  "new value given on this command line (e.g. --override=lr,when); each "
                  "change is recorded in config.json and metrics.json under 'overrides'.")


def _flag(name, defaults):
    if name in defaults and not FLAGS[name].present:
        return defaults[name]
    return FLAGS[name].value


def _configs(vocab_size, defaults):
    """`(LMConfig, TrainConfig)` from the flags; `defaults` for flags not given."""
    f = lambda name: _flag(name, defaults)  # noqa: E731
    mult = f("drop_mult")
    keep = lambda name: 1.0 - f(name) * mult  # noqa: E731  salesforce drop rate -> keep rate
    if not mult >= 0.0:
        raise ValueError(f"--drop_mult must be >= 0, got {mult!r}.")
    for name in DROP_FLAGS:
        if not 0.0 <= f(name) < 1.0:
            raise ValueError(f"--{name} is a drop rate and must be in [0, 1), got {f(name)!r}.")
        if not f(name) * mult < 1.0:
            raise ValueError(f"--{name}={f(name)} times --drop_mult={mult} is {f(name) * mult}, "
                             "not a drop rate below 1; lower --drop_mult.")
    model_config = lm_model.LMConfig(
        vocab_size=vocab_size, emsize=f("emsize"), nhid=f("nhid"), nlayers=f("nlayers"),
        model=f("model"), dropout_kr=keep("dropout"), dropouth_kr=keep("dropouth"),
        dropouti_kr=keep("dropouti"), dropoute_kr=keep("dropoute"), wdrop_kr=keep("wdrop"),
        rnn_impl=f("rnn_impl"), lstm_biases=f("lstm_biases"))
    try:
        when = tuple(int(e) for e in f("when"))
    except ValueError:
        raise ValueError(f"--when must be a comma-separated list of epochs, got {f('when')!r}.") from None
    try:
        moms = tuple(float(m) for m in f("moms"))
    except ValueError:
        raise ValueError(f"--moms must be two comma-separated numbers, got {f('moms')!r}.") from None
    train_config = lm_training.TrainConfig(
        lr=f("lr"), clip=f("clip"), epochs=f("epochs"), batch_size=f("batch_size"),
        eval_batch_size=f("eval_batch_size"), test_batch_size=f("test_batch_size"),
        bptt=f("bptt"), seed=f("seed"), nonmono=f("nonmono"), alpha=f("alpha"),
        beta=f("beta"), wdecay=f("wdecay"), optimizer=f("optimizer"), when=when,
        log_interval=f("log_interval"), max_steps=f("max_steps"),
        max_minutes=f("max_minutes"), finetune=f("finetune"),
        evaluate=f("evaluate"), adam_beta1=f("adam_beta1"), adam_beta2=f("adam_beta2"),
        lr_schedule=f("lr_schedule"), moms=moms, backward=f("backward"),
        init_from=defaults.get("init_from"), discriminative=f("discriminative"),
        disc_factor=f("disc_factor"), unfreeze=f("unfreeze"))
    return model_config.validate(), train_config.validate()


def _saved_flags(saved):
    """Flag values of a run's config.json (drop rates from its keep rates)."""
    model, train = lm_training.saved_model_config(saved), saved["train"]
    values = {name: getattr(model, name) for name in MODEL_FLAGS}
    values.update({name: round(1.0 - getattr(model, kr), 12) for name, kr in DROP_FLAGS.items()})
    values.update({name: train.get(name, FLAGS[name].default) for name in TRAIN_FLAGS})
    values["when"] = [str(e) for e in train["when"]]
    values["moms"] = [str(m) for m in train["moms"]]
    values["drop_mult"] = 1.0  # the saved drop rates are the multiplied ones
    return values


def _same(given, saved):
    if isinstance(given, float) or isinstance(saved, float):
        return math.isclose(given, saved, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(given, list):
        return [str(e).strip() for e in given] == [str(e) for e in saved]
    return given == saved


def _shown(value):
    return ",".join(value) if isinstance(value, list) else value


def _saved_run():
    """With --resume/--finetune: `(flag defaults, extra metrics, data folder)` of the run
    in --save, after checking the flags given again against it. Writes nothing."""
    path = os.path.join(FLAGS.save, "config.json")
    verb = "resume" if FLAGS.resume else "fine-tune"
    if not os.path.isfile(path):
        raise lm_training.CheckpointMismatch(
            f"cannot {verb}: no run in --save={FLAGS.save!r} ({path} does not exist); "
            "check --save.")
    saved = checkpoints.read_json(path)
    if "extra" not in saved:
        raise lm_training.CheckpointMismatch(
            f"cannot {verb}: {path} was written by an older train_lm.py (no 'extra' entry).")
    if "imported" in saved["extra"]:
        raise lm_training.CheckpointMismatch(
            f"cannot {verb}: --save={FLAGS.save!r} holds a model imported by "
            "examples/import_weights.py, not a training run; fine-tune it with "
            f"--init_from={FLAGS.save} --data=<corpus> --save=<a new folder>.")
    values = _saved_flags(saved)
    if FLAGS.init_from is not None:
        raise lm_training.DataError(
            f"--init_from cannot be given with --{verb.replace('-', '')}: the run in "
            f"{FLAGS.save!r} already has its weights (it started from "
            f"{saved['extra'].get('init_from')!r}); drop --init_from.")
    if FLAGS.resume:
        values["init_from"] = saved["train"].get("init_from")
    wrong = [n for n in FLAGS.override if n not in values or n in FIXED_ON_RESUME + FREE_ON_RESUME]
    if wrong:
        raise lm_training.DataError(
            f"--override={','.join(FLAGS.override)}: {', '.join(wrong)} cannot be named there; "
            f"it takes flags saved with a run that may change: "
            f"{', '.join(n for n in values if n not in FIXED_ON_RESUME + FREE_ON_RESUME)}.")
    extra = dict(saved["extra"])
    for name, why in (("drop_mult", "it multiplies the drop rates when a run starts; the run's "
                       "saved rates are the multiplied ones: give them with --override"),
                      ("preset", "the run keeps the flags it started with")):
        if FLAGS[name].present and FLAGS[name].value != extra.get(name, FLAGS[name].default):
            raise lm_training.DataError(
                f"--{name}={FLAGS[name].value} cannot be given with --{verb.replace('-', '')}: "
                f"{why} (the run in {FLAGS.save!r} has {extra.get(name)!r}); drop --{name}.")
    changes = []
    for name, old in values.items():
        if name == "drop_mult":
            continue
        new = FLAGS[name].value
        if not FLAGS[name].present or name in FREE_ON_RESUME or _same(new, old):
            continue
        if name in FLAGS.override:
            changes.append({"flag": name, "from": old, "to": new})
        elif name in FIXED_ON_RESUME:
            raise lm_training.DataError(
                f"--{name}={_shown(new)}, but the run in {FLAGS.save!r} has --{name}={_shown(old)} "
                f"({path}) and its checkpoint depends on it: drop the flag to {verb} it, or "
                "start a new run in another --save.")
        else:
            raise lm_training.DataError(
                f"--{name}={_shown(new)}, but the run in {FLAGS.save!r} has --{name}={_shown(old)} "
                f"({path}); --{verb.replace('-', '')} takes the run's saved flags: drop "
                f"--{name}, or add --override={name} to change it from here on (recorded in "
                "config.json and metrics.json).")
    for change in changes:
        print(f"--override: {change['flag']} {change['from']} -> {change['to']}")
    if changes:
        extra["overrides"] = list(extra.get("overrides", [])) + changes
    if FLAGS.data is not None:
        extra["data"] = os.path.abspath(FLAGS.data)
        return values, extra, FLAGS.data
    if extra.get("data") == "generated":
        return values, extra, os.path.join(FLAGS.save, "data")
    return values, extra, extra["data"]


def _generated_corpus():
    """The demo corpus, written into a temporary folder (moved into --save once the
    flags and data have been accepted); `(folder, extra metrics, message)`."""
    folder = tempfile.mkdtemp(prefix="awdrnn-corpus-")
    info = synthetic_corpus.generate_corpus(folder, **DEMO_CORPUS)
    extra = {"perplexity_floor": info["perplexity_floor"],
             "entropy_nats": info["entropy_nats"], "data": "generated"}
    message = (
        f"no --data: generated corpus in {os.path.join(FLAGS.save, 'data')} "
        f"({info['vocab_size']} words; entropy floor {info['entropy_nats']:.3f} nats/token = "
        f"perplexity {info['perplexity_floor']:.2f}; the grammar's own valid ppl "
        f"{info['valid_true_ppl']:.2f})\nsmall config for it: "
        f"{ {k: v for k, v in DEMO_CONFIG.items() if not FLAGS[k].present} }")
    return folder, extra, message


def _keep_generated_corpus(tmp_folder):
    folder = os.path.join(FLAGS.save, "data")
    if os.path.exists(folder):  # left by a run that stopped before its first checkpoint
        if not os.path.isfile(os.path.join(folder, "corpus.json")):
            raise lm_training.DataError(
                f"{folder!r} exists and is not a generated corpus; move it away or choose "
                "another --save.")
        shutil.rmtree(folder)
    os.makedirs(FLAGS.save, exist_ok=True)
    shutil.move(tmp_folder, folder)


def _init_run(defaults, extra):
    """With --init_from: `defaults` with the architecture of that run (flags given
    again must agree), after checking that it is a run with a best model. Writes
    nothing."""
    folder = FLAGS.init_from
    path = os.path.join(folder, "config.json")
    what = "give the --save folder of a trained train_lm.py run"
    if not os.path.isdir(folder):
        raise lm_training.CheckpointMismatch(
            f"--init_from={folder}: no such folder; {what}.")
    if not os.path.isfile(path):
        raise lm_training.CheckpointMismatch(
            f"--init_from={folder} is not a train_lm.py run (no config.json); {what}.")
    if checkpoints.CheckpointStore(os.path.join(folder, "best")).latest() is None:
        raise lm_training.CheckpointMismatch(
            f"--init_from={folder} has no best model (best/ is empty or missing: was it "
            "trained with --noevaluate, or stopped before its first epoch ended?); train it "
            "further with --resume, or start from another run.")
    saved = _saved_flags(checkpoints.read_json(path))
    differ = [f"--{n}={_shown(FLAGS[n].value)} (it has {_shown(saved[n])})" for n in INIT_FLAGS
              if FLAGS[n].present and not _same(FLAGS[n].value, saved[n])]
    if differ:
        raise lm_training.DataError(
            f"--init_from={folder} is a model of another architecture: {', '.join(differ)}; "
            "the fine-tuned model takes its architecture: drop these flags, or start from a "
            "run of the architecture you want.")
    extra["init_from"] = os.path.abspath(folder)
    return dict(defaults, **{n: saved[n] for n in INIT_FLAGS},
                rnn_impl=saved["rnn_impl"], init_from=folder)


def _init_spm_model(extra):
    """With --init_from: the SentencePiece model of the run started from (which
    --spm_model, if given, must equal byte for byte), or None for a word-level run."""
    theirs = os.path.join(FLAGS.init_from, subword_corpus.MODEL_FILE)
    if not os.path.isfile(theirs):
        if FLAGS.spm_model is not None:
            raise lm_training.DataError(
                f"--init_from={FLAGS.init_from} is a word-level LM (no {subword_corpus.MODEL_FILE})"
                f", but --spm_model={FLAGS.spm_model} was given; drop --spm_model.")
        return None
    if FLAGS.data is None:
        raise lm_training.DataError(
            f"--init_from={FLAGS.init_from} is a subword LM: it needs --data, a folder of raw "
            "train.txt, valid.txt and test.txt to encode with its SentencePiece model.")
    if FLAGS.spm_model is not None:
        with open(theirs, "rb") as a, open(FLAGS.spm_model, "rb") as b:
            same = a.read() == b.read()
        if not same:
            raise lm_training.DataError(
                f"--spm_model={FLAGS.spm_model} is not the SentencePiece model of --init_from="
                f"{FLAGS.init_from} ({theirs}): a subword LM's rows are those pieces; drop "
                "--spm_model (the run's model is used) or start from a run trained with it.")
    extra["spm_model"] = os.path.abspath(theirs)
    return theirs


def _remap(data, defaults, extra):
    """With --init_from a word-level run of another vocabulary: writes it moved to the
    data's vocabulary into a temporary folder (`lm_vocab_remap`); returns that folder,
    or None when the vocabularies agree. `defaults["init_from"]` then points there."""
    old = corpus.Vocabulary.load(os.path.join(FLAGS.init_from, "vocab.txt"))
    if old == data.vocab:
        return None
    tmp = tempfile.mkdtemp(prefix="awdrnn-init-")
    report = lm_vocab_remap.remap_saved_lm(FLAGS.init_from, data.vocab, os.path.join(tmp, "init"))
    defaults["init_from"] = report.folder
    extra["vocab_remap"] = {"source": os.path.abspath(FLAGS.init_from),
                            "old_vocab_size": report.old_vocab_size,
                            "new_vocab_size": report.new_vocab_size,
                            "new_rows": report.new_rows}
    print(f"--init_from: vocabulary of {report.old_vocab_size} words -> the data's "
          f"{report.new_vocab_size}: {report.new_rows} of {report.new_vocab_size} rows new "
          "(mean embedding / mean bias)")
    return tmp


def _keep_remapped(tmp, trainer):
    """Moves the remapped start model into `<save>/init` once the run is accepted."""
    folder = os.path.join(FLAGS.save, "init")
    if os.path.exists(folder):  # left by a run that stopped before its first checkpoint
        shutil.rmtree(folder)
    os.makedirs(FLAGS.save, exist_ok=True)
    shutil.move(os.path.join(tmp, "init"), folder)
    trainer.cfg.init_from = folder


def _save_encoder(spm_model):
    """Writes the best model's encoder to `<save>/encoder` (replacing an older one
    only once the new one is complete), for the task heads (`encoder_io.load_encoder`)."""
    folder = os.path.join(FLAGS.save, "encoder")
    new, old = folder + ".new", folder + ".old"
    for leftover in (new, old):
        shutil.rmtree(leftover, ignore_errors=True)
    encoder_io.save_encoder(FLAGS.save, new, spm_model=spm_model)
    if os.path.exists(folder):
        os.replace(folder, old)
    os.replace(new, folder)
    shutil.rmtree(old, ignore_errors=True)
    print(f"encoder: {folder} (awdrnn.lm.encoder_io.load_encoder)")


def _spm_model(extra):
    """The SentencePiece model of this run, or None (word-level data)."""
    if FLAGS.resume or FLAGS.finetune:
        saved = os.path.join(FLAGS.save, subword_corpus.MODEL_FILE)
        if os.path.isfile(saved):
            return saved
    if FLAGS.spm_model is not None:
        if FLAGS.data is None and not (FLAGS.resume or FLAGS.finetune):
            raise lm_training.DataError(
                f"--spm_model={FLAGS.spm_model} needs --data, a folder of raw train.txt, "
                "valid.txt and test.txt to encode with it.")
        extra["spm_model"] = os.path.abspath(FLAGS.spm_model)
    return FLAGS.spm_model


def _load_data(folder, spm_model):
    if spm_model is None:
        return corpus.Corpus(folder)
    return subword_corpus.SubwordCorpus(folder, spm_model)


def run():
    if FLAGS.resume or FLAGS.finetune:
        defaults, extra, folder = _saved_run()
    else:
        defaults = DEMO_CONFIG if FLAGS.data is None else {}
        if FLAGS.preset is not None:
            defaults = dict(defaults, **presets.get(FLAGS.preset))
        extra, folder = {"data": os.path.abspath(FLAGS.data or ""),
                         "preset": FLAGS.preset}, FLAGS.data
        if FLAGS.init_from is not None:
            defaults = _init_run(defaults, extra)
    if not (FLAGS.resume or FLAGS.finetune):
        extra["drop_mult"] = _flag("drop_mult", defaults)
    if FLAGS.init_from is not None:
        spm_model = _init_spm_model(extra)
    else:
        spm_model = _spm_model(extra)
    tmp_corpus = tmp_init = None
    try:
        try:  # flag values the library rejects: a message, not a traceback
            _configs(2, defaults)  # before anything is written
            if folder is None:
                tmp_corpus, generated, message = _generated_corpus()
                extra.update(generated)
            data = _load_data(tmp_corpus or folder, spm_model)
            if FLAGS.init_from is not None and spm_model is None:
                tmp_init = _remap(data, defaults, extra)
            model_config, train_config = _configs(len(data.vocab), defaults)
            extra["direction"] = "backward" if train_config.backward else "forward"
            trainer = lm_training.Trainer(model_config, train_config, data, FLAGS.save,
                                          resume=FLAGS.resume, extra_metrics=extra)
        except ValueError as e:
            raise lm_training.DataError(str(e)) from None
        if tmp_corpus is not None:
            _keep_generated_corpus(tmp_corpus)
            print(message)
        if tmp_init is not None:
            _keep_remapped(tmp_init, trainer)
    finally:
        for tmp in (tmp_corpus, tmp_init):
            if tmp is not None and os.path.isdir(tmp):
                shutil.rmtree(tmp)
    unit = "words" if spm_model is None else f"pieces of {spm_model}"
    print(f"data: {len(data.vocab)} {unit}; {len(data.train)} / {len(data.valid)} / "
          f"{len(data.test)} tokens (train / valid / test)"
          + (f"; {data.words['valid']} / {data.words['test']} words (valid / test)"
             if spm_model else "") + ("; backward (reversed streams)" if train_config.backward
                                      else ""))
    if extra.get("preset"):
        print(f"preset {extra['preset']}: flags not given on the command line from "
              "awdrnn/lm/presets.py")
    print(f"model: {model_config}")
    print(f"training: {train_config}")
    metrics = trainer.run()
    if metrics["valid_ppl"] is not None:
        _save_encoder(spm_model)
    print(f"metrics: {os.path.join(FLAGS.save, 'metrics.json')}  curves: "
          f"{os.path.join(FLAGS.save, 'curves.png')}  tensorboard: {os.path.join(FLAGS.save, 'tb')}")
    if FLAGS.sample_words and metrics["valid_ppl"] is not None:
        sess, g, vocab = lm_training.open_best_model(FLAGS.save, batch_size=1)
        with sess:
            text = generation.sample_text(sess, g, vocab, FLAGS.sample_words,
                                          FLAGS.temperature, seed=train_config.seed,
                                          backward=train_config.backward)
        print(f"sample (temperature {FLAGS.temperature}):\n{text}")


def main(argv):
    del argv
    with script_support.errors_reported(lm_training.TrainingError, corpus.CorpusError):
        run()


if __name__ == "__main__":
    script_support.run(main)
