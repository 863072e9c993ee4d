"""Helpers the passes share: who reads a tensor, and rewiring readers."""

from collections import defaultdict

import numpy as np

from webflow.ops import Meta
from webflow.planner import FOLD_LIMIT
from webflow.symbolic import SymbolicTensor


def consumers(graph):
    """tensor name -> [(node, input position)]"""
    out = defaultdict(list)
    for node in graph.nodes:
        for i, name in enumerate(node.inputs):
            if name:
                out[name].append((node, i))
    return out


def graph_output_names(graph):
    return {t.name for t in graph.outputs}


def rename_uses(graph, old, new):
    for node in graph.nodes:
        node.inputs = [new if n == old else n for n in node.inputs]


def fresh_name(graph, base):
    taken = set(graph.constants) | {t.name for t in graph.inputs} | {o for n in graph.nodes for o in n.outputs}
    name, i = base, 1
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def const_meta(graph):
    """The planner's view of the graph's constants: small ones with their values (symbolic
    ones too, which the planner binds), large ones by shape and dtype only."""
    def meta(name, need_value):
        a = graph.constants[name]
        if isinstance(a, SymbolicTensor):
            return Meta(a.shape, a.dtype, a.values)
        dtype = "bool" if a.dtype == np.bool_ else a.dtype.name
        return Meta(a.shape, dtype, a.reshape(-1).tolist() if need_value or a.size <= FOLD_LIMIT else None)
    return meta
