"""An element-wise activation right after Conv / ConvTranspose / MatMul / Gemm runs inside it.

    y = Relu(Conv(x, W, B))   =>   y = Conv(x, W, B, activation={"op": "Relu"})

Only when the producer's output has no other reader. Any unary op of the op set can be
fused (its attributes travel along); Clip needs constant bounds.
"""

from webflow.ops import get

from .util import consumers, graph_output_names

PRODUCERS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def _activation(graph, node):
    d = get(node.op, node)
    if not getattr(d, "activation_ok", False):
        return None
    act = {"op": node.op}
    act.update({k: v for k, v in node.attrs.items()})
    for spec, name in zip(d.inputs[1:], node.inputs[1:]):
        if not name:
            continue
        if name not in graph.constants or graph.constants[name].size != 1:
            return None
        act[spec.name] = float(graph.constants[name].reshape(()))
    return act


def run(graph, log):
    uses = consumers(graph)
    outs = graph_output_names(graph)
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    dead = set()
    for node in graph.nodes:
        prod = producer.get(node.inputs[0]) if node.inputs else None
        if prod is None or prod.op not in PRODUCERS or prod.attrs.get("activation") or id(prod) in dead:
            continue
        if len(uses[node.inputs[0]]) != 1 or node.inputs[0] in outs:
            continue
        act = _activation(graph, node)
        if act is None:
            continue
        prod.attrs["activation"] = act
        prod.outputs = [node.outputs[0]]
        dead.add(id(node))
    graph.nodes[:] = [n for n in graph.nodes if id(n) not in dead]
