"""Nodes and constants that no graph output depends on are removed."""


def run(graph, log):
    needed = {t.name for t in graph.outputs}
    keep = []
    for node in reversed(graph.topo_order()):
        if any(o in needed for o in node.outputs if o):
            keep.append(node)
            needed.update(i for i in node.inputs if i)
    keep.reverse()
    graph.nodes[:] = keep
    for name in [c for c in graph.constants if c not in needed]:
        del graph.constants[name]
