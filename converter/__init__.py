"""webflow.converter: trained models → model.json + weight shards.

    from webflow.converter import convert, from_torch
    convert("model.onnx", "out/model", quantize="float16")
    from_torch(torch_module, (example_input,), "out/model")     # PyTorch directly, no ONNX
"""

import hashlib
import json
import os
import time
from collections import Counter

from webflow import __version__
from webflow.errors import ConversionError, WebflowError
from webflow.format import summarize_weights
from webflow.graph import TensorInfo
from webflow.model import check_ops
from webflow.ops import Meta
from webflow.planner import make_plan
from webflow.weights import DEFAULT_SHARD_SIZE

from . import passes
from .passes.util import const_meta
from .writer import write_model


def _sha256(path):
    """Of a file; of a folder (a SavedModel), its files' relative paths and bytes in sorted order."""
    h = hashlib.sha256()
    folder = os.path.isdir(path)
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs) if folder else [path]
    for name in files:
        if folder:
            h.update(os.path.relpath(name, path).encode() + b"\0")
        with open(name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def import_graph(src, log=print):
    """Read a source model into a webflow Graph (constants as numpy arrays) and producer info."""
    from .frontends import frontend_for

    frontend = frontend_for(src)
    if not os.path.exists(src):
        raise ConversionError(f"{src}: file not found")
    return frontend.import_file(src, log)


def infer_shapes(graph):
    """Output shapes with symbolic dims, from the op set's own shape rules."""
    metas = {t.name: Meta(t.shape, t.dtype) for t in graph.inputs}
    plan = make_plan(graph, graph.topo_order(), metas, const_meta(graph), fold=None, lifetimes=False)
    return plan.metas


LAYOUTS = ("auto", "nchw")


def convert(src, out_dir, quantize=None, shard_size=DEFAULT_SHARD_SIZE, log=print, show_progress=None, layout="auto"):
    """Convert `src` into `out_dir`; returns the report (also written as report.json).

    layout="auto" runs convolution networks channels-last (passes/channels_last.py); "nchw"
    keeps the source's layout. Graph inputs and outputs keep their shapes either way.
    """
    _check_layout(layout)
    t0 = time.monotonic()
    log(f"converting {src}")
    graph, producer = import_graph(src, log)
    producer = {**producer, "source_sha256": _sha256(src)}
    return convert_graph(graph, producer, out_dir, quantize, shard_size, log, show_progress, layout, t0=t0)


def from_torch(module, example_inputs, out_dir, dynamic_batch=True, input_names=None, output_names=None, quantize=None,
               shard_size=DEFAULT_SHARD_SIZE, log=print, show_progress=None, layout="auto"):
    """Convert a torch.nn.Module straight into `out_dir` (torch.export, no ONNX); returns the report.

    example_inputs: a tensor or a tuple of tensors, one per forward() argument. With
    dynamic_batch, dim 0 of every input is the symbolic dim "batch". Inputs are named after
    forward()'s parameters unless input_names is given; outputs "output" (or "output_0", ...)
    unless output_names is given.
    """
    from .frontends import torch as torch_frontend

    _check_layout(layout)
    t0 = time.monotonic()
    log(f"converting {type(module).__name__} (torch.export)")
    graph, producer = torch_frontend.import_module(module, example_inputs, dynamic_batch, input_names, output_names, log)
    producer = {**producer, "source_sha256": torch_frontend.state_sha256(module)}
    return convert_graph(graph, producer, out_dir, quantize, shard_size, log, show_progress, layout, t0=t0)


def _check_layout(layout):
    if layout not in LAYOUTS:
        raise ConversionError(f"layout={layout!r} (known: {', '.join(LAYOUTS)})")


def convert_graph(graph, producer, out_dir, quantize=None, shard_size=DEFAULT_SHARD_SIZE, log=print, show_progress=None,
                  layout="auto", skip=(), t0=None):
    """What every frontend's graph goes through: passes, op check, output shapes, writer, report."""
    t0 = time.monotonic() if t0 is None else t0
    ops_before = Counter(n.op for n in graph.nodes)
    stats = passes.run_all(graph, log, skip=set(skip) | ({"channels_last"} if layout == "nchw" else set()))
    check_ops(graph)
    warnings = []
    metas = {}
    try:
        metas = infer_shapes(graph)
        graph.outputs = [TensorInfo(o.name, metas[o.name].dtype, metas[o.name].shape) for o in graph.outputs]
    except WebflowError as e:
        warnings.append(f"shapes are only known when the plan is made (numpy backend); the browser backend needs them at conversion: {e}")
    runs, gpu_warnings = how_it_runs(graph, metas)
    warnings += gpu_warnings
    for w in warnings:
        log(f"  warning: {w}")
    producer = {"tool": "webflow", "version": __version__, **producer}
    spec = write_model(graph, out_dir, quantize, shard_size, producer, show_progress=show_progress)
    report = build_report(spec, ops_before, stats, warnings, quantize)
    report["runs"] = runs
    kinds = Counter(r["webgl"] for r in runs.values() for _ in range(r["count"]))
    log("  in the browser: " + ", ".join(f"{n} op(s) {kind}" for kind, n in sorted(kinds.items())))
    report["seconds"] = round(time.monotonic() - t0, 3)
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    log(f"wrote {out_dir}: {len(graph.nodes)} nodes, {report['parameters']:,} parameters, "
        f"{report['weight_bytes'] / 1e6:.2f} MB in {len(spec.shards)} shard(s)")
    return report


def how_it_runs(graph, metas):
    """Per op type: how many nodes, and how the webgl backend runs them (its own kernel, or
    expanded into ops that have one); warnings for what the browser cannot run."""
    from webflow.backends.webgl import GPU_DTYPES, how_op_runs

    runs, warnings = {}, []
    for node in graph.nodes:
        r = runs.setdefault(node.op, {"count": 0, "numpy": "reference", "webgl": how_op_runs(node.op)})
        r["count"] += 1
    off_gpu = sorted(op for op, r in runs.items() if r["webgl"] == "not on the GPU")
    if off_gpu:
        warnings.append(f"the webgl backend has no kernel or expansion for: {', '.join(off_gpu)}")
    odd = sorted({m.dtype for m in metas.values() if m.dtype not in GPU_DTYPES})
    if odd:
        warnings.append(f"tensors of dtype {', '.join(odd)} run on the numpy backend only (GPU textures hold float32)")
    return runs, warnings


def build_report(spec, ops_before, stats, warnings, quantize):
    params, by_dtype = summarize_weights(spec)
    return {
        "ops_before": dict(sorted(ops_before.items())),
        "ops_after": dict(sorted(Counter(n.op for n in spec.graph.nodes).items())),
        "passes": stats,
        "parameters": params,
        "quantize": quantize,
        "bytes_per_dtype": dict(by_dtype),
        "weight_bytes": sum(s.nbytes for s in spec.shards),
        "shards": [{"file": s.file, "bytes": s.nbytes} for s in spec.shards],
        "warnings": warnings,
    }
