"""The fuse_residual pass (converter/passes/fuse_residual.py): residual Adds run inside the Conv
before them, and the models still match onnxruntime (atol 1e-4, rtol 1e-3) on the numpy backend,
channels-last and not, at batch 1 and 3."""

import json
from collections import Counter

import numpy as np
import onnxruntime as ort
import pytest
import torch

import webflow
from webflow.converter import convert

from tests.test_torch_models import _inputs
from tests.torch_models import export

ATOL, RTOL = 1e-4, 1e-3


class Blocks(torch.nn.Module):
    """A ResNet block (the Relu after the Add fuses too), two convs added (the second is computed
    after the first: the fused Conv must move to the Add), and four Adds that must stay: after
    an activation, broadcasting, and of a conv output read twice."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.BatchNorm2d(8))
        self.b1, self.b2 = torch.nn.Conv2d(8, 8, 1), torch.nn.Conv2d(8, 8, 3, padding=1)
        self.c, self.d, self.e = torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.Conv2d(8, 8, 1), torch.nn.Conv2d(8, 8, 1)
        self.bias = torch.nn.Parameter(torch.randn(8, 1, 1))
        with torch.no_grad():
            self.a[1].running_mean.uniform_(-0.2, 0.2)
            self.a[1].running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        x = torch.relu(self.a(x) + x)  # fused, Relu included
        x = self.b1(x) + self.b2(x)  # fused
        x = torch.relu(self.c(x)) + x  # stays: the Add comes after the activation
        x = self.d(x) + self.bias  # stays: broadcasting
        y = self.e(x)
        return y + x + y  # two Adds stay: y is read twice


def _convert(tmp, name, layout):
    src = str(tmp / f"{name}.onnx")
    if name == "blocks":
        module, args = Blocks().eval(), (torch.randn(2, 8, 10, 12),)
        torch.onnx.export(module, args, src, dynamo=True, input_names=["x"], output_names=["y"],
                          dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},), verbose=False)
        ins, outs = ["x"], ["y"]
    else:
        _, args, ins, outs = export(name, src)
    lines = []
    report = convert(src, str(tmp / layout), log=lines.append, layout=layout)
    with open(tmp / layout / "model.json") as f:
        nodes = json.load(f)["nodes"]
    return src, str(tmp / layout), args, ins, outs, report, nodes, "\n".join(lines)


@pytest.mark.parametrize("layout", ["auto", "nchw"])
@pytest.mark.parametrize("name", ["mobilenet_v2", "blocks"])
def test_residual_adds_fused_outputs_unchanged(tmp_path, name, layout):
    src, model_dir, args, ins, outs, report, nodes, log = _convert(tmp_path, name, layout)
    fused = [n for n in nodes if n["op"] == "Conv" and len(n["inputs"]) == 4]
    adds = Counter(n["op"] for n in nodes)["Add"]
    if name == "mobilenet_v2":  # every residual block's Add (10 of the 17 blocks at width 0.5, 4 stages)
        assert adds == 0 and len(fused) == report["ops_before"]["Add"], (adds, len(fused), report["ops_before"])
    else:
        assert adds == 4 and len(fused) == 2, nodes
        assert [n.get("attrs", {}).get("activation") for n in fused] == [{"op": "Relu"}, None]
    assert "fuse_residual" in log
    model = webflow.load(model_dir)
    for batch in (1, 3):
        feeds = dict(zip(ins, _inputs(args, batch, seed=batch)))
        want = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).run(None, feeds)
        got = model.predict(feeds)
        for out, w in zip(outs, want):
            np.testing.assert_allclose(got[out], w, atol=ATOL, rtol=RTOL)
