"""`awdrnn`'s public names survive the move of its flat modules into subpackages
(kernels/, data/, training/, lm/): each name of the top-level `__all__` of
before the move is still importable as `from awdrnn import NAME` and is the
object from its new home; the old flat module paths are gone (no shims)."""

import importlib
import sys
from importlib.machinery import PathFinder

import pytest

import awdrnn

# name -> (new home module, attribute there; None: the name is that module).
# Written out from `awdrnn.__all__` as it was before the move.
PUBLIC = {
    "LMConfig": ("awdrnn.lm.model", "LMConfig"),
    "LanguageModel": ("awdrnn.lm.model", "LanguageModel"),
    "MaskUpdate": ("awdrnn.dropout_masks", "MaskUpdate"),
    "PersistentMask": ("awdrnn.dropout_masks", "PersistentMask"),
    "QRNNCell": ("awdrnn.qrnn_cell", "QRNNCell"),
    "QRNNStateTuple": ("awdrnn.qrnn_cell", "QRNNStateTuple"),
    "TrainConfig": ("awdrnn.lm.training", "TrainConfig"),
    "Trainer": ("awdrnn.lm.training", "Trainer"),
    "VariationalDropout": ("awdrnn.variational_dropout", "VariationalDropout"),
    "WeightDropLSTMCell": ("awdrnn.weight_drop_lstm", "WeightDropLSTMCell"),
    "asgd": ("awdrnn.training.asgd", None),
    "backward_lm": ("awdrnn.lm.backward", None),
    "bptt": ("awdrnn.data.bptt", None),
    "corpus": ("awdrnn.data.corpus", None),
    "dynamic_qrnn": ("awdrnn.qrnn_cell", "dynamic_qrnn"),
    "dynamic_rnn": ("awdrnn.kernels.fast_rnn", "dynamic_rnn"),
    "embedding_dropout": ("awdrnn.variational_dropout", "embedding_dropout"),
    "generation": ("awdrnn.lm.generation", None),
    "lm_graph": ("awdrnn.lm.graph", None),
    "lm_model": ("awdrnn.lm.model", None),
    "lm_training": ("awdrnn.lm.training", None),
    "locked_dropout": ("awdrnn.variational_dropout", "locked_dropout"),
    "presets": ("awdrnn.lm.presets", None),
    "regularizers": ("awdrnn.training.regularizers", None),
    "rnn_cell": ("awdrnn.rnn_cell", None),
    "synthetic_corpus": ("awdrnn.data.synthetic_corpus", None),
    "word_perplexity": ("awdrnn.lm.word_perplexity", None),
}

# Modules that were at awdrnn/ top level before the move, by their old names.
MOVED = ["allocator", "asgd", "backward_lm", "bptt", "checkpoint_files", "checkpoints",
         "clipping", "corpus", "encoder_io", "fast_rnn", "fused_lstm", "generation",
         "graph_context", "linear_scan", "lm_curves", "lm_errors", "lm_graph", "lm_model",
         "lm_training", "lm_vocab_remap", "presets", "regularizers", "synthetic_corpus",
         "word_perplexity"]


def test_all_still_lists_every_public_name():
    assert sorted(set(PUBLIC) - set(awdrnn.__all__)) == []
    assert awdrnn.__version__


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_name_is_the_object_from_its_new_home(name):
    home, attribute = PUBLIC[name]
    module = importlib.import_module(home)
    expected = module if attribute is None else getattr(module, attribute)
    namespace = {}
    exec(f"from awdrnn import {name}", namespace)  # what a user writes
    assert namespace[name] is expected
    assert getattr(awdrnn, name) is expected


@pytest.mark.parametrize("package", ["data", "kernels", "lm", "training"])
def test_subpackages_list_what_they_hold(package):
    module = importlib.import_module(f"awdrnn.{package}")
    assert module.__doc__ and module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, f"awdrnn.{package}.{name}"


@pytest.mark.parametrize("old", MOVED)
def test_old_flat_module_paths_are_gone(old):
    # Searched in the package's own folder: an editable install of another
    # checkout (its finder maps `awdrnn.*` there) must not answer for this one.
    assert PathFinder.find_spec("awdrnn." + old, awdrnn.__path__) is None
    assert "awdrnn." + old not in sys.modules
