"""Ops written in terms of other ops, for backends that lack a kernel for them (STYLE: few
primitives, compose the rest). The planner expands a node here when its backend cannot run
it, with the node's input Metas known, so an expansion may depend on shapes (e.g. unrolling a
recurrence over the sequence length).

An expansion is a function (b, node, ins, attrs, outs) that adds nodes with the Builder `b` and
makes the node's outputs: `b.op(...)` returns new tensor names; the last ops must write the
node's own output names (pass `out=`).
"""

import functools
import inspect

from .errors import UnsupportedError
from .graph import Node
from .ops import REGISTRY, Meta
from .ops.rnn import ACTIVATIONS, _activations

DECOMPOSITIONS = {}


def decomposes(*ops):
    def wrap(fn):
        for op in ops:
            DECOMPOSITIONS[op] = fn
        return fn
    return wrap


FAN_IN = {}


class Builder:
    """Adds nodes and small constants under names derived from the node being expanded."""

    def __init__(self, node):
        self.prefix = node.name
        self.nodes = []
        self.constants = {}
        self._consts = {}
        self._n = 0

    def _name(self, hint):
        self._n += 1
        return f"{self.prefix}/{hint}{self._n}"

    def op(self, op, inputs, attrs=None, out=None, n_out=1):
        """Add a node; returns its output name (or names when n_out > 1)."""
        outs = [out] if out is not None and n_out == 1 else out if out is not None else [self._name(op) for _ in range(n_out)]
        self.nodes.append(Node(self._name(op + "_"), op, list(inputs), list(outs), dict(attrs or {})))
        return outs[0] if n_out == 1 else outs

    def const(self, values, dtype="int64", shape=None):
        """A plan-time constant (a flat list); shape defaults to 1-D. Equal constants share a name."""
        shape = tuple(shape) if shape is not None else (len(values),)
        key = (tuple(values), dtype, shape)
        if key not in self._consts:
            self._consts[key] = name = self._name("const")
            self.constants[name] = Meta(shape, dtype, list(values))
        return self._consts[key]


def decompose(node, ins, attrs, outs, max_inputs=None):
    """(nodes, constants) that compute `node`, or None when no expansion is known.
    max_inputs: the most tensor inputs one backend kernel binds (variadic ops become trees)."""
    if max_inputs is not None and sum(1 for n in node.inputs if n) > max_inputs:
        fn = FAN_IN.get(node.op)
    else:
        fn = DECOMPOSITIONS.get(node.op)
    if fn is None:
        return None
    b = Builder(node)
    b.max_inputs = max_inputs
    fn(b, node, ins, attrs, outs)
    # expansions build freely; what none of the node's outputs needs is dropped here
    need = {o for o in node.outputs if o}
    nodes = []
    for n in reversed(b.nodes):
        if any(o in need for o in n.outputs):
            nodes.append(n)
            need.update(i for i in n.inputs if i)
    return nodes[::-1], {k: m for k, m in b.constants.items() if k in need}


# --- LSTM, GRU, RNN, unrolled over the sequence length -------------------------------------

_ACT_NAMES = {fn: name for name, fn in ACTIVATIONS.items()}


def _act_attrs(fn, given):
    """All of an activation's alpha/beta, defaults included (Affine and ScaledTanh are built here)."""
    kw = {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY}
    return {**kw, **given}


class _Unroll:
    """What the three expansions share, as `_recur` in ops/rnn.py: directions, layout, X·Wᵀ of
    every step in one Gemm, the sequence_lens masks and the stacking of Y, Y_h and Y_c.

    A cell is `step(d, xw, states) -> new states` (tensor names, H first) for one time step of
    direction d, where xw(lo, hi) is columns lo:hi of that step's X_t·Wᵀ + biases [batch, hi-lo].
    """

    def __init__(self, b, node, ins, attrs, gates, defaults):
        x, w, r = ins[:3]
        self.b = b
        self.names = list(node.inputs) + [""] * (8 - len(node.inputs))
        self.outputs = node.outputs
        self.layout, self.direction, self.clip = attrs["layout"], attrs["direction"], attrs["clip"]
        self.steps, self.batch = (x.shape[1], x.shape[0]) if self.layout else x.shape[:2]
        if not (isinstance(self.steps, int) and isinstance(self.batch, int)):
            raise UnsupportedError(f"{node.describe()}: unrolling needs a known sequence length and batch, got X {list(x.shape)}")
        self.dirs, self.hidden, self.inputs, self.dtype = w.shape[0], r.shape[2], x.shape[2], x.dtype
        self.width = gates * self.hidden
        self.lens_dtype = ins[4].dtype if len(ins) > 4 and ins[4] is not None else None
        acts = _activations(attrs["activations"], attrs["activation_alpha"], attrs["activation_beta"], defaults, self.dirs)
        self.acts = [[(_ACT_NAMES[fn], _act_attrs(fn, kw)) for fn, kw in d] for d in acts]
        self._parts = {}

    def op(self, op, *inputs, **attrs):
        return self.b.op(op, inputs, attrs)

    def scalar(self, v, dtype=None):
        return self.b.const([v], dtype or self.dtype, shape=())

    def ints(self, values):
        return self.b.const(values, "int64")

    def cols(self, x, lo, hi):
        return self.op("Slice", x, self.ints([lo]), self.ints([hi]), self.ints([1]))

    def part(self, i, d, lo, hi):
        """Direction d's rows lo:hi of R ([hi-lo, hidden]), or columns lo:hi of B or P ([1, hi-lo]); made once."""
        key = (i, d, lo, hi)
        if key not in self._parts:
            if i != 2:
                y = self.op("Slice", self.names[i], self.ints([d, lo]), self.ints([d + 1, hi]), self.ints([0, 1]))
            else:  # R as one matrix [dirs * gates * hidden, hidden], so a whole one is not copied
                if "R" not in self._parts:
                    self._parts["R"] = self.op("Reshape", self.names[2], self.ints([-1, self.hidden]))
                y, at = self._parts["R"], d * self.width
                if hi - lo < self.dirs * self.width:
                    y = self.op("Slice", y, self.ints([at + lo]), self.ints([at + hi]), self.ints([0]))
            self._parts[key] = y
        return self._parts[key]

    def act(self, x, activation, clip=True):
        """An activation of the op set, Affine and ScaledTanh built from Mul/Add/Tanh; `clip` bounds its input."""
        (name, kw), s = activation, self.scalar
        if clip and self.clip is not None:
            x = self.op("Clip", x, s(-float(self.clip)), s(float(self.clip)))
        if name == "Affine":
            return self.op("Add", self.op("Mul", x, s(kw["alpha"])), s(kw["beta"]))
        if name == "ScaledTanh":
            return self.op("Mul", self.op("Tanh", self.op("Mul", x, s(kw["beta"]))), s(kw["alpha"]))
        return self.op(name, x, **kw)

    def gemm(self, a, w, c=None, activation=None):
        """a·wᵀ + c, then `activation`: fused into the Gemm when it is an op of the op set and nothing is clipped."""
        ins = [a, w] + ([c] if c else [])
        if activation is None or (activation[0] in REGISTRY and self.clip is None):
            fused = {} if activation is None else {"activation": {"op": activation[0], **activation[1]}}
            return self.b.op("Gemm", ins, {"transB": 1, **fused})
        return self.act(self.b.op("Gemm", ins, {"transB": 1}), activation)

    def run(self, step, n_states, late_bias=0):
        """Unroll `step` over time for every direction and write the node's outputs (Y, then the states).

        Both biases join X·Wᵀ up front, except the last `late_bias` columns of the recurrent
        bias, which the cell adds itself (GRU's h gate with linear_before_reset=1).
        """
        T, H, dirs, layout = self.steps, self.hidden, self.dirs, self.layout
        outs = self.outputs + [""] * (1 + n_states - len(self.outputs))
        if T == 0:  # the reference gives an empty Y and zero states
            shapes = [(0, dirs, self.batch, H) if not layout else (self.batch, 0, dirs, H)]
            shapes += [(dirs, self.batch, H) if not layout else (self.batch, dirs, H)] * n_states
            for out, shape in zip(outs, shapes):
                if out:
                    self.b.op("Expand", [self.scalar(0.0), self.ints(list(shape))], out=out)
            return
        xw = self._project(late_bias)
        lens = self.names[4] and self.op("Unsqueeze", self.names[4], self.ints([1]))  # [batch, 1]
        live = {}  # t -> [batch, 1] bool: t < sequence_lens, shared by both directions
        zero = self.scalar(0.0)
        ys, finals = {}, []
        for d in range(dirs):
            states = [self._initial(k, d) for k in range(n_states)]
            for t in reversed(range(T)) if self.direction == "reverse" or d == 1 else range(T):
                new = step(d, functools.partial(self._xw, xw, t, d), states)
                if lens:  # entries past their length keep their state and output zeros
                    if t not in live:
                        live[t] = self.op("Less", self.scalar(t, self.lens_dtype), lens)
                    ys[t, d] = self.op("Where", live[t], new[0], zero)
                    new = [self.op("Where", live[t], n, s) for n, s in zip(new, states)]
                else:
                    ys[t, d] = new[0]
                states = new
            if lens:  # an entry of length 0 ends with zeros, not its initial state
                started = self.op("Less", self.scalar(0, self.lens_dtype), lens)
                states = [self.op("Where", started, s, zero) if self.names[5 + k] else s for k, s in enumerate(states)]
            finals.append(states)
        # Y: [T, dirs, batch, H] (layout 1: [batch, T, dirs, H]); states: [dirs, batch, H] ([batch, dirs, H])
        self._stack([ys[t, d] for t in range(T) for d in range(dirs)], [T, dirs, -1, H] if not layout else [-1, T, dirs, H], outs[0])
        for k, out in enumerate(outs[1:]):
            self._stack([f[k] for f in finals], [dirs, -1, H] if not layout else [-1, dirs, H], out)

    def _project(self, late_bias):
        """X·Wᵀ + biases for every step and direction, in one Gemm: rows (t, batch), columns
        (direction, gate, unit); with layout 1 reshaped to rows batch, columns (t, direction, gate, unit)."""
        n, i = self.dirs * self.width, self.inputs
        ins = [self.op("Reshape", self.names[0], self.ints([-1, i])), self.op("Reshape", self.names[1], self.ints([n, i]))]
        if self.names[3]:
            wb = self.cols(self.names[3], 0, self.width)
            rb = self.cols(self.names[3], self.width, 2 * self.width)
            if late_bias:
                keep = [1.0] * (self.width - late_bias) + [0.0] * late_bias
                rb = self.op("Mul", rb, self.b.const(keep, self.dtype))
            ins.append(self.op("Reshape", self.op("Add", wb, rb), self.ints([n])))
        xw = self.b.op("Gemm", ins, {"transB": 1})
        return self.op("Reshape", xw, self.ints([-1, self.steps * n])) if self.layout else xw

    def _xw(self, xw, t, d, lo, hi):
        if self.layout:
            at = (t * self.dirs + d) * self.width
            return self.cols(xw, at + lo, at + hi)
        b, at = self.batch, d * self.width
        return self.op("Slice", xw, self.ints([t * b, at + lo]), self.ints([(t + 1) * b, at + hi]), self.ints([0, 1]))

    def _initial(self, k, d):
        name = self.names[5 + k]  # initial_h, initial_c
        if not name:
            return self.b.const([0.0] * (self.batch * self.hidden), self.dtype, shape=(self.batch, self.hidden))
        return self.op("Gather", name, self.b.const([d], "int64", shape=()), axis=self.layout)

    def _stack(self, parts, shape, out):
        """Concatenate along the batch-major axis (0, or 1 for layout 1); the planner makes a
        tree of it when a backend binds fewer inputs per kernel."""
        if not out:
            return
        joined = parts[0] if len(parts) == 1 else self.op("Concat", *parts, axis=self.layout)
        self.b.op("Reshape", [joined, self.ints(shape)], out=out)


def _fan_in(b, node, ins, attrs, outs):
    """Concat / Sum / Max / Min / Mean over more inputs than a kernel binds, as a tree:
    groups of max_inputs first, then the op over the group results (split again if needed)."""
    names = [n for n in node.inputs if n]
    op = "Sum" if node.op == "Mean" else node.op
    k = b.max_inputs
    parts = [g[0] if len(g) == 1 else b.op(op, g, attrs) for g in (names[i:i + k] for i in range(0, len(names), k))]
    if node.op == "Mean":
        total = b.op("Sum", parts)
        b.op("Div", [total, b.const([float(len(names))], ins[0].dtype, shape=())], out=node.outputs[0])
    else:
        b.op(op, parts, attrs, out=node.outputs[0])


for _op in ("Concat", "Sum", "Max", "Min", "Mean"):
    FAN_IN[_op] = _fan_in


@decomposes("LSTM")
def _lstm(b, node, ins, attrs, outs):
    u = _Unroll(b, node, ins, attrs, 4, ["Sigmoid", "Tanh", "Tanh"])
    H, peepholes = u.hidden, bool(u.names[7])

    def step(d, xw, states):
        h, c = states
        f, g, hf = u.acts[d]
        gates = u.gemm(h, u.part(2, d, 0, 4 * H), xw(0, 4 * H))  # i, o, f, c
        # without peepholes one pass of f over all gates serves i, o and f (c's share is unused)
        fs = None if peepholes else u.act(gates, f)

        def gate(k, cell):  # i, o, f: with their peephole on the cell state (P is ordered i, o, f too)
            if fs:
                return u.cols(fs, k * H, (k + 1) * H)
            x = u.op("Add", u.cols(gates, k * H, (k + 1) * H), u.op("Mul", u.part(7, d, k * H, (k + 1) * H), cell))
            return u.act(x, f)

        i = gate(0, c)
        forget = u.op("Sub", u.scalar(1.0), i) if attrs["input_forget"] else gate(2, c)
        c = u.op("Add", u.op("Mul", forget, c), u.op("Mul", i, u.act(u.cols(gates, 3 * H, 4 * H), g)))
        return [u.op("Mul", gate(1, c), u.act(c, hf, clip=False)), c]  # h(C) is not clipped, as in the reference

    u.run(step, 2)


@decomposes("GRU")
def _gru(b, node, ins, attrs, outs):
    u = _Unroll(b, node, ins, attrs, 3, ["Sigmoid", "Tanh"])
    H, before_reset = u.hidden, attrs["linear_before_reset"]

    def step(d, xw, states):
        h, = states
        f, g = u.acts[d]
        zr = u.gemm(h, u.part(2, d, 0, 2 * H), xw(0, 2 * H), f)
        z, r = u.cols(zr, 0, H), u.cols(zr, H, 2 * H)
        rh = u.part(2, d, 2 * H, 3 * H)
        if before_reset:  # r scales h·R_hᵀ + Rb_h, so that bias is added here, not up front
            rb = u.part(3, d, 5 * H, 6 * H) if u.names[3] else None
            cand = u.act(u.op("Add", xw(2 * H, 3 * H), u.op("Mul", r, u.gemm(h, rh, rb))), g)
        else:
            cand = u.gemm(u.op("Mul", r, h), rh, xw(2 * H, 3 * H), g)
        return [u.op("Add", cand, u.op("Mul", z, u.op("Sub", h, cand)))]  # (1 - z) * cand + z * h

    u.run(step, 1, late_bias=H if before_reset else 0)


@decomposes("RNN")
def _rnn(b, node, ins, attrs, outs):
    u = _Unroll(b, node, ins, attrs, 1, ["Tanh"])
    H = u.hidden
    u.run(lambda d, xw, states: [u.gemm(states[0], u.part(2, d, 0, H), xw(0, H), u.acts[d][0])], 1)
