"""Shape arithmetic becomes constants, also when the batch (or any dim) is symbolic.

PyTorch exports are full of chains like

    s = Shape(x); b = Gather(s, 0); t = Concat(Unsqueeze(b), [-1]); y = Reshape(x, t)

The planner can evaluate such chains for concrete input shapes. Here the graph is planned for
a few probe values of the symbolic dims and the results compared:
- a value that is the same for every probe is a constant;
- a Reshape target entry that always equals the input's dim at that place becomes 0
  ("copy this dim"), and a single remaining varying entry becomes -1 ("infer");
- an Expand target entry that always equals the input's aligned dim becomes 1;
- any other small integer value whose entries are affine in the symbolic dims becomes a
  symbolic constant, e.g. the initial RNN state shape [2, batch, 16]; the planner binds it.
What cannot be expressed that way stays in the graph and is folded by the planner at run
time (numpy backend); the converter warns about it, because the browser cannot.
"""

import numpy as np

from webflow.errors import WebflowError
from webflow.ops import Meta, get
from webflow.planner import make_plan

from .util import const_meta
from webflow.symbolic import Sym, SymbolicTensor, is_sym

PRIMES = [3, 5, 7, 11, 13, 17, 19, 23]
SCALES = [1, 32]  # a second try with multiples of 32, for nets that need divisible spatial dims


def _probe_sets(names):
    """For each scale: a base assignment, each dim moved alone to two other values (to fit and
    check an affine rule), and all dims moved at once (to check they do not interact)."""
    for scale in SCALES:
        value = lambda i, k: scale * PRIMES[(i + 3 * k) % len(PRIMES)]  # noqa: E731
        base = {n: value(i, 0) for i, n in enumerate(names)}
        probes = [base]
        for i, n in enumerate(names):
            probes += [dict(base, **{n: value(i, 1)}), dict(base, **{n: value(i, 2)})]
        probes.append({n: value(i, 1) for i, n in enumerate(names)})
        yield probes


def _plan(graph, order, env):
    metas = {}
    for t in graph.inputs:
        metas[t.name] = Meta([d.evaluate(env) if is_sym(d) else d for d in t.shape], t.dtype)

    def fold(opdef, ins, attrs, n_out):
        args = [None if m is None else np.array(m.value, m.dtype).reshape(m.shape) if m.value is not None
                else np.empty(m.shape, m.dtype) for m in ins]
        return [np.asarray(o).reshape(-1).tolist() for o in opdef.run(args, attrs)[:n_out]]

    return make_plan(graph, order, metas, const_meta(graph), fold)


def run(graph, log):
    names = sorted({n for t in graph.inputs for d in t.shape if is_sym(d) for n in d.names})
    order = graph.topo_order()
    plans, first_error, probes = None, None, None
    for probes in (_probe_sets(names) if names else [[{}]]):
        try:
            plans = [_plan(graph, order, env) for env in probes]
            break
        except WebflowError as e:
            first_error = first_error or e
    if plans is None:
        log(f"  warning: shapes could not be planned for probe values of {', '.join(names)}: {first_error}")
        return
    rewrites = 0
    for node in graph.nodes:
        d = get(node.op, node)
        for i, name in enumerate(node.inputs):
            if not name or name in graph.constants:
                continue
            values = [p.metas[name].value if name in p.metas else None for p in plans]
            if any(v is None for v in values):
                continue
            meta = plans[0].metas[name]
            const = _resolve(node, d.is_host_input(i), i, values, plans)
            if const is None and meta.dtype in ("int64", "int32") and all(len(v) == len(values[0]) for v in values):
                entries = _fit(values, probes, names)
                const = entries and SymbolicTensor(entries, meta.dtype, meta.shape)
            if const is None:
                continue
            new = f"{name}__folded_{node.name}"
            graph.constants[new] = const if isinstance(const, SymbolicTensor) else np.array(const, meta.dtype).reshape(meta.shape)
            node.inputs[i] = new
            rewrites += 1
    if rewrites:
        log(f"  fold_shapes: {rewrites} shape input(s) made constant")


def _fit(values, probes, names):
    """Each entry as c + sum(a_i * dim_i) with integer a_i, checked on every probe; or None."""
    out = []
    for j in range(len(values[0])):
        column = [v[j] for v in values]
        if any(not isinstance(x, int) for x in column):
            return None
        entry = column[0]
        for i, n in enumerate(names):
            step = probes[1 + 2 * i][n] - probes[0][n]
            rise = column[1 + 2 * i] - column[0]
            if rise % step:
                return None
            entry = entry + (rise // step) * (Sym.named(n) - probes[0][n])
        if any((entry.evaluate(p) if is_sym(entry) else entry) != x for p, x in zip(probes, column)):
            return None
        out.append(entry)
    return out


def _resolve(node, is_host, pos, values, plans):
    """A constant equivalent for every probe (plain ints, Reshape 0/-1, Expand 1), or None."""
    if all(v == values[0] for v in values):
        return values[0]
    if not is_host or pos != 1 or node.op not in ("Reshape", "Expand"):
        return None
    in_shapes = [p.metas[node.inputs[0]].shape for p in plans]
    out = list(values[0])
    varying = [j for j in range(len(out)) if any(v[j] != out[j] for v in values)]
    if node.op == "Reshape":
        if node.attrs.get("allowzero", 0):
            return None
        rest = []
        for j in varying:
            if all(j < len(s) and v[j] == s[j] for v, s in zip(values, in_shapes)):
                out[j] = 0
            else:
                rest.append(j)
        if len(rest) == 1 and -1 not in out:
            out[rest[0]] = -1
        elif rest:
            return None
        return out
    for j in varying:  # Expand: right-aligned broadcasting
        k = j - len(out)
        if not all(-k <= len(s) and v[j] == s[k] for v, s in zip(values, in_shapes)):
            return None
        out[j] = 1
    return out
