"""Models built in PyTorch, exported to ONNX, converted, run on the numpy backend and compared
with onnxruntime at atol 1e-4 / rtol 1e-3, at two batch sizes."""

import numpy as np
import onnxruntime as ort
import pytest

import webflow
from webflow.converter import convert
from webflow.ops import REGISTRY

from tests.torch_models import MODELS, export

ATOL, RTOL = 1e-4, 1e-3


def _inputs(args, batch, seed):
    rng = np.random.default_rng(seed)
    feeds = []
    for a in args:
        shape = (batch,) + tuple(a.shape[1:])
        if a.dtype.is_floating_point:
            feeds.append(rng.standard_normal(shape).astype(np.float32))
        else:  # padding mask: pad the tail of every other sequence
            m = np.zeros(shape, bool)
            m[1::2, shape[1] // 2 + 1:] = True
            feeds.append(m)
    return feeds


@pytest.fixture(scope="module", params=[(m, d) for m in MODELS for d in (True, False)],
                ids=[f"{m}-{'dynamo' if d else 'torchscript'}" for m in MODELS for d in (True, False)])
def converted(request, tmp_path_factory):
    name, dynamo = request.param
    tmp = tmp_path_factory.mktemp(name)
    src = str(tmp / f"{name}.onnx")
    module, args, ins, outs = export(name, src, dynamo)
    report = convert(src, str(tmp / "model"), log=lambda *a: None)
    return src, str(tmp / "model"), args, ins, outs, report


@pytest.mark.parametrize("batch", [1, 3])
def test_matches_onnxruntime(converted, batch):
    src, model_dir, args, ins, outs, report = converted
    model = webflow.load(model_dir)
    assert [t.name for t in model.inputs] == ins and [t.name for t in model.outputs] == outs
    feeds = dict(zip(ins, _inputs(args, batch, seed=batch)))
    want = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).run(None, feeds)
    got = model.predict(feeds)
    for name, w in zip(outs, want):
        err = np.max(np.abs(got[name] - w))
        print(f"{src.rsplit('/', 1)[-1]} batch {batch} {name}: max abs error {err:.3g}")
        np.testing.assert_allclose(got[name], w, atol=ATOL, rtol=RTOL)


def test_graph_is_simplified(converted):
    """BatchNorm folded, activations fused, and no shape arithmetic left: every shape-like input
    is a constant (possibly symbolic, like [2, batch, 16]), so planning needs no numpy."""
    src, model_dir, args, ins, outs, report = converted
    ops = report["ops_after"]
    assert not {"BatchNormalization", "Shape", "Size", "Identity", "Dropout", "Relu", "Clip"} & set(ops), ops
    assert report["warnings"] == []
    model = webflow.load(model_dir)
    consts = model.graph.constants
    for node in model.graph.nodes:
        d = REGISTRY[node.op]
        for i, name in enumerate(node.inputs):
            if name and d.is_host_input(i):
                assert name in consts, f"{node.describe()}: shape input {name!r} is computed at run time"
