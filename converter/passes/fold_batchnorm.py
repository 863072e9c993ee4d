"""BatchNormalization after a Conv or Gemm with constant weights folds into them.

    y = BatchNormalization(Conv(x, W, B), scale, bias, mean, var)
      =>  y = Conv(x, W * s, (B - mean) * s + bias),   s = scale / sqrt(var + eps)

The same holds for Gemm (per output column) and ConvTranspose (per output channel).
"""

import numpy as np

from .util import consumers, graph_output_names, fresh_name


def _scale_shift(graph, bn):
    c = graph.constants
    if not all(n in c for n in bn.inputs[1:5]):
        return None
    scale, bias, mean, var = (c[n].astype(np.float64) for n in bn.inputs[1:5])
    s = scale / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
    return s, bias - mean * s


def _fold_into(graph, prod, s, shift):
    """New (weight, bias) arrays for `prod` scaled by s per output channel, or None."""
    c = graph.constants
    w = c.get(prod.inputs[1])
    b = c.get(prod.inputs[2]) if len(prod.inputs) > 2 and prod.inputs[2] else None
    if w is None or (len(prod.inputs) > 2 and prod.inputs[2] and b is None) or prod.attrs.get("activation"):
        return None
    n = s.size
    if prod.op == "Conv":
        if w.shape[0] != n:
            return None
        w2 = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
    elif prod.op == "ConvTranspose":
        g = prod.attrs.get("group", 1)
        if w.shape[1] * g != n:
            return None
        w2 = (w.reshape((g, -1, w.shape[1]) + w.shape[2:]) * s.reshape((g, 1, -1) + (1,) * (w.ndim - 2))).reshape(w.shape)
    elif prod.op == "Gemm":
        trans_b = prod.attrs.get("transB", 0)
        if w.ndim != 2 or w.shape[0 if trans_b else 1] != n:
            return None
        w2 = w * (s.reshape(-1, 1) if trans_b else s.reshape(1, -1))
        beta = prod.attrs.get("beta", 1.0)
        prod.attrs["beta"] = 1.0
        b = None if b is None else np.broadcast_to(b * beta, (n,)) if b.size in (1, n) and b.ndim <= 1 else None
        if len(prod.inputs) > 2 and prod.inputs[2] and b is None:
            return None
    else:
        return None
    b2 = (b if b is not None else 0) * s + shift
    return w2.astype(w.dtype), np.asarray(b2, w.dtype).reshape(n)


def run(graph, log):
    uses = consumers(graph)
    outs = graph_output_names(graph)
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    dead = set()
    for bn in graph.nodes:
        if bn.op != "BatchNormalization":
            continue
        prod = producer.get(bn.inputs[0])
        if prod is None or prod.op not in ("Conv", "ConvTranspose", "Gemm") or len(uses[bn.inputs[0]]) != 1 or bn.inputs[0] in outs:
            continue
        if prod.op == "Gemm" and prod.attrs.get("transA", 0) not in (0, 1):
            continue
        ss = _scale_shift(graph, bn)
        folded = ss and _fold_into(graph, prod, *ss)
        if not folded:
            continue
        w, b = folded
        wname, bname = fresh_name(graph, prod.inputs[1] + "_bnfold"), fresh_name(graph, prod.name + "_bias_bnfold")
        graph.constants[wname], graph.constants[bname] = w, b
        prod.inputs = [prod.inputs[0], wname, bname]
        prod.outputs = [bn.outputs[0]]
        dead.add(id(bn))
    graph.nodes[:] = [n for n in graph.nodes if id(n) not in dead]
