"""Graph with numpy constants → model.json + weight shards (the reader is webflow.weights).

Small constants (shapes, scalars) are written inline in model.json so the planner can read
them without touching the shards; everything else is streamed into shards one weight at a time.
"""

import json
import os

import numpy as np

from webflow.format import ModelSpec, WeightEntry, dump_model
from webflow.progress import Progress
from webflow.symbolic import SymbolicTensor
from webflow.weights import DEFAULT_SHARD_SIZE, ShardWriter

INLINE_LIMIT = 256  # elements
QUANTIZE = (None, "float16", "int8")
# (op, input position) -> the axis that holds output channels, for per-channel int8 scales
WEIGHT_SLOTS = {("Conv", 1): lambda n, w: 0, ("ConvTranspose", 1): lambda n, w: 1,
                ("MatMul", 1): lambda n, w: w.ndim - 1,
                ("Gemm", 1): lambda n, w: 0 if n.attrs.get("transB", 0) else 1}


def _int8_axis(graph, name, array):
    """The per-channel axis when every reader uses `name` as a weight matrix/kernel, else None."""
    axes = set()
    for node in graph.nodes:
        for i, n in enumerate(node.inputs):
            if n == name:
                rule = WEIGHT_SLOTS.get((node.op, i))
                if rule is None or array.ndim < 2:
                    return None
                axes.add(rule(node, array))
    return axes.pop() if len(axes) == 1 else None


def write_model(graph, out_dir, quantize=None, shard_size=DEFAULT_SHARD_SIZE, producer=None, metadata=None, show_progress=None):
    if quantize not in QUANTIZE:
        raise ValueError(f"--quantize must be float16 or int8, got {quantize!r}")
    os.makedirs(out_dir, exist_ok=True)
    writer = ShardWriter(out_dir, shard_size)
    big = [(n, a) for n, a in graph.constants.items() if isinstance(a, np.ndarray) and a.size > INLINE_LIMIT]
    bar = Progress(sum(a.nbytes for _, a in big), "writing weights", enabled=show_progress)
    entries = {}
    for name, a in graph.constants.items():
        if isinstance(a, SymbolicTensor):
            entries[name] = WeightEntry(name, a.dtype, a.shape, value=a.values)
            continue
        if a.size <= INLINE_LIMIT:
            dtype = "bool" if a.dtype == np.bool_ else a.dtype.name
            entries[name] = WeightEntry(name, dtype, tuple(a.shape), value=a.reshape(-1).tolist())
            continue
        storage, axis = None, 0
        if quantize == "float16":
            storage = "float16"
        elif quantize == "int8":
            axis = _int8_axis(graph, name, a)
            storage = "int8" if axis is not None else None
        entries[name] = writer.add(name, a, storage, axis)
        bar.update(a.nbytes)
    bar.close()
    shards = writer.close()
    graph.constants = {n: entries[n] for n in graph.constants}
    spec = ModelSpec(graph, shards, producer or {}, metadata or {})
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(dump_model(spec), f, indent=1)
    return spec
