"""Identity, and Dropout at inference, pass their input through: readers read the input instead.

    y = Identity(x); z = f(y)   =>   z = f(x)

A node whose output is a graph output stays (the output keeps its name).
"""

from .util import graph_output_names, rename_uses

PASS_THROUGH = ("Identity", "Dropout")


def run(graph, log):
    outs = graph_output_names(graph)
    keep = []
    for node in graph.nodes:
        dropout_mask = node.op == "Dropout" and len(node.outputs) > 1 and node.outputs[1]
        if node.op in PASS_THROUGH and not dropout_mask and node.outputs[0] not in outs:
            rename_uses(graph, node.outputs[0], node.inputs[0])
        else:
            keep.append(node)
    graph.nodes[:] = keep
