import ml_dtypes
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

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
X16, S16 = np.array([-1.925, 1.0, 3.3, -0.7], np.float16), np.array(0.2026, np.float16)

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
    # the division runs in the scale's dtype when x has it too (ONNX since opset 23); onnxruntime
    # divides float16 in float32, so numpy's float16 division is the oracle: -1.925 / 0.2026 is
    # -9.5 in float16 (-> -10, half to even) but -9.4988 in float32 (-> -9)
    Case("QuantizeLinear", [X16, S16, np.array(-25, np.int8)], onnx=False,
         expect=[np.clip(np.rint(X16 / S16).astype(np.int32) - 25, -128, 127)], id="float16-divides-in-float16"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


BAD = [
    (UnsupportedError, Case("QuantizeLinear", [f32(4), S], {"output_dtype": "float8e4m3fn"}, id="float8-onnx-spelling")),
    (UnsupportedError, Case("QuantizeLinear", [f32(4), S], {"output_dtype": "int32"}, id="int32")),
    (UnsupportedError, Case("QuantizeLinear", [f32(4), S], {"precision": "float64"}, id="precision-float64")),
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


# --- Low-precision targets: float8, float4, int4/uint4, int2/uint2 (numpy has them from
# ml_dtypes). onnxruntime can neither feed nor return them, so its oracle runs QuantizeLinear
# then Cast(-> float32), or Cast(float32 -> T) then DequantizeLinear. Where it lacks the type
# (float4, int2, uint2) the expected values are written out from the spec's formula.


def _ort(nodes, x, consts, y_dtype=np.float32):
    graph = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)],
                              [helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(np.dtype(y_dtype)), None)],
                              initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def quantize(x, s, zp, id, expect=None, **attrs):
    """QuantizeLinear to zp's dtype, checked against onnxruntime's result read back as float32 (or `expect`)."""
    if expect is None:
        nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], **attrs),
                 helper.make_node("Cast", ["q"], ["y"], to=TensorProto.FLOAT)]
        expect = _ort(nodes, x, {"s": s, "z": zp})
    return Case("QuantizeLinear", [x, s, zp], attrs, onnx=False, expect=[np.array(expect, np.float32)], id=id)


def dequantize(values, dtype, s, zp, id, expect=None, **attrs):
    """DequantizeLinear of `values` held in dtype, against onnxruntime (or `expect`)."""
    x = np.array(values, np.float32)
    zp = np.array(zp, np.float32).astype(getattr(ml_dtypes, dtype))
    if expect is None:
        nodes = [helper.make_node("Cast", ["x"], ["q"], to=helper.np_dtype_to_tensor_dtype(zp.dtype)),
                 helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], **attrs)]
        expect = _ort(nodes, x, {"s": s, "z": zp}, s.dtype)
    return Case("DequantizeLinear", [x.astype(zp.dtype), s, zp], attrs, onnx=False, expect=[np.array(expect, np.float32)], id=id)


def lp(v, dtype):
    return np.array(v, np.float32).astype(getattr(ml_dtypes, dtype))


F8 = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"]
X8 = np.concatenate([np.array([0, 0.1, 0.26, -0.7, 1.3, 20, -20, 1e9, -1e9, np.inf, -np.inf, np.nan], np.float32), f32(4, 5, lo=-40, hi=40).ravel()])
X4 = f32(3, 5, 7, lo=-2, hi=2)  # no ties and no NaN: onnxruntime rounds int4 like the spec there

LOW_CASES = [
    *[quantize(X8, S, lp(0, t), f"{t}") for t in F8],
    *[quantize(X8, S, lp(0, t), f"{t}-no-saturate", saturate=0) for t in F8],
    quantize(X8[:20].reshape(4, 5), scale(5), lp(np.zeros(5), "float8_e4m3fn"), "float8-per-axis"),
    quantize(X8[:20].reshape(4, 5), scale(4, 2), lp(np.zeros((4, 2)), "float8_e5m2"), "float8-blocked", axis=1, block_size=3),
    quantize(X8, S, lp(1.5, "float8_e4m3fn"), "float8-zero-point", expect=np.clip(np.float32(1.5) + X8 / S, -448, 448).astype(ml_dtypes.float8_e4m3fn)),
    quantize(X4, S, lp(-3, "int4"), "int4"),
    quantize(X4, S, lp(2, "uint4"), "uint4"),
    quantize(X4, scale(5), lp(ints(np.int8, 5) % 8, "int4"), "int4-per-axis"),
    quantize(X4, scale(3, 5, 3), lp(np.zeros((3, 5, 3)), "uint4"), "uint4-blocked", axis=-1, block_size=3),
    quantize(TIES, np.array(1, np.float32), lp(0, "int4"), "int4-half-to-even", expect=[-4, -2, -2, 0, 0, 2, 2, 4, 0, -1]),
    quantize(TIES * 3, np.array(1, np.float32), lp(1, "uint4"), "uint4-saturates", expect=[0, 0, 0, 0, 3, 5, 9, 11, 2, 0]),
    quantize(np.array([0, 2.5, 4.8, 8.6, -4, -3, 1, 2, -0.0, -2.5, -4.8, -8.6], np.float32), np.array(2, np.float32), lp(0, "int2"), "int2",
             expect=[0, 1, 1, 1, -2, -2, 0, 1, 0, -1, -2, -2]),
    quantize(np.array([0, 2.5, 4.8, -3, 1, 2, 6, 7], np.float32), np.array(2, np.float32), lp(1, "uint2"), "uint2",
             expect=[1, 2, 3, 0, 1, 2, 3, 3]),
    quantize(np.array([0, 2.5, 4.8, 8.6, -30, -20, 6, 9, -0.0, 1.1, np.inf, 1e9], np.float32), np.array(2, np.float32), lp(0, "float4_e2m1fn"),
             "float4", expect=[0, 1, 2, 4, -6, -6, 3, 4, 0, 0.5, 6, 6]),
    Case("QuantizeLinear", [np.array([2049, 3.4998, 1, 7e4], np.float32), np.array(1, np.float32), np.array(0, np.int16)], {"precision": "float16"},
         onnx=False, expect=[np.array([2048, 4, 1, 32767], np.float32)], id="precision-float16"),  # in float16: 2049 -> 2048, 3.4998 -> 3.5; onnxruntime ignores it
    Case("QuantizeLinear", [X4, S], {"output_dtype": "int4"}, onnx=False, expect=[_ort(
        [helper.make_node("QuantizeLinear", ["x", "s"], ["q"], output_dtype=TensorProto.INT4),
         helper.make_node("Cast", ["q"], ["y"], to=TensorProto.FLOAT)], X4, {"s": S})], id="output_dtype-int4"),
    *[dequantize([0, 0.5, 1, 448 if "e4m3fn" == t[7:] else 240, -104, 3.25], t, S, 0, f"{t}") for t in F8],
    dequantize([0, 0.5, 1, 448, -104, 3.25], "float8_e4m3fn", S.astype(np.float16), 1.5, "float8-float16-scale-zero-point",
               expect=((np.array([0, 0.5, 1, 448, -104, 3.25]) - 1.5) * float(S.astype(np.float16))).astype(np.float16)),  # onnxruntime wants zero point 0
    dequantize(np.arange(-8, 8), "int4", S, -3, "int4"),
    dequantize(np.arange(16), "uint4", S, 9, "uint4"),
    dequantize(np.arange(-8, 7).reshape(3, 5), "int4", scale(5), [1, -2, 0, 7, -8], "int4-per-axis", axis=1),
    dequantize(np.arange(4), "uint2", np.array(2, np.float32), 1, "uint2", expect=[-2, 0, 2, 4]),
    dequantize([0, 1, -1, -2], "int2", np.array(2, np.float32), 1, "int2", expect=[-2, 0, -4, -6]),
    dequantize([0, 1, -1, 1.5, -4, 6], "float4_e2m1fn", np.array(2, np.float32), 0, "float4", expect=[0, 2, -2, 3, -8, 12]),
    Case("DequantizeLinear", [lp([0, 1, -1, 7], "int4"), np.array(0.5, np.float32), lp([1], "int4")], onnx=False,
         expect=[np.array([-0.5, 0, -1, 3], np.float32)], id="zero-point-shape-1-scalar-scale"),
    Case("DequantizeLinear", [lp([0, 1, -1, 7], "int4"), lp(0.7, "bfloat16")], onnx=False,
         expect=[np.array([0, 0.69921875, -0.69921875, 4.90625], np.float32)], id="bfloat16-scale"),  # 7 * 0.69921875 rounds in bfloat16
    Case("DequantizeLinear", [lp([0, 1, -1, 7], "int4"), np.array(0.7, np.float32)], {"output_dtype": "bfloat16"}, onnx=False,
         expect=[np.array([0, 0.69921875, -0.69921875, 4.90625], np.float32)], id="output_dtype-bfloat16"),
    Case("DequantizeLinear", [lp([0, 1, -1, 7], "int4"), lp([0.25, 8], "float8_e8m0fnu"), lp([1, -1], "int4")], {"axis": 0, "block_size": 2,
         "output_dtype": "float32"}, onnx=False, expect=[np.array([-0.25, 0, 0, 64], np.float32)], id="e8m0-blocked-scale"),
]


@pytest.mark.parametrize("case", LOW_CASES, ids=ids(LOW_CASES))
def test_low_precision(case):
    check_reference(case)


def test_low_precision_rejected():
    with pytest.raises(UnsupportedError, match="float6_e2m3fn"):
        run_reference(Case("QuantizeLinear", [f32(4), S], {"output_dtype": "float6_e2m3fn"}))
    with pytest.raises(UnsupportedError, match="float8_e8m0fnu"):  # a scale dtype, not an output
        run_reference(Case("DequantizeLinear", [lp([1, 2], "int4"), lp(0.5, "float8_e8m0fnu")]))
