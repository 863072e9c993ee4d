"""Ops written in terms of other ops, for backends that lack a kernel for them (STYLE: few
primitives, compose the rest). The planner expands a node here when its backend cannot run
it, with the node's input Metas known, so an expansion may depend on shapes (e.g. unrolling a
recurrence over the sequence length).

An expansion is a function (b, node, ins, attrs, outs) that adds nodes with the Builder `b` and
makes the node's outputs: `b.op(...)` returns new tensor names; the last ops must write the
node's own output names (pass `out=`).
"""

from .graph import Node
from .ops import Meta

DECOMPOSITIONS = {}


def decomposes(*ops):
    def wrap(fn):
        for op in ops:
            DECOMPOSITIONS[op] = fn
        return fn
    return wrap


class Builder:
    """Adds nodes and small constants under names derived from the node being expanded."""

    def __init__(self, node):
        self.prefix = node.name
        self.nodes = []
        self.constants = {}
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
        """A plan-time constant (a flat list); shape defaults to 1-D."""
        name = self._name("const")
        self.constants[name] = Meta(shape if shape is not None else (len(values),), dtype, list(values))
        return name


def decompose(node, ins, attrs, outs):
    """(nodes, constants) that compute `node`, or None when no expansion is known."""
    fn = DECOMPOSITIONS.get(node.op)
    if fn is None:
        return None
    b = Builder(node)
    fn(b, node, ins, attrs, outs)
    return b.nodes, b.constants
