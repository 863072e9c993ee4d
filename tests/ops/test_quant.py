import numpy as np
import pytest

from tests.ops.harness import Case, check_reference, ids, run_reference
from webflow.errors import ShapeError, UnsupportedError

rng = np.random.default_rng(4)


def ints(dtype, *shape):
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -(2**20)), min(info.max, 2**20) + 1, shape).astype(dtype)


def f32(*shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def scale(*shape):
    return rng.uniform(0.01, 0.5, shape).astype(np.float32)


S = np.array(0.05, np.float32)
TIES = np.array([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49, -0.51], np.float32)

CASES = [
    Case("DequantizeLinear", [ints(np.int8, 3, 5, 7), S, np.array(-3, np.int8)], id="int8-per-tensor"),
    Case("DequantizeLinear", [ints(np.uint8, 3, 5, 7), S], id="uint8-no-zero-point"),
    Case("DequantizeLinear", [ints(np.uint8, 3, 5, 7), np.array([0.3], np.float32), np.array([128], np.uint8)], id="uint8-shape-1"),
    Case("DequantizeLinear", [ints(np.int16, 3, 5, 7), S, np.array(100, np.int16)], id="int16"),
    Case("DequantizeLinear", [ints(np.uint16, 3, 5, 7), S, np.array(40000, np.uint16)], id="uint16"),
    Case("DequantizeLinear", [ints(np.int32, 3, 5, 7), S], id="int32"),
    Case("DequantizeLinear", [ints(np.int8, 3, 5, 7), scale(5), ints(np.int8, 5)], id="per-axis"),
    Case("DequantizeLinear", [ints(np.uint8, 3, 5, 7), scale(7), ints(np.uint8, 7)], {"axis": -1}, id="per-axis-negative"),
    Case("DequantizeLinear", [ints(np.int8, 3, 5, 7), scale(3)], {"axis": 0}, id="per-axis-0"),
    Case("DequantizeLinear", [ints(np.int8, 3, 5, 7), scale(3, 2, 7), ints(np.int8, 3, 2, 7)], {"block_size": 3}, id="blocked"),
    Case("DequantizeLinear", [ints(np.uint8, 3, 5, 7), scale(3, 5, 3), ints(np.uint8, 3, 5, 3)], {"axis": -1, "block_size": 3}, id="blocked-last"),
    Case("DequantizeLinear", [ints(np.int8, 3, 5, 7), S], {"output_dtype": "float32"}, id="output_dtype",
         onnx_attrs={}),  # opset 21 has no output_dtype; the scale's float32 is what it says
    Case("DequantizeLinear", [ints(np.int8, 3, 5, 7), S.astype(np.float16), np.array(2, np.int8)], id="float16-scale"),
    Case("DequantizeLinear", [ints(np.int8, 0, 5), S], id="empty"),
    Case("QuantizeLinear", [f32(3, 5, 7), S], id="uint8-default"),
    Case("QuantizeLinear", [f32(3, 5, 7), S, np.array(-7, np.int8)], id="int8"),
    Case("QuantizeLinear", [f32(3, 5, 7), S, np.array(200, np.uint8)], id="uint8-saturate"),
    Case("QuantizeLinear", [TIES, np.array(1, np.float32), np.array(0, np.int8)], id="half-to-even"),
    Case("QuantizeLinear", [TIES, np.array(1, np.float32), np.array(3, np.uint8)], id="half-to-even-zero-point"),
    Case("QuantizeLinear", [np.array([1e6, -1e6, 127.4, 127.6, -128.6, 0], np.float32), np.array(1, np.float32), np.array(0, np.int8)], id="saturate"),
    Case("QuantizeLinear", [f32(3, 5, 7, lo=-300, hi=300), S, np.array(-5, np.int16)], id="int16"),
    Case("QuantizeLinear", [f32(3, 5, 7, lo=-100, hi=3000), S, np.array(1000, np.uint16)], id="uint16"),
    Case("QuantizeLinear", [f32(3, 5, 7), scale(5), ints(np.int8, 5)], id="per-axis"),
    Case("QuantizeLinear", [f32(3, 5, 7), scale(7), ints(np.uint8, 7)], {"axis": -1}, id="per-axis-negative"),
    Case("QuantizeLinear", [f32(3, 5, 7), scale(3, 2, 7), ints(np.int8, 3, 2, 7)], {"block_size": 3}, id="blocked"),
    Case("QuantizeLinear", [f32(3, 5, 7), scale(3, 5, 2), ints(np.uint8, 3, 5, 2)], {"axis": 2, "block_size": 4}, id="blocked-last"),
    Case("QuantizeLinear", [f32(3, 5, 7), S], {"output_dtype": "int8"}, id="output_dtype",
         onnx_attrs={"output_dtype": 3}),  # webflow names the dtype; ONNX uses the TensorProto enum (3 = int8)
    Case("QuantizeLinear", [f32(3, 5, 7), S, np.array(1, np.int8)], {"saturate": 0}, id="saturate-attr-ignored-for-ints",
         onnx_attrs={}),  # saturate concerns float8 only; onnxruntime rejects it on int8
    Case("QuantizeLinear", [f32(0, 5), S], id="empty"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


BAD = [
    (UnsupportedError, Case("QuantizeLinear", [f32(4), S], {"output_dtype": "float8e4m3fn"}, id="float8")),
    (UnsupportedError, Case("QuantizeLinear", [f32(4), S], {"output_dtype": "int4"}, id="int4")),
    (UnsupportedError, Case("DequantizeLinear", [f32(4), S], id="float-input")),
    (UnsupportedError, Case("DequantizeLinear", [ints(np.int8, 4), S], {"output_dtype": "int32"}, id="int-output")),
    (ShapeError, Case("QuantizeLinear", [f32(4), S, np.array(0, np.int8)], {"output_dtype": "uint8"}, id="output_dtype-vs-zero-point")),
    (ShapeError, Case("DequantizeLinear", [ints(np.int8, 4), S, np.array(0, np.uint8)], id="zero-point-dtype")),
    (ShapeError, Case("DequantizeLinear", [ints(np.int8, 3, 5), scale(3)], id="per-axis-length")),
    (ShapeError, Case("DequantizeLinear", [ints(np.int8, 3, 5), scale(3), ints(np.int8, 5)], {"axis": 0}, id="zero-point-shape")),
    (ShapeError, Case("QuantizeLinear", [f32(3, 5), scale(3, 2)], {"block_size": 2}, id="blocked-count")),
    (ShapeError, Case("QuantizeLinear", [f32(3, 5), scale(3, 2)], {"axis": 3}, id="axis")),
]


@pytest.mark.parametrize("error,case", BAD, ids=[c.id for _, c in BAD])
def test_rejected_at_plan_time(error, case):
    with pytest.raises(error):
        run_reference(case)
