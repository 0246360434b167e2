"""The state dict inside a weights file, whatever wraps it.

    from awdrnn.weights import state_dicts
    weights = state_dicts.read_weights("models/lm.pth")
    weights.state_dict["0.encoder.weight"]      # NumPy array
    weights.container                           # "fastai Learner.save: {'model': ..., 'opt': ...}"

Accepted (the file's bytes decide, not its name):

* a `torch.save` file (`awdrnn.weights.torch_pickle`) holding
  - a state dict (`model.state_dict()`; fastai `save_encoder`, `learn.save(...,
    with_opt=False)`),
  - `{"model": state dict, "opt": ...}` (fastai `learn.save`; the optimizer
    state is not imported),
  - `[model, criterion, optimizer]` (salesforce awd-lstm-lm `main.py`), or a
    whole pickled model: the model's state dict is formed as
    `nn.Module.state_dict()` forms it, from the stored `_parameters`,
    `_buffers` and `_modules`;
* a NumPy `.npz` of the state dict's arrays (read with `allow_pickle=False`);
* a safetensors file (`awdrnn.weights.safetensors_file`).
"""

import collections
import dataclasses
import zipfile

import numpy as np

from awdrnn.weights import safetensors_file, torch_pickle
from awdrnn.weights.errors import WeightFileError
from awdrnn.weights.torch_pickle import StoredObject


@dataclasses.dataclass
class WeightsFile:
    """What `read_weights` found.

    Attributes:
      path: the file.
      format: "torch zip", "torch legacy", "npz" or "safetensors".
      container: what held the state dict, in words.
      state_dict: `OrderedDict` name -> NumPy array, in the file's order.
      model: the stored model (`StoredObject`) of a whole pickled model, else None.
      criterion: the stored criterion of a salesforce checkpoint, else None.
      ignored: what the file held besides the weights (e.g. "the optimizer state").
    """

    path: str
    format: str
    container: str
    state_dict: collections.OrderedDict
    model: StoredObject = None
    criterion: StoredObject = None
    ignored: list = dataclasses.field(default_factory=list)


def _is_array_dict(obj):
    return (isinstance(obj, dict) and bool(obj)
            and all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items()))


def is_module(obj):
    """Whether `obj` is a stored `torch.nn.Module` (has `_parameters` and `_modules`)."""
    return (isinstance(obj, StoredObject) and isinstance(obj.get("_parameters"), dict)
            and isinstance(obj.get("_modules"), dict))


def module_state_dict(module, prefix=""):
    """The state dict `torch.nn.Module.state_dict()` gives for a stored module:
    its parameters (those not None), its persistent buffers, then each
    submodule's, names joined with dots."""
    out = collections.OrderedDict()

    def walk(m, prefix):
        for name, value in m.get("_parameters").items():
            if value is not None:
                out[prefix + name] = _array(value, prefix + name)
        non_persistent = m.get("_non_persistent_buffers_set") or set()
        for name, value in (m.get("_buffers") or {}).items():
            if value is not None and name not in non_persistent:
                out[prefix + name] = _array(value, prefix + name)
        for name, child in m.get("_modules").items():
            if child is None:
                continue
            if not is_module(child):
                raise WeightFileError(f"submodule {prefix + name} is a {type(child).__name__}, "
                                      "not a stored torch.nn.Module: corrupt file.")
            walk(child, f"{prefix}{name}.")

    walk(module, prefix)
    return out


def _array(value, name):
    if not isinstance(value, np.ndarray):
        raise WeightFileError(f"parameter {name} is a {type(value).__name__}, not a tensor: "
                              "corrupt file.")
    return value


def read_weights(path):
    """The state dict of the weights file `path` (see the module docstring).

    Raises:
      ForbiddenPickle: a pickle naming a class or function not allowed.
      WeightFileError: an unreadable file, or one holding something else.
    """
    kind = torch_pickle.file_format(path)
    if kind == "zip" and _is_npz(path):
        with np.load(path, allow_pickle=False) as f:
            state = collections.OrderedDict((k, f[k]) for k in f.files)
        return WeightsFile(path, "npz", "a NumPy .npz of the state dict", _checked(state, path))
    if kind == "unknown" and safetensors_file.is_safetensors(path):
        return WeightsFile(path, "safetensors", "a safetensors state dict",
                           _checked(safetensors_file.load(path), path))
    obj = torch_pickle.load(path)
    if _is_array_dict(obj):
        return WeightsFile(path, kind, "a state dict", collections.OrderedDict(obj))
    if isinstance(obj, dict) and _is_array_dict(obj.get("model")):
        ignored = [f"{k!r} (the optimizer state)" if k == "opt" else repr(k)
                   for k in obj if k != "model"]
        return WeightsFile(path, kind, "fastai Learner.save: {'model': state dict, 'opt': ...}",
                           collections.OrderedDict(obj["model"]), ignored=ignored)
    if isinstance(obj, (list, tuple)) and obj and is_module(obj[0]):
        criterion = obj[1] if len(obj) > 1 and is_module(obj[1]) else None
        ignored = [f"{o.class_name} (the optimizer)" for o in obj[1:]
                   if isinstance(o, StoredObject) and ".optim." in o.class_name]
        return WeightsFile(path, kind, f"salesforce main.py: [model, criterion, optimizer] "
                           f"with model {obj[0].class_name}", module_state_dict(obj[0]),
                           model=obj[0], criterion=criterion, ignored=ignored)
    if is_module(obj):
        return WeightsFile(path, kind, f"a pickled model {obj.class_name}",
                           module_state_dict(obj), model=obj)
    raise WeightFileError(
        f"{path} holds a {_describe(obj)}; expected a state dict (name -> tensor), fastai's "
        "{'model': state dict, 'opt': ...}, or salesforce's [model, criterion, optimizer].")


def _describe(obj):
    if isinstance(obj, dict):
        return f"dict with keys {list(obj)[:5]}"
    if isinstance(obj, StoredObject):
        return f"{obj.class_name} object"
    return type(obj).__name__


def _is_npz(path):
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return bool(names) and all(n.endswith(".npy") for n in names)


def _checked(state, path):
    if not state:
        raise WeightFileError(f"{path} holds no tensors.")
    return collections.OrderedDict(state)
