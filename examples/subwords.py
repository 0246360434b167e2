r"""SentencePiece models for awdrnn: train, encode, decode, and optional cleanup.

    python examples/subwords.py train --input=../shared/data/wikitext-2/train.txt \
        --spm_model=runs/spm/wt2 --vocab_size=15000        # -> runs/spm/wt2.model, .vocab
    python examples/subwords.py encode --spm_model=runs/spm/wt2.model \
        --input=../shared/data/wikitext-2/valid.txt --output=runs/spm/valid.npz
    python examples/subwords.py decode --spm_model=runs/spm/wt2.model \
        --input=runs/spm/valid.npz --output=runs/spm/valid.txt
    python examples/subwords.py clean --input=raw.txt --output=clean.txt   # optional
    python examples/subwords.py column --input=sst2/train.tsv --column=sentence \
        --output=runs/sst2_text/train.txt       # a TSV column as raw text, a line per row

`train` takes `--model_type=unigram|bpe`, `--lower_case`,
`--character_coverage`, `--max_line_bytes` (a comma-separated `--input` trains
on several files). Special ids are unk 0, pad 1, bos 2, eos 3; `encode` wraps
each line in bos/eos and writes an `.npz` (`ids`, `offsets`) that
`awdrnn.text.subwords.load_ids` reads. Every output is written atomically.
Bad input (missing, empty or non-UTF-8 file, a line over `--max_line_bytes`,
a model with other special ids) prints one `error:` line; exit code 2.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_support  # noqa: E402

script_support.import_tensorflow()  # awdrnn.text imports TensorFlow
from absl import flags  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from awdrnn.text import cleanup, subwords, text_files, tsv_text  # noqa: E402

COMMANDS = ("train", "encode", "decode", "clean", "column")


def define_flags():
    """Defines the flags (only when run as a script, so tests can import it)."""
    flags.DEFINE_list("input", None, "Input file(s): text (train, encode, clean) or .npz "
                      "(decode).")
    flags.DEFINE_string("output", None, "Output file (encode: .npz; decode, clean: text).")
    flags.DEFINE_string("spm_model", None, "train: output prefix; encode/decode: the "
                        ".model file.")
    flags.DEFINE_integer("vocab_size", 15000, "Pieces, the 4 special ones included (train).")
    flags.DEFINE_enum("model_type", "unigram", list(subwords.MODEL_TYPES),
                      "Training algorithm.")
    flags.DEFINE_bool("lower_case", False, "Fold case (stored in the model).")
    flags.DEFINE_float("character_coverage", 0.99999, "Fraction of characters kept (train).")
    flags.DEFINE_integer("max_line_bytes", text_files.DEFAULT_MAX_LINE_BYTES,
                         "Longest line allowed, in UTF-8 bytes.")
    flags.DEFINE_bool("detokenize", True, "clean: put tokenized punctuation back in place.")
    flags.DEFINE_bool("split_sentences", True, "clean: one sentence per output line.")
    flags.DEFINE_string("column", "sentence", "column: the TSV column (named in the header "
                        "row) written as text.")


def _require(opts, *names):
    for name in names:
        if not getattr(opts, name):
            raise ValueError(f"--{name} is required for this command")


def run(command, opts):
    """Runs one command with the options `opts` (the flags, or any object with
    the same attributes); returns a JSON-able summary."""
    if command == "train":
        _require(opts, "input", "spm_model")
        model = subwords.train_model(
            opts.input, opts.spm_model, opts.vocab_size, opts.model_type,
            opts.character_coverage, opts.lower_case, opts.max_line_bytes)
        return {"model": f"{opts.spm_model}.model", "vocab_size": model.vocab_size}
    if command == "clean":
        _require(opts, "input", "output")
        lines = cleanup.clean_file(opts.input[0], opts.output, opts.detokenize,
                                   opts.split_sentences, opts.max_line_bytes)
        return {"output": opts.output, "lines": lines}
    if command == "column":
        _require(opts, "input", "output", "column")
        lines = tsv_text.write_column(opts.input[0], opts.column, opts.output,
                                      opts.max_line_bytes)
        return {"output": opts.output, "lines": lines}
    _require(opts, "input", "output", "spm_model")
    model = subwords.load_model(opts.spm_model)
    if command == "encode":
        ids = model.encode_file(opts.input[0], opts.max_line_bytes)
        subwords.save_ids(opts.output, ids)
        return {"output": opts.output, "lines": len(ids),
                "ids": int(sum(len(a) for a in ids))}
    try:
        ids = subwords.load_ids(opts.input[0])
    except (OSError, KeyError, ValueError) as e:
        raise text_files.TextError(f"{opts.input[0]}: not an .npz written by `encode` "
                                   f"({e})") from None
    text = "".join(model.decode(a) + "\n" for a in ids)
    with text_files.atomic_write(opts.output, "w") as f:
        f.write(text)
    return {"output": opts.output, "lines": len(ids)}


def main(argv):
    if len(argv) != 2 or argv[1] not in COMMANDS:
        print(f"error: give one command, one of {', '.join(COMMANDS)} (got "
              f"{' '.join(argv[1:]) or 'none'})", file=sys.stderr)
        sys.exit(2)
    with script_support.errors_reported(ValueError):  # TextError is a ValueError too
        summary = run(argv[1], flags.FLAGS)
    print(json.dumps(summary))


if __name__ == "__main__":
    define_flags()
    script_support.run(main)
