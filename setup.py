"""Installs awdrnn. TensorFlow comes from an extra so CPU users can pick the
small `tensorflow-cpu` wheel; see README "Install"."""

from setuptools import find_packages, setup

TF_RANGE = ">=2.16,<2.22"
# awdrnn.text: SentencePiece below 0.2.2, whose Viterbi breaks equal-score ties
# unlike the copy built into tensorflow-text 2.21, so ids would differ between
# the Python and the in-graph tokenizer on strings such as "1,000" (doc/subwords.md).
SENTENCEPIECE = "sentencepiece>=0.1.99,<0.2.2"

setup(
    name="awdrnn",
    version="0.1.0",
    description=("Regularised recurrent networks (AWD-LSTM, ULMFiT, MultiFiT) for "
                 "TensorFlow tf.compat.v1 graphs: weight-dropped LSTM, QRNN, "
                 "variational dropout, and the language-model training recipe."),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["awdrnn", "awdrnn.*"]),
    python_requires=">=3.9",
    install_requires=["numpy>=1.23", "absl-py>=1.0"],
    extras_require={
        # Full TensorFlow (GPU-capable on Linux) and the legacy cells.
        "tf": [f"tensorflow{TF_RANGE}", f"tf-keras{TF_RANGE}"],
        # CPU-only: tensorflow-cpu; tf-keras must then be installed with
        # `pip install --no-deps tf-keras`, since its metadata names `tensorflow`.
        "cpu": [f"tensorflow-cpu{TF_RANGE}"],
        # curves.png, TensorBoard to view the tb/ logs (tensorboard does not
        # depend on tensorflow, so tensorflow-cpu stays the only TensorFlow), and
        # sentencepiece for examples/subwords.py.
        "examples": ["matplotlib>=3.5", f"tensorboard{TF_RANGE}", SENTENCEPIECE],
        # awdrnn.text (subwords). Its in-graph tokenizer also needs tensorflow-text
        # of TensorFlow's version: with full TensorFlow `pip install
        # tensorflow-text==<that version>`; beside tensorflow-cpu install it with
        # --no-deps, since its metadata names `tensorflow` (see the Makefile).
        "text": [SENTENCEPIECE],
        # awdrnn.tasks: entity-level F1 as conlleval computes it (seqeval) and
        # Pearson / Spearman correlations (scipy); doc/tasks.md says why these.
        "tasks": ["seqeval>=1.2", "scipy>=1.9"],
        "test": ["pytest>=7"],
    },
)
