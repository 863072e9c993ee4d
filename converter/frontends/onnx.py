"""ONNX → webflow graph, parsed with the `onnx` package.

webflow's op set uses ONNX names with the newest opset's semantics, so most nodes map
one to one. The handlers below cover what changed across opsets 11..newest (attributes that
became inputs, enum attributes) and ONNX constructs that are not ops (Constant).
"""

import re

import numpy as np
import onnx
from onnx import helper, numpy_helper

from webflow.errors import ConversionError, UnsupportedError, WebflowError
from webflow.graph import Graph, Node, TensorInfo
from webflow.ops import REGISTRY
from webflow.symbolic import Sym

MIN_OPSET = 11
MAX_OPSET = onnx.defs.onnx_opset_version()


def load(path):
    """Read and check an .onnx file; a corrupt file is a ConversionError naming it."""
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise ConversionError(f"{path}: file not found") from None
    except Exception as e:  # protobuf raises DecodeError and friends
        raise ConversionError(f"{path}: not a valid ONNX model ({type(e).__name__}: {e})") from None
    if not model.graph.node and not model.graph.output:
        raise ConversionError(f"{path}: not a valid ONNX model (no graph)")
    return model


def dtype_of(enum, where):
    if enum == onnx.TensorProto.BOOL:
        return "bool"
    try:
        name = np.dtype(helper.tensor_dtype_to_np_dtype(enum)).name
    except Exception:
        name = None
    from webflow.dtypes import DTYPES

    if name not in DTYPES:
        raise UnsupportedError(f"{where}: ONNX tensor type {onnx.TensorProto.DataType.Name(enum)} is not supported")
    return name


def _sym_name(text):
    return re.sub(r"\W", "_", text) or "dim"


class _Importer:
    def __init__(self, model, source):
        self.source = source
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
        if self.opset is None:
            raise ConversionError(f"{source}: the model imports no default ONNX opset")
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            raise ConversionError(f"{source}: opset {self.opset} is outside the supported range {MIN_OPSET}..{MAX_OPSET}")
        self.nodes = []
        self.constants = {}
        self.unsupported = {}  # op (and reason) -> [node names]
        self._names = set()
        self._unknown_dims = 0

    def fresh(self, base):
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def const(self, array, base):
        name = self.fresh(base)
        self.constants[name] = np.asarray(array)
        return name

    def emit(self, op, inputs, outputs, attrs=None, name=None):
        self.nodes.append(Node(self.fresh(name or f"{op}_{len(self.nodes)}"), op, list(inputs), list(outputs), attrs or {}))

    def tensor_info(self, vi):
        t = vi.type.tensor_type
        where = f"{self.source}: graph input/output {vi.name!r}"
        if not vi.type.HasField("tensor_type"):
            raise UnsupportedError(f"{where}: only tensor inputs and outputs are supported")
        dims = []
        for i, d in enumerate(t.shape.dim):
            if d.HasField("dim_value"):
                dims.append(d.dim_value)
            elif d.dim_param:
                dims.append(Sym.named(_sym_name(d.dim_param)))
            else:
                self._unknown_dims += 1
                dims.append(Sym.named(f"unk{self._unknown_dims}"))
        return TensorInfo(vi.name, dtype_of(t.elem_type, where), tuple(dims))

    def run(self, model):
        g = model.graph
        for init in g.initializer:
            self._names.add(init.name)
            try:
                self.constants[init.name] = numpy_helper.to_array(init)
            except Exception as e:
                raise ConversionError(f"{self.source}: initializer {init.name!r} cannot be read: {e}") from None
            init.Clear()  # the numpy copy is the one we keep; conversion holds each weight once
        inputs = [self.tensor_info(vi) for vi in g.input if vi.name not in self.constants]
        for t in inputs:
            self._names.add(t.name)
        for node in g.node:
            self._names.update(node.output)
        for i, node in enumerate(g.node):
            self.lower(node, i)
        if self.unsupported:
            lines = "\n".join(f"  {op}: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}" for op, names in sorted(self.unsupported.items()))
            raise UnsupportedError(f"{self.source}: {len(self.unsupported)} unsupported op type(s) (opset {self.opset}):\n{lines}")
        outputs = [self.tensor_info(vi) for vi in g.output]
        return Graph(inputs, outputs, self.nodes, self.constants)

    def lower(self, node, index):
        name = node.name or f"{node.op_type}_{index}"
        if node.domain not in ("", "ai.onnx"):
            self.unsupported.setdefault(f"{node.domain}.{node.op_type}", []).append(name)
            return
        try:
            attrs = {a.name: _attr_value(a, f"node {name!r} ({node.op_type})") for a in node.attribute}
            handler = HANDLERS.get(node.op_type)
            before = len(self.nodes)
            if handler:
                handler(self, node, attrs, name)
            elif node.op_type in REGISTRY:
                self.emit(node.op_type, node.input, node.output, attrs, name)
            else:
                self.unsupported.setdefault(node.op_type, []).append(name)
                return
            for n in self.nodes[before:]:
                d = REGISTRY[n.op]
                d.resolve_attrs(n)
                d.check_arity(n)
        except WebflowError as e:
            msg = str(e).split(": ", 1)[-1] if str(e).startswith("node ") else str(e)
            self.unsupported.setdefault(f"{node.op_type} ({msg})", []).append(name)


def _attr_value(a, where):
    if a.type == onnx.AttributeProto.GRAPH or a.type == onnx.AttributeProto.GRAPHS:
        raise UnsupportedError(f"{where}: subgraph attribute {a.name!r} (control flow) is not supported")
    if a.type == onnx.AttributeProto.SPARSE_TENSOR:
        raise UnsupportedError(f"{where}: sparse tensor attribute {a.name!r} is not supported")
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, list):
        return [x.decode("utf-8") if isinstance(x, bytes) else x for x in v]
    return v


# --- handlers: ONNX constructs that need more than a one-to-one mapping --------------------

HANDLERS = {}


def handles(*ops):
    def wrap(fn):
        for o in ops:
            HANDLERS[o] = fn
        return fn
    return wrap


@handles("Constant")
def _constant(imp, node, attrs, name):
    (key, v), = attrs.items()
    value = {
        "value": lambda: v,
        "value_float": lambda: np.array(v, np.float32),
        "value_floats": lambda: np.array(v, np.float32),
        "value_int": lambda: np.array(v, np.int64),
        "value_ints": lambda: np.array(v, np.int64),
    }.get(key)
    if value is None:
        raise UnsupportedError(f"Constant attribute {key!r}")
    imp.constants[node.output[0]] = np.asarray(value())


@handles("Cast")
def _cast(imp, node, attrs, name):
    attrs["to"] = dtype_of(attrs["to"], f"node {name!r} (Cast)")
    imp.emit("Cast", node.input, node.output, attrs, name)


@handles("EyeLike")
def _eyelike(imp, node, attrs, name):
    if "dtype" in attrs:
        attrs["dtype"] = dtype_of(attrs["dtype"], f"node {name!r} (EyeLike)")
    imp.emit("EyeLike", node.input, node.output, attrs, name)


@handles("ConstantOfShape")
def _constant_of_shape(imp, node, attrs, name):
    v = attrs.pop("value", np.zeros(1, np.float32))
    attrs.update(value=v.reshape(-1)[0].item(), dtype="bool" if v.dtype == np.bool_ else v.dtype.name)
    imp.emit("ConstantOfShape", node.input, node.output, attrs, name)


def _attr_to_input(attr, since):
    """Before opset `since`, this op took `attr` as an attribute; now it is an int64 input."""

    def handler(imp, node, attrs, name):
        inputs = list(node.input)
        if imp.opset < since and attr in attrs:
            inputs = inputs[:1] + [imp.const(np.array(attrs.pop(attr), np.int64), f"{name}_{attr}")]
        if node.op_type == "Split" and "num_outputs" not in attrs and (len(inputs) < 2 or not inputs[1]):
            attrs["num_outputs"] = len(node.output)
        imp.emit(node.op_type, inputs, node.output, attrs, name)
    return handler


for _op in ("Squeeze", "Unsqueeze", "Split"):
    HANDLERS[_op] = _attr_to_input("split" if _op == "Split" else "axes", 13)
HANDLERS["ReduceSum"] = _attr_to_input("axes", 13)
for _op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
            "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"):
    HANDLERS[_op] = _attr_to_input("axes", 18)


@handles("Softmax", "LogSoftmax", "Hardmax")
def _softmax(imp, node, attrs, name):
    """Before opset 13 these flattened the input to 2-D at `axis` (default 1)."""
    if imp.opset >= 13:
        imp.emit(node.op_type, node.input, node.output, attrs, name)
        return
    axis = attrs.get("axis", 1)
    x = node.input[0]
    flat, soft, shape = imp.fresh(f"{name}_2d"), imp.fresh(f"{name}_soft"), imp.fresh(f"{name}_shape")
    imp.emit("Flatten", [x], [flat], {"axis": axis}, f"{name}_flatten")
    imp.emit(node.op_type, [flat], [soft], {"axis": -1}, f"{name}_op")
    imp.emit("Shape", [x], [shape], {}, f"{name}_shapeof")
    imp.emit("Reshape", [soft, shape], node.output, {}, name)


@handles("Dropout")
def _dropout(imp, node, attrs, name):
    attrs.pop("seed", None)
    inputs = list(node.input)
    if imp.opset < 12 and "ratio" in attrs:
        inputs = inputs[:1] + [imp.const(np.array(attrs.pop("ratio"), np.float32), f"{name}_ratio")]
    imp.emit("Dropout", inputs, node.output, attrs, name)


@handles("BatchNormalization")
def _batchnorm(imp, node, attrs, name):
    attrs.pop("momentum", None)
    attrs.pop("spatial", None)
    if any(node.output[1:]):
        raise UnsupportedError("training-mode outputs (running mean/var)")
    imp.emit("BatchNormalization", node.input, node.output[:1], attrs, name)


def import_model(model, source):
    """ModelProto → Graph (constants as numpy arrays). Raises one error listing every unsupported op."""
    return _Importer(model, source).run(model)
