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

# Old opsets are read too: where an op's signature changed, a handler below lowers the old
# form, and old-only attributes (broadcast, consumed_inputs, ...) are refused by name.
FORMAT = "onnx"
MIN_OPSET = 1
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
    """A TensorProto enum as webflow's dtype name: numpy's name for onnx's numpy dtype, which for
    BFLOAT16, FLOAT8*, FLOAT4E2M1, INT4, INT2 ... is an ml_dtypes type ("float8_e4m3fn", "int4")."""
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
        self._inferred = None
        self.model = model

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

    def static_dim(self, tensor, axis):
        """A dim of a tensor from ONNX's own shape inference, or None (only for rare lowerings)."""
        if self._inferred is None:
            self._inferred = {}
            try:
                model = onnx.shape_inference.infer_shapes(self.model)
            except Exception:
                return None
            for vi in list(model.graph.value_info) + list(model.graph.input):
                self._inferred[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        dims = self._inferred.get(tensor)
        return dims[axis] if dims and len(dims) > axis else None

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
            for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
                init.ClearField(field)  # the numpy copy is the one we keep; conversion holds each weight once
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


@handles("LayerNormalization", "GroupNormalization", "QuantizeLinear", "DequantizeLinear")
def _dtype_attrs(imp, node, attrs, name):
    """stash_type / output_dtype / precision are ONNX enums; webflow names dtypes."""
    for key in ("stash_type", "output_dtype", "precision"):
        if attrs.get(key):
            attrs[key] = dtype_of(attrs[key], f"node {name!r} ({node.op_type})")
    inputs = list(node.input)
    if node.op_type == "GroupNormalization" and imp.opset < 21:
        # before opset 21 scale and bias were per group; now they are per channel
        inputs[1:3] = [imp.const(_per_group(imp, n, node), f"{name}_{n}") for n in inputs[1:3]]
    imp.emit(node.op_type, inputs, node.output, attrs, name)


def _per_group(imp, tensor, node):
    channels = imp.static_dim(node.input[0], 1)
    if channels is None or tensor not in imp.constants:
        raise UnsupportedError("GroupNormalization before opset 21 with per-group scale/bias needs constant "
                               "scale/bias and a known channel count")
    v = imp.constants[tensor]
    return np.repeat(v, channels // v.size)


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


def _attrs_to_inputs(*names, since):
    """Before opset `since`, these inputs were attributes (Clip's min/max, Slice's starts/ends/axes)."""

    def handler(imp, node, attrs, name):
        inputs = list(node.input)
        if imp.opset < since:
            dtype = np.float32 if node.op_type == "Clip" else np.int64
            extra = [imp.const(np.array(attrs.pop(n), dtype), f"{name}_{n}") if n in attrs else "" for n in names]
            inputs = inputs[:1] + extra
            while inputs and not inputs[-1]:
                inputs.pop()
        imp.emit(node.op_type, inputs, node.output, attrs, name)
    return handler


HANDLERS["Clip"] = _attrs_to_inputs("min", "max", since=11)
HANDLERS["Slice"] = _attrs_to_inputs("starts", "ends", "axes", since=10)


@handles("Pad")
def _pad(imp, node, attrs, name):
    inputs = list(node.input)
    if imp.opset < 11:  # pads and value were attributes
        inputs = [inputs[0], imp.const(np.array(attrs.pop("pads"), np.int64), f"{name}_pads")]
        value = attrs.pop("value", 0.0)
        if value:
            inputs.append(imp.const(np.array(value, np.float32), f"{name}_value"))
    imp.emit("Pad", inputs, node.output, attrs, name)


@handles("Upsample", "Resize")
def _upsample(imp, node, attrs, name):
    """Upsample (opsets 7-9) and Resize at opset 10: scales only, asymmetric coordinates, floor."""
    if node.op_type == "Resize" and imp.opset >= 11:
        imp.emit("Resize", node.input, node.output, attrs, name)
        return
    mode = attrs.pop("mode", "nearest")
    scales = node.input[1] if len(node.input) > 1 else imp.const(np.array(attrs.pop("scales"), np.float32), f"{name}_scales")
    imp.emit("Resize", [node.input[0], "", scales], node.output,
             {"mode": "linear" if mode in ("linear", "bilinear") else mode, "coordinate_transformation_mode": "asymmetric",
              "nearest_mode": "floor", **attrs}, name)


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


def accepts(path):
    return path.endswith(".onnx")


def import_file(path, log=print):
    model = load(path)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    graph = import_model(model, path)
    return graph, {"source_format": FORMAT, "opset": opset, "source_producer": f"{model.producer_name} {model.producer_version}".strip()}


def import_model(model, source):
    """ModelProto → Graph (constants as numpy arrays). Raises one error listing every unsupported op."""
    return _Importer(model, source).run(model)
