"""PyTorch modules converted directly (torch.export, no ONNX) with webflow.converter.from_torch,
run on the numpy backend and compared with the module itself (eval mode, no_grad) at
atol 1e-4 / rtol 1e-3, at two batch sizes."""

import json

import numpy as np
import pytest
import torch

import webflow
from webflow.converter import from_torch
from webflow.converter.frontends import torch as torch_frontend
from webflow.errors import ConversionError, UnsupportedError
from webflow.ops import REGISTRY

from tests.test_torch_models import _inputs
from tests.torch_models import MODELS, build

ATOL, RTOL = 1e-4, 1e-3
QUIET = dict(log=lambda *a: None)


def feeds_for(args, batch, seed):
    """Random inputs shaped like the examples at another batch size: floats normal, bool masks as
    in test_torch_models, integers as token ids 0..9."""
    feeds = _inputs(args, batch, seed)
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 10, f.shape).astype(np.int64) if not (a.dtype.is_floating_point or a.dtype == torch.bool) else f
            for a, f in zip(args, feeds)]


def torch_outputs(module, feeds):
    with torch.no_grad():
        out = module.eval()(*[torch.from_numpy(f) for f in feeds])
    return [o.numpy() for o in (out if isinstance(out, (tuple, list)) else [out])]


def check(model_dir, module, args, ins, outs, batches=(1, 3), atol=ATOL, rtol=RTOL):
    model = webflow.load(model_dir)
    assert [t.name for t in model.inputs] == ins and [t.name for t in model.outputs] == outs
    for batch in batches:
        feeds = feeds_for(args, batch, seed=batch)
        got = model.predict(dict(zip(ins, feeds)))
        for name, want in zip(outs, torch_outputs(module, feeds)):
            err = float(np.max(np.abs(got[name] - want))) if want.size else 0.0
            print(f"{model_dir.split('/')[-2]} batch {batch} {name}: max abs error {err:.3g}")
            np.testing.assert_allclose(got[name], want, atol=atol, rtol=rtol, err_msg=f"batch {batch} output {name}")


@pytest.fixture(scope="module", params=MODELS)
def converted(request, tmp_path_factory):
    name = request.param
    module, args, ins, outs = build(name)
    out = str(tmp_path_factory.mktemp(name) / "model")
    report = from_torch(module, args, out, input_names=ins, output_names=outs, **QUIET)
    return module, args, ins, outs, out, report


@pytest.mark.parametrize("batch", [1, 3])
def test_matches_torch(converted, batch):
    module, args, ins, outs, out, report = converted
    check(out, module, args, ins, outs, batches=(batch,))


def test_graph_is_simplified(converted):
    """BatchNorm folded, activations fused, RNNs as single ops, and no shape arithmetic: every
    shape-like input is a constant (possibly symbolic), so planning needs no numpy."""
    module, args, ins, outs, out, report = converted
    ops = report["ops_after"]
    assert not {"BatchNormalization", "Shape", "Size", "Identity", "Dropout", "Relu", "Clip", "Cast"} & set(ops), ops
    assert report["warnings"] == []
    model = webflow.load(out)
    assert all(str(t.shape[0]) == "batch" for t in model.inputs + model.outputs)
    consts = model.graph.constants
    for node in model.graph.nodes:
        d = REGISTRY[node.op]
        for i, name in enumerate(node.inputs):
            if name and d.is_host_input(i):
                assert name in consts, f"{node.describe()}: shape input {name!r} is computed at run time"
    if "gru" in out or "lstm" in out:
        assert ops.get("GRU", 0) + ops.get("LSTM", 0) == 2 and "Reshape" in ops, ops  # one node per layer
    with open(f"{out}/model.json") as f:
        producer = json.load(f)["producer"]
    assert producer["source_format"] == "torch" and len(producer["source_sha256"]) == 64


@pytest.mark.parametrize("cell", ["GRU", "LSTM"])
def test_recurrent_layers_decomposed_by_torch(cell, tmp_path, monkeypatch):
    """Where torch.export decomposes nn.GRU / nn.LSTM into per-step ops (other torch versions,
    or KEEP emptied as here), those convert too. Short sequences: torch's decomposition is slow."""
    monkeypatch.setattr(torch_frontend, "KEEP", [])
    module, args = Recurrent(getattr(torch.nn, cell)), (torch.randn(2, 3, 3),)
    report = from_torch(module, args, str(tmp_path / "m"), **QUIET)
    assert cell not in report["ops_after"]
    check(str(tmp_path / "m"), module, args, ["x"], ["output_0", "output_1"])


class Kitchen(torch.nn.Module):
    """Many ATen ops at once: each branch adds to the output."""

    def __init__(self):
        super().__init__()
        self.up = torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1)
        self.conv1d = torch.nn.Conv1d(4, 6, 3, padding=1, dilation=1)
        self.ln = torch.nn.LayerNorm(8, elementwise_affine=False)
        self.gn = torch.nn.GroupNorm(2, 4)
        self.emb = torch.nn.Embedding(10, 8)

    def forward(self, x, ids):
        n = x.shape[0]
        a = torch.nn.functional.avg_pool2d(self.up(x), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        a = torch.nn.functional.interpolate(a, scale_factor=2, mode="nearest")
        b = torch.nn.functional.interpolate(self.gn(x), size=(14, 14), mode="bilinear", align_corners=False)
        c = torch.nn.functional.hardswish(a) + torch.nn.functional.silu(b) * torch.sigmoid(a).clamp(0.1, 0.9)
        c = torch.nn.functional.pad(c, (1, 2, 0, 1), value=0.5)[:, :, 1:-1:2, ::3]
        d = self.conv1d(x.flatten(2)[..., :8]).permute(0, 2, 1)  # [n, 8, 6]
        e = self.ln(self.emb(ids))  # [n, 5, 8]
        f = torch.cat([d, e.repeat(1, 2, 1)[:, :, :6].mean(1, keepdim=True)], dim=1)  # [n, 9, 6]
        g, h = f.split([3, 6], dim=1)
        s = torch.where(g.sum(1, keepdim=True) > 0, torch.softmax(h, -1), -h.abs()).amax(1)
        t = torch.nn.functional.leaky_relu(c.flatten(1)[:, :6], 0.2) + s + torch.nn.functional.gelu(s, approximate="tanh")
        u = torch.flip(t, [1]).unsqueeze(1).expand(n, 3, 6).reshape(n, 18)
        return torch.nn.functional.elu(u) - torch.rsqrt(u.pow(2) + 1) / 3, torch.argmax(u, dim=1, keepdim=True)


class MoreOps(torch.nn.Module):
    """Pads, resizes, reductions, integer arithmetic and indexing; outputs concatenated."""

    def __init__(self):
        super().__init__()
        self.prelu = torch.nn.PReLU(4)
        self.ct = torch.nn.ConvTranspose1d(4, 3, 3, stride=2)
        self.register_buffer("idx", torch.tensor([3, 1, 0, 2]))

    def forward(self, x):
        F, n = torch.nn.functional, x.shape[0]
        flat = lambda t, k=10: t.flatten(1)[:, :k]  # noqa: E731
        i = (x * 10).to(torch.int64)
        v, j = x.max(dim=2)
        outs = [
            flat(F.pixel_shuffle(x, 2), 64), flat(F.pad(x, (2, 1, 1, 2), mode="reflect")), flat(F.pad(x, (1, 1, 1, 1), mode="replicate")),
            flat(torch.flip(x, [2, 3])), flat(torch.tril(x[:, 0])) + flat(torch.triu(x[:, 1], 1)),
            x.var(dim=(2, 3)) + x.std(dim=1).mean((1, 2)).unsqueeze(1),
            torch.linalg.vector_norm(x, dim=(2, 3)) + x.norm(p=1, dim=(1, 2)).sum(1, keepdim=True),
            flat(self.prelu(x)) + flat(F.softplus(x, beta=2)) + flat(F.selu(x)) + flat(F.celu(x, 0.5)),
            flat(torch.log1p(x.abs())) + flat(torch.remainder(x, 0.7)) + flat(torch.fmod(x, 0.7)),
            flat(torch.div(i, 3, rounding_mode="floor") + torch.remainder(i, 3) + torch.div(i, 3, rounding_mode="trunc")).float(),
            flat(torch.index_select(x, 3, self.idx[:2])) + flat(x[:, :, self.idx]),
            flat(torch.gather(x, 3, self.idx.view(1, 1, 2, 2).expand(n, 4, 2, 2))),
            flat(x.masked_fill(x > 0.5, -1.0)) + flat(torch.clamp(x, min=x.mean(), max=x.amax())),
            torch.argmax(x.flatten(1), 1, keepdim=True).float() + torch.logsumexp(x, dim=(1, 2)).sum(1, keepdim=True),
            v.flatten(1) + j.flatten(1).float(), (torch.any(x > 2, dim=1).float() + torch.all(x > -2, dim=1).float()).flatten(1),
            flat(F.interpolate(x, scale_factor=2, mode="nearest-exact")) + flat(F.interpolate(x, size=(7, 9), mode="bicubic")),
            flat(self.ct(x.flatten(2))) + flat(F.avg_pool1d(x.flatten(2), 3, stride=2)) + flat(F.adaptive_max_pool2d(x, 2)),
            flat(torch.baddbmm(x[:, 0], x[:, 1], x[:, 2], beta=0.5, alpha=2)) + flat(F.hardsigmoid(x)) + flat(F.mish(x)),
            flat(torch.exp2(x)) + flat(torch.log10(x.abs() + 1)) + flat(F.log_softmax(x, 1)) + flat(x ** 3) + flat(2 ** x),
        ]
        # the WebGL Concat kernel reads at most 16 inputs in one draw
        return torch.cat([torch.cat(outs[:10], 1), torch.cat(outs[10:], 1)], 1)


class Attention(torch.nn.Module):
    """scaled_dot_product_attention with a causal mask, and nn.MultiheadAttention with a float mask."""

    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(16, 48)
        self.mha = torch.nn.MultiheadAttention(16, 2, batch_first=True)

    def forward(self, x):
        q, k, v = self.qkv(x).view(x.shape[0], x.shape[1], 3, 2, 8).permute(2, 0, 3, 1, 4).unbind(0)
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(x.shape)
        mask = torch.triu(torch.full((x.shape[1], x.shape[1]), float("-inf")), 1)
        z, _ = self.mha(y, x, x, attn_mask=mask, need_weights=False)
        return z


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)

    def forward(self, x):
        y = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return torch.nn.functional.adaptive_avg_pool2d(y, 2).flatten(1), y.amax((2, 3))


OP_MODELS = {
    "kitchen": lambda: (Kitchen(), (torch.randn(2, 4, 6, 6), torch.tensor([[1, 2, 3, 4, 9], [0, 5, 6, 7, 8]])), ["x", "ids"], ["y", "top"]),
    "more_ops": lambda: (MoreOps(), (torch.randn(2, 4, 4, 4),), ["x"], ["output"]),
    "attention": lambda: (Attention(), (torch.randn(2, 5, 16),), ["x"], ["output"]),
    "rnn_tanh": lambda: (Recurrent(torch.nn.RNN, batch_first=False), (torch.randn(2, 5, 3),), ["x"], ["output_0", "output_1"]),
    "gru_h0": lambda: (Recurrent(torch.nn.GRU, h0=True), (torch.randn(2, 5, 3),), ["x"], ["output_0", "output_1"]),
    "lstm_h0": lambda: (Recurrent(torch.nn.LSTM, batch_first=False, h0=True), (torch.randn(2, 5, 3),), ["x"], ["output_0", "output_1"]),
}


class Recurrent(torch.nn.Module):
    """Sequence-first layers, a given initial state, and the final state as an output."""

    def __init__(self, cell, batch_first=True, h0=False):
        super().__init__()
        self.rnn = cell(3, 5, num_layers=2, batch_first=batch_first, bidirectional=True)
        self.batch_first, self.h0 = batch_first, h0

    def forward(self, x):
        seq = x if self.batch_first else x.transpose(0, 1)
        if self.h0:
            h0 = torch.tanh(x[:, :4, :].mean(2)).transpose(0, 1).unsqueeze(2).expand(4, x.shape[0], 5).contiguous()
            y, h = self.rnn(seq, (h0, h0 * 0.5) if isinstance(self.rnn, torch.nn.LSTM) else h0)
        else:
            y, h = self.rnn(seq)
        return y, h[1] if isinstance(h, tuple) else h  # an LSTM's cell state


@pytest.mark.parametrize("name", sorted(OP_MODELS))
def test_more_aten_ops(name, tmp_path):
    module, args, ins, outs = OP_MODELS[name]()
    torch.manual_seed(0)
    report = from_torch(module, args, str(tmp_path / "m"), output_names=outs, **QUIET)
    assert report["warnings"] == []
    model = webflow.load(str(tmp_path / "m"))
    assert [t.name for t in model.inputs] == ins
    for batch in (1, 3):
        feeds = feeds_for(args, batch, seed=batch)
        got = model.predict(dict(zip(ins, feeds)))
        for out, want in zip(outs, torch_outputs(module, feeds)):
            np.testing.assert_allclose(got[out], want, atol=ATOL, rtol=RTOL, err_msg=f"{name} batch {batch} {out}")


def test_names_batch_one_example_and_static_batch(tmp_path):
    """Inputs take forward()'s parameter names, outputs "output"; a batch-1 example still gives
    a symbolic batch; dynamic_batch=False keeps the example's shapes."""
    module = SmallCNN()
    x = torch.randn(1, 3, 10, 10)
    from_torch(module, x, str(tmp_path / "dyn"), **QUIET)
    assert module.training, "from_torch puts the module back in the mode it found it in"
    model = webflow.load(str(tmp_path / "dyn"))
    assert [t.name for t in model.inputs] == ["x"] and [t.name for t in model.outputs] == ["output_0", "output_1"]
    assert [str(d) for d in model.inputs[0].shape] == ["batch", "3", "10", "10"]
    check(str(tmp_path / "dyn"), module, (x,), ["x"], ["output_0", "output_1"])
    from_torch(module, (x,), str(tmp_path / "static"), dynamic_batch=False, input_names=["image"], output_names=["pooled", "peak"], **QUIET)
    model = webflow.load(str(tmp_path / "static"))
    assert model.inputs[0].shape == (1, 3, 10, 10) and model.outputs[0].shape == (1, 16)
    check(str(tmp_path / "static"), module, (x,), ["image"], ["pooled", "peak"], batches=(1,))


def test_quantize_and_layout_options(tmp_path):
    module, args, ins, outs = build("cnn")
    report = from_torch(module, args, str(tmp_path / "q"), input_names=ins, output_names=outs, quantize="float16", layout="nchw", **QUIET)
    assert "Transpose" not in report["ops_after"] and report["bytes_per_dtype"].get("float16")
    check(str(tmp_path / "q"), module, args, ins, outs, batches=(2,), atol=1e-2, rtol=1e-2)


class Unsupported(torch.nn.Module):
    def forward(self, x):
        a = torch.cumsum(x, 1)
        b = torch.cumsum(a, 1)
        return torch.sort(b, 1).values + torch.nn.functional.relu(x)


def test_unsupported_ops_listed_in_one_error(tmp_path):
    with pytest.raises(UnsupportedError) as e:
        from_torch(Unsupported(), torch.randn(2, 5), str(tmp_path / "m"), **QUIET)
    msg = str(e.value)
    assert "Unsupported: 2 unsupported ATen op(s)" in msg, msg
    assert "aten.cumsum.default: cumsum, cumsum_1" in msg and "aten.sort.default: sort" in msg, msg
    assert "relu" not in msg and "add" not in msg


def test_bad_arguments(tmp_path):
    with pytest.raises(ConversionError, match="example_inputs must be tensors"):
        from_torch(SmallCNN(), [3], str(tmp_path / "m"), **QUIET)
    with pytest.raises(ConversionError, match="1 input_names for 2 inputs"):
        module, args, ins, outs = build("transformer")
        from_torch(module, args, str(tmp_path / "m"), input_names=["x"], **QUIET)
    with pytest.raises(ConversionError, match="layout="):
        from_torch(SmallCNN(), torch.randn(2, 3, 8, 8), str(tmp_path / "m"), layout="nhwc", **QUIET)


class FixedBatch(torch.nn.Module):
    def forward(self, x):
        return x.reshape(2, -1)


def test_model_that_fixes_its_batch(tmp_path):
    with pytest.raises(ConversionError, match="dynamic_batch=False"):
        from_torch(FixedBatch(), torch.randn(2, 3), str(tmp_path / "m"), **QUIET)
    from_torch(FixedBatch(), torch.randn(2, 3), str(tmp_path / "m"), dynamic_batch=False, **QUIET)
    check(str(tmp_path / "m"), FixedBatch(), (torch.randn(2, 3),), ["x"], ["output"], batches=(2,))
