import numpy as np
import pytest
import torch

from tests.ops.harness import Case, check_reference, ids, run_reference
from webflow.errors import ShapeError, UnsupportedError
from webflow.ops import Meta, get
from webflow.symbolic import Sym

rng = np.random.default_rng(2)


def f32(*shape, lo=-2, hi=2):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def ints(dtype, *shape):
    return rng.integers(-5, 6, shape).astype(dtype)


MATMUL = [
    Case("MatMul", [f32(7, 13), f32(13, 9)], id="2d"),
    Case("MatMul", [f32(2, 1, 3, 4), f32(5, 4, 6)], id="batch-broadcast"),
    Case("MatMul", [f32(3, 4, 5), f32(5, 2)], id="batch-2d"),
    Case("MatMul", [f32(5, 2), f32(3, 2, 7)], id="2d-batch"),
    Case("MatMul", [f32(4), f32(4, 6)], id="1d-2d"),
    Case("MatMul", [f32(6, 4), f32(4)], id="2d-1d"),
    Case("MatMul", [f32(11), f32(11)], id="1d-1d"),
    Case("MatMul", [f32(4), f32(2, 3, 4, 5)], id="1d-batch"),
    Case("MatMul", [f32(2, 3, 3, 4), f32(4)], id="batch-1d"),
    Case("MatMul", [f32(1, 1), f32(1, 1)], id="1x1"),
    Case("MatMul", [f32(3, 0), f32(0, 5)], id="empty-k"),
    Case("MatMul", [f32(0, 4), f32(4, 5)], id="empty-m"),
    Case("MatMul", [f32(2, 0, 3, 4), f32(4, 2)], id="empty-batch"),
    Case("MatMul", [ints(np.int32, 3, 7), ints(np.int32, 2, 7, 5)], id="int32"),
    Case("MatMul", [ints(np.int64, 4, 3), ints(np.int64, 3)], id="int64"),
    Case("MatMul", [f32(5, 17).astype(np.float16), f32(17, 3).astype(np.float16)], atol=1e-2, rtol=1e-2, id="f16"),
    Case("MatMul", [f32(3, 5).astype(np.float64), f32(5, 2).astype(np.float64)], id="f64"),
    Case("MatMul", [np.array([[1, np.nan], [np.inf, 1], [1, 2]], np.float32), f32(2, 3)], id="nan-inf"),
]


@pytest.mark.parametrize("case", MATMUL, ids=ids(MATMUL))
def test_matmul_against_onnxruntime(case):
    check_reference(case)


M, K, N = 3, 5, 4
C_SHAPES = {"none": None, "scalar": (), "n": (N,), "1n": (1, N), "m1": (M, 1), "mn": (M, N), "11": (1, 1)}
GEMM = []
for ta in (0, 1):
    for tb in (0, 1):
        a = f32(K, M) if ta else f32(M, K)
        b = f32(N, K) if tb else f32(K, N)
        for cname, cshape in C_SHAPES.items():
            c = None if cshape is None else f32(*cshape)
            attrs = {"transA": ta, "transB": tb}
            GEMM.append(Case("Gemm", [a, b] if c is None else [a, b, c], attrs, id=f"t{ta}{tb}-c{cname}"))
        GEMM.append(Case("Gemm", [a, b, f32(M, N)], {"transA": ta, "transB": tb, "alpha": 0.5, "beta": -1.5},
                         id=f"t{ta}{tb}-alpha-beta"))
GEMM += [
    Case("Gemm", [f32(M, K), f32(K, N), None], {"alpha": 2.0}, id="c-omitted-by-name"),
    Case("Gemm", [f32(M, K), f32(K, N), np.array([[np.nan, np.inf, 1, 2]], np.float32)], {"beta": 0.0}, id="beta0-ignores-c"),
    Case("Gemm", [f32(1, 1), f32(1, 1), f32(1)], id="1x1"),
    Case("Gemm", [f32(0, K), f32(K, N), f32(N)], id="empty-m"),
    Case("Gemm", [f32(M, 0), f32(0, N), f32(M, N)], id="empty-k"),
    Case("Gemm", [f32(7, 33), f32(17, 33), f32(17)], {"transB": 1}, id="fc-layer"),
    Case("Gemm", [f32(M, K).astype(np.float16), f32(K, N).astype(np.float16), f32(N).astype(np.float16)],
         {"alpha": 0.5}, atol=1e-2, rtol=1e-2, id="f16"),
    Case("Gemm", [f32(M, K).astype(np.float64), f32(N, K).astype(np.float64), f32(M, 1).astype(np.float64)],
         {"transB": 1, "beta": 2.0}, id="f64"),
]


@pytest.mark.parametrize("case", GEMM, ids=ids(GEMM))
def test_gemm_against_onnxruntime(case):
    check_reference(case)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_gemm_int(dtype):
    # onnxruntime's CPU provider has no integer Gemm; torch is the oracle
    a, b, c = ints(dtype, K, M), ints(dtype, K, N), ints(dtype, M, 1)
    ta, tb, tc = (torch.from_numpy(v) for v in (a, b, c))
    want = (2 * (ta.T @ tb) - 3 * tc).numpy()
    check_reference(Case("Gemm", [a, b, c], {"transA": 1, "alpha": 2.0, "beta": -3.0}, onnx=False, expect=[want]))


def test_gemm_int_fractional_scale_unsupported():
    with pytest.raises(UnsupportedError, match="alpha=0.5"):
        run_reference(Case("Gemm", [ints(np.int32, M, K), ints(np.int32, K, N)], {"alpha": 0.5}))


@pytest.mark.parametrize("a,b,c,attrs", [
    ((M, K), (K + 1, N), None, {}),
    ((M, K), (K, N), None, {"transA": 1}),
    ((M, K), (K, N), (N + 1,), {}),
    ((M, K), (K, N), (M, N, 1), {}),
    ((M, K), (K, N), (2 * M, N), {}),
    ((2, M, K), (K, N), None, {}),
    ((K,), (K, N), None, {}),
])
def test_gemm_bad_shapes(a, b, c, attrs):
    inputs = [f32(*a), f32(*b)] + ([] if c is None else [f32(*c)])
    with pytest.raises(ShapeError):
        run_reference(Case("Gemm", inputs, attrs))


@pytest.mark.parametrize("a,b", [((3, 4), (5, 6)), ((2, 3, 4), (3, 4, 5)), ((), (3,)), ((3,), (4,)), ((4,), (3, 5, 2))])
def test_matmul_bad_shapes(a, b):
    with pytest.raises(ShapeError):
        run_reference(Case("MatMul", [f32(*a), f32(*b)]))


def test_fused_activation():
    a, b, c = f32(4, 6), f32(6, 5), f32(5)
    ta, tb, tc = (torch.from_numpy(v) for v in (a, b, c))
    relu = {"op": "Relu"}
    check_reference(Case("MatMul", [a, b], {"activation": relu}, onnx=False, expect=[torch.relu(ta @ tb).numpy()]))
    leaky = {"op": "LeakyRelu", "alpha": 0.2}
    want = torch.nn.functional.leaky_relu(ta @ tb + tc, 0.2).numpy()
    check_reference(Case("Gemm", [a, b, c], {"activation": leaky}, onnx=False, expect=[want]))
    clip = {"op": "Clip", "min": 0.0, "max": 0.5}
    want = torch.clamp(ta @ tb, 0.0, 0.5).numpy()
    check_reference(Case("MatMul", [a, b], {"activation": clip}, onnx=False, expect=[want]))


def test_shape_rules_symbolic():
    batch, seq = Sym.named("batch"), Sym.named("seq")
    mm = get("MatMul").shape_rule
    assert mm(Meta((batch, seq, 8), "float32"), Meta((8, 3), "float32")) == (batch, seq, 3)
    assert mm(Meta((batch, 1, seq, 8), "float32"), Meta((4, 8, seq), "float32")) == (batch, 4, seq, seq)
    assert mm(Meta((seq,), "float32"), Meta((batch, seq, 2), "float32")) == (batch, 2)
    with pytest.raises(ShapeError):
        mm(Meta((batch, 8), "float32"), Meta((seq, 3), "float32"))
    gemm = get("Gemm").shape_rule
    assert gemm(Meta((batch, 8), "float32"), Meta((3, 8), "float32"), Meta((3,), "float32"), transB=1) == (batch, 3)
    assert gemm(Meta((8, batch), "float32"), Meta((8, 3), "float32"), Meta((batch, 1), "float32"), transA=1) == (batch, 3)
