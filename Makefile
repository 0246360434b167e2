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
	# sentencepiece (examples/subwords.py); [text]: sentencepiece for awdrnn.text;
	# [tasks]: seqeval and scipy for awdrnn.tasks.
	$(PY) -m pip install --quiet -e ".[test,examples,text,tasks]"
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
# process-global): under TF2's graph defaults, and as a TF1 program
# (AWDRNN_TF1=1: tests/conftest.py calls tf.compat.v1.disable_v2_behavior()).
# The two worlds run side by side (much of a test is single-threaded graph
# building, so two processes use the 2 cores better than one); the TF1 world's
# report is printed after the TF2 world's, and the target fails if either does.
PYTEST_ARGS ?= -q --durations=15 tests
test: $(VENV)/.installed
	@tf1_log=$$(mktemp); \
	AWDRNN_TF1=1 $(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS) >$$tf1_log 2>&1 & tf1=$$!; \
	trap 'kill $$tf1 2>/dev/null; rm -f $$tf1_log; exit 130' INT TERM; \
	echo "== tests, TF2 graph defaults (the TF1 world runs alongside; its report follows)"; \
	$(PY) -m pytest $(PYTEST_ARGS); tf2_rc=$$?; \
	wait $$tf1; tf1_rc=$$?; \
	echo "== tests, TF1: tf.compat.v1.disable_v2_behavior()"; cat $$tf1_log; rm -f $$tf1_log; \
	echo "== exit codes: TF2 world $$tf2_rc, TF1 world $$tf1_rc"; \
	test $$tf2_rc = 0 && test $$tf1_rc = 0

# The bench compares allocators when jemalloc is installed (apt-get install -y
# libjemalloc2) and PyTorch when it is in the venv (.venv/bin/pip install a CPU
# build of torch); it says which rows it skips and why.
bench: $(VENV)/.installed
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) runs
