"""Shape arithmetic becomes constants, also when the batch (or any dim) is symbolic.

PyTorch exports are full of chains like

    s = Shape(x); b = Gather(s, 0); t = Concat(Unsqueeze(b), [-1]); y = Reshape(x, t)

The planner can evaluate such chains for concrete input shapes. Here the graph is planned for
a few probe values of the symbolic dims and the results compared:
- a value that is the same for every probe is a constant;
- a Reshape target entry that always equals the input's dim at that place becomes 0
  ("copy this dim"), and a single remaining varying entry becomes -1 ("infer");
- an Expand target entry that always equals the input's aligned dim becomes 1.
What cannot be expressed that way stays in the graph and is folded by the planner at run
time (numpy backend); the converter warns about it, because the browser cannot.
"""

import numpy as np

from webflow.errors import WebflowError
from webflow.ops import Meta, get
from webflow.planner import FOLD_LIMIT, make_plan
from webflow.symbolic import is_sym

PRIMES = [3, 5, 7, 11, 13, 17, 19, 23]
SCALES = [1, 32]  # a second try with multiples of 32, for nets that need divisible spatial dims


def _probe_sets(names):
    """For each scale: a base assignment, one with each dim moved alone, and one with all moved."""
    for scale in SCALES:
        base = {n: scale * PRIMES[i % 4] for i, n in enumerate(names)}
        moved = {n: scale * PRIMES[4 + i % 4] for i, n in enumerate(names)}
        probes = [base] + [dict(base, **{n: moved[n]}) for n in names] + ([moved] if len(names) > 1 else [])
        yield probes


def _plan(graph, order, env):
    metas = {}
    for t in graph.inputs:
        metas[t.name] = Meta([d.evaluate(env) if is_sym(d) else d for d in t.shape], t.dtype)

    def const_meta(name, need_value):
        a = graph.constants[name]
        return Meta(a.shape, "bool" if a.dtype == np.bool_ else a.dtype.name,
                    a.reshape(-1).tolist() if need_value or a.size <= FOLD_LIMIT else None)

    def fold(opdef, ins, attrs, n_out):
        args = [None if m is None else np.array(m.value, m.dtype).reshape(m.shape) if m.value is not None
                else np.empty(m.shape, m.dtype) for m in ins]
        return [np.asarray(o).reshape(-1).tolist() for o in opdef.run(args, attrs)[:n_out]]

    return make_plan(graph, order, metas, const_meta, fold)


def run(graph, log):
    names = sorted({n for t in graph.inputs for d in t.shape if is_sym(d) for n in d.names})
    order = graph.topo_order()
    plans, first_error = None, None
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
            const = _resolve(node, d.is_host_input(i), i, values, plans)
            if const is not None:
                new = f"{name}__folded_{node.name}"
                graph.constants[new] = np.array(const, dtype=plans[0].metas[name].dtype).reshape(
                    plans[0].metas[name].shape)
                node.inputs[i] = new
                rewrites += 1
    if rewrites:
        log(f"  fold_shapes: {rewrites} shape input(s) made constant")


def _resolve(node, is_host, pos, values, plans):
    """A constant equivalent for every probe, or None."""
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
