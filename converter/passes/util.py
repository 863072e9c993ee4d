"""Helpers the passes share: who reads a tensor, and rewiring readers."""

from collections import defaultdict


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
