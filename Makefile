# Two commands for a newcomer:  `make demo`  and  `make test`.
# Both create ./.venv on first use with everything awdrnn needs (CPU TensorFlow).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TF_VERSION ?= 2.21.0
# The 2.21.0 wheel of tensorflow-text does not load (undefined symbol icudt77_dat);
# 2.21.1 loads with tensorflow-cpu 2.21.0.
TF_TEXT_VERSION ?= 2.21.1

.PHONY: demo test bench install clean

$(VENV)/.installed: setup.py pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "tensorflow-cpu==$(TF_VERSION)"
	# tf-keras declares a dependency on the full `tensorflow` wheel; skip it.
	$(PY) -m pip install --quiet --no-deps "tf-keras==$(TF_VERSION)"
	# tensorflow-text (in-graph SentencePiece) names `tensorflow` too; skip it.
	$(PY) -m pip install --quiet --no-deps "tensorflow-text==$(TF_TEXT_VERSION)"
	$(PY) -m pip install --quiet -e ".[test,examples,text]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	rm -rf runs/demo  # the demo starts over each time (train_lm.py refuses a used folder)
	$(PY) examples/train_lm.py --save=runs/demo

test: $(VENV)/.installed
	$(PY) -m pytest -q tests

# The bench compares allocators when jemalloc is installed (apt-get install -y
# libjemalloc2) and PyTorch when it is in the venv (.venv/bin/pip install a CPU
# build of torch); it says which rows it skips and why.
bench: $(VENV)/.installed
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) runs
