# Two commands for a newcomer:  `make demo`  and  `make test`.
# Both create ./.venv on first use with everything awdrnn needs (CPU TensorFlow).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TF_VERSION ?= 2.21.0
# The 2.21.0 wheel of tensorflow-text does not load (undefined symbol icudt77_dat);
# 2.21.1 loads with tensorflow-cpu 2.21.0.
TF_TEXT_VERSION ?= 2.21.1

.PHONY: demo test bench install tensorboard clean

$(VENV)/.installed: setup.py pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "tensorflow-cpu==$(TF_VERSION)"
	# tf-keras declares a dependency on the full `tensorflow` wheel; skip it.
	$(PY) -m pip install --quiet --no-deps "tf-keras==$(TF_VERSION)"
	# tensorflow-text (in-graph SentencePiece) names `tensorflow` too; skip it.
	$(PY) -m pip install --quiet --no-deps "tensorflow-text==$(TF_TEXT_VERSION)"
	# [examples]: matplotlib (curves.png), tensorboard (viewer of runs/*/tb; it does
	# not depend on tensorflow, so no second TensorFlow wheel is pulled) and
	# sentencepiece (examples/subwords.py); [text]: sentencepiece for awdrnn.text.
	$(PY) -m pip install --quiet -e ".[test,examples,text]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	rm -rf runs/demo  # the demo starts over each time (train_lm.py refuses a used folder)
	$(PY) examples/train_lm.py --save=runs/demo

# View the TensorBoard logs of the demo (or LOGDIR=runs/<name>/tb) at http://localhost:6006
LOGDIR ?= runs/demo/tb
tensorboard: $(VENV)/.installed
	$(VENV)/bin/tensorboard --logdir $(LOGDIR)

# The suite runs twice, in separate processes (disable_v2_behavior() is
# process-global): under TF2's graph defaults, then as a TF1 program
# (AWDRNN_TF1=1: tests/conftest.py calls tf.compat.v1.disable_v2_behavior()).
test: $(VENV)/.installed
	@echo "== tests, TF2 graph defaults"
	$(PY) -m pytest -q tests
	@echo "== tests, TF1: tf.compat.v1.disable_v2_behavior()"
	AWDRNN_TF1=1 $(PY) -m pytest -q tests

# The bench compares allocators when jemalloc is installed (apt-get install -y
# libjemalloc2) and PyTorch when it is in the venv (.venv/bin/pip install a CPU
# build of torch); it says which rows it skips and why.
bench: $(VENV)/.installed
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) runs
