import numpy as np
import pytest

from tests.ops.harness import Case, check_reference, ids
from webflow.ops.elementwise import BINARY, UNARY

rng = np.random.default_rng(0)


def f32(*shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, shape).astype(np.float32)


SPECIAL = np.array([0.0, -0.0, 1.5, -2.5, np.inf, -np.inf, np.nan], np.float32)
POSITIVE = {"Log", "Sqrt"}
NO_ORT = {"Gelu"}  # onnxruntime's CPU provider has no opset-20 Gelu kernel; compared below instead
ATTRS = {"LeakyRelu": {"alpha": 0.2}, "Elu": {"alpha": 0.7}, "HardSigmoid": {"alpha": 0.3, "beta": 0.4},
         "Selu": {}, "Celu": {"alpha": 1.5}, "ThresholdedRelu": {"alpha": 0.5}}

CASES = []
for name in UNARY:
    if name in NO_ORT:
        continue
    lo = 0.01 if name in POSITIVE else -3
    CASES.append(Case(name, [f32(3, 5, 7, lo=lo)], ATTRS.get(name, {}), id="odd"))
    CASES.append(Case(name, [f32(lo=lo)], ATTRS.get(name, {}), id="scalar"))
    CASES.append(Case(name, [np.zeros((0, 4), np.float32)], ATTRS.get(name, {}), id="empty"))
    if name not in ("Round", "Sign", "Softplus", "Mish", "Celu"):
        CASES.append(Case(name, [SPECIAL], ATTRS.get(name, {}), id="special"))
for name in BINARY:
    if name in ("And", "Or", "Xor"):
        a, b = rng.random((2, 3, 4)) > 0.5, rng.random((4,)) > 0.5
    elif name == "Pow":
        a, b = f32(2, 3, 4, lo=0.1), f32(3, 1)
    else:
        a, b = f32(2, 3, 4), f32(3, 1)
    CASES.append(Case(name, [a, b], id="broadcast"))
    CASES.append(Case(name, [a[:0], b], id="empty"))
CASES += [
    Case("Div", [np.array([7, -7, 6, -1], np.int32), np.array([2, 2, -4, 3], np.int32)], id="int-trunc"),
    Case("Mod", [np.array([7, -7, 6, -1], np.int32), np.array([2, 2, -4, 3], np.int32)], id="int"),
    Case("Mod", [f32(6), f32(6)], {"fmod": 1}, id="fmod"),
    Case("Clip", [f32(4, 5), np.array(-1, np.float32), np.array(2, np.float32)], id="both"),
    Case("Clip", [f32(4, 5), None, np.array(0.5, np.float32)], id="max-only"),
    Case("Max", [f32(2, 3), f32(3), f32(1, 3)], id="three"),
    Case("Min", [f32(2, 3), f32(2, 1)], id="two"),
    Case("Sum", [f32(2, 3), f32(3), f32(2, 1)], id="three"),
    Case("Mean", [f32(2, 3), f32(3)], id="two"),
    Case("PRelu", [f32(2, 3, 4, 5), f32(3, 1, 1)], id="channel"),
    Case("Where", [rng.random((3, 1)) > 0.5, f32(3, 4), f32(4)], id="broadcast"),
    Case("Not", [rng.random((5,)) > 0.5]),
    Case("IsNaN", [SPECIAL]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(approximate):
    import torch  # a dev dependency: a missing one fails, never skips
    x = f32(4, 33, lo=-6, hi=6)
    want = torch.nn.functional.gelu(torch.from_numpy(x), approximate=approximate).numpy()
    check_reference(Case("Gelu", [x], {"approximate": approximate}, onnx=False, expect=[want]))
