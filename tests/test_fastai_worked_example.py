"""doc/weight_import.md's worked example, run as written: a fastai ULMFiT model ->
awdrnn run folder -> fine-tuned classifier -> SavedModel -> `saved_model_cli run`.

The block's first line (the reader's own files) is replaced by the fastai v2
language model of tests/fixtures/weights (written by real fastai 2.8.12,
tests/fixtures/make_import_fixtures.py) and a generated task in fastai's
tokens; every other line runs unchanged with bash, in a scratch folder that
sees the repository's examples/. The classifier must then answer through the
stock `saved_model_cli` with the probabilities the run's `Predictor` gives.

Broken on purpose to see this fail (then restored): the export without the
word table's initializer in its main op (`saved_model_cli` fails: table not
initialized), the in-graph tokenizer keeping fastai's leading xxbos (the
served probabilities differ from the Predictor's).
"""

import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import own_world_subprocess_tf1_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "doc", "weight_import.md")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "weights")
WORDS = "small mat the on dog under sat a cat tree bird big ran".split()  # the fixture's vocab
QUERY = "xxbos xxmaj a charming film"   # the text of the block's saved_model_cli line


def worked_example():
    """The lines of the sh block between `<!-- worked-example -->` markers,
    continuation lines joined."""
    text = open(DOC, encoding="utf-8").read()
    block = re.search(r"<!-- worked-example -->\n```sh\n(.*?)```\n<!-- /worked-example -->",
                      text, re.S)
    assert block, f"{DOC}: no ```sh block between <!-- worked-example --> markers"
    return block.group(1).replace("\\\n", " ").splitlines()


def _write_task(folder):
    """A task in fastai's tokens: "pos" when the sentence has "cat"."""
    rng = random.Random(0)
    os.makedirs(folder)
    for name, n in [("train", 240), ("dev", 60)]:
        with open(os.path.join(folder, f"{name}.tsv"), "w", encoding="utf-8") as f:
            f.write("sentence\tlabel\n")
            for _ in range(n):
                words = [rng.choice(WORDS) for _ in range(rng.randint(3, 8))]
                label = "pos" if "cat" in words else "neg"
                f.write("xxbos xxmaj " + " ".join(words) + f"\t{label}\n")


def _cli_array(output, key):
    match = re.search(rf"Result for output key {key}:\n(\[.*?\]\])", output, re.S)
    assert match, output[-2000:]
    return np.array(eval(re.sub(r"\s+", ",", match.group(1).replace("[ ", "["))))


@own_world_subprocess_tf1_run
def test_the_worked_example_runs_as_written(tmp_path):
    lines = worked_example()
    assert lines[0].startswith("FASTAI_LM=") and "saved_model_cli run" in lines[-1]
    assert QUERY in lines[-1]
    _write_task(str(tmp_path / "task"))
    os.symlink(os.path.join(ROOT, "examples"), tmp_path / "examples")
    lines[0] = (f"FASTAI_LM={FIXTURES}/fastai2_lm.pth ITOS={FIXTURES}/fastai2_itos.pkl "
                f"TASK={tmp_path}/task")
    env = {k: v for k, v in os.environ.items() if k != "AWDRNN_TF1"}
    env.update(PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3",
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    from awdrnn.tasks import predictor
    served = _cli_array(result.stdout, "probabilities")
    model = predictor.load(str(tmp_path / "runs" / "ulmfit_clas"))
    try:
        expected = model.predict([QUERY])[0]
    finally:
        model.close()
    names = open(tmp_path / "exports" / "ulmfit_clas" / "1" / "assets" / "labels.txt").read()
    want = [expected["probabilities"][name] for name in names.split()]
    np.testing.assert_allclose(served[0], want, atol=1e-5)
    assert os.path.isfile(tmp_path / "exports" / "ulmfit_clas" / "1" / "assets" / "words.txt")
    assert open(tmp_path / "runs" / "ulmfit_clas" / "words.txt").read().split()[:4] == [
        "xxunk", "xxpad", "xxbos", "xxeos"]


def test_a_word_vocabulary_without_fastai_tokens_is_refused(tmp_path):
    import scripts
    from awdrnn.data import corpus
    from awdrnn.lm import encoder_io, model as lm_model
    from awdrnn.serving import savedmodel_export

    vocab = ["<unk>", "<eos>", "the", "cat"]           # a PTB-style word LM's vocabulary
    folder = encoder_io.write_encoder(
        str(tmp_path / "ptb_encoder"), lm_model.LMConfig(vocab_size=4, emsize=4, nhid=4,
                                                          nlayers=1),
        {"embedding": np.zeros([4, 4], np.float32)}, corpus.Vocabulary(vocab))
    with pytest.raises(encoder_io.EncoderError, match="not fastai's special tokens"):
        savedmodel_export.export_savedmodel(folder, str(tmp_path / "export"))
    assert not (tmp_path / "export").exists()
    (tmp_path / "t.tsv").write_text("sentence\tlabel\nthe cat\t1\ncat\t0\n")
    result = subprocess.run(scripts.python_command(
        os.path.join(ROOT, "examples", "classifier.py"), f"--encoder={folder}",
        f"--train={tmp_path}/t.tsv", f"--valid={tmp_path}/t.tsv", f"--save={tmp_path}/run"),
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"))
    errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert result.returncode == 4 and len(errors) == 1, result.stderr[-2000:]
    assert "not fastai's special tokens" in errors[0]
    assert not (tmp_path / "run").exists()
