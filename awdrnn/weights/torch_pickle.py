"""PyTorch `.pth` files and other pickles read without PyTorch, running no pickled code.

    from awdrnn.weights import torch_pickle
    state = torch_pickle.load("models/lm.pth")   # fastai learn.save: {'model': ..., 'opt': ...}
    state["model"]["0.encoder.weight"].shape           # a NumPy array: (vocab, emb)
    itos = torch_pickle.load_pickle("itos.pkl")        # a plain pickle, the same rules

Formats of `torch.save`: the zip archive written since PyTorch 1.6
(`<name>/data.pkl` and one `<name>/data/<key>` entry of raw bytes per
storage, `<name>/byteorder`), and the legacy stream of earlier versions (and
of `_use_new_zipfile_serialization=False`): the magic number, the protocol
version and the system information as three small pickles, then the
object's pickle, the list of its storage keys, and each storage as an int64
element count followed by its bytes. The tar archives of PyTorch 0.1-0.3 are
refused with a message saying how to convert them.

Why the unpickler is restricted: a pickle is a program. Its GLOBAL opcode
imports any module by name, REDUCE calls what was imported (a file that names
`os.system` runs a shell command), BUILD calls an object's `__setstate__`;
`torch.load(weights_only=False)` does all of it. Here Python's own
pure-Python unpickler (`pickle._Unpickler`) runs with a narrowed dispatch
table:

* a global resolves only to our own stand-ins: NumPy versions of PyTorch's
  tensor rebuild functions (`ALLOWED_FUNCTIONS`), the storage and dtype names
  (`torch.FloatStorage`, `torch.float32`, ...), a few pure-data containers
  (`ALLOWED_CONTAINERS`), and for the classes of `KNOWN_CLASSES` (torch.nn and
  torch.optim classes, fastai's, salesforce awd-lstm-lm's and torchqrnn's
  `QRNNLayer`) an inert
  `StoredObject` that keeps the state the pickle gives it (an nn.Module's
  `__dict__`: `_parameters`, `_modules`, `_buffers`, attributes) and is never
  the class itself. Any other name raises `ForbiddenPickle` naming it; nothing
  is imported and nothing it names runs;
* REDUCE and NEWOBJ call only those stand-ins; BUILD fills only a
  `StoredObject` (or sets an `OrderedDict`'s attributes, as state dicts'
  `_metadata`); INST, OBJ and the extension-registry opcodes EXT1/2/4, which
  call classes found by name, are refused.

Tensors come back as NumPy arrays of their dtype (float32, float16, float64,
int64, int32, int16, int8, uint8, bool; bfloat16 as float32, which holds it
exactly), with storage offset and strides applied, each an independent copy.
Parameters come back as arrays too; an optimizer's per-parameter state
(keyed by parameter) as a `StoredMapping` of pairs.
"""

import collections
import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np

from awdrnn.weights.errors import ForbiddenPickle, WeightFileError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch.<Name>Storage -> element dtype ("bfloat16" is read as its 16-bit patterns).
STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "UntypedStorage": "uint8"}
# torch.<dtype> names (`_rebuild_tensor_v3` passes one).
TORCH_DTYPES = {
    "float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
    "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64",
    "long": "int64", "int32": "int32", "int": "int32", "int16": "int16", "short": "int16",
    "int8": "int8", "uint8": "uint8", "bool": "bool", "uint16": "uint16",
    "uint32": "uint32", "uint64": "uint64"}

# Classes whose instances are kept as `StoredObject`s (never imported, never called).
KNOWN_CLASSES = frozenset({
    # torch.nn modules and optimizers of whole pickled models (salesforce main.py)
    "torch.nn.modules.container.ModuleList", "torch.nn.modules.container.Sequential",
    "torch.nn.modules.sparse.Embedding", "torch.nn.modules.linear.Linear",
    "torch.nn.modules.rnn.LSTM", "torch.nn.modules.rnn.GRU",
    "torch.nn.modules.dropout.Dropout",
    "torch.optim.sgd.SGD", "torch.optim.asgd.ASGD", "torch.optim.adam.Adam",
    "torch.optim.adamw.AdamW",
    # salesforce awd-lstm-lm: model.py, weight_drop.py, locked_dropout.py, splitcross.py,
    # and data.py (its corpus cache corpus.<md5>.data holds the vocabulary)
    "model.RNNModel", "weight_drop.WeightDrop", "locked_dropout.LockedDropout",
    "splitcross.SplitCrossEntropyLoss", "data.Corpus", "data.Dictionary",
    # torchqrnn (salesforce pytorch-qrnn), the layers of main.py --model QRNN
    "torchqrnn.qrnn.QRNNLayer",
    # fastai v2: fastcore's list (optimizer hyper-parameters, vocabularies)
    "fastcore.foundation.L",
})

_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class StoredObject:
    """An instance of a `KNOWN_CLASSES` class as the pickle stored it.

    The class is not imported and nothing of it runs: this records its name
    and the state the pickle gave it.

    Attributes:
      class_name: "module.Class" as named in the pickle.
      state: what BUILD gave it (an nn.Module's `__dict__`), or `{}`.
      args: the arguments the pickle constructed it with (usually `()`).
    """

    class_name = None

    def __init__(self, args=()):
        self.state = {}
        self.args = tuple(args)

    def get(self, name, default=None):
        """`state[name]`, or `default`."""
        return self.state.get(name, default) if isinstance(self.state, dict) else default

    def __repr__(self):
        return f"StoredObject({self.class_name})"


_STAND_INS = {}


def _stand_in(class_name):
    if class_name not in _STAND_INS:
        _STAND_INS[class_name] = type(class_name.rsplit(".", 1)[1], (StoredObject,),
                                      {"class_name": class_name})
    return _STAND_INS[class_name]


class StoredMapping:
    """A `collections.defaultdict` the pickle filled, kept as `(key, value)` pairs:
    its keys may be arrays (torch optimizers key their state by parameter)."""

    def __init__(self, default_factory=None):
        self.default_factory = default_factory
        self.pairs = []

    def __setitem__(self, key, value):
        self.pairs.append((key, value))

    def __repr__(self):
        return f"StoredMapping({len(self.pairs)} pairs)"


class MethodReference:
    """What `builtins.getattr(obj, name)` names in a pickle (a bound method pickled
    by reference, e.g. salesforce WeightDrop's `flatten_parameters` stand-in);
    nothing is looked up."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __repr__(self):
        return f"MethodReference({self.name!r})"


class _StorageType:
    """What `torch.FloatStorage` & co. name in a pickle."""

    def __init__(self, torch_name, dtype):
        self.torch_name, self.dtype = torch_name, dtype


class _DType:
    """What `torch.float32` & co. name in a pickle."""

    def __init__(self, torch_name, dtype):
        self.torch_name, self.dtype = torch_name, dtype


def _defaultdict(default_factory=None, *args):
    return StoredMapping(default_factory)


def _getattr(obj, name):
    return MethodReference(obj, name)


# Pure-data constructors a pickle may call.
ALLOWED_CONTAINERS = {
    "collections.OrderedDict": collections.OrderedDict, "collections.defaultdict": _defaultdict,
    "collections.Counter": collections.Counter, "builtins.set": set,
    "builtins.frozenset": frozenset, "builtins.list": list, "builtins.dict": dict,
    "builtins.tuple": tuple, "builtins.getattr": _getattr, "torch.Size": tuple}
# The types NEWOBJ may instantiate (empty).
_NEWOBJ_TYPES = (collections.OrderedDict, collections.Counter, dict, list, set)


def _np_dtype(name, byteorder="<"):
    if name == "bfloat16":
        return np.dtype(f"{byteorder}u2")
    dtype = np.dtype(name)
    return dtype.newbyteorder(byteorder) if dtype.itemsize > 1 else dtype


class _Storage:
    """A storage's elements, `[numel]`, native byte order (bfloat16 as uint16 bits)."""

    def __init__(self, dtype_name, array):
        self.dtype_name, self.array = dtype_name, array


class _TensorBuilder:
    """NumPy stand-ins for PyTorch's rebuild functions; `source` names the file in
    errors. With `storages_known=False` (the first pass over a legacy file, before
    its storages are read) they return None."""

    def __init__(self, source):
        self.source = source
        self.storages_known = True

    def functions(self):
        return {"torch._utils._rebuild_tensor": self.rebuild_tensor,
                "torch._utils._rebuild_tensor_v2": self.rebuild_tensor_v2,
                "torch._utils._rebuild_tensor_v3": self.rebuild_tensor_v3,
                "torch._utils._rebuild_parameter": self.rebuild_parameter,
                "torch._utils._rebuild_parameter_with_state": self.rebuild_parameter_with_state}

    def rebuild_tensor(self, storage, storage_offset, size, stride):
        return self._tensor(storage, storage_offset, size, stride)

    def rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad,
                          backward_hooks, metadata=None):
        self._check_metadata(metadata)
        return self._tensor(storage, storage_offset, size, stride)

    def rebuild_tensor_v3(self, storage, storage_offset, size, stride, requires_grad,
                          backward_hooks, dtype, metadata=None):
        self._check_metadata(metadata)
        if not isinstance(dtype, _DType):
            raise WeightFileError(f"{self.source}: a tensor's dtype is {dtype!r}, not a "
                                  "torch dtype: corrupt file.")
        return self._tensor(storage, storage_offset, size, stride, dtype.dtype)

    @staticmethod
    def rebuild_parameter(data, requires_grad, backward_hooks):
        return data

    @staticmethod
    def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
        return data

    def _check_metadata(self, metadata):
        if metadata and any(metadata.values()):
            raise WeightFileError(f"{self.source}: a tensor has the lazy flags {metadata} "
                                  "(conjugate or negative view); materialise it with "
                                  "tensor.resolve_conj().resolve_neg() before saving.")

    def _tensor(self, storage, offset, size, stride, dtype_name=None):
        if not self.storages_known:
            return None
        if not isinstance(storage, _Storage):
            raise WeightFileError(f"{self.source}: a tensor's storage is {type(storage).__name__}, "
                                  "not a storage of the file: corrupt file.")
        flat = storage.array
        if dtype_name is not None and dtype_name != storage.dtype_name:
            # v3: an untyped (byte) storage seen as `dtype_name`
            if storage.dtype_name != "uint8" or flat.size % _np_dtype(dtype_name).itemsize:
                raise WeightFileError(f"{self.source}: a {dtype_name} tensor on a "
                                      f"{storage.dtype_name} storage: corrupt file.")
            flat = flat.view(_np_dtype(dtype_name, "="))
        dtype_name = dtype_name or storage.dtype_name
        size, stride = tuple(size), tuple(stride)
        ints = all(isinstance(n, int) and not isinstance(n, bool)
                   for n in size + stride + (offset,))
        if (not ints or len(size) != len(stride) or offset < 0 or min(size + (0,)) < 0
                or min(stride + (0,)) < 0):
            raise WeightFileError(f"{self.source}: a tensor has size {size}, stride {stride}, "
                                  f"offset {offset}: corrupt file.")
        if 0 in size:
            array = np.zeros(size, flat.dtype)
        else:
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= flat.size:
                raise WeightFileError(
                    f"{self.source}: a tensor of size {list(size)} (offset {offset}, stride "
                    f"{list(stride)}) reaches element {last} of a storage of {flat.size}: "
                    "corrupt or truncated file.")
            array = np.lib.stride_tricks.as_strided(
                flat[offset:], shape=size, strides=[s * flat.itemsize for s in stride]).copy()
        if dtype_name == "bfloat16":  # the top 16 bits of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array


class _RestrictedUnpickler(pickle._Unpickler):  # noqa: SLF001 (the pure-Python unpickler)
    """See the module docstring: only our stand-ins are ever resolved or called."""

    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: SLF001

    def __init__(self, file, source, builder, persistent_load=None):
        super().__init__(file, encoding="utf-8")
        self.source = source
        self._globals = dict(ALLOWED_CONTAINERS, **builder.functions())
        self._callables = {id(f) for f in self._globals.values()}
        self._persistent = persistent_load

    def find_class(self, module, name):
        module = _PY2_MODULES.get(module, module)
        full = f"{module}.{name}"
        if full in self._globals:
            return self._globals[full]
        if (module == "torch" and name in STORAGE_DTYPES) or full == "torch.storage.UntypedStorage":
            return _StorageType(name, STORAGE_DTYPES[name])
        if module == "torch" and name in TORCH_DTYPES:
            return _DType(name, TORCH_DTYPES[name])
        if full in KNOWN_CLASSES:
            return _stand_in(full)
        raise ForbiddenPickle(
            f"{full} is not allowed: {self.source} names it, and only tensors, storages, "
            "containers, numbers and strings, and the stored state of known model classes "
            "(torch.nn, torch.optim, fastai, salesforce awd-lstm-lm, torchqrnn) are read. "
            "Nothing was imported or run. If the file is yours, save a state dict instead: "
            "torch.save(model.state_dict(), path).")

    def persistent_load(self, pid):
        if self._persistent is None:
            raise ForbiddenPickle(f"{self.source}: a plain pickle with a persistent id "
                                  f"({pid!r}); only PyTorch files have those.")
        return self._persistent(pid)

    def _forbid(self, what):
        raise ForbiddenPickle(f"{self.source}: {what} is not allowed (it would call a class "
                              "found by name); nothing was imported or run.")

    def load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if isinstance(func, type) and issubclass(func, StoredObject):
            self.stack[-1] = func(args)
        elif id(func) in self._callables:
            self.stack[-1] = func(*args)
        else:
            raise ForbiddenPickle(f"{self.source}: calls {type(func).__name__} {func!r}, which "
                                  "is not an allowed constructor; nothing was run.")

    def _new(self, cls, args):
        if isinstance(cls, type) and issubclass(cls, StoredObject):
            self.append(cls(args))
        elif cls in _NEWOBJ_TYPES and not args:
            self.append(cls())
        else:
            raise ForbiddenPickle(f"{self.source}: creates an instance of {cls!r}, which is not "
                                  "an allowed class; nothing was run.")

    def load_newobj(self):
        args = self.stack.pop()
        self._new(self.stack.pop(), args)

    def load_newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        if kwargs:
            self._forbid("NEWOBJ_EX with keyword arguments")
        self._new(self.stack.pop(), args)

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, StoredObject):
            if isinstance(state, tuple) and len(state) == 2:   # (__dict__, slots)
                merged = dict(state[0] or {})
                merged.update(state[1] or {})
                state = merged
            inst.state = state
        elif (type(inst) is collections.OrderedDict and isinstance(state, dict)
              and all(isinstance(k, str) and not k.startswith("__") for k in state)):
            vars(inst).update(state)
        else:
            raise ForbiddenPickle(f"{self.source}: sets the state of a {type(inst).__name__}, "
                                  "which is not allowed; nothing was run.")

    def load_inst(self):
        self._forbid("the INST opcode")

    def load_obj(self):
        self._forbid("the OBJ opcode")

    def load_ext(self):
        self._forbid("an extension-registry opcode (EXT1/EXT2/EXT4)")

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.INST[0]] = load_inst
    dispatch[pickle.OBJ[0]] = load_obj
    for _opcode in (pickle.EXT1, pickle.EXT2, pickle.EXT4):
        dispatch[_opcode[0]] = load_ext
    del _opcode


def _unpickle(file, source, builder, persistent_load=None):
    try:
        return _RestrictedUnpickler(file, source, builder, persistent_load).load()
    except WeightFileError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, UnicodeDecodeError, struct.error, OverflowError, MemoryError,
            RecursionError) as e:
        raise WeightFileError(f"{source}: cannot read its pickle ({type(e).__name__}: {e}); "
                              "the file is truncated or corrupt, or not a pickle.") from None


def load_pickle(path):
    """The object of a plain pickle file (e.g. a fastai `itos` list), read with the
    restrictions above (no persistent ids: no tensors).

    Raises:
      ForbiddenPickle: the pickle names a class or function not allowed.
      WeightFileError: missing, truncated or corrupt file.
    """
    _check_file(path)
    with open(path, "rb") as f:
        return _unpickle(f, path, _TensorBuilder(path))


def _check_file(path):
    if not os.path.isfile(path):
        raise WeightFileError(f"{path} does not exist or is not a file.")


def file_format(path):
    """"torch zip", "torch legacy", "torch tar", "zip" (another zip archive, e.g.
    .npz), "pickle" or "unknown", from the file's first bytes."""
    _check_file(path)
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return "zip"
        return "torch zip" if _data_pickle(names) else "zip"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "torch tar"
    if head[:1] == b"\x80":
        return "torch legacy" if head[2:3] == b"\x8a" and len(head) > 3 else "pickle"
    return "unknown"


def _data_pickle(names):
    found = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
    return found[0] if len(found) == 1 else None


def load(path):
    """The object `torch.save` wrote to `path`, tensors as NumPy arrays.

    Raises:
      ForbiddenPickle: the pickle names a class or function not allowed.
      WeightFileError: not a PyTorch file, or a truncated or corrupt one.
    """
    kind = file_format(path)
    if kind == "torch zip":
        return _load_zip(path)
    if kind == "torch legacy":
        with open(path, "rb") as f:
            return _load_legacy(f, path)
    if kind == "torch tar":
        raise WeightFileError(
            f"{path} is in the tar format of PyTorch 0.1-0.3, which is not read; load it with "
            "such a PyTorch and save it again with torch.save (any version since 0.4).")
    if kind == "zip":
        raise WeightFileError(f"{path} is a zip archive without a PyTorch <name>/data.pkl "
                              "entry: truncated or corrupt, or not a PyTorch file.")
    if kind == "pickle":
        raise WeightFileError(f"{path} is a plain pickle, not a file of torch.save (which "
                              "starts with its magic number or is a zip archive).")
    raise WeightFileError(f"{path} is not a PyTorch file (neither a torch.save zip archive "
                          "nor its legacy format).")


def _load_zip(path):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise WeightFileError(f"{path}: cannot open the zip archive ({e}); the file is "
                              "truncated or corrupt.") from None
    with archive:
        names = set(archive.namelist())
        data_pkl = _data_pickle(names)
        prefix = data_pkl[:-len("data.pkl")]

        def read(name):
            try:
                return archive.read(name)
            except KeyError:
                raise WeightFileError(f"{path}: the archive has no entry {name}: truncated "
                                      "or corrupt file.") from None
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
                raise WeightFileError(f"{path}: entry {name} cannot be read ({e}): the file "
                                      "is truncated or corrupt.") from None

        byteorder = "<"
        if prefix + "byteorder" in names:
            order = read(prefix + "byteorder").decode("ascii", "replace").strip()
            if order not in ("little", "big"):
                raise WeightFileError(f"{path}: byteorder record {order!r}: corrupt file.")
            byteorder = "<" if order == "little" else ">"
        storages = {}

        def persistent_load(pid):
            if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                    and isinstance(pid[1], _StorageType)):
                raise WeightFileError(f"{path}: persistent id {pid!r} is not a storage: "
                                      "corrupt file.")
            _, storage_type, key, _location, numel = pid
            if key not in storages:
                dtype = _np_dtype(storage_type.dtype, byteorder)
                raw = read(f"{prefix}data/{key}")
                if not isinstance(numel, int) or len(raw) != numel * dtype.itemsize:
                    raise WeightFileError(
                        f"{path}: storage {key} has {len(raw)} bytes where {numel} "
                        f"{storage_type.dtype} elements need {numel * dtype.itemsize}: "
                        "truncated or corrupt file.")
                storages[key] = _Storage(storage_type.dtype,
                                         np.frombuffer(raw, dtype).astype(dtype.newbyteorder("=")))
            return storages[key]

        return _unpickle(io.BytesIO(read(data_pkl)), path, _TensorBuilder(path),
                         persistent_load)


def _load_legacy(f, path):
    builder = _TensorBuilder(path)
    magic = _unpickle(f, path, builder)
    if magic != LEGACY_MAGIC:
        raise WeightFileError(f"{path} is a pickle but not a file of torch.save (its first "
                              f"object is {type(magic).__name__}, not PyTorch's magic number).")
    version = _unpickle(f, path, builder)
    if version != LEGACY_PROTOCOL:
        raise WeightFileError(f"{path}: legacy PyTorch protocol {version!r}; only "
                              f"{LEGACY_PROTOCOL} is read.")
    info = _unpickle(f, path, builder)
    byteorder = "<" if not isinstance(info, dict) or info.get("little_endian", True) else ">"
    start = f.tell()
    # Pass 1: the storages the pickle names (their data follows the pickle).
    described = {}
    builder.storages_known = False
    _unpickle(f, path, builder, lambda pid: _legacy_id(pid, path, described, None))
    keys = _unpickle(f, path, builder)
    if not isinstance(keys, list) or any(k not in described for k in keys):
        raise WeightFileError(f"{path}: its list of storage keys does not match its pickle: "
                              "corrupt file.")
    storages = {}
    for key in keys:
        dtype_name, numel = described[key]
        dtype = _np_dtype(dtype_name, byteorder)
        header = f.read(8)
        if len(header) != 8:
            raise WeightFileError(f"{path}: ends before storage {key}: truncated file.")
        (count,) = struct.unpack(f"{byteorder}q", header)
        raw = f.read(count * dtype.itemsize) if 0 <= count <= numel else b""
        if count != numel or len(raw) != numel * dtype.itemsize:
            raise WeightFileError(f"{path}: storage {key} holds {len(raw) // dtype.itemsize} "
                                  f"of {numel} elements: truncated or corrupt file.")
        storages[key] = _Storage(dtype_name, np.frombuffer(raw, dtype).astype(
            dtype.newbyteorder("=")))
    # Pass 2: the pickle again, now with the storages' data.
    f.seek(start)
    builder.storages_known = True
    views = {}
    return _unpickle(f, path, builder, lambda pid: _legacy_id(pid, path, described,
                                                               (storages, views)))


def _legacy_id(pid, path, described, data):
    if isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "module":
        return pid[1]  # ("module", class, source file, source): the stand-in class
    if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"
            and isinstance(pid[1], _StorageType) and isinstance(pid[4], int)):
        raise WeightFileError(f"{path}: persistent id {pid!r} is not a storage: corrupt file.")
    _, storage_type, key, _location, numel, view = pid
    if described.setdefault(key, (storage_type.dtype, numel)) != (storage_type.dtype, numel):
        raise WeightFileError(f"{path}: storage {key} is described twice, differently: "
                              "corrupt file.")
    if data is None:
        return None
    storages, views = data
    root = storages[key]
    if view is None:
        return root
    view_key, offset, size = view
    if view_key not in views:
        if not (0 <= offset and offset + size <= root.array.size):
            raise WeightFileError(f"{path}: storage view {view_key} lies outside storage "
                                  f"{key}: corrupt file.")
        views[view_key] = _Storage(root.dtype_name, root.array[offset:offset + size])
    return views[view_key]
