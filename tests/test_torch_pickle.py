"""Reading PyTorch files without PyTorch (`awdrnn.weights.torch_pickle`), the
state dict inside them (`state_dicts`) and safetensors (`safetensors_file`).

The PyTorch files are real: written by PyTorch 2.14.1, fastai, the
salesforce reference and torchqrnn by `tests/fixtures/make_import_fixtures.py` (its
docstring says exactly how); no PyTorch is needed here. The hostile pickles
are built in the tests with Python's own pickler.

* Every dtype and layout `torch.save` writes, zip and legacy format: values,
  dtypes and shapes equal PyTorch's own `.numpy()` (transposed and sliced
  views with storage offsets, strides, a stride-0 expansion, float16/64,
  bfloat16, ints, bool, uint16, 0-d, empty, a Parameter, nested containers).
* A whole pickled salesforce model keeps its modules' state (LSTM, and
  QRNN with torchqrnn's `QRNNLayer` as a record, torchqrnn never imported);
  fastai v2's optimizer state (fastcore `L`) is read.
* A pickle naming anything not allowed (`os.system`, a module that writes a
  file when imported, `builtins.eval`) raises `ForbiddenPickle` naming it,
  and the module is not imported, nothing runs; so do BUILD on a function,
  INST and calling something found on the stack.
* Truncated, corrupted (flipped bytes) and foreign files raise
  `WeightFileError` saying so.

Deliberate breakages seen to fail here: strides ignored (`reshape` of the
storage from the offset), storage offset ignored, bfloat16 not shifted,
legacy storages read without their int64 count, `builtins.getattr` resolved to
the real `getattr`, BUILD allowed on any object, torchqrnn's QRNNLayer taken out
of the known classes.
"""

import os
import pickle
import shutil
import struct
import sys
import zipfile

import numpy as np
import pytest

from awdrnn.weights import safetensors_file, state_dicts, torch_pickle
from awdrnn.weights.errors import ForbiddenPickle, WeightFileError
from awdrnn.weights.torch_pickle import StoredMapping, StoredObject

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "weights")


def fixture(name):
    return os.path.join(FIXTURES, name)


@pytest.mark.parametrize("name", ["tensors.pth", "tensors_legacy.pth"])
def test_every_dtype_and_layout_equals_pytorchs_arrays(name):
    loaded = torch_pickle.load(fixture(name))
    with np.load(fixture("tensors_expected.npz")) as f:
        expected = {k: f[k] for k in f.files}
    if name == "tensors_legacy.pth":
        del expected["uint16"]               # not in the legacy file (see the generator)
    assert sorted(k for k, v in loaded.items() if isinstance(v, np.ndarray)) == sorted(expected)
    for key, value in expected.items():
        assert loaded[key].dtype == value.dtype, key
        assert loaded[key].shape == value.shape, key
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
    assert loaded["nested"] == [(1, "a", None), {"x": 2.5, "y": True}]
    assert torch_pickle.file_format(fixture(name)) == (
        "torch zip" if name == "tensors.pth" else "torch legacy")


def test_arrays_are_independent_copies():
    loaded = torch_pickle.load(fixture("tensors.pth"))
    before = loaded["transposed"].copy()
    loaded["contiguous"][:] = 0          # shares a storage with "transposed" in the file
    np.testing.assert_array_equal(loaded["transposed"], before)


@pytest.mark.parametrize("name", ["salesforce_lstm.pt", "salesforce_lstm_legacy.pt"])
def test_whole_salesforce_model_keeps_its_modules_state(name):
    model, criterion, optimizer = torch_pickle.load(fixture(name))
    assert model.class_name == "model.RNNModel" and isinstance(model, StoredObject)
    assert model.get("rnn_type") == "LSTM" and model.get("tie_weights") is True
    rnn = model.get("_modules")["rnns"].get("_modules")["0"]
    assert rnn.class_name == "weight_drop.WeightDrop" and rnn.get("dropout") == 0.3
    lstm = rnn.get("_modules")["module"]
    assert lstm.class_name == "torch.nn.modules.rnn.LSTM"
    assert lstm.get("_parameters")["weight_hh_l0_raw"].shape == (48, 12)
    assert criterion.class_name == "splitcross.SplitCrossEntropyLoss"
    assert optimizer.class_name == "torch.optim.sgd.SGD"
    assert isinstance(optimizer.get("state"), StoredMapping)    # keyed by parameters
    state = state_dicts.read_weights(fixture(name))
    assert list(state.state_dict)[:3] == ["encoder.weight", "rnns.0.module.weight_ih_l0",
                                          "rnns.0.module.bias_ih_l0"]
    # tied: the decoder's weight is the embedding's Parameter
    assert state.state_dict["decoder.weight"] is state.state_dict["encoder.weight"]


def test_salesforce_qrnn_model_keeps_torchqrnns_layer_state_without_importing_it():
    sys.modules.pop("torchqrnn", None)
    model, _, _ = torch_pickle.load(fixture("salesforce_qrnn.pt"))
    assert "torchqrnn" not in sys.modules
    assert model.get("rnn_type") == "QRNN"
    layers = model.get("_modules")["rnns"].get("_modules")
    assert [layers[l].class_name for l in "012"] == ["torchqrnn.qrnn.QRNNLayer"] * 3
    assert [layers[l].get("window") for l in "012"] == [2, 1, 1]
    first = layers["0"]
    assert (first.get("zoneout"), first.get("output_gate"), first.get("save_prev_x")) == (
        0, True, True)
    assert first.get("prevX").shape == (1, 10, 8)     # the last validation batch's input
    linear = first.get("_modules")["linear"]
    assert linear.class_name == "weight_drop.WeightDrop" and linear.get("dropout") == 0.3
    parameters = linear.get("_modules")["module"].get("_parameters")
    assert parameters["weight_raw"].shape == (36, 16)
    # the evaluation pass set `weight` to the raw Parameter itself (see salesforce.py)
    assert parameters["weight"] is parameters["weight_raw"]


def test_fastai_v2_learner_file_with_fastcore_list_in_its_optimizer_state():
    obj = torch_pickle.load(fixture("fastai2_lm.pth"))
    assert sorted(obj) == ["model", "opt"]
    assert isinstance(obj["opt"]["hypers"], StoredObject)
    assert obj["opt"]["hypers"].class_name == "fastcore.foundation.L"
    weights = state_dicts.read_weights(fixture("fastai2_lm.pth"))
    assert weights.container.startswith("fastai Learner.save")
    assert weights.state_dict["0.encoder.weight"].shape == (24, 8)


def test_npz_and_safetensors_give_the_same_state_dict():
    pth = state_dicts.read_weights(fixture("fastai2_lm.pth")).state_dict
    for name, kind in (("fastai2_lm.npz", "npz"), ("fastai2_lm.safetensors", "safetensors")):
        other = state_dicts.read_weights(fixture(name))
        assert other.format == kind
        assert sorted(other.state_dict) == sorted(pth)
        for key, value in pth.items():
            np.testing.assert_array_equal(other.state_dict[key], value, err_msg=f"{name} {key}")


# --- hostile pickles -------------------------------------------------------------------


class _Reduce:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


PROBE_MODULE = "awdrnn_import_probe_module"


@pytest.fixture
def probe_module(tmp_path, monkeypatch):
    """A module that writes `marker` when imported; `boom()` writes it too."""
    marker = tmp_path / "marker"
    (tmp_path / f"{PROBE_MODULE}.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n"
        f"def boom(*args):\n    open({str(marker)!r}, 'w').write('called')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(PROBE_MODULE, None)
    return marker


def _pickle_calling(module, name):
    """Protocol-2 pickle bytes that call `module.name("x")`."""
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X\x01\x00\x00\x00x\x85R."


def test_a_module_not_allowed_is_not_imported_and_not_run(probe_module, tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(_pickle_calling(PROBE_MODULE, "boom"))
    with pytest.raises(ForbiddenPickle, match=f"{PROBE_MODULE}.boom is not allowed"):
        torch_pickle.load_pickle(str(path))
    assert not probe_module.exists()
    assert PROBE_MODULE not in sys.modules
    # The pickle is live: Python's own unpickler imports the module and calls boom.
    try:
        assert pickle.loads(path.read_bytes()) is None  # noqa: S301
        assert probe_module.read_text() == "called"
    finally:
        sys.modules.pop(PROBE_MODULE, None)


def test_os_system_in_a_torch_file_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "marker"
    evil = pickle.dumps(_Reduce(os.system, f"touch {marker}"), protocol=2)
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(fixture("fastai2_encoder.pth")) as src, \
            zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = evil if item.filename.endswith("/data.pkl") else src.read(item)
            dst.writestr(item, data)
    with pytest.raises(ForbiddenPickle, match=rf"{os.system.__module__}\.system is not allowed"):
        state_dicts.read_weights(str(path))
    assert not marker.exists()


@pytest.mark.parametrize("data,fragment", [
    (_pickle_calling("builtins", "eval"), "builtins.eval is not allowed"),
    (b"\x80\x02csubprocess\nPopen\n)R.", "subprocess.Popen is not allowed"),
    (b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n)R.",
     "torch._tensor._rebuild_from_type_v2 is not allowed"),
    # BUILD on one of our own functions (would set its attributes)
    (b"\x80\x02ctorch._utils\n_rebuild_parameter\n}X\x0c\x00\x00\x00__defaults__)sb.",
     "sets the state of a function"),
    # INST: instantiate a class found by name (protocol 0)
    (b"(ibuiltins\nset\n.", "the INST opcode is not allowed"),
    # calling a value that is not an allowed constructor (a string)
    (b"\x80\x02X\x01\x00\x00\x00a)R.", "which is not an allowed constructor"),
    # a persistent id in a plain pickle
    (b"\x80\x02X\x01\x00\x00\x00aQ.", "a plain pickle with a persistent id"),
])
def test_forbidden_pickles(tmp_path, data, fragment):
    path = tmp_path / "x.pkl"
    path.write_bytes(data)
    with pytest.raises(ForbiddenPickle, match=fragment):
        torch_pickle.load_pickle(str(path))


def test_getattr_names_a_method_without_looking_it_up(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(_Reduce(getattr, "text", "upper"), protocol=2))
    ref = torch_pickle.load_pickle(str(path))
    assert isinstance(ref, torch_pickle.MethodReference) and ref.name == "upper"


# --- bad files -------------------------------------------------------------------------


def _copy(tmp_path, name):
    path = tmp_path / name
    shutil.copyfile(fixture(name), path)
    return path


@pytest.mark.parametrize("name", ["fastai2_lm.pth", "salesforce_lstm_legacy.pt"])
def test_truncated_files(tmp_path, name):
    path = _copy(tmp_path, name)
    data = path.read_bytes()
    for keep in (len(data) // 2, len(data) - 10):
        path.write_bytes(data[:keep])
        with pytest.raises(WeightFileError, match="truncated|corrupt"):
            torch_pickle.load(str(path))


def test_flipped_bytes_in_a_storage_are_caught(tmp_path):
    path = _copy(tmp_path, "fastai2_encoder.pth")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(next(n for n in archive.namelist() if n.endswith("/data/0")))
    data = bytearray(path.read_bytes())
    header = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[header + 26:header + 30])
    start = header + 30 + name_len + extra_len      # the entry's first data byte
    data[start:start + 4] = bytes(255 - b for b in data[start:start + 4])
    path.write_bytes(bytes(data))
    with pytest.raises(WeightFileError, match="truncated or corrupt"):
        torch_pickle.load(str(path))


def test_truncated_pickle_inside_a_valid_archive(tmp_path):
    path = tmp_path / "cut.pth"
    with zipfile.ZipFile(fixture("fastai2_encoder.pth")) as src, \
            zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            cut = item.filename.endswith("data.pkl")
            dst.writestr(item, data[:len(data) // 2] if cut else data)
    with pytest.raises(WeightFileError, match="cannot read its pickle"):
        torch_pickle.load(str(path))


@pytest.mark.parametrize("content,fragment", [
    (b"", "not a PyTorch file"),
    (b"hello, not weights\n" * 10, "not a PyTorch file"),
    (pickle.dumps(["a", "b"], protocol=2), "not a file of torch.save"),
    (pickle.dumps(["a", "b"], protocol=4), "a plain pickle"),
])
def test_files_that_are_not_pytorch_files(tmp_path, content, fragment):
    path = tmp_path / "x.pth"
    path.write_bytes(content)
    with pytest.raises(WeightFileError, match=fragment):
        torch_pickle.load(str(path))


def test_a_missing_file():
    with pytest.raises(WeightFileError, match="does not exist"):
        state_dicts.read_weights("/nonexistent/lm.pth")


def test_a_file_holding_something_else(tmp_path):
    path = tmp_path / "x.pth"
    with zipfile.ZipFile(fixture("tensors.pth")) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("data.pkl"):
                data = pickle.dumps([1, 2, 3], protocol=2)
            dst.writestr(item, data)
    with pytest.raises(WeightFileError, match="holds a list; expected a state dict"):
        state_dicts.read_weights(str(path))


def test_corrupt_safetensors(tmp_path):
    data = open(fixture("fastai2_lm.safetensors"), "rb").read()
    path = tmp_path / "x.safetensors"
    path.write_bytes(data[:-100])
    with pytest.raises(WeightFileError, match="truncated or corrupt"):
        safetensors_file.load(str(path))
    bad_header = bytearray(data)
    bad_header[8] = ord("[")
    path.write_bytes(bytes(bad_header))
    with pytest.raises(WeightFileError, match="not JSON|not a JSON object"):
        safetensors_file.load(str(path))


def test_the_restricted_unpickler_reads_protocol_5_plain_pickles(tmp_path):
    path = tmp_path / "itos.pkl"
    words = ["xxunk", "xxpad"] + [f"w{i}" for i in range(300)]
    path.write_bytes(pickle.dumps(words, protocol=5))
    assert torch_pickle.load_pickle(str(path)) == words
    assert torch_pickle.load_pickle(fixture("fastai1_itos.pkl"))[:2] == ["xxunk", "xxpad"]
