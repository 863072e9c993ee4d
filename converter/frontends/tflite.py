"""TFLite → webflow graph, read with the `tflite` package (flatbuffers bindings of TFLite's schema).

- Layout: TFLite holds images NHWC and the graph stays NHWC, with no Transpose at run time:
  Conv, ConvTranspose and the pools get layout="NHWC", and the weights are put into ONNX's
  layout once, here (conv [O,H,W,I] -> [O,I,H,W]; depthwise [1,H,W,C*M] -> [C*M,1,H,W] with
  group=C; transpose conv [O,H,W,I] -> [I,O,H,W]). Axis ops keep TFLite's own axes.
- Shapes are static, as the file stores them: a batch dim of 1 stays 1 (TFLite's
  shape_signature -1 serves the interpreter's ResizeInputTensor, which webflow does not mirror).
  Reshape, Squeeze and ExpandDims therefore reshape to the stored output shape.
- Float models with float16 weights read them through DEQUANTIZE ops: those fold into float32
  constants. Integer-quantized tensors (int8/uint8 with scales) are refused by name.
- Fused activations (RELU, RELU6, RELU_N1_TO_1, TANH) become Conv/Gemm's `activation`
  attribute, or a unary node after any other op.
- SAME padding follows TF: total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0), the odd pixel
  at the end; it is computed here from the static shapes into explicit pads.
- Every unsupported op (and custom op) is collected and reported in one error.
"""

import math

import numpy as np

try:
    import tflite
except ImportError:  # accepts() answers without it; import_file names the package to install
    tflite = None

from webflow.errors import ConversionError, UnsupportedError, WebflowError
from webflow.graph import Graph, Node, TensorInfo
from webflow.ops import REGISTRY

FORMAT = "tflite"


def _enum(cls):
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


OPCODES = _enum(tflite.BuiltinOperator) if tflite else {}
OPTIONS = _enum(tflite.BuiltinOptions) if tflite else {}
TENSOR_TYPES = _enum(tflite.TensorType) if tflite else {}
# TFLite tensor types webflow holds as they are (int4 is packed two to a byte in TFLite)
DTYPES = {"FLOAT32", "FLOAT16", "FLOAT64", "INT8", "UINT8", "INT16", "UINT16", "INT32", "UINT32", "INT64", "UINT64", "BOOL"}
INT_MAX, INT_MIN = 2**63 - 1, -(2**63)
# enum values fixed by TFLite's schema.fbs
SAME, VALID = 0, 1  # Padding
REFLECT = 0  # MirrorPadMode

# fused activation (ActivationFunctionType) -> the unary op it applies, as an `activation` attribute
ACTIVATIONS = {
    0: None,  # NONE
    1: {"op": "Relu"},  # RELU
    2: {"op": "Clip", "min": -1.0, "max": 1.0},  # RELU_N1_TO_1
    3: {"op": "Clip", "min": 0.0, "max": 6.0},  # RELU6
    4: {"op": "Tanh"},  # TANH
}


def same_pads(sizes, kernel, strides, dilations):
    """TF's SAME padding for one window op: [begins..., ends...], the odd pixel at the end."""
    begins, ends = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilations):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


class _Op:
    """One TFLite operator as the handlers see it: tensor indices (-1: omitted) and options."""

    def __init__(self, kind, inputs, outputs, options):
        self.kind, self.ins, self.outs, self.options = kind, inputs, outputs, options

    def opt(self, field, default=None):
        """An option's value; `default` when the op carries no options table (or an older schema
        has no such field)."""
        get = getattr(self.options, field, None)
        return get() if get is not None else default

    def activation(self):
        code = self.opt("FusedActivationFunction", 0)
        if code not in ACTIVATIONS:
            raise UnsupportedError(f"fused activation {_enum(tflite.ActivationFunctionType).get(code, code)}")
        return ACTIVATIONS[code]


class _Importer:
    def __init__(self, buf, source):
        self.buf, self.source = buf, source
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        if self.model.SubgraphsLength() < 1:
            raise ConversionError(f"{source}: the model has no subgraph")
        self.g = self.model.Subgraphs(0)
        self.nodes, self.constants = [], {}
        self.unsupported = {}  # op type (and reason) -> [op labels]
        self.names = {}  # tensor index -> webflow tensor name
        self.taken = set()
        self.node_names = set()
        self.values = {}  # tensor index -> constant value, for folded tensors (DEQUANTIZE)

    # --- tensors
    def tensor(self, i):
        return self.g.Tensors(i)

    def raw_name(self, i):
        return self.tensor(i).Name().decode("utf-8", "replace")

    def shape(self, i):
        t = self.tensor(i)
        return tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def type_name(self, i):
        return TENSOR_TYPES.get(self.tensor(i).Type(), str(self.tensor(i).Type()))

    def dtype(self, i):
        kind = self.type_name(i)
        if kind not in DTYPES:
            raise UnsupportedError(f"tensor {self.raw_name(i)!r} has type {kind}")
        return kind.lower()

    def quantized(self, i):
        q = self.tensor(i).Quantization()
        return q is not None and q.ScaleLength() > 0 and self.type_name(i) not in ("FLOAT32", "FLOAT16", "FLOAT64")

    def _buffer(self, i):
        b = self.model.Buffers(self.tensor(i).Buffer())
        # models over 2 GB keep buffers after the flatbuffer, at Offset (1 marks "none")
        return b if b is not None and (b.DataLength() or b.Offset() > 1) else None

    def is_const(self, i):
        return i in self.values or self._buffer(i) is not None

    def data(self, i):
        """The constant held in tensor i's buffer, as a numpy array (a fresh copy); None when it has none."""
        if i in self.values:
            return self.values[i]
        b = self._buffer(i)
        if b is None:
            return None
        raw = b.DataAsNumpy().tobytes() if b.DataLength() else bytes(self.buf[b.Offset():b.Offset() + b.Size()])
        dtype = np.dtype(self.dtype(i)).newbyteorder("<")
        return np.frombuffer(raw, dtype).astype(dtype.newbyteorder("="), copy=True).reshape(self.shape(i))

    def fresh(self, base):
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def short_name(self, i):
        # fused TFLite names list every TF op folded in ("a/Conv2D;a/BiasAdd;a/Relu6"): keep the first
        return self.raw_name(i).split(";")[0] or f"t{i}"

    def name(self, i):
        """The webflow name of tensor i (a constant is registered on first use)."""
        if i not in self.names:
            self.names[i] = self.fresh(self.short_name(i))
        name = self.names[i]
        if name not in self.constants and self.is_const(i):
            self.constants[name] = self.data(i)
        return name

    def const(self, i, what):
        """The value of input tensor i, which must be a constant."""
        if i < 0 or not self.is_const(i):
            raise UnsupportedError(f"{what} must be a constant")
        return self.data(i)

    def new_const(self, value, base):
        name = self.fresh(base)
        self.constants[name] = np.asarray(value)
        return name

    def tmp(self, base):
        return self.fresh(base)

    # --- nodes
    def emit(self, op, inputs, outputs, attrs=None, base="node"):
        name, k = base, 1
        while name in self.node_names:
            name, k = f"{base}_{k}", k + 1
        self.node_names.add(name)
        attrs = {k: v for k, v in (attrs or {}).items() if not (k == "activation" and v is None)}
        self.nodes.append(Node(name, op, list(inputs), list(outputs), attrs))

    def emit_unary(self, act, x, out, base):
        """The activation dict `act` as its own node y = act(x)."""
        attrs = {k: v for k, v in act.items() if k != "op"}
        inputs = [x]
        if act["op"] == "Clip":  # Clip's bounds are inputs in the op set
            inputs += [self.new_const(np.float32(attrs.pop("min")), f"{base}_min"), self.new_const(np.float32(attrs.pop("max")), f"{base}_max")]
        self.emit(act["op"], inputs, [out], attrs, base)

    def emit_act(self, op, inputs, out, attrs, act, base):
        """op(inputs) then the fused activation `act` (fusable ops take it as an attribute)."""
        if act is None or REGISTRY[op].fusable:
            self.emit(op, inputs, [out], {**attrs, "activation": act}, base)
            return
        y = self.tmp(f"{out}_pre_act")
        self.emit(op, inputs, [y], attrs, base)
        self.emit_unary(act, y, out, f"{base}_act")

    def weight(self, i, perm, base):
        """Weight tensor i permuted by `perm`: at conversion for a constant, else a Transpose node."""
        if self.is_const(i):
            return self.new_const(np.ascontiguousarray(self.data(i).transpose(perm)), base)
        out = self.tmp(base)
        self.emit("Transpose", [self.name(i)], [out], {"perm": list(perm)}, f"{base}_transpose")
        return out

    def reshape(self, x, shape, out, base):
        shape = [int(d) for d in shape]
        self.emit("Reshape", [x, self.new_const(np.array(shape, np.int64), f"{base}_shape")], [out],
                  {"allowzero": 1} if 0 in shape else {}, base)

    def ints(self, values, base):
        return self.new_const(np.array(values, np.int64).reshape(-1), base)

    # --- the walk
    def run(self):
        g = self.g
        ins = [int(i) for i in g.InputsAsNumpy()] if g.InputsLength() else []
        outs = [int(i) for i in g.OutputsAsNumpy()] if g.OutputsLength() else []
        for i in ins + outs:  # graph inputs and outputs keep their full names
            if i not in self.names:
                if self.raw_name(i) in self.taken:
                    raise ConversionError(f"{self.source}: two graph inputs/outputs are named {self.raw_name(i)!r}")
                self.names[i] = self.raw_name(i)
                self.taken.add(self.raw_name(i))
        inputs = []
        for i in ins:
            if self.quantized(i):
                raise UnsupportedError(f"{self.source}: input {self.raw_name(i)!r} is quantized ({self.type_name(i)}); "
                                       f"only float models (float32, or float16 weights) are supported")
            inputs.append(TensorInfo(self.names[i], self.dtype(i), self.shape(i)))
        for k in range(g.OperatorsLength()):
            self.lower(k, g.Operators(k))
        if self.unsupported:
            lines = "\n".join(f"  {op}: {', '.join(where[:8])}{' ...' if len(where) > 8 else ''}" for op, where in sorted(self.unsupported.items()))
            raise UnsupportedError(f"{self.source}: {len(self.unsupported)} unsupported op type(s):\n{lines}")
        outputs = []
        for i in outs:
            name = self.names[i]
            if self.is_const(i):  # a constant output still needs a node that writes it
                self.constants.pop(name, None)
                self.emit("Identity", [self.new_const(self.data(i), f"{name}_value")], [name], {}, f"{name}/identity")
            outputs.append(TensorInfo(name, self.dtype(i), self.shape(i)))
        return Graph(inputs, outputs, self.nodes, self.constants)

    def lower(self, k, operator):
        code = self.model.OperatorCodes(operator.OpcodeIndex())
        kind = OPCODES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), f"opcode {code.BuiltinCode()}")
        op_ins = [int(i) for i in operator.InputsAsNumpy()] if operator.InputsLength() else []
        op_outs = [int(i) for i in operator.OutputsAsNumpy()] if operator.OutputsLength() else []
        label = f"#{k} ({self.raw_name(op_outs[0]).split(';')[0]})" if op_outs else f"#{k}"
        if kind == "CUSTOM":
            custom = (code.CustomCode() or b"?").decode("utf-8", "replace")
            self.unsupported.setdefault(f"custom op {custom!r}", []).append(label)
            return
        handler = HANDLERS.get(kind)
        if handler is None:
            self.unsupported.setdefault(kind, []).append(label)
            return
        before = len(self.nodes)
        try:
            if any(i >= 0 and self.tensor(i).IsVariable() for i in op_ins):
                raise UnsupportedError("variable tensors (a stateful model)")
            bad = [self.raw_name(i) for i in op_ins + op_outs if i >= 0 and self.quantized(i)]
            if bad and kind != "DEQUANTIZE":
                raise UnsupportedError(f"quantized tensors ({', '.join(repr(b) for b in bad[:3])}); only float models "
                                       f"(float32, or float16 weights) are supported")
            op = _Op(kind, op_ins, op_outs, _options(operator))
            handler(self, op)
            for n in self.nodes[before:]:
                d = REGISTRY[n.op]
                d.resolve_attrs(n)
                d.check_arity(n)
        except WebflowError as e:
            del self.nodes[before:]
            self.unsupported.setdefault(f"{kind} ({e})", []).append(label)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError) as e:  # options or shapes this lowering does not expect
            del self.nodes[before:]
            self.unsupported.setdefault(f"{kind} (cannot lower: {type(e).__name__}: {e})", []).append(label)


def _options(operator):
    kind = OPTIONS.get(operator.BuiltinOptionsType(), "NONE")
    if kind == "NONE":
        return None
    cls = getattr(tflite, kind, None)
    table = operator.BuiltinOptions()
    if cls is None or table is None:
        return None
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


# --- handlers: one per TFLite op type (or family) -------------------------------------------

HANDLERS = {}


def handles(*kinds):
    def wrap(fn):
        for k in kinds:
            HANDLERS[k] = fn
        return fn
    return wrap


def _in(imp, op, j):
    return imp.name(op.ins[j])


def _out(imp, op, j=0):
    return imp.name(op.outs[j])


def _base(imp, op):
    return f"{_out(imp, op)}/{op.kind.lower()}"


def _bias(imp, op, j):
    return imp.name(op.ins[j]) if len(op.ins) > j and op.ins[j] >= 0 else None


def _window_pads(imp, op, x, kernel, strides, dilations):
    padding = op.opt("Padding", VALID)
    if padding == VALID:
        return [0, 0, 0, 0]
    if padding != SAME:
        raise UnsupportedError(f"padding {padding}")
    return same_pads(imp.shape(x)[1:3], kernel, strides, dilations)


@handles("DEQUANTIZE")
def _dequantize(imp, op):
    src, dst = op.ins[0], op.outs[0]
    if imp.type_name(src) == "FLOAT16":
        if imp.is_const(src):  # float16 weights of a float model: fold into float32 once
            imp.values[dst] = imp.data(src).astype(np.float32)
            return
        imp.emit("Cast", [imp.name(src)], [imp.name(dst)], {"to": "float32"}, _base(imp, op))
        return
    raise UnsupportedError(f"dequantizing {imp.type_name(src)} tensors (integer quantization)")


@handles("CONV_2D")
def _conv2d(imp, op):
    x, w = op.ins[0], op.ins[1]
    _, kh, kw, i = imp.shape(w)
    c = imp.shape(x)[3]
    if c % i:
        raise UnsupportedError(f"input channels {c} are not a multiple of the weight's {i}")
    _conv(imp, op, (0, 3, 1, 2), [kh, kw], c // i)


@handles("DEPTHWISE_CONV_2D")
def _depthwise(imp, op):
    x, w = op.ins[0], op.ins[1]
    _, kh, kw, cm = imp.shape(w)
    c = imp.shape(x)[3]
    if cm % c:
        raise UnsupportedError(f"weight channels {cm} are not a multiple of the input's {c}")
    # [1, H, W, C*M] -> [C*M, 1, H, W]: output channel c*M + m reads input channel c, as group=C does
    _conv(imp, op, (3, 0, 1, 2), [kh, kw], c)


def _conv(imp, op, perm, kernel, group):
    """An NHWC Conv from TFLite's (input, weight, bias): the weight permuted to ONNX's OIHW."""
    x, w = op.ins[0], op.ins[1]
    strides = [op.opt("StrideH", 1), op.opt("StrideW", 1)]
    dilations = [op.opt("DilationHFactor", 1), op.opt("DilationWFactor", 1)]
    inputs = [imp.name(x), imp.weight(w, perm, f"{imp.short_name(w)}_oihw")]
    if _bias(imp, op, 2):
        inputs.append(_bias(imp, op, 2))
    attrs = {"kernel_shape": kernel, "strides": strides, "dilations": dilations, "group": group,
             "pads": _window_pads(imp, op, x, kernel, strides, dilations), "layout": "NHWC"}
    imp.emit_act("Conv", inputs, _out(imp, op), attrs, op.activation(), _base(imp, op))


@handles("TRANSPOSE_CONV")
def _transpose_conv(imp, op):
    out_shape = [int(v) for v in imp.const(op.ins[0], "output_shape")]
    w, x = op.ins[1], op.ins[2]
    _, kh, kw, _ = imp.shape(w)
    n, h, wd, _ = imp.shape(x)
    strides = [op.opt("StrideH", 1), op.opt("StrideW", 1)]
    pads, extra = [0, 0, 0, 0], []
    for a, (size, k, s) in enumerate(zip((h, wd), (kh, kw), strides)):
        want = out_shape[1 + a]
        # the forward conv (want -> size) with this padding; its total pad fixes the transposed one's
        total = same_pads([want], [k], [s], [1]) if op.opt("Padding", VALID) == SAME else [0, 0]
        pads[a], pads[2 + a] = total[0], total[1]
        extra.append(want - ((size - 1) * s + k - total[0] - total[1]))
    if any(e < 0 or e >= s for e, s in zip(extra, strides)):
        raise UnsupportedError(f"output_shape {out_shape} does not fit input {[n, h, wd]} with strides {strides}")
    # [O, H, W, I] -> ConvTranspose's [I, O, H, W]
    inputs = [imp.name(x), imp.weight(w, (3, 0, 1, 2), f"{imp.short_name(w)}_iohw")]
    if _bias(imp, op, 3):
        inputs.append(_bias(imp, op, 3))
    attrs = {"kernel_shape": [kh, kw], "strides": strides, "pads": pads, "layout": "NHWC"}
    if any(extra):
        attrs["output_padding"] = extra
    imp.emit_act("ConvTranspose", inputs, _out(imp, op), attrs, op.activation(), _base(imp, op))


@handles("FULLY_CONNECTED")
def _fully_connected(imp, op):
    if op.opt("WeightsFormat", 0) != 0:  # DEFAULT
        raise UnsupportedError("shuffled weights format")
    x, w = op.ins[0], op.ins[1]
    i = imp.shape(w)[1]
    xs, ys = imp.shape(x), imp.shape(op.outs[0])
    base = _base(imp, op)
    a = imp.name(x)
    if len(xs) != 2:  # TFLite reads the input as [-1, I]
        a = imp.tmp(f"{a}_2d")
        imp.reshape(imp.name(x), [math.prod(xs) // i, i], a, f"{base}_flatten")
    out = _out(imp, op)
    y = out if len(ys) == 2 else imp.tmp(f"{out}_2d")
    inputs = [a, imp.name(w)] + ([_bias(imp, op, 2)] if _bias(imp, op, 2) else [])
    imp.emit_act("Gemm", inputs, y, {"transB": 1}, op.activation(), base)
    if y != out:  # keep_num_dims: back to the input's leading dims
        imp.reshape(y, ys, out, f"{base}_unflatten")


@handles("BATCH_MATMUL")
def _batch_matmul(imp, op):
    names = []
    for j, adj in enumerate((op.opt("AdjX", False), op.opt("AdjY", False))):
        r = len(imp.shape(op.ins[j]))
        perm = list(range(r - 2)) + [r - 1, r - 2]
        names.append(imp.weight(op.ins[j], perm, f"{imp.short_name(op.ins[j])}_adj") if adj else _in(imp, op, j))
    imp.emit("MatMul", names, [_out(imp, op)], {}, _base(imp, op))


def _transpose(imp, x, perm, base):
    out = imp.tmp(base)
    imp.emit("Transpose", [x], [out], {"perm": list(perm)}, f"{base}_transpose")
    return out


BINARY = {"ADD": "Add", "SUB": "Sub", "MUL": "Mul", "DIV": "Div", "MAXIMUM": "Max", "MINIMUM": "Min", "POW": "Pow",
          "LESS": "Less", "LESS_EQUAL": "LessOrEqual", "GREATER": "Greater", "GREATER_EQUAL": "GreaterOrEqual",
          "EQUAL": "Equal", "LOGICAL_AND": "And", "LOGICAL_OR": "Or"}


@handles(*BINARY)
def _binary(imp, op):
    act = op.activation() if op.kind in ("ADD", "SUB", "MUL", "DIV") else None
    imp.emit_act(BINARY[op.kind], [_in(imp, op, 0), _in(imp, op, 1)], _out(imp, op), {}, act, _base(imp, op))


@handles("NOT_EQUAL")
def _not_equal(imp, op):
    eq = imp.tmp(f"{_out(imp, op)}_eq")
    imp.emit("Equal", [_in(imp, op, 0), _in(imp, op, 1)], [eq], {}, f"{_base(imp, op)}_eq")
    imp.emit("Not", [eq], [_out(imp, op)], {}, _base(imp, op))


@handles("SQUARED_DIFFERENCE")
def _squared_difference(imp, op):
    d = imp.tmp(f"{_out(imp, op)}_diff")
    imp.emit("Sub", [_in(imp, op, 0), _in(imp, op, 1)], [d], {}, f"{_base(imp, op)}_sub")
    imp.emit("Mul", [d, d], [_out(imp, op)], {}, _base(imp, op))


@handles("SELECT", "SELECT_V2")
def _select(imp, op):
    imp.emit("Where", [_in(imp, op, j) for j in range(3)], [_out(imp, op)], {}, _base(imp, op))


@handles("ADD_N")
def _add_n(imp, op):
    imp.emit("Sum", [_in(imp, op, j) for j in range(len(op.ins))], [_out(imp, op)], {}, _base(imp, op))


UNARY = {"LOGISTIC": {"op": "Sigmoid"}, "TANH": {"op": "Tanh"}, "RELU": {"op": "Relu"}, "EXP": {"op": "Exp"},
         "LOG": {"op": "Log"}, "SQRT": {"op": "Sqrt"}, "ABS": {"op": "Abs"}, "NEG": {"op": "Neg"},
         "FLOOR": {"op": "Floor"}, "CEIL": {"op": "Ceil"}, "SIN": {"op": "Sin"}, "COS": {"op": "Cos"},
         "ROUND": {"op": "Round"}, "SIGN": {"op": "Sign"}, "HARD_SWISH": {"op": "HardSwish"}, "ELU": {"op": "Elu"},
         "LOGICAL_NOT": {"op": "Not"}, "RELU6": {"op": "Clip", "min": 0.0, "max": 6.0},
         "RELU_N1_TO_1": {"op": "Clip", "min": -1.0, "max": 1.0}, "RELU_0_TO_1": {"op": "Clip", "min": 0.0, "max": 1.0}}


@handles(*UNARY)
def _unary(imp, op):
    imp.emit_unary(UNARY[op.kind], _in(imp, op, 0), _out(imp, op), _base(imp, op))


@handles("LEAKY_RELU")
def _leaky_relu(imp, op):
    imp.emit("LeakyRelu", [_in(imp, op, 0)], [_out(imp, op)], {"alpha": float(op.opt("Alpha", 0.2))}, _base(imp, op))


@handles("GELU")
def _gelu(imp, op):
    imp.emit("Gelu", [_in(imp, op, 0)], [_out(imp, op)], {"approximate": "tanh" if op.opt("Approximate", False) else "none"}, _base(imp, op))


@handles("RSQRT")
def _rsqrt(imp, op):
    s = imp.tmp(f"{_out(imp, op)}_sqrt")
    imp.emit("Sqrt", [_in(imp, op, 0)], [s], {}, f"{_base(imp, op)}_sqrt")
    imp.emit("Reciprocal", [s], [_out(imp, op)], {}, _base(imp, op))


@handles("SQUARE")
def _square(imp, op):
    imp.emit("Mul", [_in(imp, op, 0), _in(imp, op, 0)], [_out(imp, op)], {}, _base(imp, op))


@handles("PRELU")
def _prelu(imp, op):
    imp.emit("PRelu", [_in(imp, op, 0), _in(imp, op, 1)], [_out(imp, op)], {}, _base(imp, op))


@handles("CAST")
def _cast(imp, op):
    imp.emit("Cast", [_in(imp, op, 0)], [_out(imp, op)], {"to": imp.dtype(op.outs[0])}, _base(imp, op))


@handles("L2_NORMALIZATION")
def _l2_norm(imp, op):
    imp.emit_act("LpNormalization", [_in(imp, op, 0)], _out(imp, op), {"axis": -1, "p": 2}, op.activation(), _base(imp, op))


REDUCE = {"MEAN": "ReduceMean", "SUM": "ReduceSum", "REDUCE_MAX": "ReduceMax", "REDUCE_MIN": "ReduceMin", "REDUCE_PROD": "ReduceProd"}


@handles(*REDUCE)
def _reduce(imp, op):
    axes = imp.const(op.ins[1], "axes")
    imp.emit(REDUCE[op.kind], [_in(imp, op, 0), imp.ints(axes, f"{_out(imp, op)}_axes")], [_out(imp, op)],
             {"keepdims": int(bool(op.opt("KeepDims", False)))}, _base(imp, op))


@handles("ARG_MAX", "ARG_MIN")
def _arg(imp, op):
    axis = int(imp.const(op.ins[1], "axis").reshape(-1)[0])
    out, base = _out(imp, op), _base(imp, op)
    dtype = imp.dtype(op.outs[0])
    y = out if dtype == "int64" else imp.tmp(f"{out}_int64")
    imp.emit("ArgMax" if op.kind == "ARG_MAX" else "ArgMin", [_in(imp, op, 0)], [y], {"axis": axis, "keepdims": 0}, base)
    if y != out:
        imp.emit("Cast", [y], [out], {"to": dtype}, f"{base}_cast")


@handles("PAD", "PADV2", "MIRROR_PAD")
def _pad(imp, op):
    p = imp.const(op.ins[1], "paddings").reshape(-1, 2)
    inputs = [_in(imp, op, 0), imp.ints(np.concatenate([p[:, 0], p[:, 1]]), f"{_out(imp, op)}_pads")]
    attrs = {}
    if op.kind == "PADV2" and len(op.ins) > 2 and op.ins[2] >= 0:
        inputs.append(_in(imp, op, 2))
    if op.kind == "MIRROR_PAD":
        if op.opt("Mode", REFLECT) != REFLECT:
            raise UnsupportedError("SYMMETRIC mode (webflow's Pad reflects without repeating the edge)")
        attrs["mode"] = "reflect"
    imp.emit("Pad", inputs, [_out(imp, op)], attrs, _base(imp, op))


@handles("CONCATENATION")
def _concat(imp, op):
    inputs = [imp.name(i) for i in op.ins]
    imp.emit_act("Concat", inputs, _out(imp, op), {"axis": op.opt("Axis", 0)}, op.activation(), _base(imp, op))


@handles("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(imp, op):
    imp.reshape(_in(imp, op, 0), imp.shape(op.outs[0]), _out(imp, op), _base(imp, op))


@handles("TRANSPOSE")
def _transpose_op(imp, op):
    perm = [int(v) for v in imp.const(op.ins[1], "perm")]
    imp.emit("Transpose", [_in(imp, op, 0)], [_out(imp, op)], {"perm": perm}, _base(imp, op))


@handles("SOFTMAX", "LOG_SOFTMAX")
def _softmax(imp, op):
    x, base = _in(imp, op, 0), _base(imp, op)
    beta = float(op.opt("Beta", 1.0)) if op.kind == "SOFTMAX" else 1.0
    if op.kind == "SOFTMAX" and beta != 1.0:
        scaled = imp.tmp(f"{x}_beta")
        imp.emit("Mul", [x, imp.new_const(np.array(beta, np.float32), f"{base}_beta")], [scaled], {}, f"{base}_beta")
        x = scaled
    imp.emit("Softmax" if op.kind == "SOFTMAX" else "LogSoftmax", [x], [_out(imp, op)], {"axis": -1}, base)


@handles("STRIDED_SLICE")
def _strided_slice(imp, op):
    if op.opt("EllipsisMask", 0) or op.opt("NewAxisMask", 0):
        raise UnsupportedError("ellipsis_mask / new_axis_mask")
    begin = [int(v) for v in imp.const(op.ins[1], "begin")]
    end = [int(v) for v in imp.const(op.ins[2], "end")]
    strides = [int(v) for v in imp.const(op.ins[3], "strides")] if len(op.ins) > 3 else [1] * len(begin)
    bm, em, sm = op.opt("BeginMask", 0), op.opt("EndMask", 0), op.opt("ShrinkAxisMask", 0)
    offset = op.opt("Offset", False)
    starts, ends = [], []
    for a, (b, e, s) in enumerate(zip(begin, end, strides)):
        if offset:
            e = b + e
        if sm >> a & 1:  # one index, dropped from the shape by the Reshape below
            starts.append(b)
            ends.append(b + 1 if b != -1 else INT_MAX)
            strides[a] = 1
            continue
        starts.append((INT_MAX if s < 0 else 0) if bm >> a & 1 else b)
        ends.append((INT_MIN if s < 0 else INT_MAX) if em >> a & 1 else e)
    out, base = _out(imp, op), _base(imp, op)
    y = imp.tmp(f"{out}_slice") if sm else out
    imp.emit("Slice", [_in(imp, op, 0), imp.ints(starts, f"{out}_starts"), imp.ints(ends, f"{out}_ends"),
                       imp.ints(list(range(len(begin))), f"{out}_axes"), imp.ints(strides, f"{out}_steps")], [y], {}, base)
    if sm:
        imp.reshape(y, imp.shape(op.outs[0]), out, f"{base}_shrink")


@handles("SLICE")
def _slice(imp, op):
    begin = [int(v) for v in imp.const(op.ins[1], "begin")]
    size = [int(v) for v in imp.const(op.ins[2], "size")]
    ends = [INT_MAX if s == -1 else b + s for b, s in zip(begin, size)]
    out = _out(imp, op)
    imp.emit("Slice", [_in(imp, op, 0), imp.ints(begin, f"{out}_starts"), imp.ints(ends, f"{out}_ends")], [out], {}, _base(imp, op))


@handles("GATHER")
def _gather(imp, op):
    if op.opt("BatchDims", 0):
        raise UnsupportedError("batch_dims")
    imp.emit("Gather", [_in(imp, op, 0), _in(imp, op, 1)], [_out(imp, op)], {"axis": op.opt("Axis", 0)}, _base(imp, op))


@handles("SPLIT", "SPLIT_V")
def _split(imp, op):
    outs = [imp.name(o) for o in op.outs]
    if op.kind == "SPLIT":
        axis = int(imp.const(op.ins[0], "axis").reshape(-1)[0])
        imp.emit("Split", [_in(imp, op, 1)], outs, {"axis": axis, "num_outputs": len(outs)}, _base(imp, op))
        return
    sizes = [int(v) for v in imp.const(op.ins[1], "size_splits")]
    axis = int(imp.const(op.ins[2], "axis").reshape(-1)[0])
    if -1 in sizes:
        sizes[sizes.index(-1)] = imp.shape(op.ins[0])[axis] - (sum(sizes) + 1)
    imp.emit("Split", [_in(imp, op, 0), imp.ints(sizes, f"{outs[0]}_split")], outs, {"axis": axis}, _base(imp, op))


@handles("PACK")
def _pack(imp, op):
    axis, out, base = op.opt("Axis", 0), _out(imp, op), _base(imp, op)
    part_shape = list(imp.shape(op.outs[0]))
    part_shape[axis % len(part_shape)] = 1
    parts = []
    for j in range(len(op.ins)):
        parts.append(imp.tmp(f"{out}_part{j}"))
        imp.reshape(_in(imp, op, j), part_shape, parts[-1], f"{base}_expand{j}")
    imp.emit("Concat", parts, [out], {"axis": axis}, base)


@handles("UNPACK")
def _unpack(imp, op):
    axis, base = op.opt("Axis", 0), _base(imp, op)
    parts = [imp.tmp(f"{imp.name(o)}_part") for o in op.outs]
    imp.emit("Split", [_in(imp, op, 0)], parts, {"axis": axis, "num_outputs": len(parts)}, base)
    for j, o in enumerate(op.outs):
        imp.reshape(parts[j], imp.shape(o), imp.name(o), f"{base}_squeeze{j}")


@handles("TILE")
def _tile(imp, op):
    reps = imp.const(op.ins[1], "multiples")
    imp.emit("Tile", [_in(imp, op, 0), imp.ints(reps, f"{_out(imp, op)}_repeats")], [_out(imp, op)], {}, _base(imp, op))


@handles("BROADCAST_TO")
def _broadcast_to(imp, op):
    shape = imp.const(op.ins[1], "shape")
    imp.emit("Expand", [_in(imp, op, 0), imp.ints(shape, f"{_out(imp, op)}_shape")], [_out(imp, op)], {}, _base(imp, op))


@handles("SHAPE")
def _shape(imp, op):
    # shapes are static (see the module docstring), so the shape is a constant
    imp.values[op.outs[0]] = np.array(imp.shape(op.ins[0]), imp.dtype(op.outs[0]))
    imp.name(op.outs[0])


@handles("AVERAGE_POOL_2D", "MAX_POOL_2D")
def _pool(imp, op):
    x = op.ins[0]
    kernel = [op.opt("FilterHeight", 1), op.opt("FilterWidth", 1)]
    strides = [op.opt("StrideH", 1), op.opt("StrideW", 1)]
    # TFLite's average pool divides by the taps on the input only (count_include_pad=0)
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": _window_pads(imp, op, x, kernel, strides, [1, 1]), "layout": "NHWC"}
    imp.emit_act("AveragePool" if op.kind == "AVERAGE_POOL_2D" else "MaxPool", [imp.name(x)], _out(imp, op), attrs, op.activation(), _base(imp, op))


@handles("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")
def _resize(imp, op):
    size = [int(v) for v in imp.const(op.ins[1], "size")]
    align, half = op.opt("AlignCorners", False), op.opt("HalfPixelCenters", False)
    if op.kind == "RESIZE_BILINEAR":
        attrs = {"mode": "linear", "coordinate_transformation_mode": "align_corners" if align else "half_pixel" if half else "asymmetric"}
    elif align:  # TF rounds (y * (in-1)/(out-1)) half up
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "align_corners", "nearest_mode": "round_prefer_ceil"}
    elif half:  # TF: floor((y + 0.5) * in/out); half_pixel gives that coordinate - 0.5, and round-half-up of it is the floor
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_ceil"}
    else:
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    out = _out(imp, op)
    imp.emit("Resize", [_in(imp, op, 0), "", "", imp.ints(size, f"{out}_sizes")], [out], {**attrs, "axes": [1, 2]}, _base(imp, op))


@handles("DEPTH_TO_SPACE", "SPACE_TO_DEPTH")
def _depth_space(imp, op):
    # webflow's DepthToSpace/SpaceToDepth are NCHW; TF's NHWC form is the DCR order
    out, base = _out(imp, op), _base(imp, op)
    x = _transpose(imp, _in(imp, op, 0), [0, 3, 1, 2], f"{out}_nchw_in")
    y = imp.tmp(f"{out}_nchw")
    imp.emit("DepthToSpace" if op.kind == "DEPTH_TO_SPACE" else "SpaceToDepth", [x], [y], {"blocksize": op.opt("BlockSize"), "mode": "DCR"}, base)
    imp.emit("Transpose", [y], [out], {"perm": [0, 2, 3, 1]}, f"{base}_nhwc")


# --- the frontend interface -------------------------------------------------------------------

def accepts(path):
    return path.endswith(".tflite")


def load(path):
    """The bytes of a .tflite file, checked to be a TFLite flatbuffer."""
    if tflite is None:
        raise ConversionError(f"{path}: reading TFLite models needs the `tflite` package (pip install tflite==2.18.0)")
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except FileNotFoundError:
        raise ConversionError(f"{path}: file not found") from None
    if len(buf) < 8 or not tflite.Model.ModelBufferHasIdentifier(buf, 0):
        raise ConversionError(f"{path}: not a TFLite model (no 'TFL3' identifier)")
    return buf


def import_file(path, log=print):
    buf = load(path)
    try:
        imp = _Importer(buf, path)
        graph = imp.run()
    except WebflowError:
        raise
    except Exception as e:  # a malformed flatbuffer fails deep in the bindings
        raise ConversionError(f"{path}: cannot read the TFLite model ({type(e).__name__}: {e})") from None
    m = imp.model
    desc = (m.Description() or b"").decode("utf-8", "replace")
    if m.SubgraphsLength() > 1:
        log(f"  note: {m.SubgraphsLength()} subgraphs; only the main one is converted")
    return graph, {"source_format": FORMAT, "opset": int(m.Version()), "source_producer": desc}
