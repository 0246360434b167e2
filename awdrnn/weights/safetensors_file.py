"""Reading a safetensors file (a state dict without pickle) into NumPy arrays.

    from awdrnn.weights import safetensors_file
    tensors = safetensors_file.load("model.safetensors")    # {name: np.ndarray}

The format (https://github.com/huggingface/safetensors, "Format"): an
unsigned little-endian 64-bit header length `N`, `N` bytes of UTF-8 JSON
`{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
"__metadata__": {...}}`, then the tensors' little-endian bytes, offsets
counted from the end of the header. It is parsed here in a few lines rather
than with the `safetensors` package: that would be a compiled dependency for
what NumPy does with `frombuffer`, and it needs a framework (or its own NumPy
binding) to hand arrays back anyway.
"""

import json
import os
import struct

import numpy as np

from awdrnn.weights.errors import WeightFileError

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "bfloat16", "I64": "<i8",
          "I32": "<i4", "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2",
          "U8": "u1", "BOOL": "?"}
MAX_HEADER = 100 * 1024 * 1024  # the format's own limit


def is_safetensors(path):
    """Whether `path` starts like a safetensors file (a sane header length, then `{`)."""
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= min(MAX_HEADER, os.path.getsize(path) - 8) and head[8:9] == b"{"


def load(path):
    """`{name: array}` of the safetensors file `path` (bfloat16 as float32).

    Raises:
      WeightFileError: not a safetensors file, or a truncated or corrupt one.
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise WeightFileError(f"{path}: {len(data)} bytes, too short for a safetensors file.")
    (n,) = struct.unpack("<Q", data[:8])
    if not 2 <= n <= min(MAX_HEADER, len(data) - 8):
        raise WeightFileError(f"{path}: header length {n} does not fit the file's "
                              f"{len(data)} bytes: truncated or corrupt safetensors file.")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WeightFileError(f"{path}: its header is not JSON ({e}): corrupt file.") from None
    if not isinstance(header, dict):
        raise WeightFileError(f"{path}: its header is not a JSON object: corrupt file.")
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], list(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise WeightFileError(f"{path}: entry {name!r} lacks dtype, shape or data_offsets: "
                                  "corrupt file.") from None
        if dtype not in DTYPES:
            raise WeightFileError(f"{path}: {name} has dtype {dtype!r}; read are "
                                  f"{sorted(DTYPES)}.")
        np_dtype = np.dtype("<u2" if dtype == "BF16" else DTYPES[dtype])
        numel = int(np.prod(shape, dtype=np.int64))
        if not (all(isinstance(d, int) and d >= 0 for d in shape)
                and 0 <= begin <= end <= len(body) and end - begin == numel * np_dtype.itemsize):
            raise WeightFileError(f"{path}: {name} (shape {shape}, {dtype}) has bytes "
                                  f"{begin}..{end} of {len(body)}: truncated or corrupt file.")
        array = np.frombuffer(body[begin:end], np_dtype).reshape(shape)
        array = array.astype(np_dtype.newbyteorder("="))
        if dtype == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = array
    return tensors
