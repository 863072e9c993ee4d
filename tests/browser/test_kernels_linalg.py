"""GPU coverage for MatMul and Gemm beyond tests/ops/: every access pattern of the matrix-product
kernel (texel reads along K for A, along N or K for B, scalar fallbacks, K tails), the texel
output path (N % 4 == 0) and the element one, broadcast batches, 1-D operands, tensors that
wrap texture rows (more than 16384 elements), empty dims, NaN/Inf, integers and fused
activations. Each case is one plan step on the GPU, checked against the numpy reference.
"""

import numpy as np
import pytest

from tests.browser.harness import decode
from tests.browser.test_kernels import GPU_ATOL, GPU_RTOL, case_step
from tests.ops.harness import Case, assert_close, ids, run_reference

rng = np.random.default_rng(31)


def f32(*shape):
    return rng.uniform(-2, 2, shape).astype(np.float32)


def ints(dtype, *shape):
    return rng.integers(-5, 6, shape).astype(dtype)


def nan_inf(*shape):
    x = f32(*shape)
    x.flat[::7] = np.nan
    x.flat[3::11] = np.inf
    x.flat[5::13] = -np.inf
    return x


MANY = 1e-4  # atol for long sums

MATMUL = [
    Case("MatMul", [f32(8, 12), f32(12, 16)], id="texel-a-rows-b-rows"),
    Case("MatMul", [f32(8, 13), f32(13, 16)], id="texel-k-tail"),
    Case("MatMul", [f32(5, 3), f32(3, 8)], id="texel-k-below-4"),
    Case("MatMul", [f32(5, 12), f32(12, 7)], id="element-a-rows"),
    Case("MatMul", [f32(5, 9), f32(9, 7)], id="element-scalar"),
    Case("MatMul", [f32(3, 8), f32(8)], id="matrix-vector-k-texels"),
    Case("MatMul", [f32(2, 3, 8), f32(8)], id="batch-vector"),
    Case("MatMul", [f32(12), f32(12, 8)], id="vector-matrix-texel"),
    Case("MatMul", [f32(12), f32(12)], id="dot-scalar-out"),
    Case("MatMul", [f32(8), f32(2, 8, 4)], id="vector-batch"),
    Case("MatMul", [f32(2, 1, 8, 12), f32(3, 12, 8)], id="batch-broadcast-texel"),
    Case("MatMul", [f32(1, 4, 5, 8), f32(2, 1, 8, 6)], id="batch-broadcast-both-element"),
    Case("MatMul", [f32(3, 8, 12), f32(12, 4)], id="batch-2d-texel"),
    Case("MatMul", [f32(40, 64), f32(64, 520)], atol=MANY, id="wrap-output"),
    Case("MatMul", [f32(130, 128), f32(128, 4)], atol=MANY, id="wrap-a"),
    Case("MatMul", [f32(2, 16), f32(16, 1100)], atol=MANY, id="wrap-b"),
    Case("MatMul", [f32(0, 8), f32(8, 4)], id="empty-m-texel"),
    Case("MatMul", [f32(4, 0), f32(0, 8)], id="empty-k-texel"),
    Case("MatMul", [nan_inf(6, 8), f32(8, 8)], id="nan-inf-texel"),
    Case("MatMul", [f32(6, 8), nan_inf(8, 5)], id="nan-inf-element"),
    Case("MatMul", [ints(np.int32, 4, 8), ints(np.int32, 8, 12)], id="int32-texel"),
    Case("MatMul", [ints(np.int64, 2, 3, 12), ints(np.int64, 12, 5)], id="int64-element"),
    Case("MatMul", [f32(6, 8), f32(8, 12)], {"activation": {"op": "Relu"}}, id="relu-texel"),
    Case("MatMul", [f32(6, 8), f32(8, 5)], {"activation": {"op": "Clip", "min": -0.5, "max": 1.0}}, id="clip-element"),
    Case("MatMul", [f32(6, 8), f32(8, 8)], {"activation": {"op": "Tanh"}}, id="tanh-texel"),
    Case("MatMul", [f32(6, 8), f32(8, 8)], {"activation": {"op": "Gelu", "approximate": "tanh"}}, id="gelu-tanh"),
]

M, K, N = 5, 12, 8
GEMM = []
for ta in (0, 1):
    for tb in (0, 1):
        a = f32(K, M) if ta else f32(M, K)
        b = f32(N, K) if tb else f32(K, N)
        for cname, cshape in {"none": None, "scalar": (), "n": (N,), "m1": (M, 1), "mn": (M, N)}.items():
            c = None if cshape is None else f32(*cshape)
            GEMM.append(Case("Gemm", [a, b] if c is None else [a, b, c], {"transA": ta, "transB": tb, "alpha": 0.75, "beta": -1.25},
                             id=f"texel-t{ta}{tb}-c{cname}"))
        b7 = f32(7, K) if tb else f32(K, 7)
        GEMM.append(Case("Gemm", [a, b7, f32(7)], {"transA": ta, "transB": tb}, id=f"element-t{ta}{tb}"))
GEMM += [
    Case("Gemm", [f32(M, 10), f32(8, 10), f32(8)], {"transB": 1}, id="transb-k-tail"),
    Case("Gemm", [f32(M, K), f32(K, N), np.full((M, N), np.nan, np.float32)], {"beta": 0.0}, id="beta0-texel-ignores-nan-c"),
    Case("Gemm", [f32(4, 256), f32(1000, 256), f32(1000)], {"transB": 1}, atol=MANY, id="classifier"),
    Case("Gemm", [f32(3, 16), f32(16, 5500), f32(5500)], atol=MANY, id="wrap"),
    Case("Gemm", [f32(4, 0), f32(0, 8), f32(4, 8)], id="empty-k-texel"),
    Case("Gemm", [nan_inf(4, 8), f32(8, 8), f32(8)], id="nan-inf"),
    Case("Gemm", [ints(np.int32, 4, 8), ints(np.int32, 8, 8), ints(np.int32, 8)], {"alpha": 2.0, "beta": -3.0}, id="int32"),
    Case("Gemm", [f32(4, 8), f32(12, 8), f32(12)], {"transB": 1, "activation": {"op": "LeakyRelu", "alpha": 0.2}}, id="leaky-relu"),
    Case("Gemm", [f32(4, 8), f32(8, 6), f32(6)], {"activation": {"op": "Sigmoid"}}, id="sigmoid-element"),
    Case("Gemm", [f32(4, 8), f32(8, 8)], {"alpha": 0.5, "activation": {"op": "HardSigmoid", "alpha": 0.3, "beta": 0.4}}, id="hardsigmoid"),
]

CASES = MATMUL + GEMM


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_linalg_kernel(kernel_page, case):
    want = run_reference(case)
    step, inputs = case_step(case)
    (result,) = kernel_page.evaluate("cases => window.runSteps(cases)", [{"step": step, "inputs": inputs}])
    assert "error" not in result, result.get("error")
    for i, (g, w) in enumerate(zip(result["outputs"], want)):
        assert_close(decode(g), w, max(case.atol, GPU_ATOL), max(case.rtol, GPU_RTOL), f"{case} output {i} on the GPU")
