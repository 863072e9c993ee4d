"""webflow.decompose: LSTM, GRU and RNN unrolled into primitive ops, for backends without a
recurrent kernel. The numpy backend with `supported` narrowed to exclude them runs the
expansion; it must equal the ops' numpy references (atol 1e-5) and, for the torch-exported
models, onnxruntime (atol 1e-4, rtol 1e-3)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import webflow
from webflow.converter import convert
from webflow.ops import REGISTRY
from webflow.ops.elementwise import UNARY

from tests.torch_models import export

RECURRENT = {"LSTM", "GRU", "RNN"}
# ops with a simple single-pass kernel: all an expansion may use
PRIMITIVES = {"MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Slice", "Gather", "Concat", "Reshape", "Transpose",
              "Unsqueeze", "Squeeze", "Where", "Less", "Cast", "Expand", "Clip"} | set(UNARY)
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
STATES = {"LSTM": 2, "GRU": 1, "RNN": 1}
T, IN, HID = 5, 3, 4


def _expanding(model):
    model.backend.supported = set(REGISTRY) - RECURRENT
    return model


def _steps(model, feeds):
    return model.plan_for({n: (x.shape, str(x.dtype), None) for n, x in feeds.items()}).steps


def _onnx(path, op, attrs, bias, lens, initial, peepholes, outputs, steps=T, hidden=HID):
    """One recurrent node: X, sequence_lens and initial states are inputs (batch symbolic), W, R, B, P weights."""
    rng = np.random.default_rng(7)
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    layout = attrs.get("layout", 0)
    g = GATES[op]
    weights = {"W": (dirs, g * hidden, IN), "R": (dirs, g * hidden, hidden)}
    if bias:
        weights["B"] = (dirs, 2 * g * hidden)
    if peepholes:
        weights["P"] = (dirs, 3 * hidden)
    inits = [numpy_helper.from_array((0.6 / hidden ** 0.25 * rng.standard_normal(s)).astype(np.float32), n) for n, s in weights.items()]
    state = ["batch", dirs, hidden] if layout else [dirs, "batch", hidden]
    f32 = onnx.TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("X", f32, ["batch", steps, IN] if layout else [steps, "batch", IN])]
    names = ["X", "W", "R", "B" if bias else "", "", "", "", "P" if peepholes else ""]
    if lens:
        ins.append(helper.make_tensor_value_info("sequence_lens", onnx.TensorProto.INT32, ["batch"]))
        names[4] = "sequence_lens"
    for k in range(STATES[op] if initial else 0):
        names[5 + k] = ("initial_h", "initial_c")[k]
        ins.append(helper.make_tensor_value_info(names[5 + k], f32, state))
    names = names[:max(i for i, n in enumerate(names) if n) + 1]
    outs = [o for o in ("Y", "Y_h", "Y_c")[:1 + STATES[op]] if o in outputs]
    node = helper.make_node(op, names, [o if o in outputs else "" for o in ("Y", "Y_h", "Y_c")[:1 + STATES[op]]],
                            hidden_size=hidden, **attrs)
    graph = helper.make_graph([node], "rnn", ins, [helper.make_tensor_value_info(o, f32, None) for o in outs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 9
    onnx.save(model, path)
    return [i.name for i in ins], outs


def _feeds(names, batch, op, attrs, seed, steps=T, hidden=HID):
    rng = np.random.default_rng(seed)
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    layout = attrs.get("layout", 0)
    shapes = {"X": (batch, steps, IN) if layout else (steps, batch, IN),
              "initial_h": (batch, dirs, hidden) if layout else (dirs, batch, hidden)}
    shapes["initial_c"] = shapes["initial_h"]
    feeds = {n: rng.standard_normal(shapes[n]).astype(np.float32) for n in names if n != "sequence_lens"}
    if "sequence_lens" in names:  # a full-length entry, an empty one, and partial ones
        feeds["sequence_lens"] = np.minimum([steps, 0, 2, 4][:batch] if batch > 1 else [3], steps).astype(np.int32)
    return feeds


def case(op, attrs=None, *, bias=True, lens=True, initial=True, peepholes=False, outputs=("Y", "Y_h", "Y_c"), steps=T, hidden=HID):
    attrs = attrs or {}
    cid = "-".join([op] + [f"{k}={v}" for k, v in attrs.items()] + [k for k, v in (("no-bias", not bias), ("no-lens", not lens),
                   ("no-initial", not initial), ("peepholes", peepholes)) if v] + ([] if len(outputs) == 3 else list(outputs))
                   + ([] if steps == T else [f"steps={steps}"]) + ([] if hidden == HID else [f"hidden={hidden}"]))
    kw = dict(bias=bias, lens=lens, initial=initial, peepholes=peepholes, outputs=outputs, steps=steps, hidden=hidden)
    return pytest.param(op, attrs, kw, id=cid)


CASES = [case(op, {"direction": d, "layout": layout}) for op in GATES for d in ("forward", "reverse", "bidirectional")
         for layout in (0, 1)] + [
    case("LSTM", bias=False, lens=False, initial=False),
    case("LSTM", {"direction": "bidirectional"}, peepholes=True),
    case("LSTM", {"direction": "reverse", "layout": 1}, peepholes=True, lens=False),
    case("LSTM", {"clip": 0.7, "direction": "bidirectional"}, peepholes=True),
    case("LSTM", {"input_forget": 1}, peepholes=True),
    case("LSTM", {"input_forget": 1, "direction": "bidirectional", "layout": 1}, initial=False),
    case("LSTM", {"activations": ["HardSigmoid", "Softsign", "Elu"], "activation_alpha": [0.3, 0.9], "activation_beta": [0.4]}),
    case("LSTM", {"direction": "bidirectional", "clip": 1.5, "activations": ["Sigmoid", "Tanh", "Tanh", "HardSigmoid", "LeakyRelu", "Softplus"],
                  "activation_alpha": [0.25, 0.2], "activation_beta": [0.6]}),
    case("LSTM", {"activations": ["sigmoid", "Affine", "ScaledTanh"], "activation_alpha": [0.5, 1.3], "activation_beta": [0.2, 0.7]}),
    case("LSTM", {"direction": "bidirectional"}, outputs=("Y_h",)),
    case("LSTM", {"layout": 1}, outputs=("Y", "Y_c")),
    case("GRU", bias=False, lens=False, initial=False),
    case("GRU", {"linear_before_reset": 1}),
    case("GRU", {"linear_before_reset": 1, "direction": "bidirectional", "layout": 1}),
    case("GRU", {"linear_before_reset": 1}, bias=False, lens=False),
    case("GRU", {"linear_before_reset": 1, "clip": 0.8, "direction": "reverse"}),
    case("GRU", {"clip": 0.8, "direction": "bidirectional"}, initial=False),
    case("GRU", {"activations": ["HardSigmoid", "ThresholdedRelu"], "activation_alpha": [0.3, 0.1], "activation_beta": [0.45]}),
    case("GRU", {"direction": "bidirectional", "linear_before_reset": 1,
                 "activations": ["Sigmoid", "Softsign", "HardSigmoid", "ScaledTanh"], "activation_alpha": [0.2, 1.5], "activation_beta": [0.5, 0.8]}),
    case("GRU", {"layout": 1}, outputs=("Y_h",)),
    case("RNN", bias=False, lens=False, initial=False),
    case("RNN", {"clip": 0.5, "direction": "bidirectional"}),
    case("RNN", {"activations": ["Relu"]}, lens=False),
    case("RNN", {"direction": "bidirectional", "activations": ["LeakyRelu", "Affine"], "activation_alpha": [0.1, 0.7], "activation_beta": [0.3]}),
    case("RNN", {"activations": ["Elu"], "activation_alpha": [0.5], "layout": 1}, outputs=("Y_h",)),
    # weights too big to fold at plan time: their slices run as steps
    case("LSTM", {"direction": "bidirectional"}, peepholes=True, hidden=33),
    case("GRU", {"direction": "bidirectional", "linear_before_reset": 1}, hidden=33),
    case("GRU", {"layout": 1}, hidden=33),
    # more than CONCAT_FANIN pieces of Y; an empty sequence
    case("LSTM", {"direction": "bidirectional", "layout": 1}, steps=19),
    case("RNN", {"direction": "bidirectional"}, steps=0),
]


@pytest.mark.parametrize("op, attrs, kw", CASES)
def test_expansion_matches_reference(tmp_path, op, attrs, kw):
    src = str(tmp_path / "rnn.onnx")
    names, outs = _onnx(src, op, attrs, **kw)
    steps, hidden = kw["steps"], kw["hidden"]
    convert(src, str(tmp_path / "model"), log=lambda *a: None)
    reference = webflow.load(str(tmp_path / "model"))
    expanded = _expanding(webflow.load(str(tmp_path / "model")))
    for batch in (1, 4):
        feeds = _feeds(names, batch, op, attrs, seed=batch, steps=steps, hidden=hidden)
        ops = {s.opdef.name for s in _steps(expanded, feeds)}
        assert ops <= PRIMITIVES, ops - PRIMITIVES
        assert op in {s.opdef.name for s in _steps(reference, feeds)}
        want, got = reference.predict(feeds), expanded.predict(feeds)
        for name in outs:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, rtol=0, err_msg=f"{name}, batch {batch}")


@pytest.mark.parametrize("op, attrs, lens, want", [
    ("LSTM", {}, False, 2 + 6 * 13 + 4),  # X reshape + Gemm; 13 per step; Y concat + reshape, Y_h, Y_c reshapes
    # + lens unsqueeze, 2 initial-state gathers; per step a Less and 3 Where; a Less and 2 Where zero empty entries' states
    ("LSTM", {}, True, 5 + 6 * (13 + 4) + 3 + 4),
    ("LSTM", {"direction": "bidirectional"}, False, 2 + 12 * 13 + 6),
    ("GRU", {}, False, 2 + 6 * 10 + 3),
    ("GRU", {"linear_before_reset": 1}, False, 2 + 6 * 12 - 1 + 3),  # h0·R_hᵀ + Rb_h of the zero h0 folds
    ("RNN", {}, False, 2 + 6 * 2 + 3),  # per step: a slice of X·Wᵀ and one Gemm with the activation fused
])
def test_step_counts(tmp_path, op, attrs, lens, want):
    """Plan steps of one expanded layer over 6 time steps (its weights are small, so their slices fold)."""
    src = str(tmp_path / "rnn.onnx")
    names, _ = _onnx(src, op, attrs, bias=True, lens=lens, initial=lens, peepholes=False, outputs=("Y", "Y_h", "Y_c"), steps=6)
    convert(src, str(tmp_path / "model"), log=lambda *a: None)
    steps = _steps(_expanding(webflow.load(str(tmp_path / "model"))), _feeds(names, 2, op, attrs, seed=0, steps=6))
    print(op, attrs, "sequence_lens" if lens else "", len(steps), "steps")
    assert len(steps) == want


@pytest.fixture(scope="module", params=[(m, d) for m in ("gru", "lstm") for d in (True, False)],
                ids=[f"{m}-{'dynamo' if d else 'torchscript'}" for m in ("gru", "lstm") for d in (True, False)])
def torch_model(request, tmp_path_factory):
    name, dynamo = request.param
    tmp = tmp_path_factory.mktemp(name)
    src = str(tmp / f"{name}.onnx")
    module, args, ins, outs = export(name, src, dynamo)
    convert(src, str(tmp / "model"), log=lambda *a: None)
    return src, str(tmp / "model"), ins, outs


@pytest.mark.parametrize("batch", [1, 3])
def test_torch_models_match_onnxruntime(torch_model, batch):
    src, model_dir, ins, outs = torch_model
    model = _expanding(webflow.load(model_dir))
    assert {n.op for n in model.graph.nodes} & RECURRENT, "the export has no recurrent node to expand"
    feeds = {ins[0]: np.random.default_rng(batch).standard_normal((batch, 6, 8)).astype(np.float32)}
    steps = _steps(model, feeds)
    assert not {s.opdef.name for s in steps} & RECURRENT
    print(f"{src.rsplit('/', 1)[-1]} batch {batch}: {len(steps)} plan steps")
    want = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).run(None, feeds)
    got = model.predict(feeds)
    for name, w in zip(outs, want):
        np.testing.assert_allclose(got[name], w, atol=1e-4, rtol=1e-3)
