"""Convolution networks run channels-last (NHWC), with Transposes only where the layout changes.

    y = Conv(x, W); z = Add(y, c[C,1,1]); o = Gemm(Flatten(GlobalAveragePool(z)), Wfc)
      =>  t = Transpose(x, perm=[0,2,3,1]); y = Conv(t, W, layout="NHWC"); z = Add(y, c'[1,1,C])
          o = Gemm(Flatten(GlobalAveragePool(z, layout="NHWC")), Wfc)   # [N,1,1,C]: NCHW's bytes

Why: the WebGL textures hold 4 consecutive elements per texel, which in NHWC are 4 channels of
one pixel; convolutions read them 2-3x faster than NCHW. Layout is an attribute (Conv, the
pools), so the layout changes once at the edges of a convolutional region, never per op.

Walking the graph in order, each 4-D tensor is either NCHW (as the source has it) or NHWC:
- Conv and ConvTranspose over 2-D spatial dims become layout="NHWC" (weights stay in ONNX
  layout). A pool does too when its input is NHWC (MaxPool only without Indices); on NCHW
  input it stays, since transposing its smaller output moves fewer bytes.
- With an NHWC input, these follow: unary element-wise ops, Clip and Cast; broadcasting ops
  (Add ... Where, PRelu, Max/Min/Sum/Mean) whose other operands are NHWC, constants (permuted:
  [C,1,1] -> [1,1,C]; size-1 ones stay), 4-D tensors (transposed) or all-ones shapes;
  BatchNormalization with constant statistics (as a depthwise 1x1 Conv); axis ops with the
  axis remapped (NCHW axis 1,2,3 -> 3,1,2): Concat, Split, Softmax, LogSoftmax, Hardmax,
  LpNormalization, ArgMax/ArgMin and the Reduce ops (constant axes; keepdims=0 only when the
  kept dims stay in order), Slice and Pad (constant axes or pads), Resize (constant
  roi/scales/sizes, or its axes attribute).
- Everything else reads NCHW: Transpose(perm=[0,2,3,1]) enters a region, [0,3,1,2] leaves it,
  one per tensor and direction; a Reshape instead where C is 1, or H and W are (same bytes),
  which reads the input of a Reshape it follows (a squeeze-excitation's view(N, C, 1, 1)).
  Without a node at all: a Flatten/Reshape of a same-bytes tensor whose result shape does not
  depend on the layout; a Flatten/Reshape to [N, C*H*W] read only by Gemm/MatMul with constant
  weights (their rows are permuted to NHWC order); a source Transpose (its perm is composed, and
  dropped when that gives the identity). A boundary Transpose of a source Transpose composes too.
- Graph inputs and outputs keep their names and NCHW shapes. A graph without a 2-D
  convolution is left exactly as it is.
"""

import math

import numpy as np

from webflow.errors import WebflowError
from webflow.graph import Node
from webflow.ops import REGISTRY
from webflow.symbolic import SymbolicTensor

from .util import consumers, graph_output_names, rename_uses

TO_NHWC, TO_NCHW = [0, 2, 3, 1], [0, 3, 1, 2]
AXIS = TO_NCHW  # NCHW axis a is axis AXIS[a] of the NHWC tensor
IDENTITY = [0, 1, 2, 3]

SEEDS = ("Conv", "ConvTranspose")  # a pool on NCHW input stays: transposing after it moves fewer bytes
SPATIAL = ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool")
UNARY = {n for n, d in REGISTRY.items() if getattr(d, "activation_ok", False)} | {"Not", "IsNaN", "Cast"}
BROADCAST = ("Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
             "And", "Or", "Xor", "Max", "Min", "Sum", "Mean", "PRelu", "Where")
AXIS_ATTR = {"Split": 0, "Softmax": -1, "LogSoftmax": -1, "Hardmax": -1, "LpNormalization": -1}
REDUCE = tuple(n for n in REGISTRY if n.startswith("Reduce"))


def _compose(inner, outer):
    """Transpose(Transpose(x, inner), outer) == Transpose(x, _compose(inner, outer))."""
    return [inner[p] for p in outer]


def _same_bytes(nchw):
    """NCHW and NHWC order the elements alike when C is 1, or H and W both are."""
    _, c, h, w = nchw
    return c == 1 or (h == 1 and w == 1)


def _same_order(reduced):
    """True when dropping `reduced` (NCHW axes) leaves the remaining dims in the same order in both layouts."""
    return [a for a in range(4) if a not in reduced] == [a for a in TO_NHWC if a not in reduced]


class _ChannelsLast:
    def __init__(self, graph, metas):
        self.graph, self.metas = graph, metas
        self.outs = graph_output_names(graph)
        self.uses = consumers(graph)
        self.producer = {o: n for n in graph.nodes for o in n.outputs if o}
        self.taken = set(graph.constants) | {t.name for t in graph.inputs} | set(self.producer) | {n.name for n in graph.nodes}
        self.nhwc = set()  # tensors held channels-last
        self.cache = {}  # (tensor, perm) -> tensor in the other layout
        self.permuted = {}  # constant -> its NHWC version
        self.nodes = []  # the new node list, in order
        self.absorbed = []  # source Transposes whose perm now starts from an NHWC tensor
        self.counts = {"converted": 0, "Transpose": 0, "Reshape": 0}

    # --- helpers
    def fresh(self, base):
        name, i = base, 1
        while name in self.taken:
            name, i = f"{base}_{i}", i + 1
        self.taken.add(name)
        return name

    def shape(self, name):
        return self.metas[name].shape

    def rank(self, name):
        return len(self.shape(name)) if name in self.metas else None

    def const(self, name):
        a = self.graph.constants.get(name)
        return a if isinstance(a, np.ndarray) else None

    def vector(self, name):
        """The values of a constant 1-D int/float vector (entries may be symbolic), or None."""
        a = self.graph.constants.get(name)
        if isinstance(a, SymbolicTensor):
            return list(a.values)
        return a.reshape(-1).tolist() if isinstance(a, np.ndarray) else None

    def new_vector(self, like, values):
        """A constant like `like` (an ndarray or SymbolicTensor) holding `values`; its name."""
        a = self.graph.constants[like]
        name = self.fresh(f"{like}_nhwc")
        self.graph.constants[name] = (SymbolicTensor(values, a.dtype, (len(values),)) if isinstance(a, SymbolicTensor)
                                      else np.array(values, a.dtype).reshape(len(values)))
        return name

    def permuted_const(self, name):
        """A constant that broadcasts against an NCHW tensor, made to broadcast against its NHWC form."""
        a = self.const(name)
        if a.size == 1:
            return name
        if name not in self.permuted:
            b = a.reshape((1,) * (4 - a.ndim) + a.shape).transpose(TO_NHWC)
            while b.ndim > a.ndim and b.shape[0] == 1:  # keep the rank where the leading dims allow
                b = b[0]
            self.permuted[name] = self.fresh(f"{name}_nhwc")
            self.graph.constants[self.permuted[name]] = np.ascontiguousarray(b)
        return self.permuted[name]

    def all_ones(self, name):
        return all(isinstance(d, int) and d == 1 for d in self.shape(name))

    def convert(self, name, perm, out=None):
        """`name` in the other layout (perm TO_NHWC or TO_NCHW), shared per tensor: a Transpose,
        a Reshape for same-bytes tensors, or `name` itself ([N,1,1,1], or a source Transpose
        undone). `out` names the result (a graph output)."""
        key = (name, tuple(perm))
        if key in self.cache:
            return self.cache[key]
        src, p = name, list(perm)
        prod = self.producer.get(name)
        if out is None and prod is not None and prod.op == "Transpose" and prod.attrs.get("perm") and len(prod.attrs["perm"]) == 4:
            src, p = prod.inputs[0], _compose(prod.attrs["perm"], perm)
        nchw = self.shape(name)  # metas hold every tensor's NCHW (logical) shape
        if p == IDENTITY or (src == name and out is None and all(d == 1 for d in nchw[1:])):  # [N,1,1,1] is both
            self.cache[key] = src
            return src
        dims = list(nchw[1:]) if perm == TO_NCHW else [nchw[p] for p in TO_NHWC][1:]  # the result's, after N
        out = out or self.fresh(f"{name}_{'nhwc' if perm == TO_NHWC else 'nchw'}")
        if src == name and _same_bytes(nchw) and sum(not isinstance(d, int) for d in dims) <= 1:  # only the shape changes
            if prod is not None and prod.op == "Reshape" and self.shape(prod.inputs[0])[:1] == nchw[:1]:
                src = prod.inputs[0]  # Reshape(Reshape(a)) is Reshape(a)
            target = self.fresh(f"{out}_shape")
            self.graph.constants[target] = np.array([0] + [d if isinstance(d, int) else -1 for d in dims], np.int64)
            node = Node(self.fresh(f"{out}_reshape"), "Reshape", [src, target], [out])
        else:
            node = Node(self.fresh(f"{out}_transpose"), "Transpose", [src], [out], {"perm": p})
        self.counts[node.op] += 1
        self.nodes.append(node)
        self.metas[out] = self.metas[name]
        self.cache[key] = out
        return out

    # --- which nodes go channels-last: each rule edits the node and returns the input positions
    # that are read NHWC, or returns None (touching nothing) to leave the node NCHW.
    def rule(self, node):
        x = node.inputs[0] if node.inputs else ""
        op = node.op
        if op in SPATIAL:
            if self.rank(x) != 4 or node.attrs.get("layout", "NCHW") != "NCHW" or (op not in SEEDS and x not in self.nhwc):
                return None
            if op == "MaxPool" and (node.attrs.get("storage_order", 0) or (len(node.outputs) > 1 and node.outputs[1])):
                return None
            node.attrs["layout"] = "NHWC"
            return [0]
        if op in BROADCAST or op == "Concat":
            return self.broadcast(node)
        if x not in self.nhwc:
            return None
        if op in UNARY:
            return [0]
        if op in AXIS_ATTR:
            node.attrs["axis"] = AXIS[node.attrs.get("axis", AXIS_ATTR[op]) % 4]
            return [0]
        if op in ("ArgMax", "ArgMin"):
            a = node.attrs.get("axis", 0) % 4
            if not node.attrs.get("keepdims", 1) and not _same_order({a}):
                return None
            node.attrs["axis"] = AXIS[a]
            return [0]
        handler = getattr(self, f"rule_{op}", None) or (self.rule_Reduce if op in REDUCE else None)
        return handler(node) if handler else None

    def broadcast(self, node):
        names = [n for n in node.inputs if n]
        if self.rank(node.outputs[0]) != 4 or not any(n in self.nhwc for n in names):
            return None
        if not all(n in self.nhwc or self.const(n) is not None or self.rank(n) == 4 or self.all_ones(n) for n in names):
            return None
        if node.op == "Concat":
            node.attrs["axis"] = AXIS[node.attrs["axis"] % 4]
        return [i for i, n in enumerate(node.inputs) if n]

    def rule_BatchNormalization(self, node):
        stats = [self.const(n) for n in node.inputs[1:5]]
        dtype = self.metas[node.inputs[0]].dtype
        if (any(s is None for s in stats) or dtype not in ("float16", "float32", "float64") or node.attrs.get("training_mode", 0)
                or len([o for o in node.outputs if o]) != 1):
            return None
        scale, bias, mean, var = (s.astype(np.float64).reshape(-1) for s in stats)
        s = scale / np.sqrt(var + node.attrs.get("epsilon", 1e-5))
        w, b = self.fresh(f"{node.name}_scale"), self.fresh(f"{node.name}_shift")
        self.graph.constants[w] = s.astype(dtype).reshape(-1, 1, 1, 1)
        self.graph.constants[b] = (bias - mean * s).astype(dtype)
        # per-channel x * s + shift is a depthwise 1x1 convolution: one node, and NHWC is its fast case
        node.op, node.inputs, node.outputs = "Conv", [node.inputs[0], w, b], node.outputs[:1]
        node.attrs = {"group": len(s), "kernel_shape": [1, 1], "layout": "NHWC"}
        return [0]

    def rule_Reduce(self, node):
        axes_name = node.inputs[1] if len(node.inputs) > 1 else ""
        axes = self.vector(axes_name) if axes_name else []
        if axes is None:
            return None
        if axes:  # empty axes: all of them (or none), whatever the layout
            reduced = {a % 4 for a in axes}
            if not node.attrs.get("keepdims", 1) and not _same_order(reduced):
                return None
            node.inputs[1] = self.new_vector(axes_name, [AXIS[a % 4] for a in axes])
        return [0]

    def rule_Slice(self, node):
        starts = self.vector(node.inputs[1])
        has_axes = len(node.inputs) > 3 and node.inputs[3]
        axes = self.vector(node.inputs[3]) if has_axes else None if starts is None else list(range(len(starts)))
        if starts is None or axes is None:
            return None
        new_axes = self.new_vector(node.inputs[3] if has_axes else node.inputs[1], [AXIS[a % 4] for a in axes])
        node.inputs = node.inputs[:3] + [new_axes] + node.inputs[4:]
        return [0]

    def rule_Pad(self, node):
        pads = self.vector(node.inputs[1])
        has_axes = len(node.inputs) > 3 and node.inputs[3]
        axes = self.vector(node.inputs[3]) if has_axes else None
        if pads is None or (has_axes and axes is None) or (not has_axes and len(pads) != 8):
            return None
        if has_axes:
            node.inputs[3] = self.new_vector(node.inputs[3], [AXIS[a % 4] for a in axes])
        else:
            node.inputs[1] = self.new_vector(node.inputs[1], [pads[p] for p in TO_NHWC] + [pads[4 + p] for p in TO_NHWC])
        return [0]

    def rule_Resize(self, node):
        given = [(i, n) for i, n in enumerate(node.inputs) if i and n and (n not in self.graph.constants or self.graph.constants[n].size)]
        values = {i: self.vector(n) for i, n in given}
        if any(v is None for v in values.values()):
            return None
        if node.attrs.get("axes") is not None:
            node.attrs["axes"] = [AXIS[a % 4] for a in node.attrs["axes"]]
            return [0]
        if any(len(v) != (8 if i == 1 else 4) for i, v in values.items()):
            return None
        for i, v in values.items():  # roi is [begins..., ends...]; scales and sizes one per axis
            new = [v[p] for p in TO_NHWC] + ([v[4 + p] for p in TO_NHWC] if i == 1 else [])
            node.inputs[i] = self.new_vector(node.inputs[i], new)
        return [0]

    # --- NCHW readers of an NHWC tensor that need no boundary node
    def reads_directly(self, node, i, name):
        if i != 0:
            return False
        if node.op == "Transpose" and node.attrs.get("perm") and len(node.attrs["perm"]) == 4:
            node.attrs["perm"] = _compose(TO_NCHW, node.attrs["perm"])
            self.absorbed.append(node)
            return True
        if node.op not in ("Flatten", "Reshape"):
            return False
        nchw = list(self.shape(name))
        nhwc = [nchw[p] for p in TO_NHWC]
        if node.op == "Flatten":  # the same result shape from either layout?
            a = node.attrs.get("axis", 1)
            same = math.prod(nchw[:a + 4 * (a < 0)]) == math.prod(nhwc[:a + 4 * (a < 0)])
        else:  # a 0 entry copies the input's dim there
            target = self.vector(node.inputs[1])
            same = target is not None and (node.attrs.get("allowzero", 0) or all(
                not (isinstance(v, int) and v == 0) or (k < 4 and nchw[k] == nhwc[k]) for k, v in enumerate(target)))
        return same and (_same_bytes(nchw) or self.permute_matmul_rows(node, *nchw[1:]))

    def permute_matmul_rows(self, node, c, h, w):
        """y = Flatten(x)[N, C*H*W] read only as A by Gemm/MatMul with constant 2-D B: flatten the
        NHWC x instead and permute B's rows to match."""
        out = node.outputs[0]
        oshape = self.shape(out)
        if not all(isinstance(d, int) for d in (c, h, w)) or len(oshape) != 2 or oshape[1] != c * h * w or out in self.outs:
            return False
        users = self.uses.get(out, [])
        if not users or not all(pos == 0 and u.op in ("Gemm", "MatMul") and not u.attrs.get("transA", 0) and len(u.inputs) > 1
                                and self.const(u.inputs[1]) is not None and self.const(u.inputs[1]).ndim == 2 for u, pos in users):
            return False
        rows = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
        for u, _ in users:
            b = self.const(u.inputs[1])
            trans = u.op == "Gemm" and u.attrs.get("transB", 0)
            name = self.fresh(f"{u.inputs[1]}_nhwc")
            self.graph.constants[name] = np.ascontiguousarray(b[:, rows] if trans else b[rows])
            u.inputs[1] = name
        return True

    # --- the walk
    def run(self, order):
        for node in order:
            positions = self.rule(node) or []
            if positions:
                self.counts["converted"] += 1
            for i, name in enumerate(node.inputs):
                if not name:
                    continue
                if i in positions and name not in self.nhwc:
                    if self.const(name) is not None:
                        node.inputs[i] = self.permuted_const(name)
                    elif self.rank(name) == 4:
                        node.inputs[i] = self.convert(name, TO_NHWC)
                elif i not in positions and name in self.nhwc and not self.reads_directly(node, i, name):
                    node.inputs[i] = self.convert(name, TO_NCHW)
            self.nodes.append(node)
            if not positions:
                continue
            for j, out in enumerate(node.outputs):
                if out and self.rank(out) == 4:
                    self.nhwc.add(out)
                    if out in self.outs:  # the graph output keeps its name and layout
                        inner = self.fresh(f"{out}_nhwc")
                        rename_uses(self.graph, out, inner)
                        node.outputs[j] = inner
                        self.metas[inner] = self.metas[out]
                        self.nhwc.add(inner)
                        self.convert(inner, TO_NCHW, out=out)
        return self.counts["converted"] > 0


def _drop_identities(graph, transposes, outs):
    """A source Transpose that undid ours goes: its readers read its input, or, when its output is
    a graph output, the input's producer writes that output directly."""
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    for node in transposes:
        src, dst = node.inputs[0], node.outputs[0]
        if node.attrs["perm"] != IDENTITY:
            continue
        if dst not in outs:
            rename_uses(graph, dst, src)
        elif src in producer and src not in outs:
            prod = producer.pop(src)
            prod.outputs = [dst if o == src else o for o in prod.outputs]
            rename_uses(graph, src, dst)
            producer[dst] = prod
        else:
            continue
        graph.nodes[:] = [n for n in graph.nodes if n is not node]


def run(graph, log):
    from webflow.converter import infer_shapes  # the converter package imports the passes

    if not any(n.op in SEEDS for n in graph.nodes):
        return
    try:
        metas = infer_shapes(graph)
    except WebflowError as e:
        log(f"  channels_last: skipped, shapes unknown at conversion ({e})")
        return
    p = _ChannelsLast(graph, metas)
    if not p.run(graph.topo_order()):
        return
    graph.nodes[:] = p.nodes
    _drop_identities(graph, p.absorbed, p.outs)
    log(f"  channels_last: {p.counts['converted']} node(s) channels-last, {p.counts['Transpose']} Transpose(s) "
        f"and {p.counts['Reshape']} Reshape(s) at the boundaries")
