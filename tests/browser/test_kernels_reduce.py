"""GPU coverage for the reduce family beyond tests/ops/test_reduce.py: outputs and inputs that
wrap texture rows, long reductions (float32 accumulation; walks split into parts and merged),
whole-texel and element reads, non-adjacent and many axes, NaN/Inf, integer identities and exact
integer results, softmax rows that straddle texels.
"""

import numpy as np
import pytest

from tests.browser.harness import decode
from tests.browser.test_kernels import GPU_ATOL, GPU_RTOL, case_step
from tests.ops.harness import Case, assert_close, ids, run_reference

rng = np.random.default_rng(11)


def f32(*shape, lo=-2, hi=2):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def i64(*values):
    return np.array(values, np.int64)


def run_on_gpu(page, case):
    want = run_reference(case)
    step, inputs = case_step(case)
    (result,) = page.evaluate("cases => window.runSteps(cases)", [{"step": step, "inputs": inputs}])
    assert "error" not in result, result.get("error")
    for i, (g, w) in enumerate(zip(result["outputs"], want)):
        assert_close(decode(g), w, max(case.atol, GPU_ATOL), max(case.rtol, GPU_RTOL), f"{case} output {i} on the GPU")


NAN = np.array([[1, np.nan, 3, np.nan], [0, -1, 2, 2], [np.nan, 5, 5, 1], [-np.inf, np.inf, 0, 1]], np.float32)
WIDE = f32(3, 7000)  # 21000 elements: the input wraps texture rows (4096 texels = 16384 elements)
TALL = f32(17000, 2)  # reducing axis 1 leaves 17000 outputs: the output wraps too

CASES = [
    Case("ReduceSum", [WIDE, i64(0)], id="wrap-in"),
    Case("ReduceMax", [TALL, i64(1)], {"keepdims": 0}, id="wrap-out"),
    Case("ReduceMean", [TALL, i64(0)], id="wrap-col"),
    Case("ReduceSum", [f32(20000)], {"keepdims": 0}, id="long-sum"),
    Case("ReduceMean", [f32(4, 5000, lo=0, hi=1), i64(1)], id="long-mean"),
    Case("ReduceSumSquare", [f32(2, 8192), i64(1)], id="long-sumsq"),
    Case("ReduceLogSumExp", [f32(2, 9000) * 50, i64(-1)], id="long-lse"),
    # long walks feeding few outputs are split into parts reduced in parallel, then merged
    Case("ReduceMax", [np.where(rng.random((3, 6000)) < 1e-3, np.nan, f32(3, 6000)).astype(np.float32), i64(1)], id="split-nan"),
    Case("ReduceMin", [rng.integers(-10**6, 10**6, (2, 5000)).astype(np.int32), i64(1)], id="split-int"),
    Case("ReduceMean", [rng.integers(-100, 100, (2, 5001)).astype(np.int64), i64(1)], id="split-int-trunc"),
    Case("ReduceProd", [f32(1, 6000, lo=0.999, hi=1.001), i64(1)], id="split"),
    Case("ReduceL2", [f32(3, 4100), i64(1)], {"keepdims": 0}, id="split-ragged-last-part"),
    Case("ReduceSum", [f32(2, 3, 50, 50), i64(0, 2, 3)], id="split-outer-axis"),
    Case("ReduceLogSum", [f32(7000, 2, lo=0, hi=1), i64(0)], id="split-strided"),
    Case("ReduceSum", [f32(2, 3, 4, 5), i64(0, 2)], {"keepdims": 0}, id="non-adjacent"),
    Case("ReduceProd", [f32(2, 3, 4, 5, lo=0.5, hi=1.5), i64(1, 3)], id="non-adjacent-keep"),
    Case("ReduceL1", [f32(2, 3, 2, 3, 2, 3), i64(0, 1, 3, 5)], id="rank6"),
    Case("ReduceMin", [f32(2, 3, 4, 5), i64(3, 0, 1)], {"keepdims": 0}, id="unsorted-axes"),
    Case("ReduceMax", [f32(2, 1, 3), i64(1)], {"keepdims": 0}, id="size1-axis"),
    Case("ReduceSum", [f32(5, 1, 1, 7)], {"keepdims": 0}, id="all-to-scalar"),
    Case("ReduceMax", [NAN, i64(1)], id="nan"),
    Case("ReduceMin", [NAN, i64(0)], id="nan"),
    Case("ReduceLogSumExp", [NAN, i64(1)], id="nan"),
    Case("ReduceProd", [np.array([[0, np.inf], [2, 3]], np.float32), i64(1)], id="zero-times-inf"),
    Case("ReduceL2", [np.array([[3, 4], [-5, 12], [1, 1]], np.int32), i64(1)], id="int-exact"),
    Case("ReduceMean", [np.array([[-21, 0, 0], [21, 0, 0], [22, 0, 0]], np.int32), i64(1)], id="int-exact"),
    Case("ReduceMean", [np.zeros((0, 3), np.int32), i64(0)], id="int-empty"),
    Case("ReduceMax", [np.zeros((2, 0), np.uint8), i64(1)], id="uint8-empty"),
    Case("ReduceMin", [np.zeros((2, 0), np.int32), i64(1)], id="int32-empty"),
    Case("ReduceMin", [np.zeros((2, 0), np.bool_), i64(1)], id="bool-empty"),
    Case("ReduceMax", [np.zeros((2, 0), np.bool_), i64(1)], id="bool-empty"),
    Case("ReduceProd", [np.zeros((0, 2), np.float32), i64(0)], id="empty"),
    Case("ReduceSum", [np.zeros((3, 0), np.float32), i64(1)], {"keepdims": 0}, id="empty"),
    Case("ReduceSumSquare", [f32(3, 5), i64(1)], {"noop_with_empty_axes": 1}, id="noop-with-axes"),
    Case("ReduceLogSum", [f32(3, 5, lo=0, hi=2)], {"noop_with_empty_axes": 1}, id="noop"),
]

ARGS = []
for name in ("ArgMax", "ArgMin"):
    ARGS += [
        Case(name, [TALL], {"axis": 1}, id="wrap-out"),
        Case(name, [WIDE], {"axis": 1, "keepdims": 0}, id="long-axis"),
        Case(name, [f32(2, 3, 4, 5)], {"axis": 2, "keepdims": 0}, id="middle"),
        Case(name, [f32(9)], {"keepdims": 0}, id="1d-to-scalar"),
        Case(name, [NAN], {"axis": 1}, id="nan-first"),
        Case(name, [NAN], {"axis": 1, "select_last_index": 1}, id="nan-last"),
        Case(name, [NAN], {"axis": 0, "select_last_index": 1}, id="nan-last-axis0"),
        Case(name, [np.array([[2, 2, 2]], np.uint8)], {"axis": 1, "select_last_index": 1}, id="uint8-ties"),
    ]

SOFT = []
for name in ("Softmax", "LogSoftmax", "Hardmax"):
    SOFT += [
        Case(name, [f32(20, 840)], id="wrap"),
        Case(name, [f32(4100, 5)], id="wrap-short-rows"),
        Case(name, [f32(2, 3000) * 10], id="long-row"),
        Case(name, [f32(2, 5000) * 10], id="split-row"),
        Case(name, [f32(3, 7, 5)], {"axis": 2}, id="rows-straddle-texels"),
        Case(name, [f32(3, 7, 5)], {"axis": 1}, id="strided"),
        Case(name, [f32(2, 3, 4, 5)], {"axis": 0}, id="axis0-rank4"),
        Case(name, [f32(6, 1)], id="size1"),
        Case(name, [NAN], id="nan-inf"),
        Case(name, [f32(4, 9) * 1e4], id="huge"),
    ]
SOFT += [
    Case("Hardmax", [np.tile(np.array([1, 3, 3, 0, 3], np.float32), (5, 1))], id="ties-across-texels"),
    Case("Hardmax", [NAN], {"axis": 0}, id="nan-axis0"),
]

ALL = CASES + ARGS + SOFT


@pytest.mark.parametrize("case", ALL, ids=ids(ALL))
def test_reduce_on_gpu(kernel_page, case):
    run_on_gpu(kernel_page, case)
