"""Nodes whose inputs are all constants are computed now, with the op's numpy reference.

    c = Transpose(W); y = MatMul(x, c)   =>   y = MatMul(x, W')

A result much larger than its inputs (ConstantOfShape, Expand, Tile of a small constant) is
left to run, so folding never bloats the download.
"""

import numpy as np

from webflow.ops import get

GROWTH_LIMIT = 65536  # elements a fold may add beyond its inputs' size


def run(graph, log):
    keep = []
    for node in graph.topo_order():
        ins = [graph.constants.get(n) if n else None for n in node.inputs]
        if any(n and not isinstance(graph.constants.get(n), np.ndarray) for n in node.inputs):  # symbolic too
            keep.append(node)
            continue
        d = get(node.op, node)
        outs = d.run(ins, d.resolve_attrs(node))
        in_size = sum(x.size for x in ins if x is not None)
        if sum(np.asarray(y).size for y in outs) > in_size + GROWTH_LIMIT:
            keep.append(node)
            continue
        for name, y in zip(node.outputs, outs):
            if name:
                graph.constants[name] = np.asarray(y)
    graph.nodes[:] = keep
