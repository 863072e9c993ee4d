import numpy as np
import pytest

from tests.ops.harness import Case, check_reference, ids, run_onnxruntime, run_reference
from tests.ops.test_resize import check_node_test, node_test_cases
from webflow.errors import ShapeError, UnsupportedError
from webflow.ops import Meta, get
from webflow.symbolic import Sym

rng = np.random.default_rng(0)
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
STATES = {"LSTM": 2, "GRU": 1, "RNN": 1}


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def inputs(op, steps=5, batch=3, size=4, hidden=7, dirs=1, bias=True, lens=None, initial=False, peepholes=False):
    """X, W, R and the optional inputs of `op` (None where left out; trailing Nones dropped), layout 0."""
    g = GATES[op]
    x = f32(steps, batch, size)
    state = (dirs, batch, hidden)
    args = [x, f32(dirs, g * hidden, size, scale=0.5), f32(dirs, g * hidden, hidden, scale=0.5),
            f32(dirs, 2 * g * hidden, scale=0.5) if bias else None,
            None if lens is None else np.array(lens, np.int32)]
    args += [f32(*state) if initial else None for _ in range(STATES[op])]
    if op == "LSTM":
        args.append(f32(dirs, 3 * hidden) if peepholes else None)
    while args[-1] is None:
        args.pop()
    return args


def case(op, id, attrs=None, noutputs=None, onnx_attrs=None, **kw):
    dirs = 2 if (attrs or {}).get("direction") == "bidirectional" else 1
    attrs = {"hidden_size": kw.get("hidden", 7), **(attrs or {})}
    if onnx_attrs is not None:
        onnx_attrs = {**attrs, **onnx_attrs}
    return Case(op, inputs(op, dirs=dirs, **kw), attrs, id=id, noutputs=noutputs or 1 + STATES[op], onnx_attrs=onnx_attrs)


def batch_first(c):
    """The layout=1 twin of a layout-0 case. onnxruntime has no layout=1 kernels, so its outputs
    for the layout-0 case, transposed, are the oracle."""
    want = run_onnxruntime(c, [np.dtype(np.float32)] * c.noutputs)
    args = [x.swapaxes(0, 1).copy() if x is not None and i in (0, 5, 6) else x for i, x in enumerate(c.inputs)]
    expect = [want[0].transpose(2, 0, 1, 3)] + [s.swapaxes(0, 1) for s in want[1:]]
    return Case(c.op, args, {**c.attrs, "layout": 1}, id=c.id.replace("layout0", "layout1"), noutputs=c.noutputs, onnx=False, expect=expect)


CASES = []
for op in GATES:
    for direction in ["forward", "reverse", "bidirectional"]:
        for c in [case(op, f"{direction}-layout0", {"direction": direction}),
                  case(op, f"{direction}-layout0-lens-initial", {"direction": direction}, lens=[5, 2, 0], initial=True)]:
            CASES += [c, batch_first(c)]
        CASES.append(case(op, f"{direction}-no-bias", {"direction": direction}, bias=False))
        CASES.append(case(op, f"{direction}-clip", {"direction": direction, "clip": 0.6}, lens=[3, 5, 1], initial=True))
    CASES += [
        case(op, "batch1-odd", hidden=5, batch=1, steps=7, size=3),
        case(op, "one-step-lens1", steps=1, lens=[1, 1, 1]),
        case(op, "Y-only", noutputs=1, initial=True),
    ]
    names = {"LSTM": ["sigmoid", "TANH", "tanh"], "GRU": ["SIGMOID", "tanh"], "RNN": ["relu"]}[op]
    CASES.append(case(op, "names-any-case", {"activations": names}, onnx_attrs={"activations": [n.capitalize() for n in names]}))
CASES += [
    case("LSTM", "peepholes", peepholes=True, initial=True),
    case("LSTM", "peepholes-clip-lens", {"clip": 0.5, "direction": "bidirectional"}, peepholes=True, initial=True, lens=[4, 5, 1]),
    case("LSTM", "input_forget", {"input_forget": 1}, peepholes=True),
    case("LSTM", "input_forget-reverse", {"input_forget": 1, "direction": "reverse"}, initial=True, lens=[2, 5, 3]),
    case("LSTM", "activations", {"activations": ["HardSigmoid", "Softsign", "Elu"], "activation_alpha": [0.3, 0.9], "activation_beta": [0.4]}),
    case("LSTM", "activations-bidirectional", {"direction": "bidirectional", "activations": ["Sigmoid", "Tanh", "Tanh", "HardSigmoid", "LeakyRelu", "Softplus"],
                                                "activation_alpha": [0.25, 0.15], "activation_beta": [0.45]}),
    # alpha is consumed by LeakyRelu then Elu, skipping Tanh
    case("LSTM", "alpha-order", {"activations": ["LeakyRelu", "Tanh", "Elu"], "activation_alpha": [0.2, 0.5]}),
    case("GRU", "activations", {"activations": ["HardSigmoid", "Relu"], "linear_before_reset": 1}),
    case("GRU", "activations-bidirectional-lens", {"direction": "bidirectional", "activations": ["Sigmoid", "Softsign", "HardSigmoid", "Tanh"],
                                                   "activation_alpha": [0.3], "activation_beta": [0.55]}, lens=[1, 5, 3]),
    # one direction's list serves both directions
    case("GRU", "activations-shared", {"direction": "bidirectional", "activations": ["Sigmoid", "Softsign"]},
         onnx_attrs={"activations": ["Sigmoid", "Softsign"] * 2}),
]
for lbr in (0, 1):
    CASES += [
        case("GRU", f"linear_before_reset{lbr}", {"linear_before_reset": lbr}, initial=True),
        batch_first(case("GRU", f"linear_before_reset{lbr}-bidirectional-lens-layout0", {"linear_before_reset": lbr, "direction": "bidirectional"},
                         lens=[5, 3, 1], initial=True)),
        case("GRU", f"linear_before_reset{lbr}-clip", {"linear_before_reset": lbr, "clip": 0.4}),
    ]
ALPHA_BETA = {"LeakyRelu": ([0.2], []), "ThresholdedRelu": ([0.3], []), "Elu": ([0.7], []), "HardSigmoid": ([0.3], [0.6]),
              "Affine": ([0.8], [0.1]), "ScaledTanh": ([1.5], [0.7])}
for name in ["Relu", "Tanh", "Sigmoid", "LeakyRelu", "ThresholdedRelu", "Elu", "HardSigmoid", "Affine", "ScaledTanh", "Softsign", "Softplus"]:
    alpha, beta = ALPHA_BETA.get(name, ([], []))
    CASES.append(case("RNN", f"{name}", {"activations": [name], "activation_alpha": alpha or None, "activation_beta": beta or None}, initial=True))
# ONNX defaults where onnxruntime's differ (it uses 0 for alpha and beta of these): it gets them explicitly
CASES += [
    case("RNN", "ThresholdedRelu-default", {"activations": ["ThresholdedRelu"]}, onnx_attrs={"activation_alpha": [1.0]}),
    case("RNN", "Affine-default", {"activations": ["Affine"]}, onnx_attrs={"activation_alpha": [1.0], "activation_beta": [0.0]}),
    case("RNN", "ScaledTanh-default", {"activations": ["ScaledTanh"]}, onnx_attrs={"activation_alpha": [1.0], "activation_beta": [1.0]}),
    case("RNN", "LeakyRelu-default", {"activations": ["LeakyRelu"]}),
    case("RNN", "HardSigmoid-default", {"activations": ["HardSigmoid"]}),
]

for op in ["LSTM", "GRU"]:
    c = case(op, "float16", initial=True, lens=[5, 1, 3])
    c.inputs = [x if x is None or x.dtype.kind == "i" else x.astype(np.float16) for x in c.inputs]
    c.atol, c.rtol = 2e-3, 2e-3
    CASES.append(c)


def empty_outputs(op, steps, batch, hidden=7):
    """Empty X, by hand: onnxruntime aborts on most of these and leaves Y_c unwritten for no steps.
    Y is empty and, with no steps taken, the final states are zeros."""
    c = case(op, f"empty-{steps}x{batch}", steps=steps, batch=batch)
    c.onnx, c.expect = False, [np.zeros((steps, 1, batch, hidden), np.float32)] + [np.zeros((1, batch, hidden), np.float32)] * STATES[op]
    return c


CASES += [empty_outputs(op, steps, batch) for op in GATES for steps, batch in ((5, 0), (0, 3))]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


def test_lstm_matches_torch():
    """torch.nn.LSTM, bidirectional and batch-first. torch stacks gates i, f, g, o; ONNX i, o, f, c."""
    import torch  # a dev dependency: a missing one fails, never skips
    size, hidden, batch, steps = 5, 6, 3, 7
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(size, hidden, batch_first=True, bidirectional=True)
    x, h0, c0 = f32(batch, steps, size), f32(2, batch, hidden), f32(2, batch, hidden)
    with torch.no_grad():
        y, (hn, cn) = lstm(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))

    def iofc(t):  # torch's i, f, g, o blocks -> ONNX's i, o, f, c
        i, f, g, o = np.split(t.detach().numpy(), 4)
        return np.concatenate([i, o, f, g])

    sfx = ["", "_reverse"]
    w = np.stack([iofc(getattr(lstm, "weight_ih_l0" + s)) for s in sfx])
    r = np.stack([iofc(getattr(lstm, "weight_hh_l0" + s)) for s in sfx])
    b = np.stack([np.concatenate([iofc(getattr(lstm, "bias_ih_l0" + s)), iofc(getattr(lstm, "bias_hh_l0" + s))]) for s in sfx])
    # layout=1: X [batch, seq, size], Y [batch, seq, dirs, hidden], states [batch, dirs, hidden]
    want = [y.numpy().reshape(batch, steps, 2, hidden), hn.numpy().swapaxes(0, 1), cn.numpy().swapaxes(0, 1)]
    check_reference(Case("LSTM", [x, w, r, b, None, h0.swapaxes(0, 1).copy(), c0.swapaxes(0, 1).copy()],
                         {"direction": "bidirectional", "hidden_size": hidden, "layout": 1}, noutputs=3, onnx=False, expect=want))


def test_gru_matches_torch():
    """torch.nn.GRU applies the reset gate after R_h (linear_before_reset=1). torch stacks r, z, n; ONNX z, r, h."""
    import torch  # a dev dependency: a missing one fails, never skips
    size, hidden, batch, steps = 4, 5, 2, 6
    torch.manual_seed(1)
    gru = torch.nn.GRU(size, hidden)
    x, h0 = f32(steps, batch, size), f32(1, batch, hidden)
    with torch.no_grad():
        y, hn = gru(torch.from_numpy(x), torch.from_numpy(h0))

    def zrh(t):
        r, z, n = np.split(t.detach().numpy(), 3)
        return np.concatenate([z, r, n])

    w, r = zrh(gru.weight_ih_l0)[None], zrh(gru.weight_hh_l0)[None]
    b = np.concatenate([zrh(gru.bias_ih_l0), zrh(gru.bias_hh_l0)])[None]
    want = [y.numpy()[:, None], hn.numpy()]
    check_reference(Case("GRU", [x, w, r, b, None, h0], {"hidden_size": hidden, "linear_before_reset": 1}, noutputs=2, onnx=False, expect=want))


NODE_TESTS = node_test_cases("test_lstm", "test_gru", "test_rnn", "test_simple_rnn")


@pytest.mark.parametrize("case,wanted", [(c, w) for _, c, w in NODE_TESTS], ids=[n for n, _, _ in NODE_TESTS])
def test_onnx_node_tests(case, wanted):
    check_node_test(case, wanted)


def test_onnx_node_tests_found():
    assert len(NODE_TESTS) >= 18


def test_symbolic_shapes():
    seq, batch = Sym.named("seq"), Sym.named("batch")
    d = get("LSTM")
    metas = [Meta((batch, seq, 4), "float32"), Meta((2, 28, 4), "float32"), Meta((2, 28, 7), "float32")]
    attrs = {**d.attrs, "direction": "bidirectional", "layout": 1}
    assert d.shape_rule(*metas, **attrs) == [(batch, seq, 2, 7), (batch, 2, 7), (batch, 2, 7)]


@pytest.mark.parametrize("op,attrs,error", [
    ("RNN", {"activations": ["Gelu"]}, UnsupportedError),
    ("LSTM", {"direction": "sideways"}, UnsupportedError),
    ("GRU", {"layout": 2}, UnsupportedError),
    ("GRU", {"linear_before_reset": 2}, UnsupportedError),
    ("LSTM", {"activations": ["Sigmoid", "Tanh"]}, ShapeError),  # one short
    ("GRU", {"activations": ["Sigmoid", "Tanh"] * 2}, ShapeError),  # two directions' worth for one
    ("RNN", {"hidden_size": 8}, ShapeError),  # R says 7
    ("LSTM", {"direction": "bidirectional"}, ShapeError),  # W has one direction
])
def test_rejected(op, attrs, error):
    c = case(op, "bad")
    c.attrs.update(attrs)
    with pytest.raises(error):
        run_reference(c)


def test_bad_input_shapes():
    for i, bad in [(1, f32(1, 27, 4)), (2, f32(1, 28, 6)), (3, f32(1, 55)), (4, np.array([5, 5], np.int32)), (5, f32(1, 2, 7)), (7, f32(1, 20))]:
        args = inputs("LSTM", lens=[5, 5, 5], initial=True, peepholes=True)
        args[i] = bad
        with pytest.raises(ShapeError):
            run_reference(Case("LSTM", args, {}, noutputs=3))
