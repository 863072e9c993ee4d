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
# Under int8, the smallest quantizable weights, up to this share of their elements, are stored
# float16 instead: in a CNN they are the stem, the depthwise kernels and the narrow early 1x1
# convs, whose errors every later layer amplifies. On EfficientNet-Lite0 they are 9% of the
# weights and halve the int8 logits' error (docs/QUANTIZATION.md).
INT8_FLOAT16_SHARE = 0.10
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


def _int8_plan(graph, arrays):
    """{name: quant axis} for the weights stored int8, {names} for those kept float16."""
    axes = {}
    for name, a in arrays:
        axis = _int8_axis(graph, name, a) if a.dtype == np.float32 else None
        if axis is not None:
            axes[name] = axis
    sizes = sorted((a.size, name) for name, a in arrays if name in axes)
    budget, kept = INT8_FLOAT16_SHARE * sum(n for n, _ in sizes), set()
    for n, name in sizes:
        if n > budget:
            break
        budget -= n
        kept.add(name)
    return {n: ax for n, ax in axes.items() if n not in kept}, kept


def write_model(graph, out_dir, quantize=None, shard_size=DEFAULT_SHARD_SIZE, producer=None, metadata=None, show_progress=None):
    if quantize not in QUANTIZE:
        raise ValueError(f"--quantize must be float16 or int8, got {quantize!r}")
    os.makedirs(out_dir, exist_ok=True)
    writer = ShardWriter(out_dir, shard_size)
    big = [(n, a) for n, a in graph.constants.items() if isinstance(a, np.ndarray) and a.size > INLINE_LIMIT]
    bar = Progress(sum(a.nbytes for _, a in big), "writing weights", enabled=show_progress)
    int8_axes, int8_kept = _int8_plan(graph, big) if quantize == "int8" else ({}, set())
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
        elif name in int8_axes:
            storage, axis = "int8", int8_axes[name]
        elif name in int8_kept:
            storage = "float16"
        entries[name] = writer.add(name, a, storage, axis)
        bar.update(a.nbytes)
    bar.close()
    shards = writer.close()
    graph.constants = {n: entries[n] for n in graph.constants}
    spec = ModelSpec(graph, shards, producer or {}, metadata or {})
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(dump_model(spec), f, indent=1)
    return spec
