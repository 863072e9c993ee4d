"""GPU coverage for the movement, tensor and quant kernels beyond tests/ops/: tensors that wrap
texture rows (more than 4096 texels = 16384 elements), scalars, empty tensors, every Slice
clamp and Pad mode, NaN/Inf passing through copies, integer casts that wrap or saturate,
float16 rounding, and every (de)quantization granularity on larger shapes. Each case is one
plan step on the GPU, checked against the numpy reference.
"""

import numpy as np
import pytest

from tests.browser.harness import decode
from tests.browser.test_kernels import GPU_ATOL, GPU_RTOL, case_step
from tests.ops.harness import Case, assert_close, ids, run_reference

rng = np.random.default_rng(21)
INT64_MAX, INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def f32(*shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def ints(*shape, lo=-50, hi=50, dtype=np.int32):
    return rng.integers(lo, hi, shape).astype(dtype)


def i64(*values):
    return np.array(values, np.int64)


def run_on_gpu(page, cases):
    """Run cases in one page call; returns [(case, result, want)]."""
    steps = []
    for c in cases:
        step, inputs = case_step(c)
        steps.append({"step": step, "inputs": inputs})
    return page.evaluate("cases => window.runSteps(cases)", steps)


def check(page, case):
    want = run_reference(case)
    (result,) = run_on_gpu(page, [case])
    assert "error" not in result, result.get("error")
    for i, (g, w) in enumerate(zip(result["outputs"], want)):
        assert_close(decode(g), w, max(case.atol, GPU_ATOL), max(case.rtol, GPU_RTOL), f"{case} output {i} on the GPU")


BIG = f32(3, 70, 90)  # 18900 elements: wraps texture rows
SPECIAL = np.array([[0, -0.0, np.nan, np.inf], [-np.inf, 1e-40, 3.4e38, -1]], np.float32)
BOOLS = rng.random((4, 5)) > 0.5

MOVEMENT = [
    # copies
    Case("Reshape", [BIG, i64(90, -1)], id="wrap"),
    Case("Reshape", [SPECIAL, i64(-1)], id="nan-inf"),
    Case("Flatten", [f32(2, 3, 4, 5)], {"axis": 2}, id="rank4"),
    Case("Squeeze", [np.array([[2.5]], np.float32)], id="to-scalar"),
    Case("Identity", [np.array(-4, np.int64)], id="scalar"),
    Case("Identity", [ints(20001, dtype=np.int64)], id="wrap-odd-int"),
    Case("Unsqueeze", [BOOLS, i64(1)], id="bool"),
    # Transpose
    Case("Transpose", [BIG], {"perm": [2, 0, 1]}, id="wrap"),
    Case("Transpose", [np.array(3.5, np.float32)], {"perm": []}, id="scalar"),
    Case("Transpose", [f32(2, 3, 4, 5, 2, 3)], {"perm": [5, 3, 1, 0, 2, 4]}, id="rank6"),
    Case("Transpose", [ints(1, 7, 1, 3)], id="reverse-int"),
    Case("Transpose", [f32(2, 3, 5, 7)], {"perm": [0, 2, 3, 1]}, id="image-to-nhwc"),  # 3 channels: texels span pixels
    Case("Transpose", [f32(3, 2, 1, 1)], {"perm": [0, 2, 3, 1]}, id="carry-twice"),  # [3,1,1,2]: carries past 2 dims
    Case("Transpose", [f32(9, 1)], {"perm": [1, 0]}, id="one-row"),
    # Slice: clamping, negative steps, INT64 extremes, several axes
    Case("Slice", [BIG, i64(1, 5), i64(INT64_MAX, -3), i64(0, 2), i64(1, 2)], id="wrap"),
    Case("Slice", [f32(4, 5, 6, 7), i64(-1, INT64_MAX, 2), i64(INT64_MIN, 0, -100), i64(3, 1, 0), i64(-2, -1, -1)], id="rank4-neg"),
    Case("Slice", [f32(7), i64(-100), i64(100), i64(0), i64(3)], id="clamp-both"),
    Case("Slice", [f32(7), i64(6), i64(-100), i64(0), i64(-3)], id="neg-step-clamp"),
    Case("Slice", [f32(7), i64(INT64_MIN), i64(INT64_MAX), i64(0), i64(INT64_MAX)], id="huge-step"),
    Case("Slice", [f32(3, 4), i64(2), i64(2), i64(-1)], id="empty"),
    Case("Slice", [SPECIAL, i64(1, 1), i64(2, 4)], id="nan-inf"),
    # Split
    Case("Split", [f32(3, 11, 4), i64(1, 2, 0, 5, 3)], {"axis": 1}, noutputs=5, id="five"),
    Case("Split", [f32(2, 9000)], {"axis": -1, "num_outputs": 2}, noutputs=2, id="wrap"),
    Case("Split", [ints(7, 2, dtype=np.int64)], {"num_outputs": 3}, noutputs=3, id="int-uneven"),
    # Concat
    Case("Concat", [f32(2, 3, 3000), f32(2, 1, 3000), f32(2, 2, 3000)], {"axis": 1}, id="wrap"),
    Case("Concat", [f32(2, 1, 3) for _ in range(16)], {"axis": -1}, id="sixteen"),
    Case("Concat", [f32(0, 3), f32(0, 3)], {"axis": 0}, id="all-empty"),
    Case("Concat", [ints(3), ints(0), ints(2)], {"axis": 0}, id="int-1d"),
    Case("Concat", [SPECIAL, SPECIAL], {"axis": 0}, id="nan-inf"),
    # Gather / GatherElements
    Case("Gather", [f32(4, 5, 6, 7), np.array([[2, -1, 0], [-6, 5, 1]], np.int64)], {"axis": 2}, id="rank4-2d-indices"),
    Case("Gather", [f32(5000, 4), rng.integers(-5000, 5000, (4200,)).astype(np.int64)], id="wrap"),
    Case("Gather", [np.array([1.5, np.nan, -np.inf], np.float32), np.array(-2, np.int32)], id="scalar-out"),
    Case("Gather", [ints(3, 4), np.zeros((2, 0), np.int64)], {"axis": 1}, id="empty-int"),
    Case("GatherElements", [f32(3, 4, 5), rng.integers(-4, 4, (3, 6, 5)).astype(np.int64)], {"axis": 1}, id="middle"),
    Case("GatherElements", [f32(2, 9000), rng.integers(-9000, 9000, (2, 9000)).astype(np.int32)], {"axis": 1}, id="wrap"),
    Case("GatherElements", [BOOLS, rng.integers(0, 4, (2, 5)).astype(np.int64)], id="bool"),
    # Expand / Tile
    Case("Expand", [f32(1, 70, 1), i64(3, 1, 90)], id="wrap"),
    Case("Expand", [np.array(np.nan, np.float32), i64(2, 3)], id="scalar-nan"),
    Case("Expand", [ints(3, 1, dtype=np.int64), i64(2, 1, 4)], id="int-rank-up"),
    Case("Tile", [f32(3, 10, 9), i64(1, 7, 10)], id="wrap"),
    Case("Tile", [np.array(2.0, np.float32), np.zeros(0, np.int64)], id="scalar"),
    Case("Tile", [f32(2, 1, 3, 1), i64(2, 3, 1, 2)], id="rank4"),
    Case("Tile", [f32(0, 3), i64(3, 2)], id="empty"),
    # Pad: every mode, crops, axes, rank 4, rows that wrap
    *[Case("Pad", [f32(2, 3, 5, 6), i64(1, -1, 2, 3, 0, 1, -2, 2)], {"mode": m}, id=f"rank4-{m}") for m in ("constant", "reflect", "edge", "wrap")],
    *[Case("Pad", [BIG, i64(2, 3, 1, 2), None, i64(-2, -1)], {"mode": m}, id=f"wrap-{m}") for m in ("constant", "reflect", "edge", "wrap")],
    Case("Pad", [f32(3, 4), i64(9, 0, 7, 0)], {"mode": "wrap"}, id="wrap-many-periods-front"),
    Case("Pad", [f32(3, 4), i64(0, 3, 0, 3)], {"mode": "reflect"}, id="reflect-full"),
    Case("Pad", [ints(3, 4), i64(1, 1, 1, 1), np.array(-9, np.int32)], id="int-value"),
    Case("Pad", [ints(3, 4, dtype=np.int64), i64(0, 2, 1, 0), np.array(7, np.int64)], {"mode": "constant"}, id="int64-value"),
    Case("Pad", [f32(3, 4), i64(1, 1, 1, 1), np.array(np.nan, np.float32)], id="nan-value"),
    Case("Pad", [f32(2, 3), i64(-1, 0, -1, 0)], id="crop-to-empty"),
    Case("Pad", [BOOLS, i64(2, 1, 2, 3)], {"mode": "reflect"}, id="bool-reflect"),
    # DepthToSpace / SpaceToDepth
    Case("DepthToSpace", [f32(2, 16, 30, 40)], {"blocksize": 2}, id="wrap-DCR"),
    Case("DepthToSpace", [ints(1, 27, 2, 3)], {"blocksize": 3, "mode": "CRD"}, id="int-CRD"),
    Case("SpaceToDepth", [f32(2, 4, 60, 40)], {"blocksize": 2}, id="wrap"),
    Case("SpaceToDepth", [ints(2, 3, 6, 4, dtype=np.int64)], {"blocksize": 2, "mode": "CRD"}, id="int-CRD"),
    Case("DepthToSpace", [f32(1, 5, 3, 2)], {"blocksize": 1}, id="block1"),
    # Trilu
    Case("Trilu", [f32(3, 70, 90), np.array(-20, np.int64)], id="wrap"),
    Case("Trilu", [f32(2, 2, 5, 4), np.array(-9, np.int64)], {"upper": 0}, id="k-below-all"),
    Case("Trilu", [np.full((4, 4), np.nan, np.float32)], id="nan-zeroed"),
    Case("Trilu", [ints(6, 3, dtype=np.int64), np.array(1, np.int64)], {"upper": 0}, id="int-tall"),
]

FLOAT16_EDGES = np.array([65504, 65519.99, 65520, -70000, 1e-8, 3e-8, 6e-8, 5.96e-8, 2.98e-8, 6.1e-5, 6.09e-5, 1 + 2**-11,
                          1 + 3 * 2**-11, 2049, 2051, 4097, -0.0, np.nan, np.inf], np.float32)
CAST_IN = np.array([0.0, -0.0, 0.7, -0.7, 127.9, 128.5, -128.9, -129.2, 255.9, 256.1, 300.0, -300.0, 32767.6, 32768.2, -40000.0,
                    65535.5, 65536.5, 70000.0, 1e6, -1e6, 16777215.0], np.float32)

TENSOR = [
    *[Case("Cast", [CAST_IN], {"to": t}, id=f"wrap-{t}") for t in ("int8", "uint8", "int16", "uint16", "int32", "int64")],
    Case("Cast", [np.abs(CAST_IN)], {"to": "uint32"}, id="uint32"),
    Case("Cast", [np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 5.5], np.float32)], {"to": "int32"}, id="int32-nan-inf"),
    Case("Cast", [np.array([np.nan, np.inf, -np.inf, -2.5], np.float32)], {"to": "int64"}, id="int64-nan-inf"),
    Case("Cast", [FLOAT16_EDGES], {"to": "float16"}, id="float16-edges"),
    Case("Cast", [(f32(20000) * 10.0 ** rng.integers(-9, 6, 20000)).astype(np.float32)], {"to": "float16"}, id="float16-wrap"),
    Case("Cast", [np.array([200, -200, 70000, -1, 0, 65535], np.int32)], {"to": "int16"}, id="int32-int16"),
    Case("Cast", [np.array([-1, 256, 511, 0], np.int64)], {"to": "uint8"}, id="int64-uint8"),
    Case("Cast", [np.array([-5, 3, 0], np.int8)], {"to": "uint16"}, id="int8-uint16"),
    Case("Cast", [np.array([0, 255, 128], np.uint8)], {"to": "int8"}, id="uint8-int8"),
    Case("Cast", [np.array([0.0, np.nan, -0.0, 1e-30], np.float32)], {"to": "bool"}, id="bool-nan"),
    Case("Cast", [BOOLS], {"to": "int32"}, id="bool-int"),
    Case("Cast", [np.array(-7.9, np.float32)], {"to": "int8"}, id="scalar"),
    Case("Cast", [np.zeros((0,), np.int64)], {"to": "float32"}, id="empty"),
    Case("Cast", [f32(5, 4000)], {"to": "int32"}, id="wrap-int32"),
    Case("CastLike", [CAST_IN, np.zeros(0, np.uint8)], id="uint8"),
    Case("ConstantOfShape", [i64(3, 7000)], {"value": -2.5, "dtype": "float32"}, id="wrap"),
    Case("ConstantOfShape", [i64(2, 2)], {"value": 3.9, "dtype": "int32"}, id="int-truncates"),
    Case("ConstantOfShape", [i64(0)], {"value": 1.0}, id="empty"),
    Case("Range", [np.array(-3.5, np.float32), np.array(1e4, np.float32), np.array(0.5, np.float32)], id="float-wrap"),
    Case("Range", [np.array(100, np.int32), np.array(-20001, np.int32), np.array(-1, np.int32)], id="int-down-wrap"),
    Case("Range", [np.array(5, np.int64), np.array(6, np.int64), np.array(10, np.int64)], id="one"),
    Case("Dropout", [BIG], noutputs=2, id="wrap"),
    Case("Dropout", [np.array(np.nan, np.float32)], noutputs=2, id="scalar-nan"),
    Case("EyeLike", [f32(150, 130)], {"k": -3}, id="wrap"),
    Case("EyeLike", [np.zeros((3, 4), np.float32)], {"dtype": "bool", "k": 1}, id="bool"),
    Case("Shape", [f32(2, 3, 4, 5)], {"start": -3, "end": -1}, id="rank4-slice"),
    Case("Size", [BIG], id="big"),
]


def qints(dtype, *shape):
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -(2**20)), min(info.max, 2**20) + 1, shape).astype(dtype)


def scales(*shape):
    return rng.uniform(0.01, 0.5, shape).astype(np.float32)


QUANT = [
    Case("DequantizeLinear", [qints(np.int8, 2, 3, 60, 50), scales(3), qints(np.int8, 3)], id="per-axis-wrap"),
    Case("DequantizeLinear", [qints(np.uint8, 2, 3, 4, 5), scales(2), qints(np.uint8, 2)], {"axis": 0}, id="per-axis-0"),
    Case("DequantizeLinear", [qints(np.int16, 2, 3, 4, 5), scales(2, 3, 4, 2), qints(np.int16, 2, 3, 4, 2)], {"axis": 3, "block_size": 4},
         id="blocked-last-partial"),
    Case("DequantizeLinear", [qints(np.uint16, 9, 6), scales(3, 6), qints(np.uint16, 3, 6)], {"axis": 0, "block_size": 3}, id="blocked-0"),
    Case("DequantizeLinear", [qints(np.int8, 4, 8000), scales(4, 250), qints(np.int8, 4, 250)], {"axis": 1, "block_size": 32}, id="blocked-wrap"),
    Case("DequantizeLinear", [np.array(-7, np.int8), np.array(0.25, np.float32), np.array(3, np.int8)], id="scalar"),
    Case("DequantizeLinear", [qints(np.int8, 6), np.array([0.5], np.float32), np.array(2, np.int8)], id="zp-shape-mix"),
    Case("QuantizeLinear", [f32(2, 3, 60, 50), scales(3), qints(np.int8, 3)], id="per-axis-wrap"),
    Case("QuantizeLinear", [f32(9, 6, lo=-50, hi=50), scales(9, 2), qints(np.uint16, 9, 2)], {"axis": 1, "block_size": 4}, id="blocked-uint16"),
    Case("QuantizeLinear", [f32(3, 4, 5, lo=-1e4, hi=1e4), scales(5), qints(np.int16, 5)], {"axis": -1}, id="int16-saturate"),
    Case("QuantizeLinear", [np.array([-np.inf, np.inf, 1e30, -1e30], np.float32), np.array(1, np.float32), np.array(0, np.int8)], id="inf"),
    Case("QuantizeLinear", [np.array(2.5, np.float32), np.array(1, np.float32)], id="scalar-tie"),
    Case("QuantizeLinear", [np.arange(-20, 20, dtype=np.float32) + 0.5, np.array(0.5, np.float32), np.array(1, np.uint8)], id="ties"),
    Case("QuantizeLinear", [f32(3, 40, lo=-300, hi=300), np.array(0.37, np.float32), np.array(3, np.int16)], {"precision": "bfloat16"},
         id="precision-bfloat16"),
    Case("QuantizeLinear", [f32(3, 40, lo=-300, hi=300).astype(np.float16), scales(40).astype(np.float16), qints(np.int8, 40)],
         {"axis": -1}, id="float16-divides-in-float16"),
    Case("DequantizeLinear", [qints(np.int16, 3, 40), scales(3).astype(np.float16)], {"axis": 0}, id="float16-output"),
]

CASES = MOVEMENT + TENSOR + QUANT


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_gpu_matches_reference(kernel_page, case):
    check(kernel_page, case)


def test_float16_rounding_is_exact(kernel_page):
    """Cast to float16 rounds to the nearest half (ties to even, subnormals, overflow to inf) bit for bit."""
    x = np.concatenate([FLOAT16_EDGES, (f32(5000) * 10.0 ** rng.integers(-9, 6, 5000)).astype(np.float32)])
    case = Case("Cast", [x], {"to": "float16"})
    (result,) = run_on_gpu(kernel_page, [case])
    got = decode(result["outputs"][0]).astype(np.float16)
    want = run_reference(case)[0]
    assert np.array_equal(got, want, equal_nan=True), x[got != want]


@pytest.mark.parametrize("case,message", [
    (Case("Concat", [f32(1, 2) for _ in range(17)], {"axis": 0}), "16"),
    (Case("Cast", [f32(3)], {"to": "bfloat16"}), "bfloat16"),
    (Case("QuantizeLinear", [f32(3), np.array(1, np.float32)], {"output_dtype": "int4"}), "int4"),
], ids=["concat-17", "cast-bfloat16", "quantize-int4"])
def test_unsupported_is_named(kernel_page, case, message):
    (result,) = run_on_gpu(kernel_page, [case])
    assert message in result.get("error", ""), result
