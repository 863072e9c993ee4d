"""The channels_last pass (converter/passes/channels_last.py): convolution networks run NHWC with
Transposes only at the edges, and every model still matches onnxruntime (atol 1e-4, rtol 1e-3)
on the numpy backend at batch 1 and 3."""

import json
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import helper, numpy_helper

import webflow
from webflow.cli import main as cli_main
from webflow.converter import convert

from tests.test_torch_models import _inputs
from tests.torch_models import MODELS, export, export_module

ATOL, RTOL = 1e-4, 1e-3
SPATIAL = ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool")


class TinyUNet(torch.nn.Module):
    """conv -> (pool, conv, unfoldable batch norm, upsample) -> concat on channels -> conv, a
    per-channel bias and a softmax over channels: a 4-D output held NHWC inside."""

    def __init__(self):
        super().__init__()
        self.enc = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
        self.down = torch.nn.Sequential(torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU())
        self.bn = torch.nn.BatchNorm2d(16)
        self.up = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec = torch.nn.Conv2d(24, 4, 3, padding=1)
        self.bias = torch.nn.Parameter(torch.randn(4, 1, 1))
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.2, 0.2)
            self.bn.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        e = self.enc(x)
        d = self.up(self.bn(self.down(e)))  # after the ReLU: BatchNorm cannot fold into the conv
        return torch.softmax(self.dec(torch.cat([e, d], dim=1)) + self.bias, dim=1)


class Mixed(torch.nn.Module):
    """Layout-sensitive ops around convolutions: reductions (over channels on the NCHW input,
    over H and W without keepdim), squeeze-excitation, PReLU, chunk (Split), pad, strided slice,
    where, argmax over channels, and a flatten into a linear layer."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.se1, self.se2 = torch.nn.Linear(16, 4), torch.nn.Linear(4, 16)
        self.prelu = torch.nn.PReLU(16)
        self.head = torch.nn.Conv2d(8, 6, 1)
        self.fc = torch.nn.Linear(6 * 8 * 3, 5)

    def forward(self, x):
        y = self.stem(x) + x.mean(1, keepdim=True)
        s = torch.sigmoid(self.se2(torch.relu(self.se1(y.mean((2, 3))))))
        y = self.prelu(y * s.view(-1, 16, 1, 1))
        a, b = y.chunk(2, dim=1)
        y = torch.nn.functional.pad(a, (1, 1, 2, 0)) + torch.nn.functional.pad(b, (1, 1, 2, 0), mode="reflect")
        y = torch.where(y > 0, y, 0.1 * y)[:, :, 2:, ::2]
        y = self.head(torch.nn.functional.max_pool2d(y, 2))
        return self.fc(y.flatten(1)), torch.argmax(y, dim=1), y


EXTRA = {
    "unet": lambda g: (TinyUNet(), (torch.randn(2, 3, 16, 16, generator=g),), ["image"], ["mask"]),
    "mixed": lambda g: (Mixed(), (torch.randn(2, 3, 16, 12, generator=g),), ["image"], ["logits", "argmax", "features"]),
}
ALL = MODELS + list(EXTRA)
CONV_NETS = ["cnn", "mobilenet_v2", "unet", "mixed"]


def _export(name, path, dynamo):
    if name in MODELS:
        return export(name, path, dynamo)
    torch.manual_seed(0)
    return export_module(*EXTRA[name](torch.Generator().manual_seed(1)), path, dynamo)


def _graph(model_dir):
    """model.json's inputs, outputs, nodes and weights."""
    with open(f"{model_dir}/model.json") as f:
        spec = json.load(f)
    return {k: spec[k] for k in ("inputs", "outputs", "nodes", "weights")}


EXPORTERS = {"dynamo": True, "torchscript": False}


@pytest.fixture(scope="module")
def conversions(tmp_path_factory):
    """(name, exporter) -> the model converted with the pass (the default) and without it (layout="nchw")."""
    cache = {}

    def get(name, exporter):
        if (name, exporter) not in cache:
            tmp = tmp_path_factory.mktemp(f"{name}-{exporter}")
            src = str(tmp / f"{name}.onnx")
            _, args, ins, outs = _export(name, src, EXPORTERS[exporter])
            lines = []
            report = convert(src, str(tmp / "nhwc"), log=lines.append)
            plain = convert(src, str(tmp / "nchw"), log=lambda *a: None, layout="nchw")
            cache[name, exporter] = dict(src=src, dir=str(tmp / "nhwc"), plain_dir=str(tmp / "nchw"), args=args, ins=ins, outs=outs,
                                         report=report, plain=plain, log=lines)
        return cache[name, exporter]
    return get


def _added(c):
    """Ops the pass added (+) and removed (-), from the two conversions' reports."""
    on, off = Counter(c["report"]["ops_after"]), Counter(c["plain"]["ops_after"])
    return {op: on[op] - off[op] for op in on | off if on[op] != off[op]}


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("batch", [1, 3])
def test_matches_onnxruntime(conversions, name, exporter, batch):
    c = conversions(name, exporter)
    model = webflow.load(c["dir"])
    assert [t.name for t in model.inputs] == c["ins"] and [t.name for t in model.outputs] == c["outs"]
    feeds = dict(zip(c["ins"], _inputs(c["args"], batch, seed=batch)))
    want = ort.InferenceSession(c["src"], providers=["CPUExecutionProvider"]).run(None, feeds)
    got = model.predict(feeds)
    for out, w in zip(c["outs"], want):
        print(f"{name}-{exporter} batch {batch} {out}: max abs error {np.max(np.abs(got[out] - w)):.3g}")
        assert got[out].shape == w.shape
        np.testing.assert_allclose(got[out], w, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", CONV_NETS)
def test_convolutions_run_channels_last(conversions, name, exporter):
    """Every 2-D conv and pool is NHWC; graph inputs and outputs keep their names and shapes."""
    c = conversions(name, exporter)
    on, off = _graph(c["dir"]), _graph(c["plain_dir"])
    assert on["inputs"] == off["inputs"] and on["outputs"] == off["outputs"]
    spatial = [n for n in on["nodes"] if n["op"] in SPATIAL]
    assert spatial and all(n["attrs"].get("layout") == "NHWC" for n in spatial), [n["name"] for n in spatial]
    assert set(_added(c)) <= {"Transpose", "Reshape", "Conv", "BatchNormalization"}, _added(c)
    assert any("channels_last: " in line for line in c["log"])


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_mobilenet_v2_has_one_transpose(conversions, exporter):
    """One Transpose, at the input, and no other node added. The global pool's [N,1,1,C] output
    has the bytes of [N,C,1,1] and the Flatten (TorchScript) or Reshape (dynamo) after it gives
    [N,C] from either, so it reads the NHWC tensor as it is: that boundary needs no node at all,
    not even the Reshape a layout change there would be."""
    c = conversions("mobilenet_v2", exporter)
    nodes = _graph(c["dir"])["nodes"]
    assert _added(c) == {"Transpose": 1}
    (t,) = [n for n in nodes if n["op"] == "Transpose"]
    assert t["inputs"] == ["image"] and t["attrs"]["perm"] == [0, 2, 3, 1]
    assert len([n for n in nodes if n["op"] == "Conv" and n["attrs"]["layout"] == "NHWC"]) == 23
    pooled = [n for n in nodes if n["op"] in ("GlobalAveragePool", "ReduceMean")]
    assert len(pooled) == 1 and [n["op"] for n in nodes if pooled[0]["outputs"][0] in n["inputs"]] in (["Flatten"], ["Reshape"])


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_cnn_flatten_reads_nhwc(conversions, exporter):
    """The flatten before the linear layer reads the NHWC tensor; the weight's rows are permuted."""
    assert _added(conversions("cnn", exporter)) == {"Transpose": 1}


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_unet_layout(conversions, exporter):
    """Transposes at the input and the 4-D output only; concat, resize and softmax run NHWC, and
    the batch norm that could not fold is a depthwise 1x1 conv."""
    c = conversions("unet", exporter)
    nodes = _graph(c["dir"])["nodes"]
    assert _added(c) == {"Transpose": 2, "Conv": 1, "BatchNormalization": -1}
    (cat,) = [n for n in nodes if n["op"] == "Concat"]
    (sm,) = [n for n in nodes if n["op"] == "Softmax"]
    assert cat["attrs"]["axis"] == 3 and sm["attrs"]["axis"] == 3
    (t,) = [n for n in nodes if n["op"] == "Transpose" and n["outputs"] == ["mask"]]
    assert t["attrs"]["perm"] == [0, 3, 1, 2]


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_mixed_layout(conversions, exporter):
    """Two Transposes (input, 4-D output); the other layout changes are Reshapes of same-bytes
    tensors ([N,1,H,W] channel mean, [N,C,1,1] excitation)."""
    c = conversions("mixed", exporter)
    assert _added(c) == {"Transpose": 2, "Reshape": 1}


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", [m for m in ALL if m not in CONV_NETS])
def test_graphs_without_convolutions_are_unchanged(conversions, name, exporter):
    c = conversions(name, exporter)
    assert _graph(c["dir"]) == _graph(c["plain_dir"])


# --- hand-built graphs for single rules


def _onnx(tmp_path, nodes, inputs, outputs, inits=(), opset=18):
    vi = lambda n, s, t=onnx.TensorProto.FLOAT: helper.make_tensor_value_info(n, t, s)  # noqa: E731
    graph = helper.make_graph(nodes, "g", [vi(*i) for i in inputs], [vi(*o) for o in outputs],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    path = str(tmp_path / "m.onnx")
    onnx.save(model, path)
    return path


def _check(path, tmp_path, feeds_shapes, layout="auto"):
    """Convert, compare with onnxruntime for each feed shape; return model.json's graph."""
    out = str(tmp_path / "out")
    convert(path, out, log=lambda *a: None, layout=layout)
    model = webflow.load(out)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for shapes in feeds_shapes:
        feeds = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
        got = model.predict(feeds)
        for o, w in zip(sess.get_outputs(), sess.run(None, feeds)):
            np.testing.assert_allclose(got[o.name], w, atol=ATOL, rtol=RTOL, err_msg=o.name)
    return _graph(out)


def _conv(name, x, cin, cout, out, inits, k=3, **attrs):
    rng = np.random.default_rng(len(inits))
    inits[f"{name}_w"] = rng.standard_normal((cout, cin, k, k)).astype(np.float32) * 0.3
    return helper.make_node("Conv", [x, f"{name}_w"], [out], name=name, pads=[k // 2] * 4, **attrs)


def test_source_transposes_cancel(tmp_path):
    """A TF-style graph (NHWC input, Transpose to NCHW, conv, Transpose back) needs no Transpose."""
    inits = {}
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
             _conv("c1", "xt", 3, 8, "c1", inits), helper.make_node("Relu", ["c1"], ["r"]),
             _conv("c2", "r", 8, 4, "c2", inits), helper.make_node("Transpose", ["c2"], ["y"], perm=[0, 2, 3, 1])]
    path = _onnx(tmp_path, nodes, [("x", ["n", 9, 7, 3])], [("y", ["n", 9, 7, 4])], inits)
    g = _check(path, tmp_path, [{"x": (1, 9, 7, 3)}, {"x": (3, 9, 7, 3)}])
    assert [n["op"] for n in g["nodes"]] == ["Conv", "Conv"]
    assert g["nodes"][0]["inputs"][0] == "x" and g["nodes"][-1]["outputs"] == ["y"]


def test_axis_ops_and_constants(tmp_path):
    """Slice (no axes, steps), Pad (no axes), ReduceMax keepdims=0 over H, W, Split, ArgMax,
    LogSoftmax, PRelu, Where with constants, and a BatchNormalization after an Add."""
    inits = {"starts": np.array([0, 1, 1], np.int64), "ends": np.array([99, 99, 99], np.int64),
             "pads": np.array([0, 1, 2, 0, 0, 0, 1, 1], np.int64), "rax": np.array([2, 3], np.int64),
             "slope": np.linspace(0.1, 0.3, 8, dtype=np.float32).reshape(8, 1, 1),
             "bias": np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8, 1, 1), "zero": np.float32(0),
             "bn_s": np.linspace(0.5, 1.5, 8, dtype=np.float32), "bn_b": np.linspace(-0.2, 0.2, 8, dtype=np.float32),
             "bn_m": np.linspace(-0.1, 0.1, 8, dtype=np.float32), "bn_v": np.linspace(0.5, 1.5, 8, dtype=np.float32),
             "split": np.array([3, 5], np.int64), "steps": np.array([1, 1, 2], np.int64)}
    nodes = [_conv("c1", "x", 3, 8, "c1", inits),
             helper.make_node("Add", ["c1", "bias"], ["a"]),
             helper.make_node("BatchNormalization", ["a", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"]),
             helper.make_node("PRelu", ["bn", "slope"], ["p"]),
             helper.make_node("Greater", ["p", "zero"], ["pos"]),
             helper.make_node("Where", ["pos", "p", "bias"], ["w"]),
             helper.make_node("Slice", ["w", "starts", "ends", "", "steps"], ["s"]),
             helper.make_node("Pad", ["s", "pads"], ["pd"], mode="reflect"),
             helper.make_node("Split", ["pd", "split"], ["s1", "s2"], axis=1),
             helper.make_node("LogSoftmax", ["s1"], ["lsm"], axis=1),
             helper.make_node("ArgMax", ["s2"], ["am"], axis=1, keepdims=0),
             helper.make_node("ReduceMax", ["pd", "rax"], ["rm"], keepdims=0),
             _conv("c2", "lsm", 3, 2, "c2", inits)]
    path = _onnx(tmp_path, nodes, [("x", ["n", 3, 10, 11])],
                 [("c2", None), ("am", None, onnx.TensorProto.INT64), ("rm", None)], inits)
    g = _check(path, tmp_path, [{"x": (1, 3, 10, 11)}, {"x": (2, 3, 10, 11)}])
    ops = Counter(n["op"] for n in g["nodes"])
    assert ops["Transpose"] == 2 and "BatchNormalization" not in ops, ops  # the input, and c2 (a graph output)


def test_unconvertible_reader_gets_a_transpose(tmp_path):
    """An op without an NHWC rule (LRN) reads NCHW: Transposes around it, and shared per tensor."""
    inits = {}
    nodes = [_conv("c1", "x", 3, 8, "c1", inits), helper.make_node("LRN", ["c1"], ["l"], size=3),
             helper.make_node("InstanceNormalization", ["c1", "s", "b"], ["i"]),
             helper.make_node("Add", ["l", "i"], ["a"]), _conv("c2", "a", 8, 4, "y", inits)]
    inits.update(s=np.ones(8, np.float32), b=np.zeros(8, np.float32))
    path = _onnx(tmp_path, nodes, [("x", ["n", 3, 6, 6])], [("y", None)], inits)
    g = _check(path, tmp_path, [{"x": (2, 3, 6, 6)}])
    t = [n for n in g["nodes"] if n["op"] == "Transpose"]
    assert len(t) == 4  # input, c1 back to NCHW (once, for both readers), a to NHWC, y back to NCHW


def test_same_bytes_boundaries_are_reshapes(tmp_path):
    """A layout change of a tensor with C == 1 or H == W == 1 is a Reshape, not a Transpose."""
    inits = {"one": np.ones((1, 4, 1, 1), np.float32)}
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["gp"]),  # NCHW input: the pool stays NCHW
             _conv("c1", "gp", 4, 4, "c1", inits, k=1), helper.make_node("LRN", ["c1"], ["y"], size=3)]
    path = _onnx(tmp_path, nodes, [("x", ["n", 4, 5, 5])], [("y", None)], inits)
    g = _check(path, tmp_path, [{"x": (1, 4, 5, 5)}, {"x": (3, 4, 5, 5)}])
    assert [n["op"] for n in g["nodes"]] == ["GlobalAveragePool", "Reshape", "Conv", "Reshape", "LRN"]


def test_layout_nchw_turns_it_off(tmp_path):
    path = str(tmp_path / "cnn.onnx")
    export("cnn", path)
    assert cli_main(["convert", path, str(tmp_path / "off"), "--layout", "nchw"]) == 0
    nodes = _graph(str(tmp_path / "off"))["nodes"]
    assert all(n["attrs"].get("layout", "NCHW") == "NCHW" for n in nodes) and "Transpose" not in [n["op"] for n in nodes]
    assert cli_main(["convert", path, str(tmp_path / "on")]) == 0
    assert "Transpose" in [n["op"] for n in _graph(str(tmp_path / "on"))["nodes"]]
    with pytest.raises(Exception, match="layout='nhwc'"):
        convert(path, str(tmp_path / "bad"), layout="nhwc", log=lambda *a: None)


def test_more_rules(tmp_path):
    """ConvTranspose, the pools, Resize with axes, Concat with an NCHW graph input (transposed
    in), Slice and Pad with axes, Sum with a [N,1,1,1] input (read as it is), Cast, Softmax, and a
    ReduceSum whose keepdims=0 result would reorder dims (it stays NCHW)."""
    rng = np.random.default_rng(3)
    inits = {"wt": rng.standard_normal((4, 6, 3, 3)).astype(np.float32) * 0.3,
             "sizes": np.array([9, 13], np.int64),
             "s_starts": np.array([1, 0], np.int64), "s_ends": np.array([7, 5], np.int64), "s_axes": np.array([-2, 1], np.int64),
             "p_pads": np.array([1, 2, 0, 3], np.int64), "p_axes": np.array([3, 1], np.int64), "r_axes": np.array([3], np.int64)}
    nodes = [helper.make_node("ConvTranspose", ["x", "wt"], ["ct"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("AveragePool", ["ct"], ["ap"], kernel_shape=[2, 2], pads=[0, 0, 1, 1], count_include_pad=1),
             helper.make_node("LpPool", ["ap"], ["lp"], kernel_shape=[2, 2], p=2, strides=[1, 1]),
             helper.make_node("Resize", ["lp", "", "", "sizes"], ["rs"], axes=[2, 3], mode="linear"),
             helper.make_node("Concat", ["rs", "x3"], ["cat"], axis=1),
             helper.make_node("Slice", ["cat", "s_starts", "s_ends", "s_axes"], ["sl"]),
             helper.make_node("Pad", ["sl", "p_pads", "", "p_axes"], ["pd"]),
             helper.make_node("Sum", ["pd", "x2", "pd"], ["sm"]),
             helper.make_node("Cast", ["sm"], ["cs"], to=onnx.TensorProto.DOUBLE),
             helper.make_node("Cast", ["cs"], ["cf"], to=onnx.TensorProto.FLOAT),
             helper.make_node("Softmax", ["cf"], ["soft"]),
             helper.make_node("GlobalMaxPool", ["soft"], ["gmp"]),
             helper.make_node("ReduceSum", ["soft", "r_axes"], ["rsum"], keepdims=0)]
    path = _onnx(tmp_path, nodes, [("x", ["n", 4, 5, 7]), ("x2", ["n", 1, 1, 1]), ("x3", ["n", 2, 9, 13])],
                 [("gmp", None), ("rsum", None), ("soft", None)], inits)
    g = _check(path, tmp_path, [{"x": (b, 4, 5, 7), "x2": (b, 1, 1, 1), "x3": (b, 2, 9, 13)} for b in (1, 3)])
    ops = {n["op"]: n for n in g["nodes"]}
    assert all(ops[op]["attrs"]["layout"] == "NHWC" for op in ("ConvTranspose", "AveragePool", "LpPool", "GlobalMaxPool"))
    assert ops["Resize"]["attrs"]["axes"] == [1, 2] and ops["Concat"]["attrs"]["axis"] == 3
    # in: x, x3; out: soft (a graph output, and read by the ReduceSum); gmp [N,C,1,1]: a Reshape;
    # x2 [N,1,1,1] has the same shape in both layouts: read as it is
    assert Counter(n["op"] for n in g["nodes"])["Transpose"] == 3 and ops["Sum"]["inputs"][1] == "x2"
    assert [n["outputs"] for n in g["nodes"] if n["op"] == "Reshape"] == [["gmp"]]
