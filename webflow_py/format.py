"""model.json: reading, validating and writing the webflow model format (docs/FORMAT.md).

The loader enforces everything here before any weight is read, so a bad file fails with
a message that names the field, the node or the shard, never deep inside the executor.
"""

import math
import re
from dataclasses import dataclass, field

from .dtypes import DTYPES, int_range, itemsize
from .errors import FormatError
from .graph import Graph, Node, TensorInfo
from .symbolic import dim_from_json, dim_to_json, is_sym

FORMAT_NAME = "webflow-model"
FORMAT_VERSION = 1
STORAGES = ("float32", "float16", "int8")  # how float32 weights may be stored in shards
_SHARD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass
class WeightEntry:
    """One constant tensor: inline `value`, or `nbytes` at `offset` of the concatenated shards."""

    name: str
    dtype: str
    shape: tuple
    value: list = None  # flat, row-major; only for small inline constants
    offset: int = 0
    nbytes: int = 0
    storage: str = None  # float16/int8 for quantized float32 weights; None = stored as dtype
    quant_axis: int = None  # int8: the axis that carries one float32 scale per index

    @property
    def size(self):
        return math.prod(self.shape)


@dataclass
class ShardInfo:
    file: str
    nbytes: int
    sha256: str


@dataclass
class ModelSpec:
    graph: Graph  # constants map name -> WeightEntry
    shards: list
    producer: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    @property
    def weights(self):
        return self.graph.constants


def check_shard_name(name, where="model.json"):
    """Shards are plain file names next to model.json: no folders, no '..', no URL scheme."""
    if not isinstance(name, str) or not _SHARD_NAME.match(name) or name in (".", ".."):
        raise FormatError(
            f"{where}: shard file name {name!r} is not allowed: it must be a plain file name next to "
            "model.json (letters, digits, '_', '-', '.'; no '/', '\\', '..' or URL scheme)"
        )
    return name


class _Reader:
    """Walks the JSON with a path for messages: model.json: nodes[3].inputs[1]: ..."""

    def __init__(self, where):
        self.where = where

    def fail(self, path, msg):
        raise FormatError(f"{self.where}: {path}: {msg}")

    def get(self, obj, key, path, kind, required=True, default=None):
        if not isinstance(obj, dict):
            self.fail(path, f"expected an object, got {type(obj).__name__}")
        if key not in obj:
            if required:
                self.fail(path, f"missing field {key!r}")
            return default
        v = obj[key]
        ok = {
            "str": lambda x: isinstance(x, str),
            "int": lambda x: isinstance(x, int) and not isinstance(x, bool),
            "list": lambda x: isinstance(x, list),
            "dict": lambda x: isinstance(x, dict),
        }[kind](v)
        if not ok:
            self.fail(f"{path}.{key}", f"expected {kind}, got {type(v).__name__} {v!r:.60}")
        return v

    def dtype(self, v, path):
        if v not in DTYPES:
            self.fail(path, f"unknown dtype {v!r} (known: {', '.join(DTYPES)})")
        return v

    def shape(self, v, path):
        if not isinstance(v, list):
            self.fail(path, f"expected a list of dims, got {v!r:.60}")
        out = []
        for i, d in enumerate(v):
            if isinstance(d, bool) or not isinstance(d, (int, str)) or (isinstance(d, int) and d < 0) or d == "":
                self.fail(f"{path}[{i}]", f"a dim is a non-negative int or a symbolic name, got {d!r}")
            try:
                out.append(dim_from_json(d))
            except ValueError as e:
                self.fail(f"{path}[{i}]", str(e))
        return tuple(out)

    def tensor_info(self, obj, path):
        name = self.get(obj, "name", path, "str")
        dtype = self.dtype(self.get(obj, "dtype", path, "str"), f"{path}.dtype")
        shape = self.shape(self.get(obj, "shape", path, "list"), f"{path}.shape")
        return TensorInfo(name, dtype, shape)


def parse_model(doc, where="model.json"):
    """Validate a decoded model.json and build the ModelSpec. Raises FormatError."""
    r = _Reader(where)
    if not isinstance(doc, dict):
        r.fail("(top)", f"expected a JSON object, got {type(doc).__name__}")
    fmt = r.get(doc, "format", "(top)", "str")
    if fmt != FORMAT_NAME:
        r.fail("format", f"expected {FORMAT_NAME!r}, got {fmt!r}")
    version = r.get(doc, "version", "(top)", "int")
    if version != FORMAT_VERSION:
        r.fail("version", f"this webflow reads format version {FORMAT_VERSION}, the file has version {version}")
    inputs = [r.tensor_info(t, f"inputs[{i}]") for i, t in enumerate(r.get(doc, "inputs", "(top)", "list"))]
    outputs = [r.tensor_info(t, f"outputs[{i}]") for i, t in enumerate(r.get(doc, "outputs", "(top)", "list"))]
    nodes = []
    for i, n in enumerate(r.get(doc, "nodes", "(top)", "list")):
        p = f"nodes[{i}]"
        name = r.get(n, "name", p, "str")
        op = r.get(n, "op", p, "str")
        ins = r.get(n, "inputs", p, "list")
        outs = r.get(n, "outputs", p, "list")
        for j, t in enumerate(ins + outs):
            if not isinstance(t, str):
                r.fail(f"{p} ({name})", f"tensor names are strings, got {t!r}")
        nodes.append(Node(name, op, list(ins), list(outs), dict(r.get(n, "attrs", p, "dict", required=False, default={}))))

    weights = r.get(doc, "weights", "(top)", "dict")
    shards = []
    for i, s in enumerate(r.get(weights, "shards", "weights", "list")):
        p = f"weights.shards[{i}]"
        f = check_shard_name(r.get(s, "file", p, "str"), f"{where}: {p}.file")
        sha = r.get(s, "sha256", p, "str")
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            r.fail(f"{p}.sha256", f"expected 64 lowercase hex digits, got {sha!r:.80}")
        shards.append(ShardInfo(f, r.get(s, "bytes", p, "int"), sha))
    total = sum(s.nbytes for s in shards)
    constants = {}
    for i, t in enumerate(r.get(weights, "tensors", "weights", "list")):
        p = f"weights.tensors[{i}]"
        info = r.tensor_info(t, p)
        if not all(isinstance(d, int) for d in info.shape):
            r.fail(f"{p}.shape", "a weight has a concrete shape")
        e = WeightEntry(info.name, info.dtype, info.shape)
        if "value" in t:
            e.value = r.get(t, "value", p, "list")
            if len(e.value) != e.size:
                r.fail(f"{p}.value", f"tensor {e.name!r} of shape {list(e.shape)} needs {e.size} values, got {len(e.value)}")
            try:
                e.value = inline_value(e)
            except ValueError as err:
                r.fail(f"{p}.value", f"tensor {e.name!r}: {err}")
        else:
            e.offset = r.get(t, "offset", p, "int")
            e.nbytes = r.get(t, "bytes", p, "int")
            e.storage = r.get(t, "storage", p, "str", required=False)
            if e.storage is not None and (e.storage not in STORAGES or e.dtype != "float32"):
                r.fail(f"{p}.storage", f"storage {e.storage!r} is for float32 weights, one of {STORAGES}")
            if e.storage == "int8":
                e.quant_axis = r.get(t, "quant_axis", p, "int")
                if not 0 <= e.quant_axis < max(len(e.shape), 1):
                    r.fail(f"{p}.quant_axis", f"axis {e.quant_axis} is out of range for shape {list(e.shape)}")
            need = stored_nbytes(e)
            if e.nbytes != need:
                r.fail(f"{p}.bytes", f"tensor {e.name!r} ({e.storage or e.dtype}, shape {list(e.shape)}) needs {need} bytes, manifest says {e.nbytes}")
            if e.offset < 0 or e.offset + e.nbytes > total:
                r.fail(f"{p}", f"tensor {e.name!r} spans bytes {e.offset}..{e.offset + e.nbytes} but the shards hold {total}")
        if e.name in constants:
            r.fail(p, f"weight {e.name!r} is listed twice")
        constants[e.name] = e
    graph = Graph(inputs, outputs, nodes, constants)
    producer = r.get(doc, "producer", "(top)", "dict", required=False, default={})
    metadata = r.get(doc, "metadata", "(top)", "dict", required=False, default={})
    return ModelSpec(graph, shards, producer, metadata)


def stored_nbytes(e):
    """Bytes a weight takes in the shards: int8 data, padded to 4, then one float32 scale per channel;
    else size x itemsize (sub-byte dtypes are stored one value per byte)."""
    if e.storage == "int8":
        return _pad4(e.size) + 4 * e.shape[e.quant_axis]
    return e.size * itemsize(e.storage or e.dtype)


def _pad4(n):
    return (n + 3) & ~3


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if v != v else ("inf" if v > 0 else "-inf")
    return v


def inline_value(e):
    """An inline value as Python numbers (JSON keeps non-finite floats as strings). Integer
    entries may be dim expressions ("batch", "2*batch"): those come back as Sym; the others
    must fit the dtype (an int4 of 9 would wrap silently)."""
    kind = DTYPES[e.dtype].kind
    if kind == "float":
        return [float(v) for v in e.value]
    if kind == "bool":
        return [bool(v) for v in e.value]
    out = [dim_from_json(v) if isinstance(v, str) else int(v) for v in e.value]
    lo, hi = int_range(e.dtype)
    bad = next((v for v in out if not is_sym(v) and not lo <= v <= hi), None)
    if bad is not None:
        raise ValueError(f"{bad} is outside the range of {e.dtype} [{lo}, {hi}]")
    return out


def is_symbolic(e):
    return e.value is not None and any(isinstance(v, str) or is_sym(v) for v in e.value)


def dump_model(spec):
    """ModelSpec -> the JSON-ready dict (the inverse of parse_model)."""
    g = spec.graph
    ti = lambda t: {"name": t.name, "dtype": t.dtype, "shape": [dim_to_json(d) for d in t.shape]}
    tensors = []
    for e in g.constants.values():
        d = {"name": e.name, "dtype": e.dtype, "shape": list(e.shape)}
        if e.value is not None:
            d["value"] = [dim_to_json(v) if is_sym(v) else _json_value(v) for v in e.value]
        else:
            d.update(offset=e.offset, bytes=e.nbytes)
            if e.storage:
                d["storage"] = e.storage
            if e.quant_axis is not None:
                d["quant_axis"] = e.quant_axis
        tensors.append(d)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "producer": spec.producer,
        "metadata": spec.metadata,
        "inputs": [ti(t) for t in g.inputs],
        "outputs": [ti(t) for t in g.outputs],
        "nodes": [{"name": n.name, "op": n.op, "inputs": n.inputs, "outputs": n.outputs, "attrs": n.attrs} for n in g.nodes],
        "weights": {
            "shards": [{"file": s.file, "bytes": s.nbytes, "sha256": s.sha256} for s in spec.shards],
            "tensors": tensors,
        },
    }


def summarize_weights(spec):
    """(parameter count of float weights, {stored dtype: bytes in the shards})."""
    from collections import Counter

    from .dtypes import DTYPES

    by_storage = Counter()
    params = 0
    for e in spec.weights.values():
        if e.value is None:
            by_storage[e.storage or e.dtype] += stored_nbytes(e)
        if DTYPES[e.dtype].kind == "float":
            params += e.size
    return params, dict(by_storage)
