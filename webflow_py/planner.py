"""The plan: made once per input signature, then replayed for every inference.

Planning walks the graph in topological order and, for each node, resolves attributes,
checks inputs against the op's shape rule, and records static output shapes and dtypes.
Shape-like ("host") inputs must be known by then: constants, or values computed from shapes
(Shape → Gather → Concat → Reshape chains), which the planner folds with the backend's `fold`
(numpy) so they never run per inference. Finally it records when each tensor is last read,
so backends can free or reuse its memory right after.
"""

import math
from collections import deque

from .decompose import decompose
from .dtypes import itemsize
from .errors import ShapeError, UnsupportedError
from .ops import Meta, get
from .symbolic import SymbolicTensor, bind_dims, is_sym

FOLD_LIMIT = 4096  # elements: larger plan-time results stay runtime work


class Step:
    """One op to run: the node, its op, attributes with host values resolved, output Metas."""

    __slots__ = ("node", "opdef", "inputs", "outputs", "attrs", "in_metas", "out_metas", "host_values")

    def __init__(self, node, opdef, attrs, in_metas, out_metas, host_values):
        self.node = node
        self.opdef = opdef
        self.inputs = list(node.inputs)
        self.outputs = list(node.outputs)
        self.attrs = attrs
        self.in_metas = in_metas
        self.out_metas = out_metas
        self.host_values = host_values  # {input position: flat list} for host inputs


class Plan:
    def __init__(self, signature):
        self.signature = signature
        self.steps = []
        self.metas = {}  # tensor name -> Meta (every tensor the plan knows)
        self.folded = {}  # tensor name -> flat value computed at plan time
        self.free_after = []  # per step: tensors read for the last time there
        self.weights_used = []  # constants read by some step
        self.peak_bytes = 0  # most bytes of intermediates alive at once
        self.total_bytes = 0  # bytes of all intermediates, if none were freed

    def describe(self):
        return (f"{len(self.steps)} steps, {len(self.folded)} tensors folded at plan time, "
                f"peak {self.peak_bytes / 1e6:.2f} MB of intermediates (vs {self.total_bytes / 1e6:.2f} MB unreused)")


def make_plan(graph, order, input_metas, const_meta, fold=None, lifetimes=True, supported=None, max_inputs=None):
    """Plan `graph` (nodes in `order`) for concrete input Metas.

    const_meta(name, need_value) -> Meta of a constant, with its value when need_value or when
    it is small (at most FOLD_LIMIT elements), so shape chains through small constants fold.
    fold(opdef, input_metas, attrs, n_outputs) -> list of flat output values, or None when it
    cannot (no numpy): then nodes computed from shapes stay runtime work unless a host input
    needs them. lifetimes=False skips memory planning (for symbolic shapes in the converter).
    supported: the ops the backend runs (None: all); a node of another op is expanded into
    ops it has (webflow.decompose), right here, for the shapes of this plan. max_inputs: the
    most tensor inputs one of its kernels binds (variadic ops with more become trees).
    """
    plan = Plan(tuple((m.shape, m.dtype) for m in input_metas.values()))
    metas = plan.metas
    metas.update(input_metas)
    env = bind_dims(graph.inputs, [input_metas[t.name].shape for t in graph.inputs if t.name in input_metas])

    def meta_of(name, need_value):
        m = metas.get(name)
        if m is None or (need_value and m.value is None and name in graph.constants):
            m = const_meta(name, need_value)
            if m.value is not None and any(is_sym(v) for v in m.value):
                bound = SymbolicTensor(m.value, m.dtype, m.shape).bind(env)
                if bound is not None:  # a symbolic constant such as [2, batch, 16], now concrete
                    m = Meta(m.shape, m.dtype, bound)
                    plan.folded[name] = bound
            metas[name] = m
        return m

    work = deque(order)
    while work:
        node = work.popleft()
        d = get(node.op, node)
        d.check_arity(node)
        attrs = d.resolve_attrs(node)
        ins, host = [], {}
        for i, name in enumerate(node.inputs):
            if not name:
                ins.append(None)
                continue
            is_host = d.is_host_input(i)
            m = meta_of(name, is_host)
            if is_host:
                if m.value is None:
                    raise ShapeError(f"{node.describe()}: input {i} ({name!r}) is shape-like and must be known when the plan is made, "
                                     "but it is computed at run time from tensor values")
                host[i] = m.value
            ins.append(m)
        outs = d.infer(node, ins, attrs)
        known = all(m is None or m.value is not None or (d.shape_only and i not in host) for i, m in enumerate(ins))
        if fold is not None and known and all(_size(o) <= FOLD_LIMIT for o in outs):
            values = fold(d, ins, attrs, len(node.outputs))
            if values is not None:
                for name, o, v in zip(node.outputs, outs, values):
                    if name:
                        o.value = v
                        metas[name] = o
                        plan.folded[name] = v
                continue
        too_wide = max_inputs is not None and sum(1 for n in node.inputs if n) > max_inputs
        if too_wide or (supported is not None and d.name not in supported):
            expansion = decompose(node, ins, attrs, outs, max_inputs)
            if expansion is not None:
                nodes, constants = expansion
                for name, m in constants.items():
                    metas[name] = m
                    plan.folded[name] = m.value
                work.extendleft(reversed(nodes))
                continue
        for name, o in zip(node.outputs, outs):
            if name:
                metas[name] = o
        plan.steps.append(Step(node, d, attrs, ins, outs, host))
    for out in graph.outputs:
        if out.name not in metas:
            meta_of(out.name, True)
    if lifetimes:
        _plan_lifetimes(plan, graph)
    return plan


def _size(meta):
    return meta.size if all(isinstance(d, int) for d in meta.shape) else FOLD_LIMIT + 1


def _plan_lifetimes(plan, graph):
    """Last reader of every intermediate, and the peak of live intermediate bytes."""
    keep = {o.name for o in graph.outputs}
    last = {}
    consts = set()
    for i, step in enumerate(plan.steps):
        for pos, name in enumerate(step.inputs):
            if not name or pos in step.host_values:  # host inputs travel as plan values
                continue
            if name in graph.constants or name in plan.folded:
                consts.add(name)
            else:
                last[name] = i
    plan.weights_used = sorted(consts)
    plan.free_after = [[] for _ in plan.steps]
    for name, i in last.items():
        if name not in keep and name not in {t.name for t in graph.inputs}:
            plan.free_after[i].append(name)
    live = peak = total = 0
    for i, step in enumerate(plan.steps):
        for name, m in zip(step.outputs, step.out_metas):
            if name:
                b = m.size * itemsize(m.dtype)
                live += b
                total += b
        peak = max(peak, live)
        for name in plan.free_after[i]:
            m = plan.metas[name]
            live -= m.size * itemsize(m.dtype)
    plan.peak_bytes, plan.total_bytes = peak, total


def check_plan_supported(plan, supported, backend_name):
    """One error listing every op a backend cannot run, with node names."""
    missing = {}
    for step in plan.steps:
        if step.opdef.name not in supported:
            missing.setdefault(step.opdef.name, []).append(step.node.name)
    if missing:
        lines = "; ".join(f"{op} (nodes: {', '.join(n[:5])}{'...' if len(n) > 5 else ''})" for op, n in sorted(missing.items()))
        raise UnsupportedError(f"the {backend_name} backend cannot run: {lines}")


def meta_nbytes(meta):
    return math.prod(meta.shape) * itemsize(meta.dtype)
