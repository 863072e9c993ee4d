"""A residual Add of a Conv's output runs inside the Conv, as its Z input.

    y = Add(Conv(x, W, B), z)   =>   y = Conv(x, W, B, z)          # Y = conv + B + Z

Only when the Conv has no fused activation (the Add would come after it, and Z is added before
it), the Conv's output has no other reader and is no graph output, and z has exactly the
output's shape and dtype (no broadcasting). The fused Conv takes the Add's place in the node
order, where z is sure to exist. Runs after channels_last, so z is already in the Conv's layout;
fuse_activation runs again after it, so an activation after the Add (ResNet's Relu) fuses too:
Y = activation(conv + B + Z).
"""

from webflow.errors import WebflowError

from .util import consumers, graph_output_names


def run(graph, log):
    from webflow.converter import infer_shapes  # the converter package imports the passes

    if not any(n.op == "Conv" for n in graph.nodes):
        return
    try:
        metas = infer_shapes(graph)
    except WebflowError as e:
        log(f"  fuse_residual: skipped, shapes unknown at conversion ({e})")
        return
    uses = consumers(graph)
    outs = graph_output_names(graph)
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    place = {}  # id(Add) -> the Conv that replaces it
    moved = set()
    for node in graph.nodes:
        if node.op != "Add" or len(node.inputs) != 2:
            continue
        for y, z in (node.inputs, node.inputs[::-1]):
            conv = producer.get(y)
            if (conv is None or conv.op != "Conv" or conv.attrs.get("activation") or len(conv.inputs) > 3 or id(conv) in moved
                    or len(uses[y]) != 1 or y in outs or y == z or y not in metas or z not in metas):
                continue
            if metas[z].shape != metas[y].shape or metas[z].dtype != metas[y].dtype:
                continue
            conv.inputs = conv.inputs + [""] * (3 - len(conv.inputs)) + [z]
            conv.outputs = [node.outputs[0]]
            moved.add(id(conv))
            place[id(node)] = conv
            break
    graph.nodes[:] = [place.get(id(n), n) for n in graph.nodes if id(n) not in moved]
    if place:
        log(f"  fuse_residual: {len(place)} Add(s) folded into the Conv before them")
