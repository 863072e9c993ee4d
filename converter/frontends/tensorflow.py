"""TensorFlow SavedModel → webflow graph: the serving signature, frozen, lowered op by op.

- The signature (`serving_default`, else the only one) is frozen with TF's own
  convert_variables_to_constants_v2, keeping control flow as functional While/If ops, so the
  weights are constants and each loop body is a function of the library.
- Every TF op is lowered by a handler here into webflow ops, through a `Builder` that infers
  shapes (symbolic batch included) and folds what is known as it goes. Shape arithmetic
  (Shape → StridedSlice → Pack → Fill) therefore folds to values whose entries may be
  symbolic dims; where such a value must reach a run-time node, it is rebuilt from the graph
  inputs' Shape, which the converter's fold_shapes pass turns into an inline symbolic constant.
- While loops are unrolled: the condition is evaluated at conversion (it depends only on
  counters and static sizes in the graphs Keras and tf.function make), the body is lowered once
  per iteration, and TensorLists are Python lists of tensors (FromTensor reads rows by Gather,
  Stack concatenates). A loop whose trip count depends on tensor values is refused.
- TF is channels-last: Conv2D, DepthwiseConv2dNative and the pools keep NHWC (layout="NHWC"),
  with the filters put into ONNX layout once ([kh,kw,I,O] → [O,I,kh,kw]; depthwise
  [kh,kw,C,M] → [C*M,1,kh,kw] with group=C), so no Transpose runs at inference.
- `fold_affine` then merges per-channel Mul/Add (BiasAdd, inference batch norm) into the
  Conv/Gemm before it, and MatMul + bias into Gemm. keras.py uses the same Builder and pass.
- Every unsupported op is collected over the whole graph (loop bodies included) and reported
  in one error, grouped by op type with node names.
"""

import os
import re

import numpy as np

from webflow.errors import ConversionError, UnsupportedError, WebflowError
from webflow.graph import Graph, Node, TensorInfo
from webflow.ops import Meta, get
from webflow.symbolic import Sym, is_sym

FORMAT = "tensorflow"
INT_MAX, INT_MIN = 2**63 - 1, -(2**63)
GROWTH_LIMIT = 65536  # elements a fold may add beyond its inputs' (as passes/fold_constants.py)
VALUE_LIMIT = 4096  # constants up to this size carry their values in shape inference
MAX_UNROLL = 4096
CONCAT_FANIN = 16  # a GPU kernel binds each input as a texture; WebGL2 guarantees 16 units
# ops that fold on values holding symbolic dims (numpy object arrays of ints and Syms)
SYMBOLIC_FOLD = {"Shape", "Gather", "Slice", "Squeeze", "Unsqueeze", "Concat", "Reshape", "Identity", "Cast",
                 "Add", "Sub", "Mul", "ReduceProd", "Flatten", "Expand", "Transpose"}


def _has_sym(a):
    return a.dtype == object and any(is_sym(v) for v in a.reshape(-1))


class Builder:
    """A webflow graph made op by op: fresh names, shape inference (symbolic dims included),
    and folding of every node whose inputs are all known."""

    def __init__(self, source):
        self.source = source
        self.inputs, self.nodes, self.constants, self.metas = [], [], {}, {}
        self.producer = {}  # tensor -> node
        self.dtypes = {}  # constant holding symbolic entries -> its integer dtype
        self._names = set()
        self._built = {}  # symbolic constant -> the run-time tensor computing it

    def fresh(self, base):
        base = re.sub(r"[^\w./:-]", "_", base) or "t"
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def add_input(self, name, dtype, shape):
        self._names.add(name)
        t = TensorInfo(name, dtype, tuple(shape))
        self.inputs.append(t)
        self.metas[name] = Meta(t.shape, dtype)
        return name

    def const(self, value, base="const", dtype=None):
        a = np.asarray(value) if dtype is None else np.asarray(value, dtype)
        name = self.fresh(base)
        self._set_const(name, a, dtype)
        return name

    def _set_const(self, name, a, dtype=None):
        if a.dtype == object:
            if not _has_sym(a):
                a = a.astype(dtype or "int64")
            else:
                self.dtypes[name] = dtype or "int64"
        self.constants[name] = a
        dt = self.dtypes.get(name) or ("bool" if a.dtype == np.bool_ else a.dtype.name)
        self.metas[name] = Meta(a.shape, dt, a.reshape(-1).tolist() if a.size <= VALUE_LIMIT else None)

    def value(self, name):
        """The known value of a tensor (a numpy array, object dtype when symbolic), or None."""
        return self.constants.get(name)

    def ints(self, name, what):
        """A constant's values as ints; UnsupportedError when not known at conversion."""
        v = self.value(name)
        if v is None:
            raise UnsupportedError(f"{what} must be a constant")
        syms = sorted({n for x in v.reshape(-1).tolist() if is_sym(x) for n in x.names})
        if syms:
            raise UnsupportedError(f"{what} depends on the size of dim(s) {', '.join(syms)}, not known at conversion")
        return [int(x) for x in v.reshape(-1).tolist()]

    def meta(self, name):
        m = self.metas.get(name)
        if m is None:
            raise UnsupportedError(f"the shape of {name!r} is not known at conversion")
        return m

    def shape(self, name):
        return self.meta(name).shape

    def rank(self, name):
        return len(self.shape(name))

    def dtype(self, name):
        return self.meta(name).dtype

    def op(self, op, inputs, attrs=None, name=None, n_out=1, fold=True):
        """Add `op`; returns its output name (a list when n_out > 1). Folded when every input is known."""
        d = get(op)
        attrs = {k: v for k, v in (attrs or {}).items() if v is not None}
        base = self.fresh(name or op)
        outs = [self.fresh(f"{base}:{i}") for i in range(n_out)]
        node = Node(base, op, list(inputs), outs, attrs)
        full = d.resolve_attrs(node)
        d.check_arity(node)
        if fold and self._fold(node, d, full):
            return outs[0] if n_out == 1 else outs
        node.inputs = [self._runtime(i) if i and i in self.dtypes else i for i in node.inputs]
        metas = [self.metas.get(i) if i else None for i in node.inputs]
        try:
            out_metas = d.infer(node, metas, full) if all(m is not None or not i for m, i in zip(metas, node.inputs)) else []
        except WebflowError:
            out_metas = []  # only known when planned (e.g. a host input computed at run time)
        for o, m in zip(outs, out_metas):
            self.metas[o] = m
        self.nodes.append(node)
        for o in outs:
            self.producer[o] = node
        return outs[0] if n_out == 1 else outs

    def _fold(self, node, d, attrs):
        names = [i for i in node.inputs if i]
        if node.op in ("Shape", "Size") and node.inputs[0] in self.metas:
            shape = self.metas[node.inputs[0]].shape
            if node.op == "Shape":
                v = np.array(list(shape)[attrs["start"]:attrs["end"]], object)
            else:
                v = np.array(np.prod(np.array(shape, object)) if shape else 1, object)
            self._set_const(node.outputs[0], v, "int64")
            return True
        if not all(i in self.constants for i in names):
            return False
        ins = [self.constants[i] if i else None for i in node.inputs]
        symbolic = any(x is not None and x.dtype == object for x in ins)
        if symbolic and node.op not in SYMBOLIC_FOLD:
            return False
        try:
            if symbolic and node.op == "Cast":
                outs = [ins[0]]
            else:
                outs = d.run(ins, attrs)
        except Exception:  # noqa: BLE001 - a symbolic value the reference cannot take: compute at run time
            if symbolic:
                return False
            raise
        if sum(np.asarray(y).size for y in outs) > sum(x.size for x in ins if x is not None) + GROWTH_LIMIT:
            return False
        for o, y in zip(node.outputs, outs):
            y = np.asarray(y)
            dtype = attrs.get("to") if node.op == "Cast" else self.dtypes.get(names[0]) if names else None
            self._set_const(o, y, dtype if y.dtype == object else None)
        return True

    def _runtime(self, name):
        """A tensor computing symbolic constant `name` from the graph inputs' shapes."""
        if name in self._built:
            return self._built[name]
        a = self.constants[name]
        pieces, ints = [], []
        for v in a.reshape(-1):
            if is_sym(v):
                if ints:
                    pieces.append(self.const(np.array(ints, np.int64), "dims"))
                    ints = []
                pieces.append(self._dim(v))
            else:
                ints.append(int(v))
        if ints:
            pieces.append(self.const(np.array(ints, np.int64), "dims"))
        t = pieces[0] if len(pieces) == 1 else self.op("Concat", pieces, {"axis": 0}, f"{name}_dims", fold=False)
        if a.shape != (a.size,):
            t = self.op("Reshape", [t, self.const(np.array(a.shape, np.int64), "shape")], name=f"{name}_reshape", fold=False)
        if self.dtypes[name] != "int64":
            t = self.op("Cast", [t], {"to": self.dtypes[name]}, fold=False)
        self.metas[t] = Meta(a.shape, self.dtypes[name], a.reshape(-1).tolist())
        self._built[name] = t
        return t

    def _dim(self, sym):
        """[1] int64 tensor holding the symbolic dim expression `sym`."""
        total = None
        for monomial, coef in sym.terms.items():
            term = self.const(np.array([coef], np.int64), "coef") if coef != 1 or not monomial else None
            for n in monomial:
                f = self._named_dim(n)
                term = f if term is None else self.op("Mul", [term, f], fold=False)
            total = term if total is None else self.op("Add", [total, term], fold=False)
        return total

    def _named_dim(self, n):
        for t in self.inputs:
            for axis, d in enumerate(t.shape):
                if is_sym(d) and d == Sym.named(n):
                    return self.op("Shape", [t.name], {"start": axis, "end": axis + 1}, f"{t.name}_dim{axis}", fold=False)
        raise UnsupportedError(f"dim {n!r} is not a dim of any input")

    # --- conveniences the handlers share
    def activation(self, x, act):
        """x through a unary op given as {"op": name, **attrs}, or x itself when act is None."""
        if act is None:
            return x
        attrs = {k: v for k, v in act.items() if k != "op"}
        if act["op"] == "Clip":
            lo, hi = attrs.get("min"), attrs.get("max")
            dt = self.dtype(x)
            return self.op("Clip", [x, self.const(np.array(lo, dt)) if lo is not None else "",
                                    self.const(np.array(hi, dt)) if hi is not None else ""])
        if act["op"] == "Silu":
            return self.op("Mul", [x, self.op("Sigmoid", [x])])
        return self.op(act["op"], [x], attrs)

    def concat(self, parts, axis, name=None):
        while len(parts) > CONCAT_FANIN:
            parts = [self.op("Concat", parts[i:i + CONCAT_FANIN], {"axis": axis}, name) if len(parts[i:i + CONCAT_FANIN]) > 1
                     else parts[i] for i in range(0, len(parts), CONCAT_FANIN)]
        return parts[0] if len(parts) == 1 else self.op("Concat", parts, {"axis": axis}, name)

    def finish(self, outputs):
        """The Graph, outputs [(name, tensor)] renamed to the source's output names."""
        rename = {}
        for want, t in outputs:
            if t in self.producer and t not in rename.values() and t not in rename and want not in self.constants:
                rename[t] = want
            else:  # an input, a constant or a tensor given twice keeps its name: copy it out
                self.nodes.append(Node(self.fresh(f"{want}_identity"), "Identity", [self._runtime(t) if t in self.dtypes else t], [want]))
                self.metas[want] = self.metas.get(t)
        for node in self.nodes:
            node.inputs = [rename.get(i, i) for i in node.inputs]
            node.outputs = [rename.get(o, o) for o in node.outputs]
        for old, new in rename.items():
            self.metas[new] = self.metas.get(old)
        used = {i for n in self.nodes for i in n.inputs if i}
        constants = {k: v for k, v in self.constants.items() if k in used and k not in self.dtypes}
        infos = []
        for want, _ in outputs:
            m = self.metas.get(want)
            infos.append(TensorInfo(want, m.dtype if m else "float32", tuple(m.shape) if m else ()))
        return Graph(list(self.inputs), infos, self.nodes, constants)


# --- per-channel affine ops merge into the Conv / Gemm before them -------------------------

def _consumers(nodes):
    out = {}
    for n in nodes:
        for i in n.inputs:
            if i:
                out[i] = out.get(i, 0) + 1
    return out


def _per_channel(b, c, node, out):
    """Constant `c` as a vector over `node`'s output channels, or None when it broadcasts otherwise."""
    a = b.value(c)
    if a is None or a.dtype == object or out not in b.metas:
        return None
    shape, rank = b.shape(out), b.rank(out)
    if node.op == "Conv":
        channels = b.shape(node.inputs[1])[0]
        axis = rank - 1 if node.attrs.get("layout", "NCHW") == "NHWC" else 1
    elif node.op == "Gemm":
        channels, axis = shape[1], 1
    else:
        return None
    if a.ndim > rank or not isinstance(channels, int):
        return None
    if a.size == 1:
        return np.full(channels, a.reshape(()), a.dtype)
    full = (1,) * (rank - a.ndim) + a.shape
    if a.size != channels or full[axis] != channels:
        return None
    return a.reshape(-1)


def fold_affine(b, keep=()):
    """In place on builder `b`:
        Add(MatMul(a2d, B), c)            => Gemm(a2d, B, c)
        Add|Sub(Conv|Gemm(x, W, B), c)    => Conv|Gemm(x, W, B ± c)         (c per output channel)
        Mul(Conv|Gemm(x, W, B), s)        => Conv|Gemm(x, W * s, B * s)
    when the producer's output has no other reader and is not in `keep` (graph outputs)."""
    changed = True
    while changed:
        changed = False
        uses = _consumers(b.nodes)
        dead = set()
        for node in b.nodes:
            if node.op not in ("Add", "Sub", "Mul") or id(node) in dead:
                continue
            for pos in ((0, 1) if node.op != "Sub" else (0,)):
                t, c = node.inputs[pos], node.inputs[1 - pos]
                prod = b.producer.get(t)
                if (prod is None or id(prod) in dead or uses.get(t) != 1 or t in keep or prod.attrs.get("activation")
                        or c not in b.constants):
                    continue
                if prod.op == "MatMul" and node.op != "Mul" and _gemm(b, prod, node, c, t):
                    pass
                elif prod.op in ("Conv", "Gemm") and _fold_into(b, prod, node, c, t):
                    pass
                else:
                    continue
                prod.outputs = [node.outputs[0]]
                b.producer[node.outputs[0]] = prod
                dead.add(id(node))
                changed = True
                break
        b.nodes[:] = [n for n in b.nodes if id(n) not in dead]


def _gemm(b, prod, node, c, t):
    w = b.value(prod.inputs[1])
    if w is None or w.ndim != 2 or w.dtype == object or prod.inputs[0] not in b.metas or b.rank(prod.inputs[0]) != 2:
        return False
    a = b.value(c)
    if a.dtype == object or a.size not in (1, w.shape[1]) or a.ndim > 2 or (a.ndim == 2 and a.shape[0] != 1):
        return False
    prod.op = "Gemm"
    prod.inputs = prod.inputs[:2] + [b.const(np.broadcast_to(a.reshape(-1), (w.shape[1],)).astype(w.dtype), f"{prod.name}_bias")]
    prod.attrs = {}
    return True


def _fold_into(b, prod, node, c, t):
    v = _per_channel(b, c, prod, t)
    w = b.value(prod.inputs[1])
    if v is None or w is None or (prod.op == "Gemm" and prod.attrs.get("transA", 0)):
        return False
    bias = b.value(prod.inputs[2]) if len(prod.inputs) > 2 and prod.inputs[2] else None
    if len(prod.inputs) > 2 and prod.inputs[2] and bias is None:
        return False
    n = v.size
    bias = np.zeros(n, w.dtype) if bias is None else np.broadcast_to(bias.reshape(-1) * prod.attrs.get("beta", 1.0), (n,))
    if node.op == "Mul":
        if prod.op == "Conv":
            w = w * v.reshape((-1,) + (1,) * (w.ndim - 1))
        else:
            w = w * (v.reshape(-1, 1) if prod.attrs.get("transB", 0) else v.reshape(1, -1))
            w = w * prod.attrs.get("alpha", 1.0)
            prod.attrs.pop("alpha", None)
        bias = bias * v
    else:
        bias = bias + v if node.op == "Add" else bias - v
    prod.attrs.pop("beta", None)
    prod.inputs = [prod.inputs[0], b.const(w.astype(np.float32 if w.dtype == np.float64 else w.dtype), f"{prod.name}_w"),
                   b.const(np.asarray(bias, w.dtype), f"{prod.name}_b")]
    return True


def check_unsupported(source, unsupported, what="op"):
    """One error listing every unsupported op (or layer) type with the names that use it."""
    if unsupported:
        lines = "\n".join(f"  {k}: {', '.join(v[:8])}{' ...' if len(v) > 8 else ''}" for k, v in sorted(unsupported.items()))
        raise UnsupportedError(f"{source}: {len(unsupported)} unsupported {what} type(s):\n{lines}")


# --- TensorFlow graphs ----------------------------------------------------------------------

class _Unknown:
    """What an unsupported op gives: any output of it, and anything computed from it."""

    def __getitem__(self, i):
        return UNKNOWN


UNKNOWN = object()


class TensorList:
    """A TF TensorList held at conversion: a Python list of tensor names (None: not set yet),
    or rows of a tensor read lazily."""

    def __init__(self, items, source=None):
        self.items, self.source = list(items), source

    def get(self, b, i, name):
        if not 0 <= i < len(self.items):
            raise UnsupportedError(f"TensorList index {i} outside [0, {len(self.items)})")
        if self.items[i] is None:
            if self.source is None:
                raise UnsupportedError(f"TensorList item {i} is read before it is set")
            self.items[i] = b.op("Gather", [self.source, b.const(np.array(i, np.int64), "index")], {"axis": 0}, name)
        return self.items[i]

    def set(self, i, item):
        items = list(self.items)
        if i == len(items):
            items.append(item)
        elif 0 <= i < len(items):
            items[i] = item
        else:
            raise UnsupportedError(f"TensorList index {i} outside [0, {len(items)}]")
        return TensorList(items, self.source)  # rows not set still come from the source tensor

    def stack(self, b, name):
        if self.source is not None and all(i is None for i in self.items):
            return self.source
        rows = [self.get(b, i, name) for i in range(len(self.items))]
        if not rows:
            raise UnsupportedError("stacking an empty TensorList")
        return b.concat([b.op("Unsqueeze", [r, b.const(np.array([0], np.int64), "axes")], name=name) for r in rows], 0, name)


class SpaceToBatch:
    """SpaceToBatchND's result, held back: TF writes a dilated convolution as SpaceToBatchND →
    Conv2D (VALID) → BatchToSpaceND, which is one Conv with dilations=block on the padded input."""

    def __init__(self, x, block, paddings):
        self.x, self.block, self.paddings = x, block, paddings


class DilatedConv:
    """A Conv on a SpaceToBatch, emitted when BatchToSpaceND gives its crops (they shrink the pads)."""

    def __init__(self, name, inputs, attrs, block, paddings):
        self.name, self.inputs, self.attrs, self.block, self.paddings = name, inputs, attrs, block, paddings


HANDLERS = {}
TAKES_VALUES = set()  # handlers that take TensorLists and the values above, not only tensors


def handles(*ops):
    def wrap(fn):
        for o in ops:
            HANDLERS[o] = fn
        return fn
    return wrap


class _Scope:
    """The nodes of the graph or of one function call, and the values computed so far."""

    def __init__(self, nodes, args=None, function=False):
        self.nodes = {n.name: n for n in nodes}
        self.args = args or {}
        self.function = function
        self.done = {}


class TFImporter:
    def __init__(self, graph_def, source, tf):
        self.tf = tf
        self.b = Builder(source)
        self.source = source
        self.fdefs = {f.signature.name: f for f in graph_def.library.function}
        self.graph_def = graph_def
        self.unsupported = {}
        from tensorflow.python.framework import op_def_registry
        self._op_defs = op_def_registry

    # --- values
    def dtype(self, enum):
        dt = self.tf.dtypes.as_dtype(enum)
        if dt == self.tf.bool:
            return "bool"
        if dt in (self.tf.resource, self.tf.variant, self.tf.string):
            return None
        return np.dtype(dt.as_numpy_dtype).name

    def attr(self, v):
        kind = v.WhichOneof("value")
        if kind == "list":
            lst = v.list
            for field in ("s", "i", "f", "b", "type", "shape", "tensor", "func"):
                items = getattr(lst, field)
                if len(items):
                    return [self._scalar_attr(field, x) for x in items]
            return []
        return None if kind is None else self._scalar_attr(kind, getattr(v, kind))

    def _scalar_attr(self, kind, x):
        if kind == "s":
            return x.decode("utf-8", "replace")
        if kind == "type":
            return self.dtype(x)
        if kind == "shape":
            return None if x.unknown_rank else [d.size if d.size >= 0 else None for d in x.dim]
        if kind == "tensor":
            return self.tf.make_ndarray(x)
        if kind == "func":
            return x.name
        return x

    def _producer(self, scope, ref):
        """(node name, output index), or (None, arg name) for a function argument."""
        if scope.function:
            parts = ref.split(":")
            if len(parts) == 1:
                return None, ref
            node = scope.nodes[parts[0]]
            return parts[0], self._out_index(node, parts[1], int(parts[2]) if len(parts) > 2 else 0)
        name, _, idx = ref.partition(":")
        return name, int(idx or 0)

    def _out_index(self, node, arg, idx):
        if node.op in self.fdefs:
            args = [(a, 1) for a in self.fdefs[node.op].signature.output_arg]
        else:
            op_def = self._op_defs.get(node.op)
            if op_def is None:
                return idx
            args = []
            for a in op_def.output_arg:
                n = node.attr[a.number_attr].i if a.number_attr else len(node.attr[a.type_list_attr].list.type) if a.type_list_attr else 1
                args.append((a, n))
        pos = 0
        for a, n in args:
            if a.name == arg:
                return pos + idx
            pos += n
        raise ConversionError(f"{self.source}: node {node.name!r} has no output {arg!r}")

    def value(self, scope, ref):
        name, idx = self._producer(scope, ref)
        if name is None:
            return scope.args[idx]
        return scope.done[name][idx]

    def evaluate(self, scope, refs):
        """Lower the nodes `refs` need (post-order, iteratively) and return their values."""
        visiting = set()
        stack = [self._producer(scope, r)[0] for r in refs if not r.startswith("^")]
        stack = [s for s in stack if s is not None]
        while stack:
            n = stack[-1]
            if n in scope.done:
                stack.pop()
                continue
            if n not in scope.nodes:
                raise ConversionError(f"{self.source}: node {n!r} is referenced but not defined")
            deps = [p for p in (self._producer(scope, r)[0] for r in scope.nodes[n].input if not r.startswith("^"))
                    if p is not None and p not in scope.done]
            if deps:
                if n in visiting:
                    raise UnsupportedError(f"{self.source}: the graph has a cycle at node {n!r} (TF1 control flow: "
                                           "Enter/Merge/Switch/NextIteration is not supported; save with TF2 While ops)")
                visiting.add(n)
                stack.extend(deps)
                continue
            stack.pop()
            scope.done[n] = self.lower(scope, scope.nodes[n])
        return [self.value(scope, r) for r in refs]

    def lower(self, scope, node):
        ins = [self.value(scope, r) for r in node.input if not r.startswith("^")]
        if any(v is UNKNOWN for v in ins):
            if not self.unsupported:  # e.g. a batch norm's saved statistics, which inference has no use for
                self.unsupported.setdefault(f"{node.op} (reads an output the converter does not compute)", []).append(node.name)
            self.scan(node)  # after an unsupported op: only look for more of them
            return _Unknown()
        attrs = {k: self.attr(v) for k, v in node.attr.items() if not k.startswith("_")}
        handler = HANDLERS.get(node.op)
        if handler is None and node.op in self.fdefs:
            handler = _call_function
            attrs["f"] = node.op
        if handler is None:
            self.unsupported.setdefault(node.op, []).append(node.name)
            return _Unknown()
        try:
            if handler not in TAKES_VALUES and not all(isinstance(v, str) for v in ins):
                kind = next(type(v).__name__ for v in ins if not isinstance(v, str))
                raise UnsupportedError(f"reads a {kind} made by another op, which only some ops can take")
            out = handler(self, node, ins, attrs)
        except WebflowError as e:
            self.unsupported.setdefault(f"{node.op} ({e})", []).append(node.name)
            return _Unknown()
        return out if isinstance(out, (list, tuple)) else [out]

    def scan(self, node, seen=None):
        """Record `node`'s op if unsupported, and every unsupported op of the functions it calls."""
        seen = set() if seen is None else seen
        if node.op not in HANDLERS and node.op not in self.fdefs:
            self.unsupported.setdefault(node.op, []).append(node.name)
        for v in node.attr.values():
            names = [v.func.name] if v.HasField("func") else [f.name for f in v.list.func]
            for f in names + ([node.op] if node.op in self.fdefs else []):
                if f in self.fdefs and f not in seen:
                    seen.add(f)
                    for n in self.fdefs[f].node_def:
                        self.scan(n, seen)

    def call(self, fname, args):
        fdef = self.fdefs.get(fname)
        if fdef is None:
            raise UnsupportedError(f"function {fname!r} is not in the graph's library")
        scope = _Scope(fdef.node_def, {a.name: v for a, v in zip(fdef.signature.input_arg, args)}, function=True)
        return self.evaluate(scope, [fdef.ret[a.name] for a in fdef.signature.output_arg])

    # --- the graph
    def run(self, inputs, outputs):
        """inputs: [(placeholder node, input name, dtype, shape)]; outputs: [(output name, tensor ref)]."""
        scope = _Scope(self.graph_def.node)
        for node_name, name, dtype, shape in inputs:
            scope.done[node_name] = [self.b.add_input(name, dtype, shape)]
        values = self.evaluate(scope, [ref for _, ref in outputs])
        check_unsupported(self.source, self.unsupported)
        result = []
        for (name, _), v in zip(outputs, values):
            if not isinstance(v, str):
                raise UnsupportedError(f"{self.source}: output {name!r} is not a tensor")
            result.append((name, v))
        fold_affine(self.b, keep={v for _, v in result})
        return self.b.finish(result)


# --- handlers --------------------------------------------------------------------------------

def _ints(t, name, what):
    return t.b.ints(name, what)


def _i64(t, values, base="ints"):
    return t.b.const(np.array(values, np.int64), base)


def _call_function(t, node, ins, a):
    return t.call(a["f"], ins)


HANDLERS["PartitionedCall"] = HANDLERS["StatefulPartitionedCall"] = _call_function
TAKES_VALUES.add(_call_function)


@handles("Identity", "StopGradient", "PreventGradient", "Snapshot", "EnsureShape", "CheckNumerics", "ReadVariableOp",
         "IdentityN")
def _identity(t, node, ins, a):
    return list(ins)


TAKES_VALUES.add(_identity)


@handles("NoOp")
def _noop(t, node, ins, a):
    return []


@handles("Const")
def _const(t, node, ins, a):
    v = a["value"]
    if v.dtype.kind in "OSU":
        raise UnsupportedError("string constants")
    return t.b.const(v, node.name)


@handles("Placeholder", "PlaceholderWithDefault")
def _placeholder(t, node, ins, a):
    if node.op == "PlaceholderWithDefault":
        return ins[0]
    raise UnsupportedError("a placeholder that is not an input of the signature")


UNARY = {"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Exp": "Exp", "Log": "Log", "Abs": "Abs", "Neg": "Neg",
         "Sqrt": "Sqrt", "Floor": "Floor", "Ceil": "Ceil", "Round": "Round", "Sign": "Sign", "Erf": "Erf", "Softplus": "Softplus",
         "Softsign": "Softsign", "Elu": "Elu", "Selu": "Selu", "Sin": "Sin", "Cos": "Cos", "Reciprocal": "Reciprocal",
         "Inv": "Reciprocal", "LogicalNot": "Not", "IsNan": "IsNaN"}
BINARY = {"AddV2": "Add", "Add": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div", "Maximum": "Max", "Minimum": "Min",
          "Pow": "Pow", "Less": "Less", "Greater": "Greater", "LessEqual": "LessOrEqual", "GreaterEqual": "GreaterOrEqual",
          "Equal": "Equal", "LogicalAnd": "And", "LogicalOr": "Or"}


@handles(*UNARY)
def _unary(t, node, ins, a):
    return t.b.op(UNARY[node.op], ins[:1], name=node.name)


@handles(*BINARY)
def _binary(t, node, ins, a):
    return t.b.op(BINARY[node.op], ins[:2], name=node.name)


@handles("Div", "FloorDiv", "FloorMod", "TruncateDiv")
def _div(t, node, ins, a):
    b, (x, y) = t.b, ins
    if b.dtype(x).startswith("float"):
        q = b.op("Div", [x, y], name=node.name)
        if node.op == "FloorMod":
            return b.op("Sub", [x, b.op("Mul", [b.op("Floor", [q]), y])], name=node.name)
        return b.op("Floor", [q], name=node.name) if node.op == "FloorDiv" else q
    if node.op == "FloorMod":
        return b.op("Mod", [x, y], name=node.name)
    if node.op in ("Div", "TruncateDiv"):
        return b.op("Div", [x, y], name=node.name)
    raise UnsupportedError("integer FloorDiv")


@handles("Relu6")
def _relu6(t, node, ins, a):
    return t.b.activation(ins[0], {"op": "Clip", "min": 0.0, "max": 6.0})


@handles("LeakyRelu")
def _leaky(t, node, ins, a):
    return t.b.op("LeakyRelu", ins[:1], {"alpha": float(a.get("alpha", 0.2))}, node.name)


@handles("Erfc")
def _erfc(t, node, ins, a):
    return t.b.op("Sub", [t.b.const(np.array(1, t.b.dtype(ins[0])), "one"), t.b.op("Erf", ins[:1])], name=node.name)


@handles("Rsqrt")
def _rsqrt(t, node, ins, a):
    return t.b.op("Reciprocal", [t.b.op("Sqrt", ins[:1])], name=node.name)


@handles("Square")
def _square(t, node, ins, a):
    return t.b.op("Mul", [ins[0], ins[0]], name=node.name)


@handles("SquaredDifference")
def _sqdiff(t, node, ins, a):
    d = t.b.op("Sub", ins[:2])
    return t.b.op("Mul", [d, d], name=node.name)


@handles("AddN")
def _addn(t, node, ins, a):
    return ins[0] if len(ins) == 1 else t.b.op("Sum", ins, name=node.name)


@handles("BiasAdd", "BiasAddV1")
def _bias_add(t, node, ins, a):
    x, bias = ins
    if a.get("data_format", "NHWC") == "NCHW" and t.b.rank(x) > 2:
        bias = t.b.op("Reshape", [bias, _i64(t, [-1] + [1] * (t.b.rank(x) - 2))])
    return t.b.op("Add", [x, bias], name=node.name)


@handles("ClipByValue")
def _clip(t, node, ins, a):
    x, lo, hi = ins
    if lo in t.b.constants and hi in t.b.constants:
        return t.b.op("Clip", [x, lo, hi], name=node.name)
    return t.b.op("Min", [t.b.op("Max", [x, lo]), hi], name=node.name)


@handles("Select", "SelectV2")
def _select(t, node, ins, a):
    c, x, y = ins
    if node.op == "Select" and t.b.rank(c) == 1 and t.b.rank(x) > 1:  # v1: a vector picks whole rows
        c = t.b.op("Reshape", [c, _i64(t, [-1] + [1] * (t.b.rank(x) - 1))])
    return t.b.op("Where", [c, x, y], name=node.name)


@handles("Cast")
def _cast(t, node, ins, a):
    to = a["DstT"]
    if to is None:
        raise UnsupportedError(f"cast to {node.attr['DstT']}")
    return ins[0] if t.b.metas.get(ins[0]) and t.b.dtype(ins[0]) == to else t.b.op("Cast", ins[:1], {"to": to}, node.name)


@handles("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def _matmul(t, node, ins, a):
    x, y = ins[:2]
    flips = (a.get("transpose_a"), a.get("transpose_b")) if node.op == "MatMul" else (a.get("adj_x"), a.get("adj_y"))
    x, y = [t.b.op("Transpose", [v], {"perm": list(range(t.b.rank(v) - 2)) + [t.b.rank(v) - 1, t.b.rank(v) - 2]})
            if flip else v for v, flip in zip((x, y), flips)]
    return t.b.op("MatMul", [x, y], name=node.name)


def _window_attrs(a, rank_spatial, key):
    """strides/dilations/ksize given per axis of the data format, as spatial lists."""
    nhwc = a.get("data_format", "NHWC") in ("NHWC", "NWC", "NDHWC")
    v = a.get(key) or [1] * (rank_spatial + 2)
    return (v[1:-1] if nhwc else v[2:]), nhwc


def _padding(a, nhwc):
    pad = a.get("padding", "VALID")
    if pad == "SAME":
        return {"auto_pad": "SAME_UPPER"}
    if pad == "VALID":
        return {"auto_pad": "VALID"}
    if pad == "EXPLICIT":
        e = a["explicit_paddings"]
        pairs = [e[i:i + 2] for i in range(0, len(e), 2)]
        spatial = pairs[1:-1] if nhwc else pairs[2:]
        return {"pads": [p[0] for p in spatial] + [p[1] for p in spatial]}
    raise UnsupportedError(f"padding {pad!r}")


@handles("Conv2D", "DepthwiseConv2dNative")
def _conv(t, node, ins, a):
    b, (x, f) = t.b, ins
    strides, nhwc = _window_attrs(a, 2, "strides")
    dilations, _ = _window_attrs(a, 2, "dilations")
    batched = x if isinstance(x, SpaceToBatch) else None
    if batched:
        if not nhwc or a.get("padding") != "VALID" or strides != [1, 1] or dilations != [1, 1] or len(batched.block) != 2:
            raise UnsupportedError("SpaceToBatchND before a convolution that is not a plain VALID NHWC one")
        x, dilations = batched.x, batched.block
    kh, kw, ci, co = b.shape(f)
    if node.op == "DepthwiseConv2dNative":  # [kh, kw, C, M] -> [C*M, 1, kh, kw], one group per input channel
        w = b.op("Reshape", [b.op("Transpose", [f], {"perm": [2, 3, 0, 1]}), _i64(t, [ci * co, 1, kh, kw])])
        group = ci
    else:
        w = b.op("Transpose", [f], {"perm": [3, 2, 0, 1]})
        channels = b.shape(x)[3 if nhwc else 1]
        group = channels // ci if isinstance(channels, int) else 1
    attrs = {"strides": strides, "dilations": dilations, "group": group, "layout": "NHWC" if nhwc else "NCHW"}
    if batched:
        return DilatedConv(node.name, [x, w], attrs, batched.block, batched.paddings)
    return b.op("Conv", [x, w], {**attrs, **_padding(a, nhwc)}, node.name)


TAKES_VALUES.add(_conv)


@handles("SpaceToBatchND")
def _space_to_batch(t, node, ins, a):
    block = _ints(t, ins[1], "block_shape")
    pads = _ints(t, ins[2], "paddings")
    return SpaceToBatch(ins[0], block, [pads[i:i + 2] for i in range(0, len(pads), 2)])


@handles("BatchToSpaceND")
def _batch_to_space(t, node, ins, a):
    conv = ins[0]
    if not isinstance(conv, DilatedConv) or _ints(t, ins[1], "block_shape") != conv.block:
        raise UnsupportedError("BatchToSpaceND that does not end a dilated convolution")
    crops = _ints(t, ins[2], "crops")
    crops = [crops[i:i + 2] for i in range(0, len(crops), 2)]
    # stride 1: a row of padding is a row of output, so cropping the output is padding less
    pads = [p[k] - c[k] for k in (0, 1) for p, c in zip(conv.paddings, crops)]
    if min(pads) < 0:
        raise UnsupportedError("BatchToSpaceND crops larger than the SpaceToBatchND paddings")
    return t.b.op("Conv", conv.inputs, {**conv.attrs, "pads": pads}, conv.name)


TAKES_VALUES.add(_batch_to_space)


@handles("MaxPool", "AvgPool")
def _pool(t, node, ins, a):
    kernel, nhwc = _window_attrs(a, 2, "ksize")
    strides, _ = _window_attrs(a, 2, "strides")
    return t.b.op("MaxPool" if node.op == "MaxPool" else "AveragePool", ins[:1],
                  {"kernel_shape": kernel, "strides": strides, "layout": "NHWC" if nhwc else "NCHW", **_padding(a, nhwc)}, node.name)


def channel_affine(b, x, scale, shift, axis, name=None):
    """x * scale + shift with per-channel vectors along `axis` (fold_affine merges it into a Conv/Gemm before)."""
    rank = b.rank(x)
    axis %= rank
    shape = [-1] + [1] * (rank - 1 - axis)
    if len(shape) > 1:
        scale, shift = (b.op("Reshape", [v, b.const(np.array(shape, np.int64), "shape")]) for v in (scale, shift))
    return b.op("Add", [b.op("Mul", [x, scale], name=name), shift], name=name)


@handles("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def _batchnorm(t, node, ins, a):
    if a.get("is_training"):
        raise UnsupportedError("training-mode batch norm")
    b = t.b
    x, scale, offset, mean, var = ins[:5]
    s = b.op("Mul", [scale, b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [var, b.const(np.array(a.get("epsilon", 1e-3), np.float32))])])])])
    shift = b.op("Sub", [offset, b.op("Mul", [mean, s])])
    axis = -1 if a.get("data_format", "NHWC") in ("NHWC", "NDHWC") else 1
    return [channel_affine(b, x, s, shift, axis, node.name)] + [UNKNOWN] * 5


@handles("Softmax", "LogSoftmax")
def _softmax(t, node, ins, a):
    return t.b.op(node.op, ins[:1], {"axis": -1}, node.name)


REDUCE = {"Mean": "ReduceMean", "Sum": "ReduceSum", "Max": "ReduceMax", "Min": "ReduceMin", "Prod": "ReduceProd"}


@handles(*REDUCE)
def _reduce(t, node, ins, a):
    axes = _ints(t, ins[1], "reduction axes")
    if not axes:  # TF reduces nothing over an empty axis list (ONNX would reduce all)
        return ins[0]
    return t.b.op(REDUCE[node.op], [ins[0], _i64(t, axes, "axes")], {"keepdims": int(bool(a.get("keep_dims")))}, node.name)


@handles("ArgMax", "ArgMin")
def _argmax(t, node, ins, a):
    y = t.b.op(node.op, ins[:1], {"axis": _ints(t, ins[1], "axis")[0], "keepdims": 0}, node.name)
    to = a.get("output_type") or "int64"
    return y if to == "int64" else t.b.op("Cast", [y], {"to": to})


@handles("Reshape")
def _reshape(t, node, ins, a):
    x, shape = ins
    v = t.b.value(shape)
    attrs = {"allowzero": 1} if v is not None and any(not is_sym(d) and d == 0 for d in v.reshape(-1).tolist()) else {}
    return t.b.op("Reshape", [x, shape], attrs, node.name)


@handles("Squeeze")
def _squeeze(t, node, ins, a):
    dims = a.get("squeeze_dims") or []
    return t.b.op("Squeeze", [ins[0]] + ([_i64(t, dims, "axes")] if dims else []), name=node.name)


@handles("ExpandDims")
def _expand_dims(t, node, ins, a):
    return t.b.op("Unsqueeze", [ins[0], _i64(t, _ints(t, ins[1], "ExpandDims axis")[:1], "axes")], name=node.name)


@handles("Transpose")
def _transpose(t, node, ins, a):
    return t.b.op("Transpose", ins[:1], {"perm": _ints(t, ins[1], "Transpose perm")}, node.name)


@handles("ConcatV2", "Concat")
def _concat(t, node, ins, a):
    axis, values = (ins[-1], ins[:-1]) if node.op == "ConcatV2" else (ins[0], ins[1:])
    axis = _ints(t, axis, "Concat axis")[0]
    return values[0] if len(values) == 1 else t.b.concat(list(values), axis, node.name)


@handles("Pack")
def _pack(t, node, ins, a):
    axis = a.get("axis", 0)
    if axis < 0:
        axis += t.b.rank(ins[0]) + 1
    parts = [t.b.op("Unsqueeze", [v, _i64(t, [axis], "axes")], name=node.name) for v in ins]
    return t.b.concat(parts, axis, node.name)


@handles("Unpack")
def _unpack(t, node, ins, a):
    axis, n = a.get("axis", 0), a["num"]
    parts = t.b.op("Split", ins[:1], {"axis": axis, "num_outputs": n}, node.name, n_out=n) if n > 1 else [ins[0]]
    return [t.b.op("Squeeze", [p, _i64(t, [axis], "axes")], name=node.name) for p in parts]


@handles("Split")
def _split(t, node, ins, a):
    axis, x = _ints(t, ins[0], "Split axis")[0], ins[1]
    n = a["num_split"]
    return t.b.op("Split", [x], {"axis": axis, "num_outputs": n}, node.name, n_out=n) if n > 1 else [x]


@handles("SplitV")
def _splitv(t, node, ins, a):
    x, sizes, axis = ins
    sizes, axis = _ints(t, sizes, "SplitV sizes"), _ints(t, axis, "SplitV axis")[0]
    if -1 in sizes:
        dim = t.b.shape(x)[axis]
        sizes[sizes.index(-1)] = dim - sum(s for s in sizes if s != -1)
    n = len(sizes)
    return t.b.op("Split", [x, _i64(t, sizes, "split")], {"axis": axis}, node.name, n_out=n) if n > 1 else [x]


@handles("StridedSlice")
def _strided_slice(t, node, ins, a):
    b = t.b
    x = ins[0]
    begin, end, strides = (_ints(t, v, "StridedSlice bounds") for v in ins[1:4])
    m = {k: a.get(k, 0) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
    bit = lambda k, i: (m[k] >> i) & 1  # noqa: E731
    rank = b.rank(x)
    used = sum(1 for i in range(len(begin)) if not bit("new_axis_mask", i) and not bit("ellipsis_mask", i))
    axis, out_pos = 0, 0
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    for i, s in enumerate(strides):
        if bit("ellipsis_mask", i):
            axis += rank - used
            out_pos += rank - used
            continue
        if bit("new_axis_mask", i):
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        if bit("shrink_axis_mask", i):
            lo = begin[i]
            sl = (lo, lo + 1 if lo != -1 else INT_MAX, 1)
            squeeze.append(axis)
        else:
            lo = (0 if s > 0 else INT_MAX) if bit("begin_mask", i) else begin[i]
            hi = (INT_MAX if s > 0 else INT_MIN) if bit("end_mask", i) else end[i]
            sl = (lo, hi, s)
            out_pos += 1
        if sl != (0, INT_MAX, 1):
            starts.append(sl[0]), ends.append(sl[1]), steps.append(sl[2]), axes.append(axis)
        axis += 1
    y = x
    if axes:
        y = b.op("Slice", [y, _i64(t, starts, "starts"), _i64(t, ends, "ends"), _i64(t, axes, "axes"), _i64(t, steps, "steps")], name=node.name)
    if squeeze:
        y = b.op("Squeeze", [y, _i64(t, squeeze, "axes")], name=node.name)
    if unsqueeze:
        y = b.op("Unsqueeze", [y, _i64(t, unsqueeze, "axes")], name=node.name)
    return y if y != x else b.op("Identity", [x], name=node.name)


@handles("Slice")
def _slice(t, node, ins, a):
    x, begin, size = ins
    begin, size = _ints(t, begin, "Slice begin"), _ints(t, size, "Slice size")
    ends = [INT_MAX if s == -1 else lo + s for lo, s in zip(begin, size)]
    return t.b.op("Slice", [x, _i64(t, begin, "starts"), _i64(t, ends, "ends")], name=node.name)


@handles("ReverseV2")
def _reverse(t, node, ins, a):
    axes = _ints(t, ins[1], "ReverseV2 axis")
    if not axes:
        return ins[0]
    n = len(axes)
    return t.b.op("Slice", [ins[0], _i64(t, [-1] * n, "starts"), _i64(t, [INT_MIN] * n, "ends"), _i64(t, axes, "axes"),
                            _i64(t, [-1] * n, "steps")], name=node.name)


@handles("Pad", "PadV2", "MirrorPad")
def _pad(t, node, ins, a):
    pads = np.array(_ints(t, ins[1], "paddings"), object).reshape(-1, 2)
    inputs = [ins[0], _i64(t, list(pads[:, 0]) + list(pads[:, 1]), "pads")]
    attrs = {}
    if node.op == "PadV2":
        inputs.append(ins[2])
    if node.op == "MirrorPad":
        if a.get("mode") != "REFLECT":
            raise UnsupportedError(f"MirrorPad mode {a.get('mode')}")
        attrs["mode"] = "reflect"
    return t.b.op("Pad", inputs, attrs, node.name)


@handles("Tile")
def _tile(t, node, ins, a):
    return t.b.op("Tile", ins[:2], name=node.name)


@handles("Shape", "Size", "Rank")
def _shape(t, node, ins, a):
    b = t.b
    if node.op == "Rank":
        return b.const(np.array(b.rank(ins[0]), np.int32), node.name)
    y = b.op(node.op, ins[:1], name=node.name)
    to = a.get("out_type") or "int32"
    return y if to == "int64" else b.op("Cast", [y], {"to": to}, node.name)


@handles("Fill")
def _fill(t, node, ins, a):
    dims, value = ins
    b = t.b
    v = b.value(value)
    if v is not None and v.dtype != object:
        dt = "bool" if v.dtype == np.bool_ else v.dtype.name
        return b.op("ConstantOfShape", [b.op("Cast", [dims], {"to": "int64"})], {"value": v.reshape(()).item(), "dtype": dt}, node.name)
    return b.op("Expand", [value, dims], name=node.name)


@handles("ZerosLike", "OnesLike")
def _zeros_like(t, node, ins, a):
    b = t.b
    dt = b.dtype(ins[0])
    return b.op("ConstantOfShape", [b.op("Shape", ins[:1])], {"value": 0 if node.op == "ZerosLike" else 1, "dtype": dt}, node.name)


@handles("Range")
def _range(t, node, ins, a):
    return t.b.op("Range", ins[:3], name=node.name)


@handles("GatherV2", "Gather")
def _gather(t, node, ins, a):
    if a.get("batch_dims", 0):
        raise UnsupportedError("batch_dims")
    axis = _ints(t, ins[2], "Gather axis")[0] if node.op == "GatherV2" else 0
    return t.b.op("Gather", ins[:2], {"axis": axis}, node.name)


# --- control flow

@handles("While", "StatelessWhile")
def _while(t, node, ins, a):
    values = list(ins)
    for _ in range(MAX_UNROLL):
        cond = t.call(a["cond"], values)[0]
        c = t.b.value(cond) if isinstance(cond, str) else None
        if c is None or c.dtype == object:
            raise UnsupportedError("a loop whose trip count depends on tensor values (only loops that end after a number of "
                                   "steps known at conversion are unrolled)")
        if not bool(c.reshape(())):
            return values
        values = t.call(a["body"], values)
        if any(v is UNKNOWN for v in values):
            return _Unknown()
    raise UnsupportedError(f"a loop of more than {MAX_UNROLL} steps")


@handles("If", "StatelessIf")
def _if(t, node, ins, a):
    c = t.b.value(ins[0])
    if c is None or c.dtype == object:
        raise UnsupportedError("a condition that depends on tensor values")
    return t.call(a["then_branch"] if bool(c.reshape(-1)[0]) else a["else_branch"], ins[1:])


@handles("TensorListReserve")
def _tl_reserve(t, node, ins, a):
    return TensorList([None] * _ints(t, ins[1], "TensorListReserve num_elements")[0])


@handles("EmptyTensorList")
def _tl_empty(t, node, ins, a):
    return TensorList([])


@handles("TensorListFromTensor")
def _tl_from(t, node, ins, a):
    n = t.b.shape(ins[0])[0]
    if not isinstance(n, int):
        raise UnsupportedError("a loop over a sequence whose length is not known at conversion (give the input a fixed "
                               "length, or convert the .keras file: it keeps one recurrent op, which takes any length)")
    return TensorList([None] * n, ins[0])


def _tl(v):
    if not isinstance(v, TensorList):
        raise UnsupportedError("a TensorList that is not built in the graph")
    return v


@handles("TensorListGetItem")
def _tl_get(t, node, ins, a):
    return _tl(ins[0]).get(t.b, _ints(t, ins[1], "TensorList index")[0], node.name)


@handles("TensorListSetItem")
def _tl_set(t, node, ins, a):
    return _tl(ins[0]).set(_ints(t, ins[1], "TensorList index")[0], ins[2])


@handles("TensorListPushBack")
def _tl_push(t, node, ins, a):
    lst = _tl(ins[0])
    return lst.set(len(lst.items), ins[1])


@handles("TensorListStack")
def _tl_stack(t, node, ins, a):
    return _tl(ins[0]).stack(t.b, node.name)


@handles("TensorListLength")
def _tl_length(t, node, ins, a):
    return t.b.const(np.array(len(_tl(ins[0]).items), np.int32), node.name)


TAKES_VALUES.update({_while, _if, _tl_get, _tl_set, _tl_push, _tl_stack, _tl_length})


# --- the SavedModel ---------------------------------------------------------------------------

def accepts(path):
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, f)) for f in ("saved_model.pb", "saved_model.pbtxt"))


def input_dims(name, shape):
    """A static shape with None for unknown dims -> webflow dims: an unknown first dim is
    "batch", other unknown ones are named after the input ("seq_1")."""
    out = []
    for i, d in enumerate(shape):
        if d is None:
            out.append(Sym.named("batch" if i == 0 else re.sub(r"\W", "_", f"{name}_{i}")))
        else:
            out.append(int(d))
    return out


def load_signature(path, signature=None):
    """(tf, the signature's concrete function, its key) of a SavedModel directory."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        raise ConversionError(f"{path}: converting a SavedModel needs the tensorflow package") from None
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as e:  # noqa: BLE001 - TF raises many kinds
        raise ConversionError(f"{path}: TensorFlow cannot load this SavedModel: {type(e).__name__}: {e}") from None
    sigs = dict(loaded.signatures)
    if not sigs:
        raise ConversionError(f"{path}: the SavedModel has no signatures (save it with a serving signature, e.g. model.export())")
    key = signature or ("serving_default" if "serving_default" in sigs else sorted(sigs)[0] if len(sigs) == 1 else None)
    if key not in sigs:
        raise ConversionError(f"{path}: several signatures ({', '.join(sorted(sigs))}) and none is serving_default")
    return tf, loaded, sigs[key], key


def import_file(path, log=print):
    tf, loaded, fn, key = load_signature(path)
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    try:
        frozen = convert_variables_to_constants_v2(fn, lower_control_flow=False)
    except Exception as e:  # noqa: BLE001
        raise ConversionError(f"{path}: TensorFlow cannot freeze signature {key!r}: {type(e).__name__}: {e}") from None
    graph_def = frozen.graph.as_graph_def()
    specs = fn.structured_input_signature[1]
    inputs = []
    for ph in frozen.inputs:
        op_name = ph.op.name
        name = next((k for k, s in specs.items() if k == op_name or s.name == op_name), op_name)
        dtype = "bool" if ph.dtype == tf.bool else np.dtype(ph.dtype.as_numpy_dtype).name
        if ph.shape.rank is None:
            raise UnsupportedError(f"{path}: input {name!r} has unknown rank")
        inputs.append((op_name, name, dtype, input_dims(name, ph.shape.as_list())))
    structured = fn.structured_outputs
    names = sorted(structured) if isinstance(structured, dict) else [f"output_{i}" for i in range(len(frozen.outputs))]
    outputs = [(n, o.name) for n, o in zip(names, frozen.outputs)]
    log(f"  signature {key!r}: {len(graph_def.node)} nodes, {len(graph_def.library.function)} functions")
    graph = TFImporter(graph_def, path, tf).run(inputs, outputs)
    return graph, {"source_format": FORMAT, "source_producer": f"tensorflow {tf.__version__}", "signature": key}
