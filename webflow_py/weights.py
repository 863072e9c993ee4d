"""Weight shards: the writer and the reader, a symmetric pair (docs/FORMAT.md).

All weights form one byte stream, cut into shards of `shard_size` bytes; a weight's `offset`
is its place in that stream, so a large weight may span shards. Every weight starts at a
multiple of 4 bytes so the browser can view it as a Float32Array without a copy.
float32 weights may be stored as float16 or as int8 with one symmetric float32 scale per
channel; readers always hand back float32. The low-precision dtypes (bfloat16, float8, int4,
...) are stored as dtypes.py says: codes, little-endian, one sub-byte value per byte.
"""

import hashlib
import os
import struct

from .dtypes import DTYPES, numpy_dtype
from .errors import ShardError
from .format import ShardInfo, WeightEntry, stored_nbytes, _pad4
from ._np import np, require_numpy

DEFAULT_SHARD_SIZE = 4 * 1024 * 1024


def shard_file_name(i, n):
    return f"group1-shard{i + 1}of{n}.bin"


class ShardWriter:
    """Streams weights into shards as they are added, so conversion holds one weight at a time."""

    def __init__(self, out_dir, shard_size=DEFAULT_SHARD_SIZE):
        if shard_size < 1024:
            raise ValueError(f"shard size {shard_size} is too small (at least 1 KiB)")
        self.out_dir = out_dir
        self.shard_size = shard_size
        self.entries = []
        self._parts = []  # [(tmp path, bytes, sha256 obj)]
        self._file = None
        self._offset = 0

    def _write(self, data):
        data = memoryview(data).cast("B")
        while len(data):
            if self._file is None or self._parts[-1][1] == self.shard_size:
                self._open_next()
            path, n, sha = self._parts[-1]
            take = min(len(data), self.shard_size - n)
            self._file.write(data[:take])
            sha.update(data[:take])
            self._parts[-1] = (path, n + take, sha)
            self._offset += take
            data = data[take:]

    def _open_next(self):
        if self._file:
            self._file.close()
        path = os.path.join(self.out_dir, f".shard{len(self._parts)}.tmp")
        self._file = open(path, "wb")
        self._parts.append((path, 0, hashlib.sha256()))

    def add(self, name, array, storage=None, quant_axis=0):
        """Write one constant; returns its WeightEntry. `storage`: None, "float16" or "int8"."""
        np_ = require_numpy("writing weights")
        a = np_.ascontiguousarray(array)
        dtype = "bool" if a.dtype == np_.bool_ else a.dtype.name
        if dtype not in DTYPES:
            raise ShardError(f"weight {name!r}: dtype {dtype} cannot be stored")
        if storage and dtype != "float32":
            storage = None  # only float32 weights are quantized; others stay exact
        if storage == "int8" and a.ndim == 0:
            storage = "float16"
        e = WeightEntry(name, dtype, tuple(int(d) for d in a.shape), storage=storage)
        e.offset = self._offset
        if storage == "int8":
            e.quant_axis = quant_axis
            q, scales = quantize_int8(a, quant_axis)
            self._write(q.tobytes() + b"\0" * (_pad4(q.size) - q.size))
            self._write(scales.astype("<f4").tobytes())
        elif storage == "float16":
            self._write(a.astype("<f2").tobytes())
        elif storage is None:
            self._write(_encode(a, dtype).tobytes())
        else:
            raise ShardError(f"weight {name!r}: unknown storage {storage!r} (float16 or int8)")
        e.nbytes = self._offset - e.offset
        assert e.nbytes == stored_nbytes(e)
        self._write(b"\0" * (_pad4(self._offset) - self._offset))
        self.entries.append(e)
        return e

    def close(self):
        """Rename the parts to their final names; returns [ShardInfo]."""
        if self._file:
            self._file.close()
            self._file = None
        n = len(self._parts)
        shards = []
        for i, (path, nbytes, sha) in enumerate(self._parts):
            name = shard_file_name(i, n)
            os.replace(path, os.path.join(self.out_dir, name))
            shards.append(ShardInfo(name, nbytes, sha.hexdigest()))
        return shards


def quantize_int8(a, axis):
    """Per-channel symmetric int8, s = max|a| / 127 over all but `axis`, rounded so that every
    channel's rounding errors sum to at most half a step (see _balanced_round)."""
    np_ = require_numpy("int8 quantization")
    axis = axis % a.ndim
    red = tuple(i for i in range(a.ndim) if i != axis)
    amax = np_.abs(a).max(axis=red, keepdims=True) if a.size else np_.zeros([1] * a.ndim)
    scale = np_.where(amax > 0, amax / 127.0, 1.0).astype(np_.float32)
    v = np_.moveaxis(a / scale, axis, 0)
    q = _balanced_round(v.reshape(v.shape[0], -1)).reshape(v.shape)
    return np_.moveaxis(q, 0, axis).astype(np_.int8), scale.reshape(-1)


def _balanced_round(v):
    """Round each row of `v` (values in [-127, 127]) to integers whose sum is the row's sum
    rounded: round to nearest, then move the k elements nearest the rounding boundary to their
    other neighbour, k = round(sum of the errors).

    Why: a kernel's output is sum(w_i * x_i) and neighbouring inputs (pixels, post-ReLU channels)
    share a large common part, so errors that cancel within a row hurt far less than their sum,
    which round-to-nearest lets grow like sqrt(n) steps. On EfficientNet-Lite0 this cut the
    logits' mean squared error 4x (docs/QUANTIZATION.md) for at most one step per element.
    """
    np_ = require_numpy("int8 quantization")
    q = np_.round(v)
    err = q - v  # in [-0.5, 0.5]
    k = np_.round(err.sum(axis=1)).astype(np_.int64)  # > 0: rounded up too often
    if not k.any():
        return q
    rows = np_.nonzero(k)[0]
    q_, err_, k_ = q[rows], err[rows], k[rows, None]
    # rows with k > 0 lower their k most rounded-up elements, rows with k < 0 raise theirs;
    # at the clip bounds an element cannot move outward, so it sorts last
    key = err_
    key *= -np_.sign(k_).astype(key.dtype)
    key[((k_ > 0) & (q_ <= -127)) | ((k_ < 0) & (q_ >= 127))] = np_.inf
    kmax = int(np_.abs(k_).max())  # at most n/2: only these few per row need ordering
    first = np_.argpartition(key, kmax - 1, axis=1)[:, :kmax] if kmax < key.shape[1] else np_.argsort(key, axis=1)
    first = np_.take_along_axis(first, np_.argsort(np_.take_along_axis(key, first, 1), axis=1, kind="stable"), 1)
    take = (np_.arange(kmax)[None, :] < np_.abs(k_)) & np_.isfinite(np_.take_along_axis(key, first, 1))
    move = np_.zeros(key.shape, bool)
    np_.put_along_axis(move, first, take, axis=1)
    q_ -= np_.sign(k_).astype(q_.dtype) * move
    q[rows] = q_
    return q


def read_shards(spec, loader):
    """Fetch every shard, check its size and sha256, return the concatenated stream."""
    parts = []
    for s in spec.shards:
        data = loader.read_bytes(s.file)
        where = loader.describe(s.file)
        if len(data) != s.nbytes:
            raise ShardError(f"{where}: shard is {len(data)} bytes, model.json says {s.nbytes} (truncated or wrong file)")
        got = hashlib.sha256(data).hexdigest()
        if got != s.sha256:
            raise ShardError(f"{where}: sha256 mismatch: model.json says {s.sha256}, the file hashes to {got}")
        parts.append(data)
    return b"".join(parts)


def decode_weight(e, stream):
    """One weight as a float32 (or its own dtype) numpy array."""
    np_ = require_numpy("decoding weights")
    if e.value is not None:
        return np_.array(e.value, dtype=numpy_dtype(e.dtype)).reshape(e.shape)
    raw = stream[e.offset:e.offset + e.nbytes]
    if e.storage == "int8":
        n = e.size
        q = np_.frombuffer(raw, np_.int8, n)
        scales = np_.frombuffer(raw, "<f4", e.shape[e.quant_axis], _pad4(n))
        shape = [1] * len(e.shape)
        shape[e.quant_axis] = -1
        return (q.reshape(e.shape).astype(np_.float32) * scales.reshape(shape)).astype(np_.float32)
    if e.storage == "float16":
        return np_.frombuffer(raw, "<f2").astype(np_.float32).reshape(e.shape)
    return _decode(raw, e.dtype).reshape(e.shape)


def _stored_dtype(dtype):
    """The numpy dtype of the stored elements: little-endian; ml_dtypes dtypes as int8 (signed
    sub-byte ints) or unsigned ints of their width (codes)."""
    np_ = require_numpy("weights")
    d = DTYPES[dtype]
    if d.lib == "numpy":
        return np_.dtype(dtype).newbyteorder("<") if dtype != "bool" else np_.dtype(np_.bool_)
    if d.kind == "float":
        return np_.dtype(f"<u{max(d.bits, 8) // 8}")
    return np_.dtype(np_.int8 if d.kind == "int" else np_.uint8)


def _encode(a, dtype):
    stored = _stored_dtype(dtype)
    d = DTYPES[dtype]
    if d.lib == "ml_dtypes" and d.kind == "float":
        code = a.view(stored.newbyteorder("="))
        return (code & 0x0F if d.bits == 4 else code).astype(stored)
    return a.astype(stored)


def _decode(raw, dtype):
    np_ = require_numpy("decoding weights")
    stored = _stored_dtype(dtype)
    d = DTYPES[dtype]
    a = np_.frombuffer(raw, stored)
    if d.lib == "ml_dtypes" and d.kind == "float":
        code = a.astype(stored.newbyteorder("="))
        return (code & 0x0F if d.bits == 4 else code).view(numpy_dtype(dtype))
    return a.astype(numpy_dtype(dtype))


def decode_small(e, stream=None):
    """A weight as a flat Python list, without numpy (for plan-time values of small constants)."""
    if e.value is not None:
        return list(e.value)
    if e.storage:
        raise ShardError(f"weight {e.name!r} is quantized; plan-time values must be stored exactly")
    code = DTYPES[e.dtype].code
    if code is None:
        raise ShardError(f"weight {e.name!r}: {e.dtype} values are read with numpy only")
    return list(struct.unpack_from(f"<{e.size}{code}", stream, e.offset))
