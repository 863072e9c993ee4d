"""PyTorch module → webflow graph, through torch.export (no ONNX in between).

    graph, producer = import_module(module, example_inputs)     # webflow.converter.from_torch wraps it

`torch.export.export` traces the module (batch dim 0 of every input marked dynamic), and
`run_decompositions()` lowers it to the core ATen op set, except for a few ops that map onto
webflow ops more directly than their decompositions do (KEEP: the recurrent layers,
scaled_dot_product_attention, pads and resizes that would become index arithmetic). Each ATen call is lowered by a handler below, keyed by its op
name; parameters and buffers become constants named by their state_dict keys.

Shapes: torch records symbolic sizes as sympy expressions over its own symbols (s0, s77, ...).
The batch symbol is renamed "batch" and every size becomes a `webflow.symbolic.Sym`, so a
view target like [s0, 4, -1] is known here exactly ([batch, 4, 8]): Reshape/Expand targets
become 0 ("copy"), -1 ("infer") or 1 (Expand's "keep") where they can, and a
`SymbolicTensor` constant ([2, batch, 16]) where they cannot. No Shape/Gather arithmetic is
ever emitted, so the converter's fold_shapes pass has nothing to do (and is skipped).

Nodes whose inputs are all constants are evaluated by torch itself when the result is small
(masks, position ids), which is how ops with no webflow equivalent still convert when they
only touch constants.
"""

import math
import operator
import warnings

import numpy as np
import torch

from webflow.errors import ConversionError, UnsupportedError, WebflowError
from webflow.graph import Graph, Node, TensorInfo
from webflow.ops import REGISTRY
from webflow.symbolic import Sym, SymbolicTensor, is_sym

FORMAT = "torch"
aten = torch.ops.aten

# Ops the default decomposition would expand but that have a direct webflow counterpart: a GRU
# becomes one GRU node per layer instead of ~40 nodes per time step, a reflection pad one Pad
# instead of index arithmetic, a HardSwish one op that Conv can fuse.
KEEP = [aten.gru.input, aten.lstm.input, aten.rnn_tanh.input, aten.rnn_relu.input,
        aten.scaled_dot_product_attention.default,
        aten.upsample_nearest1d.vec, aten.upsample_nearest3d.vec, aten.upsample_linear1d.vec, aten.upsample_trilinear3d.vec,
        aten.upsample_bicubic2d.vec, aten._upsample_nearest_exact1d.vec, aten._upsample_nearest_exact2d.vec,
        aten._upsample_nearest_exact3d.vec, aten.pixel_shuffle.default, aten._prelu_kernel.default,
        aten.hardswish.default, aten.hardsigmoid.default, aten.mish.default,
        *(getattr(aten, f"{kind}_pad{d}d").default for kind in ("reflection", "replication") for d in (1, 2, 3))]
FOLD_LIMIT = 65536  # elements a constant computed by torch may have (more stays an op, as in fold_constants)
INT64_MAX = 2**63 - 1
# Nodes whose value is a size, known symbolically here (python's operator.mul & co. too).
SIZES = ("sym_size", "sym_numel", "sym_stride", "sym_storage_offset")
# Nodes that only check or constrain sizes; nothing to run.
ASSERTS = {"_assert_scalar", "_assert_tensor_metadata", "sym_constrain_range_for_size", "sym_constrain_range",
           "_assert_async", "_assert_shape"}


def accepts(path):
    """A torch module is handed over as an object (webflow.converter.from_torch), never by path."""
    return False


def import_file(path, log=print):
    raise ConversionError(f"{path}: PyTorch modules convert with webflow.converter.from_torch(module, example_inputs, out_dir)")


# --- export ------------------------------------------------------------------------------

def export(module, example_inputs, dynamic_batch=True):
    """The module traced by torch.export in eval mode, decomposed to core ATen (but KEEP)."""
    args = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    if not all(isinstance(a, torch.Tensor) for a in args):
        raise ConversionError("from_torch: example_inputs must be tensors (a tensor or a tuple of tensors)")
    dynamic = None
    if dynamic_batch:
        if any(a.dim() == 0 for a in args):
            raise ConversionError("from_torch: dynamic_batch needs every input to have a batch dim 0; pass dynamic_batch=False")
        if all(a.shape[0] == 1 for a in args):
            # torch specializes sizes of 1; a batch of 2 traces the same code with the size kept symbolic
            args = tuple(torch.cat([a, a]) for a in args)
        batch = torch.export.Dim("batch", min=1)
        dynamic = tuple({0: batch} for _ in args)
    training = module.training
    module.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # torch's own notes on its internals (nn.RNN's flat weights, pytree deprecations)
            warnings.filterwarnings("ignore", message=r"The tensor attributes .* were assigned during export")
            warnings.filterwarnings("ignore", category=FutureWarning)
            ep = torch.export.export(module, args, dynamic_shapes=dynamic)
            table = torch.export.default_decompositions()
            for op in KEEP:
                table.pop(op, None)
            ep = ep.run_decompositions(table)
    except Exception as e:
        hint = " (the model fixes its batch size: try dynamic_batch=False)" if dynamic_batch and "batch" in str(e) else ""
        lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()][:2]
        raise ConversionError(f"from_torch: torch.export failed{hint}: {type(e).__name__}: {' '.join(lines)}") from e
    finally:
        module.train(training)
    return ep


def import_module(module, example_inputs, dynamic_batch=True, input_names=None, output_names=None, log=print):
    """(graph, producer) for a torch.nn.Module; raises one UnsupportedError listing every unsupported op."""
    ep = export(module, example_inputs, dynamic_batch)
    log(f"  torch.export: {sum(n.op == 'call_function' for n in ep.graph.nodes)} ATen calls")
    graph = _Lowering(ep, input_names, output_names, type(module).__name__).run()
    return graph, {"source_format": FORMAT, "source_producer": f"pytorch {torch.__version__}"}


def state_sha256(module):
    """sha256 of the module's parameters and buffers (names and bytes): which weights were converted."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        if isinstance(t, torch.Tensor):
            h.update(name.encode())
            h.update(to_numpy(t).tobytes())
    return h.hexdigest()


# --- values ------------------------------------------------------------------------------

def dtype_name(dt):
    name = str(dt).removeprefix("torch.")
    from webflow.dtypes import DTYPES

    if name not in DTYPES:
        raise UnsupportedError(f"torch dtype {dt} is not supported")
    return name


def to_numpy(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy().copy()


class _Missing:
    """An output that has no webflow counterpart (max-pool indices, batch-norm statistics)."""

    def __init__(self, what):
        self.what = what


class _Skip(Exception):
    """An input failed to lower; its own error is already recorded."""


_FAILED = object()


def _pair(v, n):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return v * n if len(v) == 1 else v


# --- the lowering ------------------------------------------------------------------------

class _Lowering:
    def __init__(self, ep, input_names, output_names, source):
        self.ep = ep
        self.source = source
        self.gm = ep.graph_module
        self.nodes, self.constants = [], {}
        self.env = {}  # fx node -> tensor name, tuple of names, or a Python value (int, Sym, ...)
        self.info = {}  # tensor name -> (shape, dtype)
        self.zeros = set()  # tensors known to be all zeros (RNN initial states)
        self.transposed = {}  # tensor -> the 2-D tensor it transposes (Linear weights read as Gemm transB)
        self.expanded = {}  # tensor -> the tensor an Expand broadcast (MatMul broadcasts by itself)
        self.unsupported = {}
        self._tensors, self._node_names = set(), set()
        self._scalars = {}
        self.symbols = {}  # torch symbol name -> webflow dim name
        self.input_names, self.output_names = input_names, output_names
        self.cur = None

    # names
    def fresh(self, base):
        base = base.replace("/", "_") or "t"
        name, i = base, 1
        while name in self._tensors:
            name, i = f"{base}_{i}", i + 1
        self._tensors.add(name)
        return name

    def _node_name(self, base):
        name, i = base, 1
        while name in self._node_names:
            name, i = f"{base}_{i}", i + 1
        self._node_names.add(name)
        return name

    # graph building
    def emit(self, op, inputs, attrs=None, n_out=1, outputs=None):
        """Add a webflow node; returns its output name (a list when n_out > 1)."""
        outs = list(outputs) if outputs is not None else [self.fresh(self.cur) for _ in range(n_out)]
        node = Node(self._node_name(self.cur), op, list(inputs), outs, dict(attrs or {}))
        d = REGISTRY[op]
        d.resolve_attrs(node)
        d.check_arity(node)
        self.nodes.append(node)
        return outs[0] if outputs is None and n_out == 1 else outs

    def const(self, value, base=None, dtype=None):
        a = np.asarray(value, dtype=dtype)
        name = self.fresh(base or f"{self.cur}_const")
        self.constants[name] = a
        self.info[name] = (tuple(a.shape), "bool" if a.dtype == np.bool_ else a.dtype.name)
        if a.size and not a.any():
            self.zeros.add(name)
        return name

    def scalar(self, value, dtype):
        """A 0-d constant, shared between nodes."""
        key = (repr(value), dtype)
        if key not in self._scalars:
            self._scalars[key] = self.const(np.array(value, dtype=dtype), f"scalar_{dtype}")
        return self._scalars[key]

    def ints(self, values, base=None):
        """A 1-D int64 vector whose entries may be Sym: an array, or a SymbolicTensor."""
        values = [v if is_sym(v) else int(v) for v in values]
        if not any(is_sym(v) for v in values):
            return self.const(np.array(values, np.int64).reshape(len(values)), base)
        name = self.fresh(base or f"{self.cur}_shape")
        self.constants[name] = SymbolicTensor(values, "int64", (len(values),))
        self.info[name] = ((len(values),), "int64")
        return name

    def shape(self, name):
        return self.info[name][0]

    def dtype(self, name):
        return self.info[name][1]

    def rank(self, name):
        return len(self.shape(name))

    def cast(self, name, dtype):
        if self.dtype(name) == dtype:
            return name
        if name in self.constants and isinstance(self.constants[name], np.ndarray):
            return self.const(self.constants[name].astype(dtype), f"{name}_{dtype}")
        out = self.emit("Cast", [name], {"to": dtype})
        self.info[out] = (self.shape(name), dtype)
        return out

    def operand(self, v, dtype):
        """A tensor name or a Python number as a tensor of `dtype`."""
        if isinstance(v, str):
            return self.cast(v, dtype)
        if is_sym(v):
            raise UnsupportedError("arithmetic on a symbolic size (a value computed from the batch size)")
        if isinstance(v, (bool, int, float)):
            return self.scalar(v, dtype)
        raise UnsupportedError(f"operand {v!r}")

    # symbolic sizes
    def sym(self, v):
        """A torch size (int, SymInt, sympy expression) as an int or Sym."""
        if isinstance(v, (torch.SymInt, torch.SymFloat, torch.SymBool)):
            v = v.node.expr
        if isinstance(v, (bool, int, float)):
            return v
        return self._from_sympy(v)

    def _from_sympy(self, e):
        if e.is_Integer:
            return int(e)
        if e.is_Symbol:
            if e.name.startswith("u"):  # unbacked: made by a data-dependent op, which is reported itself
                raise _Skip()
            if e.name not in self.symbols:
                raise UnsupportedError(f"size {e} is not the batch size")
            return Sym.named(self.symbols[e.name])
        if e.is_Rational or e.is_Float:
            return float(e)
        args = [self._from_sympy(a) for a in e.args]
        kind = type(e).__name__
        if kind == "Add":
            return sum(args[1:], args[0])
        if kind == "Mul":
            return math.prod(args[1:], start=args[0])
        if kind == "Pow" and isinstance(args[1], int) and args[1] >= 0:
            return math.prod([args[0]] * args[1], start=1)
        if kind in ("FloorDiv", "CleanDiv", "IntTrueDiv") and not isinstance(args[1], float):
            return args[0] // args[1]
        if kind in ("Mod", "PythonMod"):
            return args[0] % args[1]
        raise UnsupportedError(f"symbolic size {e} ({kind}) is not supported")

    def meta(self, node):
        """(shape, dtype) of a tensor-valued fx node, from torch's fake tensor."""
        v = node.meta["val"]
        return tuple(self.sym(d) for d in v.shape), dtype_name(v.dtype)

    def out_shape(self, node, i=None):
        v = node.meta["val"] if i is None else node.meta["val"][i]
        return tuple(self.sym(d) for d in v.shape)

    # fx → webflow
    def resolve(self, v):
        if isinstance(v, torch.fx.Node):
            r = self.env[v]
            if r is _FAILED:
                raise _Skip()
            if isinstance(r, _Missing):
                raise UnsupportedError(f"{r.what} is not supported")
            return r
        if isinstance(v, (list, tuple)):
            return [self.resolve(x) for x in v]
        if isinstance(v, (torch.SymInt, torch.SymFloat, torch.SymBool)):
            return self.sym(v)
        return v

    def bind(self, node):
        """Arguments by their schema names, defaults filled in, fx nodes resolved."""
        schema = node.target._schema
        out, positional = {}, list(node.args)
        for i, a in enumerate(schema.arguments):
            if i < len(positional) and not a.kwarg_only:
                v = positional[i]
            elif a.name in node.kwargs:
                v = node.kwargs[a.name]
            elif a.has_default_value():
                v = a.default_value
            else:
                v = None
            out[a.name] = self.resolve(v)
        return out

    def run(self):
        sig = self.ep.graph_signature
        specs = {s.arg.name: s for s in sig.input_specs}
        user_inputs = [n for n in self.gm.graph.nodes if n.op == "placeholder" and specs[n.name].kind.name == "USER_INPUT"]
        if self.input_names is not None and len(self.input_names) != len(user_inputs):
            raise ConversionError(f"from_torch: {len(self.input_names)} input_names for {len(user_inputs)} inputs")
        names = self.input_names or [n.name for n in user_inputs]
        for n, name in zip(user_inputs, names):
            for axis, d in enumerate(n.meta["val"].shape):
                if isinstance(d, torch.SymInt) and d.node.expr.is_Symbol and d.node.expr.name not in self.symbols:
                    self.symbols[d.node.expr.name] = "batch" if axis == 0 else f"{name}_dim{axis}"
        out_node = next(n for n in self.gm.graph.nodes if n.op == "output")
        user_outs = [a for a, s in zip(out_node.args[0], sig.output_specs) if s.kind.name == "USER_OUTPUT"]
        if self.output_names is not None and len(self.output_names) != len(user_outs):
            raise ConversionError(f"from_torch: {len(self.output_names)} output_names for {len(user_outs)} outputs")
        out_names = self.output_names or (["output"] if len(user_outs) == 1 else [f"output_{i}" for i in range(len(user_outs))])
        self._tensors.update(names)
        self._tensors.update(out_names)

        inputs = []
        for n in self.gm.graph.nodes:
            if n.op == "placeholder":
                self.placeholder(n, specs[n.name], names, user_inputs, inputs)
            elif n.op == "call_function":
                self.call(n)
        for fx, name in zip(user_outs, out_names):
            if isinstance(self.env.get(fx), _Missing):
                self.unsupported.setdefault(f"{self.env[fx].what} as output", []).append(name)
        if self.unsupported:
            lines = "\n".join(f"  {op}: {', '.join(ns[:8])}{' ...' if len(ns) > 8 else ''}" for op, ns in sorted(self.unsupported.items()))
            raise UnsupportedError(f"{self.source}: {len(self.unsupported)} unsupported ATen op(s) (torch {torch.__version__}):\n{lines}")
        outputs = self.outputs(user_outs, out_names, {t.name for t in inputs})
        self.drop_unused(outputs)
        return Graph(inputs, outputs, self.nodes, self.constants)

    def drop_unused(self, outputs):
        """Nodes and constants nothing reads (a weight's Transpose that Gemm reads as transB),
        dropped before the passes so that they never fold a copy of a weight."""
        needed = {t.name for t in outputs}
        keep = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.outputs if o):
                keep.append(node)
                needed.update(i for i in node.inputs if i)
        self.nodes[:] = keep[::-1]
        for name in [c for c in self.constants if c not in needed]:
            del self.constants[name]

    def placeholder(self, n, spec, names, user_inputs, inputs):
        kind = spec.kind.name
        if kind == "USER_INPUT":
            name = names[user_inputs.index(n)]
            shape, dtype = self.meta(n)
            inputs.append(TensorInfo(name, dtype, shape))
            self.env[n] = name
            self.info[name] = (shape, dtype)
            return
        if kind in ("PARAMETER", "BUFFER", "CONSTANT_TENSOR"):
            t = self.ep.state_dict.get(spec.target)
            if t is None:
                t = self.ep.constants.get(spec.target)
            if isinstance(t, torch.Tensor):
                self.env[n] = self.const(to_numpy(t), spec.target)
                return
        raise ConversionError(f"{self.source}: input {n.name!r} of kind {kind} is not supported")

    def call(self, n):
        self.cur = n.name
        packet = n.target._overloadpacket.__name__ if isinstance(n.target, torch._ops.OpOverload) else None
        try:
            if n.target is operator.getitem:
                self.env[n] = self.getitem(n)
                return
            if packet in ASSERTS:
                self.env[n] = None
                return
            val = n.meta.get("val")
            if isinstance(val, (torch.SymInt, torch.SymFloat, torch.SymBool, int, float, bool)) and packet in (None, *SIZES):
                self.env[n] = self.sym(val)  # size arithmetic (sym_size, mul, floordiv): known symbolically
                return
            if self.fold(n):
                return
            handler = HANDLERS.get(packet)
            if handler is None:
                self.unsupported.setdefault(str(n.target), []).append(n.name)
                self.env[n] = _FAILED
                return
            result = handler(self, self.bind(n), n)
            self.record(n, result)
            self.env[n] = result
        except _Skip:
            self.env[n] = _FAILED
        except WebflowError as e:
            msg = str(e).split(": ", 1)[-1] if str(e).startswith("node ") else str(e)
            self.unsupported.setdefault(f"{n.target} ({msg})", []).append(n.name)
            self.env[n] = _FAILED

    def record(self, n, result):
        val = n.meta.get("val")
        if isinstance(result, str):
            self.info[result] = self.meta(n)
        elif isinstance(result, (tuple, list)):
            for r, v in zip(result, val):
                if isinstance(r, str) and isinstance(v, torch.Tensor):
                    self.info[r] = (tuple(self.sym(d) for d in v.shape), dtype_name(v.dtype))

    def getitem(self, n):
        src, i = n.args
        r = self.env[src]
        if r is _FAILED:
            return _FAILED
        return r[i]

    def fold(self, n):
        """Evaluate a node whose inputs are all constants with torch, when the result is small."""
        if (not isinstance(n.target, torch._ops.OpOverload) or n.target._overloadpacket.__name__ in KEEP_AS_OPS
                or torch.Tag.nondeterministic_seeded in n.target.tags):  # torch.rand in forward() stays random
            return False
        leaves = []
        torch.fx.node.map_arg((n.args, n.kwargs), leaves.append)
        if any(not isinstance(self.env.get(a), str) or a.meta.get("val") is None or self.env[a] not in self.constants
               or not isinstance(self.constants[self.env[a]], np.ndarray) for a in leaves):
            return False
        vals = n.meta.get("val")
        outs = list(vals) if isinstance(vals, (list, tuple)) else [vals]
        if not all(isinstance(v, torch.Tensor) for v in outs):
            return False
        try:
            sizes = [math.prod(int(d) for d in v.shape) for v in outs]
        except Exception:
            return False  # symbolic
        if sum(sizes) > FOLD_LIMIT:
            return False
        args, kwargs = torch.fx.node.map_arg((n.args, n.kwargs), lambda a: torch.from_numpy(np.array(self.constants[self.env[a]])))
        try:
            with torch.no_grad():
                result = n.target(*args, **kwargs)
        except Exception:
            return False
        results = list(result) if isinstance(result, (list, tuple)) else [result]
        names = [self.const(to_numpy(r), f"{n.name}" if len(results) == 1 else f"{n.name}_{i}") for i, r in enumerate(results)]
        self.env[n] = names[0] if not isinstance(result, (list, tuple)) else tuple(names)
        return True

    def outputs(self, user_outs, out_names, input_names):
        """Graph outputs under their names: the node that makes one writes it, else an Identity does."""
        infos, renamed = [], {}
        producer = {o: node for node in self.nodes for o in node.outputs if o}
        for fx, name in zip(user_outs, out_names):
            t = self.env.get(fx) if isinstance(fx, torch.fx.Node) else None
            if not isinstance(t, str):
                raise ConversionError(f"{self.source}: output {name!r} is not a tensor")
            shape, dtype = self.info[t]
            if t in producer:
                node = producer.pop(t)  # a second output of the same tensor gets an Identity
                node.outputs = [name if o == t else o for o in node.outputs]
                for other in self.nodes:
                    other.inputs = [name if i == t else i for i in other.inputs]
                renamed[t] = name
            else:
                self.cur = name
                self.emit("Identity", [renamed.get(t, t)], outputs=[name])
            infos.append(TensorInfo(name, dtype, shape))
        return infos


# Ops that are better kept as webflow nodes than folded by torch (views of weights read by Gemm).
KEEP_AS_OPS = {"permute", "t", "transpose", "view", "_unsafe_view", "reshape", "expand", "clone", "alias", "detach",
               "lift_fresh_copy", "unsqueeze", "squeeze"}


# --- handlers: one per ATen op (overload packet) -------------------------------------------

HANDLERS = {}


def handles(*names):
    def wrap(fn):
        for name in names:
            HANDLERS[name] = fn
        return fn
    return wrap


@handles("clone", "alias", "detach", "lift_fresh_copy", "contiguous", "dropout", "native_dropout", "_to_copy", "to")
def _identity(L, a, n):
    x = a.get("self", a.get("input"))
    if n.target._overloadpacket.__name__ == "native_dropout":
        if a.get("train"):
            raise UnsupportedError("dropout in training mode")
        return (x, _Missing("dropout mask"))
    shape, dtype = L.meta(n)
    return L.cast(x, dtype)


# element-wise

UNARY = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "neg": "Neg",
         "abs": "Abs", "sin": "Sin", "cos": "Cos", "erf": "Erf", "floor": "Floor", "ceil": "Ceil", "sign": "Sign",
         "reciprocal": "Reciprocal", "logical_not": "Not", "isnan": "IsNaN", "hardswish": "HardSwish", "mish": "Mish",
         "softsign": "Softsign"}


@handles(*UNARY)
def _unary(L, a, n):
    op = UNARY[n.target._overloadpacket.__name__]
    x = a["self"]
    if op == "Not":
        x = L.cast(x, "bool")
    elif op not in ("IsNaN", "Abs", "Neg", "Sign", "Floor", "Ceil"):
        x = L.cast(x, L.meta(n)[1])  # exp(int) is float in torch
    return L.emit(op, [x])


@handles("bitwise_not")
def _bitwise_not(L, a, n):
    if L.dtype(a["self"]) != "bool":
        raise UnsupportedError("bitwise_not on integers")
    return L.emit("Not", [a["self"]])


@handles("round")
def _round(L, a, n):
    if a.get("decimals", 0):
        scale = L.scalar(10.0 ** a["decimals"], L.dtype(a["self"]))
        return L.emit("Div", [L.emit("Round", [L.emit("Mul", [a["self"], scale])]), scale])
    return L.emit("Round", [a["self"]])


@handles("rsqrt")
def _rsqrt(L, a, n):
    return L.emit("Reciprocal", [L.emit("Sqrt", [L.cast(a["self"], L.meta(n)[1])])])


@handles("log1p", "expm1", "log2", "log10", "exp2")
def _log_exp(L, a, n):
    kind = n.target._overloadpacket.__name__
    dtype = L.meta(n)[1]
    x = L.cast(a["self"], dtype)
    if kind == "log1p":
        return L.emit("Log", [L.emit("Add", [x, L.scalar(1, dtype)])])
    if kind == "expm1":
        return L.emit("Sub", [L.emit("Exp", [x]), L.scalar(1, dtype)])
    if kind == "exp2":
        return L.emit("Pow", [L.scalar(2, dtype), x])
    return L.emit("Div", [L.emit("Log", [x]), L.scalar(math.log(2 if kind == "log2" else 10), dtype)])


@handles("silu")
def _silu(L, a, n):
    return L.emit("Mul", [a["self"], L.emit("Sigmoid", [a["self"]])])


@handles("gelu")
def _gelu(L, a, n):
    return L.emit("Gelu", [a["self"]], {"approximate": a["approximate"]})


@handles("hardsigmoid")
def _hardsigmoid(L, a, n):
    return L.emit("HardSigmoid", [a["self"]], {"alpha": 1 / 6, "beta": 0.5})


@handles("leaky_relu")
def _leaky_relu(L, a, n):
    return L.emit("LeakyRelu", [a["self"]], {"alpha": float(a["negative_slope"])})


@handles("elu")
def _elu(L, a, n):
    alpha, scale, input_scale = float(a["alpha"]), float(a["scale"]), float(a["input_scale"])
    selu = REGISTRY["Selu"].attrs
    if input_scale == 1 and math.isclose(alpha, selu["alpha"]) and math.isclose(scale, selu["gamma"]):
        return L.emit("Selu", [a["self"]])
    x = a["self"]
    if input_scale != 1:
        x = L.emit("Mul", [x, L.scalar(input_scale, L.dtype(x))])
    y = L.emit("Elu", [x], {"alpha": alpha})
    return y if scale == 1 else L.emit("Mul", [y, L.scalar(scale, L.dtype(x))])


@handles("celu")
def _celu(L, a, n):
    return L.emit("Celu", [a["self"]], {"alpha": float(a["alpha"])})


@handles("softplus")
def _softplus(L, a, n):
    # torch's `threshold` only switches to x where log(1 + exp(x)) already rounds to x
    beta, x = float(a["beta"]), a["self"]
    if beta == 1:
        return L.emit("Softplus", [x])
    s = L.scalar(beta, L.dtype(x))
    return L.emit("Div", [L.emit("Softplus", [L.emit("Mul", [x, s])]), s])


@handles("hardtanh", "clamp", "clip", "clamp_min", "clamp_max", "relu6")
def _clip(L, a, n):
    kind = n.target._overloadpacket.__name__
    x = a["self"]
    lo, hi = (a["min_val"], a["max_val"]) if kind == "hardtanh" else (0, 6) if kind == "relu6" else (a.get("min"), a.get("max"))
    dtype = L.meta(n)[1]
    x = L.cast(x, dtype)
    if isinstance(lo, str) or isinstance(hi, str):  # clamp.Tensor: bounds are tensors
        y = x if lo is None else L.emit("Max", [x, L.operand(lo, dtype)])
        return y if hi is None else L.emit("Min", [y, L.operand(hi, dtype)])
    bounds = ["" if b is None else L.scalar(b, dtype) for b in (lo, hi)]
    while bounds and not bounds[-1]:
        bounds.pop()
    return L.emit("Clip", [x] + bounds)


BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max", "minimum": "Min",
          "fmod": "Mod", "remainder": "Mod", "rsub": "Sub", "true_divide": "Div", "floor_divide": "Div",
          "eq": "Equal", "ne": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual",
          "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor",
          "bitwise_and": "And", "bitwise_or": "Or", "bitwise_xor": "Xor"}
COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
LOGICAL = ("logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor")


def _promoted(L, x, y):
    """torch's result type of a binary op on two operands (tensor names or numbers)."""
    def probe(v):
        if isinstance(v, str):
            return torch.empty([1] * L.rank(v), dtype=getattr(torch, L.dtype(v)))
        return v
    return dtype_name(torch.result_type(probe(x), probe(y)))


@handles(*BINARY)
def _binary(L, a, n):
    kind = n.target._overloadpacket.__name__
    x, y = a["self"], a["other"] if "other" in a else a["exponent"]
    out_dtype = L.meta(n)[1]
    if kind in COMPARE:
        dtype = _promoted(L, x, y)
    elif kind in LOGICAL:
        if kind.startswith("bitwise") and out_dtype != "bool":
            raise UnsupportedError(f"{kind} on integers")
        dtype = "bool"
    else:
        dtype = out_dtype
    if kind == "rsub":
        x, y = y, x
    alpha = a.get("alpha", 1)
    if alpha not in (None, 1) and kind in ("add", "sub", "rsub"):
        y = y * alpha if not isinstance(y, str) else L.emit("Mul", [L.cast(y, dtype), L.scalar(alpha, dtype)])
    xs, ys = L.operand(x, dtype), L.operand(y, dtype)
    op = BINARY[kind]
    rounding = a.get("rounding_mode") or ("floor" if kind == "floor_divide" else None)
    if kind == "pow" and isinstance(y, (int, float)) and not isinstance(y, bool):
        if y == 2:
            return L.emit("Mul", [xs, xs])
        if y == 0.5:
            return L.emit("Sqrt", [xs])
    if kind == "remainder" and dtype.startswith("float"):  # Python's sign-of-divisor modulo: a - floor(a / b) * b
        return L.emit("Sub", [xs, L.emit("Mul", [L.emit("Floor", [L.emit("Div", [xs, ys])]), ys])])
    if op == "Div" and rounding is not None:
        return _rounded_div(L, xs, ys, dtype, rounding)
    y = L.emit(op, [xs, ys], {"fmod": 1} if kind == "fmod" else None)
    return L.emit("Not", [y]) if kind == "ne" else y


def _rounded_div(L, x, y, dtype, mode):
    if not dtype.startswith("float"):
        if mode == "trunc":
            return L.emit("Div", [x, y])  # webflow's integer Div truncates
        # a - (a mod b) is a multiple of b when mod takes b's sign (Python's %): the division is exact
        return L.emit("Div", [L.emit("Sub", [x, L.emit("Mod", [x, y])]), y])
    q = L.emit("Div", [x, y])
    if mode == "floor":
        return L.emit("Floor", [q])
    return L.emit("Where", [L.emit("Less", [q, L.scalar(0, dtype)]), L.emit("Ceil", [q]), L.emit("Floor", [q])])


@handles("copy")
def _copy(L, a, n):
    """copy(self, src): src broadcast to self's shape, in self's dtype."""
    shape, dtype = L.meta(n)
    y = L.cast(a["src"], dtype)
    if _same_shape(L.shape(a["src"]), shape):
        return y
    return L.emit("Expand", [y, L.ints(shape)])


@handles("_prelu_kernel", "prelu")
def _prelu(L, a, n):
    x, w = a["self"], a["weight"]
    if L.rank(x) > 1 and L.rank(w) == 1:  # one slope per channel (dim 1), or a single one
        w = L.emit("Reshape", [w, L.ints([-1] + [1] * (L.rank(x) - 2))])
    return L.emit("PRelu", [x, w])


@handles("where")
def _where(L, a, n):
    dtype = L.meta(n)[1]
    return L.emit("Where", [L.cast(a["condition"], "bool"), L.operand(a["self"], dtype), L.operand(a["other"], dtype)])


@handles("masked_fill")
def _masked_fill(L, a, n):
    dtype = L.meta(n)[1]
    return L.emit("Where", [L.cast(a["mask"], "bool"), L.operand(a["value"], dtype), a["self"]])


# creation

def _fill(L, n, value, dtype):
    """A tensor of n's output shape filled with value: a constant when small and static, else ConstantOfShape."""
    shape = L.out_shape(n)
    if all(isinstance(d, int) for d in shape) and math.prod(shape) <= FOLD_LIMIT:
        return L.const(np.full(shape, value, dtype=dtype), n.name)
    out = L.emit("ConstantOfShape", [L.ints(shape)], {"value": value, "dtype": dtype})
    if not value:
        L.zeros.add(out)
    return out


@handles("full", "full_like", "zeros", "zeros_like", "ones", "ones_like", "empty", "empty_like", "new_zeros",
         "new_ones", "new_full", "new_empty", "empty_strided", "scalar_tensor", "fill")
def _full(L, a, n):
    kind = n.target._overloadpacket.__name__
    value = a.get("fill_value", a.get("value", a.get("s", 1 if "ones" in kind else 0)))
    if isinstance(value, str):
        raise UnsupportedError("filling with a tensor's value")
    dtype = L.meta(n)[1]
    if dtype == "bool":
        value = bool(value)
    elif dtype.startswith("float"):
        value = float(value)
    else:
        value = int(value)
    return _fill(L, n, value, dtype)


@handles("arange")
def _arange(L, a, n):
    start, end, step = a.get("start", 0), a["end"], a.get("step", 1)
    dtype = L.meta(n)[1]
    for v in (start, end, step):
        if isinstance(v, str):
            raise UnsupportedError("arange with tensor bounds")
    if not any(is_sym(v) for v in (start, end, step)):
        return L.const(np.arange(start, end, step, dtype=dtype), n.name)

    def scalar(v):
        if is_sym(v):
            name = L.fresh(f"{n.name}_bound")
            L.constants[name] = SymbolicTensor([v], "int64", ())
            L.info[name] = ((), "int64")
            return L.cast(name, dtype) if dtype != "int64" else name
        return L.scalar(v, dtype)
    return L.emit("Range", [scalar(start), scalar(end), scalar(step)])


# linear algebra

def _weight_t(L, b):
    """(tensor, transB): a Transpose(W) of a 2-D W is read as W with transB=1."""
    return (L.transposed[b], 1) if b in L.transposed else (b, 0)


@handles("addmm")
def _addmm(L, a, n):
    b, trans = _weight_t(L, a["mat2"])
    attrs = {"transB": trans}
    if a["alpha"] != 1:
        attrs["alpha"] = float(a["alpha"])
    if a["beta"] != 1:
        attrs["beta"] = float(a["beta"])
    return L.emit("Gemm", [a["mat1"], b, a["self"]], attrs)


@handles("mm")
def _mm(L, a, n):
    b, trans = _weight_t(L, a["mat2"])
    if trans:
        return L.emit("Gemm", [a["self"], b], {"transB": 1})
    return L.emit("MatMul", [a["self"], a["mat2"]])


@handles("bmm", "matmul", "mv", "dot")
def _matmul(L, a, n):
    x, y = a["self"], a.get("mat2", a.get("other", a.get("vec", a.get("tensor"))))
    # torch expands a weight to the batch before bmm; MatMul broadcasts it, and the download stays small
    for i, t in enumerate((x, y)):
        src = L.expanded.get(t)
        if src is not None and L.rank(t) >= 3 and L.shape(src)[-2:] == L.shape(t)[-2:]:
            return L.emit("MatMul", [src, y] if i == 0 else [x, src])
    return L.emit("MatMul", [x, y])


@handles("baddbmm")
def _baddbmm(L, a, n):
    dtype = L.dtype(a["batch1"])
    y = L.emit("MatMul", [a["batch1"], a["batch2"]])
    if a["alpha"] != 1:
        y = L.emit("Mul", [y, L.scalar(a["alpha"], dtype)])
    c = a["self"] if a["beta"] == 1 else L.emit("Mul", [a["self"], L.scalar(a["beta"], dtype)])
    return y if a["beta"] == 0 else L.emit("Add", [y, c])


@handles("linear")
def _linear(L, a, n):
    x, w, b = a["input"], a["weight"], a["bias"]
    if L.rank(x) == 2:
        return L.emit("Gemm", [x, w] + ([b] if b else []), {"transB": 1})
    y = L.emit("MatMul", [x, L.emit("Transpose", [w], {"perm": [1, 0]})])
    return L.emit("Add", [y, b]) if b else y


# convolution, pooling, normalization

@handles("convolution", "_convolution")
def _convolution(L, a, n):
    x, w, b = a["input"], a["weight"], a["bias"]
    nd = L.rank(w) - 2
    pads = _pair(a["padding"], nd)
    attrs = {"strides": _pair(a["stride"], nd), "pads": pads + pads, "dilations": _pair(a["dilation"], nd), "group": a["groups"],
             "kernel_shape": list(L.shape(w)[2:])}
    if a["transposed"]:
        attrs["output_padding"] = _pair(a["output_padding"], nd)
        return L.emit("ConvTranspose", [x, w] + ([b] if b else []), attrs)
    return L.emit("Conv", [x, w] + ([b] if b else []), attrs)


@handles("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices")
def _max_pool(L, a, n):
    x = a["self"]
    nd = L.rank(x) - 2
    k = _pair(a["kernel_size"], nd)
    pads = _pair(a["padding"], nd)
    attrs = {"kernel_shape": k, "strides": _pair(a["stride"], nd) if a["stride"] else k, "pads": pads + pads,
             "dilations": _pair(a["dilation"], nd), "ceil_mode": int(a["ceil_mode"])}
    y = L.emit("MaxPool", [x], attrs)
    if "with_indices" in n.target._overloadpacket.__name__:
        return (y, _Missing("max-pool indices (torch counts them per plane, webflow's MaxPool over the tensor)"))
    return y


@handles("avg_pool1d", "avg_pool2d", "avg_pool3d")
def _avg_pool(L, a, n):
    if a.get("divisor_override"):
        raise UnsupportedError("avg_pool divisor_override")
    x = a["self"]
    nd = L.rank(x) - 2
    k = _pair(a["kernel_size"], nd)
    pads = _pair(a["padding"], nd)
    return L.emit("AveragePool", [x], {"kernel_shape": k, "strides": _pair(a["stride"], nd) if a["stride"] else k,
                                        "pads": pads + pads, "ceil_mode": int(a["ceil_mode"]),
                                        "count_include_pad": int(a["count_include_pad"])})


@handles("_adaptive_avg_pool1d", "_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
         "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
def _adaptive_pool(L, a, n):
    kind = n.target._overloadpacket.__name__
    x = a["self"]
    sizes = L.shape(x)[2:]
    out = _pair(a["output_size"], len(sizes))
    is_max = "max" in kind
    if all(o == 1 for o in out):
        y = L.emit("GlobalMaxPool" if is_max else "GlobalAveragePool", [x])
    elif all(isinstance(s, int) and s % o == 0 for s, o in zip(sizes, out)):
        k = [s // o for s, o in zip(sizes, out)]
        y = L.emit("MaxPool" if is_max else "AveragePool", [x], {"kernel_shape": k, "strides": k})
    else:
        raise UnsupportedError(f"adaptive pooling from {list(sizes)} to {out} (windows of unequal size)")
    return (y, _Missing("adaptive max-pool indices")) if is_max else y


def _norm_params(L, w, b, channels, dtype):
    w = w or L.const(np.ones(channels, dtype))
    b = b or L.const(np.zeros(channels, dtype))
    return w, b


@handles("_native_batch_norm_legit_no_training", "_native_batch_norm_legit", "native_batch_norm", "batch_norm")
def _batch_norm(L, a, n):
    if a.get("training"):
        raise UnsupportedError("batch norm in training mode")
    if a.get("running_mean") is None:
        raise UnsupportedError("batch norm without running statistics")
    x = a["input"]
    w, b = _norm_params(L, a["weight"], a["bias"], L.shape(x)[1], L.dtype(x))
    y = L.emit("BatchNormalization", [x, w, b, a["running_mean"], a["running_var"]], {"epsilon": float(a["eps"])})
    if n.target._overloadpacket.__name__ == "batch_norm":
        return y
    return (y, _Missing("batch-norm saved mean"), _Missing("batch-norm saved inverse std"))


def _used(n):
    """Which outputs of a multi-output node are read."""
    return {u.args[1] for u in n.users if u.target is operator.getitem and u.users}


@handles("native_layer_norm", "layer_norm")
def _layer_norm(L, a, n):
    x = a["input"]
    k = len(a["normalized_shape"])
    shape = list(L.shape(x)[-k:])
    w, b = a["weight"], a["bias"]
    if w is None:
        w = L.const(np.ones(shape, L.dtype(x)))
    ins = [x, w] + ([b] if b else [])
    if n.target._overloadpacket.__name__ == "layer_norm":
        return L.emit("LayerNormalization", ins, {"axis": -k, "epsilon": float(a["eps"])})
    used = _used(n)
    outs = [L.fresh(n.name)] + [L.fresh(f"{n.name}_{s}") if i in used else "" for i, s in ((1, "mean"), (2, "rstd"))]
    last = max(i for i, o in enumerate(outs) if o)
    L.emit("LayerNormalization", ins, {"axis": -k, "epsilon": float(a["eps"])}, outputs=outs[:last + 1])
    return tuple(o if o else _Missing("layer-norm statistic") for o in outs)


@handles("native_group_norm", "group_norm")
def _group_norm(L, a, n):
    x = a["input"]
    c = L.shape(x)[1]
    w, b = _norm_params(L, a["weight"], a["bias"], c, L.dtype(x))
    y = L.emit("GroupNormalization", [x, w, b], {"num_groups": a.get("group", a.get("num_groups")), "epsilon": float(a["eps"])})
    if n.target._overloadpacket.__name__ == "group_norm":
        return y
    return (y, _Missing("group-norm mean"), _Missing("group-norm rstd"))


# softmax and reductions

@handles("_softmax", "softmax", "_log_softmax", "log_softmax")
def _softmax(L, a, n):
    op = "LogSoftmax" if "log" in n.target._overloadpacket.__name__ else "Softmax"
    x = L.cast(a["self"], L.meta(n)[1])
    return L.emit(op, [x], {"axis": a["dim"]})


def _axes(dim, rank):
    if dim is None or (isinstance(dim, (list, tuple)) and not dim):
        return list(range(rank))
    return [d % rank if rank else 0 for d in (dim if isinstance(dim, (list, tuple)) else [dim])]


REDUCE = {"mean": "ReduceMean", "sum": "ReduceSum", "amax": "ReduceMax", "amin": "ReduceMin", "prod": "ReduceProd",
          "any": "ReduceMax", "all": "ReduceMin", "max": "ReduceMax", "min": "ReduceMin", "logsumexp": "ReduceLogSumExp"}


@handles(*REDUCE)
def _reduce(L, a, n):
    kind = n.target._overloadpacket.__name__
    x = a["self"]
    if "other" in a:  # max.other / min.other: element-wise
        dtype = L.meta(n)[1]
        return L.emit("Max" if kind == "max" else "Min", [L.cast(x, dtype), L.operand(a["other"], dtype)])
    rank = L.rank(x)
    dim = a.get("dim")
    keep = int(bool(a.get("keepdim", False)))
    dtype = L.meta(n)[1] if not isinstance(n.meta["val"], (tuple, list)) else L.dtype(x)
    x = L.cast(x, "bool" if kind in ("any", "all") else dtype)
    if rank == 0:
        return x if kind not in ("max", "min") or dim is None else (x, L.const(np.array(0, np.int64)))
    axes = _axes(dim, rank)
    y = L.emit(REDUCE[kind], [x, L.ints(axes)], {"keepdims": keep})
    if kind in ("max", "min") and dim is not None and not isinstance(dim, (list, tuple)):  # max.dim: (values, indices)
        i = L.emit("ArgMax" if kind == "max" else "ArgMin", [x], {"axis": axes[0], "keepdims": keep})
        return (y, i)
    return y


@handles("argmax", "argmin")
def _argmax(L, a, n):
    x, dim, keep = a["self"], a["dim"], int(bool(a["keepdim"]))
    op = "ArgMax" if n.target._overloadpacket.__name__ == "argmax" else "ArgMin"
    if dim is None:
        y = L.emit(op, [L.emit("Reshape", [x, L.ints([-1])])], {"axis": 0, "keepdims": 0})
        return L.emit("Reshape", [y, L.ints([1] * L.rank(x))]) if keep else y
    return L.emit(op, [x], {"axis": dim % L.rank(x), "keepdims": keep})


@handles("var", "std")
def _var(L, a, n):
    x = a["self"]
    axes = _axes(a.get("dim"), L.rank(x))
    keep = int(bool(a.get("keepdim", False)))
    correction = a.get("correction")
    correction = (1 if a.get("unbiased", True) else 0) if correction is None else correction
    count = math.prod(L.shape(x)[i] for i in axes)
    if not isinstance(count, int):
        raise UnsupportedError("variance over a symbolic dim")
    dtype = L.dtype(x)
    mean = L.emit("ReduceMean", [x, L.ints(axes)], {"keepdims": 1})
    d = L.emit("Sub", [x, mean])
    v = L.emit("ReduceSum", [L.emit("Mul", [d, d]), L.ints(axes)], {"keepdims": keep})
    v = L.emit("Div", [v, L.scalar(max(count - correction, 0), dtype)])
    return L.emit("Sqrt", [v]) if n.target._overloadpacket.__name__ == "std" else v


@handles("linalg_vector_norm")
def _vector_norm(L, a, n):
    x, order = a["self"], a["ord"]
    axes = L.ints(_axes(a["dim"], L.rank(x)))
    keep = {"keepdims": int(bool(a["keepdim"]))}
    if order == 2:
        return L.emit("ReduceL2", [x, axes], keep)
    if order == 1:
        return L.emit("ReduceL1", [x, axes], keep)
    if order == math.inf:
        return L.emit("ReduceMax", [L.emit("Abs", [x]), axes], keep)
    raise UnsupportedError(f"vector norm of order {order}")


# movement

def _same_shape(a, b):
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))


@handles("view", "_unsafe_view", "reshape", "flatten", "unflatten", "view_as", "reshape_as")
def _reshape(L, a, n):
    x = a.get("self", a.get("input"))
    src, dst = L.shape(x), L.out_shape(n)
    if _same_shape(src, dst):
        return x
    target = list(dst)
    if any(isinstance(d, int) and d == 0 for d in target):  # an empty dim: 0 must mean 0, not "copy"
        return L.emit("Reshape", [x, L.ints(target)], {"allowzero": 1})
    if any(is_sym(d) for d in target):
        # a dim that stays in place is copied (0); a single remaining symbolic one is inferred (-1)
        target = [0 if is_sym(d) and i < len(src) and d == src[i] else d for i, d in enumerate(target)]
        rest = [i for i, d in enumerate(target) if is_sym(d)]
        if len(rest) == 1:
            target[rest[0]] = -1
    return L.emit("Reshape", [x, L.ints(target)])


@handles("permute", "transpose", "t")
def _permute(L, a, n):
    kind = n.target._overloadpacket.__name__
    x = a["self"]
    rank = L.rank(x)
    if kind == "permute":
        perm = [d % rank for d in a["dims"]]
    elif kind == "t":
        perm = list(range(rank))[::-1]
    else:
        perm = list(range(rank))
        d0, d1 = a["dim0"] % rank, a["dim1"] % rank
        perm[d0], perm[d1] = perm[d1], perm[d0]
    if perm == list(range(rank)):
        return x
    y = L.emit("Transpose", [x], {"perm": perm})
    if perm == [1, 0]:
        L.transposed[y] = x
    return y


@handles("expand", "expand_as", "broadcast_to")
def _expand(L, a, n):
    x = a["self"]
    src, dst = L.shape(x), L.out_shape(n)
    if _same_shape(src, dst):
        return x
    k = len(dst) - len(src)
    target = [1 if i >= k and is_sym(d) and d == src[i - k] else d for i, d in enumerate(dst)]
    y = L.emit("Expand", [x, L.ints(target)])
    L.expanded[y] = x
    return y


@handles("cat", "concat", "concatenate")
def _cat(L, a, n):
    dtype = L.meta(n)[1]
    parts = [L.cast(t, dtype) for t in a["tensors"] if L.shape(t) != (0,)]  # torch ignores legacy empty [0] tensors
    rank = len(L.out_shape(n))
    if len(parts) == 1:
        return parts[0]
    return L.emit("Concat", parts, {"axis": a["dim"] % rank})


@handles("split", "split_with_sizes", "unbind", "chunk")
def _split(L, a, n):
    kind = n.target._overloadpacket.__name__
    x = a["self"]
    rank = L.rank(x)
    axis = a["dim"] % rank
    sizes = [L.sym(v.shape[axis]) for v in n.meta["val"]] if kind != "unbind" else [1] * len(n.meta["val"])
    if len(sizes) == 1:
        parts = [x]
    elif all(isinstance(s, int) for s in sizes):
        parts = L.emit("Split", [x, L.ints(sizes)], {"axis": axis}, n_out=len(sizes))
    elif all(s == sizes[0] for s in sizes):
        parts = L.emit("Split", [x], {"axis": axis, "num_outputs": len(sizes)}, n_out=len(sizes))
    else:
        parts = L.emit("Split", [x, L.ints(sizes)], {"axis": axis}, n_out=len(sizes))
    if kind == "unbind":
        parts = [L.emit("Squeeze", [p, L.ints([axis])]) for p in parts]
    return tuple(parts)


@handles("slice")
def _slice(L, a, n):
    x = a["self"]
    rank = L.rank(x)
    axis = a["dim"] % rank
    start, end, step = a["start"], a["end"], a["step"]
    start = 0 if start is None else start
    end = INT64_MAX if end is None else min(end, INT64_MAX) if isinstance(end, int) else end
    size = L.shape(x)[axis]
    to_end = end == INT64_MAX or (isinstance(end, int) and isinstance(size, int) and end >= size) or (is_sym(end) and end == size)
    if step == 1 and isinstance(start, int) and start == 0 and to_end:
        return x
    return L.emit("Slice", [x, L.ints([start]), L.ints([end]), L.ints([axis]), L.ints([step])])


@handles("select")
def _select(L, a, n):
    x = a["self"]
    axis = a["dim"] % L.rank(x)
    index = a["index"]
    if isinstance(index, int):
        return L.emit("Gather", [x, L.const(np.array(index, np.int64))], {"axis": axis})
    end = index + 1
    y = L.emit("Slice", [x, L.ints([index]), L.ints([end]), L.ints([axis])])
    return L.emit("Squeeze", [y, L.ints([axis])])


@handles("unsqueeze")
def _unsqueeze(L, a, n):
    x = a["self"]
    return L.emit("Unsqueeze", [x, L.ints([a["dim"] % (L.rank(x) + 1)])])


@handles("squeeze")
def _squeeze(L, a, n):
    x = a["self"]
    shape = L.shape(x)
    dims = a.get("dim")
    dims = range(len(shape)) if dims is None else dims if isinstance(dims, (list, tuple)) else [dims]
    axes = sorted({d % len(shape) for d in dims if isinstance(shape[d], int) and shape[d] == 1}) if shape else []
    if not axes:
        return x
    return L.emit("Squeeze", [x, L.ints(axes)])


@handles("index_select")
def _index_select(L, a, n):
    x = a["self"]
    return L.emit("Gather", [x, L.cast(a["index"], "int64")], {"axis": a["dim"] % L.rank(x)})


@handles("embedding")
def _embedding(L, a, n):
    return L.emit("Gather", [a["weight"], L.cast(a["indices"], "int64")], {"axis": 0})


@handles("index")
def _index(L, a, n):
    x, indices = a["self"], a["indices"]
    given = [(i, t) for i, t in enumerate(indices) if t is not None]
    if len(given) != 1 or L.dtype(given[0][1]) == "bool":
        raise UnsupportedError("advanced indexing with several index tensors or a boolean mask")
    axis, t = given[0]
    return L.emit("Gather", [x, L.cast(t, "int64")], {"axis": axis})


@handles("gather")
def _gather(L, a, n):
    x = a["self"]
    return L.emit("GatherElements", [x, a["index"]], {"axis": a["dim"] % L.rank(x)})


@handles("constant_pad_nd", "pad", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
         "replication_pad1d", "replication_pad2d", "replication_pad3d", "circular_pad1d", "circular_pad2d", "circular_pad3d")
def _pad(L, a, n):
    kind = n.target._overloadpacket.__name__
    x = a.get("self", a.get("input"))
    pad = a.get("pad", a.get("padding"))
    rank = L.rank(x)
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(pad) // 2):  # torch lists (begin, end) pairs from the last dim backwards
        begins[rank - 1 - i], ends[rank - 1 - i] = pad[2 * i], pad[2 * i + 1]
    mode = ("reflect" if kind.startswith("reflection") else "edge" if kind.startswith("replication")
            else "wrap" if kind.startswith("circular") else a.get("mode", "constant"))
    if mode == "replicate":
        mode = "edge"
    if mode == "circular":
        mode = "wrap"
    ins = [x, L.ints(begins + ends)]
    value = a.get("value")
    if mode == "constant" and value:
        ins.append(L.scalar(value, L.dtype(x)))
    return L.emit("Pad", ins, {"mode": mode})


@handles("repeat")
def _repeat(L, a, n):
    x, reps = a["self"], list(a["repeats"])
    extra = len(reps) - L.rank(x)
    if extra > 0:
        x = L.emit("Reshape", [x, L.ints([1] * extra + [0] * L.rank(x))])
    return L.emit("Tile", [x, L.ints(reps)])


@handles("flip")
def _flip(L, a, n):
    x = a["self"]
    axes = [d % L.rank(x) for d in a["dims"]]
    k = len(axes)
    return L.emit("Slice", [x, L.ints([-1] * k), L.ints([-INT64_MAX - 1] * k), L.ints(axes), L.ints([-1] * k)])


@handles("tril", "triu")
def _trilu(L, a, n):
    return L.emit("Trilu", [a["self"], L.const(np.array(a["diagonal"], np.int64))],
                  {"upper": int(n.target._overloadpacket.__name__ == "triu")})


@handles("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact1d",
         "_upsample_nearest_exact2d", "_upsample_nearest_exact3d", "upsample_bilinear2d", "upsample_linear1d",
         "upsample_trilinear3d", "upsample_bicubic2d")
def _upsample(L, a, n):
    kind = n.target._overloadpacket.__name__
    x = a["input"] if "input" in a else a["self"]
    out = L.out_shape(n)
    spatial = list(out[2:])
    if not all(isinstance(d, int) for d in spatial):
        raise UnsupportedError("resizing to a symbolic size")
    axes = list(range(2, len(out)))
    attrs = {"axes": axes}
    if "nearest" in kind:
        attrs.update(mode="nearest", coordinate_transformation_mode="half_pixel" if "exact" in kind else "asymmetric",
                     nearest_mode="round_prefer_ceil" if "exact" in kind else "floor")
    else:
        attrs.update(mode="cubic" if "bicubic" in kind else "linear", cubic_coeff_a=-0.75,
                     coordinate_transformation_mode="align_corners" if a.get("align_corners") else "pytorch_half_pixel")
    scales = a.get("scale_factors") or [a.get(k) for k in ("scales_d", "scales_h", "scales_w", "scales") if a.get(k)]
    if scales and len(scales) == len(spatial) and "nearest" in kind:  # torch maps coordinates with the given scale
        return L.emit("Resize", [x, "", L.const(np.array(scales, np.float32))], attrs)
    return L.emit("Resize", [x, "", "", L.ints(spatial)], attrs)


@handles("pixel_shuffle")
def _pixel_shuffle(L, a, n):
    return L.emit("DepthToSpace", [a["self"]], {"blocksize": a["upscale_factor"], "mode": "CRD"})


# attention

@handles("scaled_dot_product_attention")
def _sdpa(L, a, n):
    q, k, v, mask = a["query"], a["key"], a["value"], a["attn_mask"]
    if a["dropout_p"]:
        raise UnsupportedError("attention dropout")
    if a.get("enable_gqa") and L.shape(q)[-3] != L.shape(k)[-3]:
        raise UnsupportedError("grouped-query attention (enable_gqa)")
    dtype = L.dtype(q)
    rank = L.rank(k)
    scale = a["scale"] if a["scale"] is not None else 1 / math.sqrt(L.shape(q)[-1])
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    s = L.emit("MatMul", [q, L.emit("Transpose", [k], {"perm": perm})])
    s = L.emit("Mul", [s, L.scalar(scale, dtype)])
    neg = L.scalar(-math.inf, dtype)
    masked = False
    if a["is_causal"]:
        lq, lk = L.shape(q)[-2], L.shape(k)[-2]
        if not isinstance(lq, int) or not isinstance(lk, int):
            raise UnsupportedError("causal attention over a symbolic length")
        s = L.emit("Where", [L.const(np.tril(np.ones((lq, lk), bool))), s, neg])
        masked = True
    if mask is not None:
        s = L.emit("Where", [mask, s, neg]) if L.dtype(mask) == "bool" else L.emit("Add", [s, L.cast(mask, dtype)])
        masked = True
    p = L.emit("Softmax", [s], {"axis": -1})
    if masked:
        # torch's safe softmax: a row with every key masked gives zeros, not NaN
        top = L.emit("ReduceMax", [s, L.ints([rank - 1])], {"keepdims": 1})
        p = L.emit("Where", [L.emit("Greater", [top, neg]), p, L.scalar(0, dtype)])
    return L.emit("MatMul", [p, v])


# recurrent layers: torch's gate blocks in ONNX's order (GRU r,z,n -> z,r,h; LSTM i,f,g,o -> i,o,f,c)

RNN = {"gru": ("GRU", 3, [1, 0, 2], 1), "lstm": ("LSTM", 4, [0, 3, 1, 2], 2), "rnn_tanh": ("RNN", 1, [0], 1),
       "rnn_relu": ("RNN", 1, [0], 1)}


@handles(*RNN)
def _rnn(L, a, n):
    kind = n.target._overloadpacket.__name__
    op, gates, order, n_states = RNN[kind]
    if a["train"] and a["dropout"]:
        raise UnsupportedError("recurrent dropout in training mode")
    x, params = a["input"], a["params"]
    layers, dirs = a["num_layers"], 2 if a["bidirectional"] else 1
    per = 4 if a["has_biases"] else 2
    if len(params) != layers * dirs * per:
        raise UnsupportedError(f"{kind} with projections (proj_size)")
    if not all(p in L.constants for p in params):
        raise UnsupportedError(f"{kind} with weights that are not constants")
    hx = a["hx"] if isinstance(a["hx"], list) else [a["hx"]]
    layout = int(bool(a["batch_first"]))
    attrs = {"direction": "bidirectional" if dirs == 2 else "forward", "layout": layout}
    if op == "GRU":
        attrs["linear_before_reset"] = 1  # torch applies r to (W_hn h + b_hn)
    if kind == "rnn_relu":
        attrs["activations"] = ["Relu"] * dirs

    def blocks(w):
        h = w.shape[0] // gates
        return np.concatenate([w[g * h:(g + 1) * h] for g in order])

    finals = [[] for _ in range(n_states)]
    for layer in range(layers):
        ps = [[L.constants[p] for p in params[(layer * dirs + d) * per:(layer * dirs + d + 1) * per]] for d in range(dirs)]
        w = L.const(np.stack([blocks(p[0]) for p in ps]), f"{n.name}_W{layer}")
        r = L.const(np.stack([blocks(p[1]) for p in ps]), f"{n.name}_R{layer}")
        ins = [x, w, r, L.const(np.stack([np.concatenate([blocks(p[2]), blocks(p[3])]) for p in ps]), f"{n.name}_B{layer}")
               if per == 4 else ""]
        states = []
        for h in hx:
            if h in L.zeros:
                states.append("")
                continue
            s = L.emit("Slice", [h, L.ints([layer * dirs]), L.ints([(layer + 1) * dirs]), L.ints([0])])
            states.append(L.emit("Transpose", [s], {"perm": [1, 0, 2]}) if layout else s)
        ins += ["", *states]
        while not ins[-1]:
            ins.pop()
        outs = L.emit(op, ins, {**attrs, "hidden_size": int(L.constants[r].shape[-1])}, n_out=1 + n_states)
        y = outs[0]
        if not layout:  # [T, dirs, N, H] -> [T, N, dirs, H]
            y = L.emit("Transpose", [y], {"perm": [0, 2, 1, 3]})
        x = L.emit("Reshape", [y, L.ints([0, 0, -1])])
        for k, s in enumerate(outs[1:]):
            finals[k].append(L.emit("Transpose", [s], {"perm": [1, 0, 2]}) if layout else s)
    states = [f[0] if len(f) == 1 else L.emit("Concat", f, {"axis": 0}) for f in finals]
    return (x, *states)
