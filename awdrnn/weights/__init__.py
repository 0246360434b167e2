"""Importing pretrained PyTorch weights (fastai ULMFiT / MultiFiT, salesforce
awd-lstm-lm) without PyTorch, exactly. See doc/weight_import.md.

    from awdrnn.weights import importer
    report = importer.import_weights("models/lm.pth", "runs/imported", vocab="models/itos.pkl")
    # runs/imported: a run folder (train_lm.py --init_from, evaluate.py) with encoder/

Modules: reading files (`torch_pickle`: `.pth` without PyTorch and without
running pickled code; `safetensors_file`; `state_dicts`: the state dict inside
a file), PyTorch's layer conventions and our variables (`pytorch_lm`), one
mapping per source (`fastai`, `salesforce`), vocabularies (`vocabulary`),
writing the awdrnn folder (`importer`), and the errors (`errors`).
"""

from awdrnn.weights import errors
from awdrnn.weights import fastai
from awdrnn.weights import importer
from awdrnn.weights import pytorch_lm
from awdrnn.weights import safetensors_file
from awdrnn.weights import salesforce
from awdrnn.weights import state_dicts
from awdrnn.weights import torch_pickle
from awdrnn.weights import vocabulary
from awdrnn.weights.importer import import_weights

__all__ = ["errors", "fastai", "import_weights", "importer", "pytorch_lm", "safetensors_file",
           "salesforce", "state_dicts", "torch_pickle", "vocabulary"]
