import ml_dtypes
import numpy as np
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from tests.ops.harness import Case, check_reference, ids, run_reference
from webflow.errors import ShapeError, UnsupportedError
from webflow.ops import Meta, get

rng = np.random.default_rng(2)


def f32(*shape):
    return rng.uniform(-3, 3, shape).astype(np.float32)


def scalar(v, dtype):
    return np.array(v, dtype)


X = f32(2, 3, 5)
MIXED = np.array([0.0, -0.0, 0.4, -0.6, 1.5, -2.5, 2.999, -7.99, 100.7, -100.7], np.float32)
SPECIAL = np.array([0.0, -0.0, 1.5, -2.5, np.inf, -np.inf, np.nan], np.float32)


def cast(x, to, id):
    return Case("Cast", [x], {"to": to}, onnx_attrs={"to": helper.np_dtype_to_tensor_dtype(np.dtype(to))}, id=id)


def const_of_shape(shape, value, dtype, id):
    tensor = helper.make_tensor("value", helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), [1], [value])
    return Case("ConstantOfShape", [np.array(shape, np.int64)], {"value": value, "dtype": dtype},
                onnx_attrs={"value": tensor}, id=id)


CASES = [
    # Shape, Size
    Case("Shape", [X]),
    Case("Shape", [X], {"start": 1}, id="start"),
    Case("Shape", [X], {"end": -1}, id="end-neg"),
    Case("Shape", [X], {"start": -10, "end": 10}, id="clamped"),
    Case("Shape", [X], {"start": 2, "end": 1}, id="start-after-end"),
    Case("Shape", [np.zeros((3, 0), np.int32)], id="empty"),
    Case("Shape", [np.array(1.0, np.float32)], id="scalar"),
    Case("Size", [X]),
    Case("Size", [np.zeros((4, 0, 2), np.bool_)], id="empty"),
    Case("Size", [np.array(5, np.int64)], id="scalar"),
    # Cast
    cast(MIXED, "int32", "float-int32-truncates"),
    cast(MIXED, "int64", "float-int64"),
    cast(MIXED, "int8", "float-int8"),
    cast(np.abs(MIXED), "uint8", "float-uint8"),
    cast(SPECIAL, "bool", "float-bool"),
    cast(SPECIAL, "float16", "float-float16"),
    cast(SPECIAL.astype(np.float16), "float32", "float16-float32"),
    cast(SPECIAL.astype(np.float64), "float32", "float64-float32"),
    cast(np.array([200, -200, 127, -129, 0], np.int16), "int8", "int16-int8-wraps"),
    cast(np.array([[3, -4], [0, 7]], np.int64), "float32", "int64-float32"),
    cast(np.array([0, 255, 17], np.uint8), "int64", "uint8-int64"),
    cast(np.array([0, 2, -3], np.int32), "bool", "int-bool"),
    cast(np.array([True, False, True]), "float32", "bool-float"),
    cast(np.array([True, False]), "int64", "bool-int"),
    cast(np.zeros((0, 3), np.float32), "int64", "empty"),
    cast(X, "float32", "same"),
    Case("CastLike", [MIXED, np.zeros(1, np.int64)], id="to-int64"),
    Case("CastLike", [np.array([1, -2, 3], np.int32), np.zeros((2, 2), np.float16)], id="to-float16"),
    Case("CastLike", [SPECIAL, np.zeros(0, np.bool_)], id="to-bool"),
    # ConstantOfShape
    Case("ConstantOfShape", [np.array([2, 3], np.int64)], onnx_attrs={}, id="default"),
    const_of_shape([3, 1, 4], 2.5, "float32", "float"),
    const_of_shape([5], 7, "int64", "int64"),
    const_of_shape([2, 2], -3, "int32", "int32"),
    const_of_shape([2, 3], True, "bool", "bool"),
    const_of_shape([], 1.25, "float32", "scalar"),
    const_of_shape([4, 0], 1.0, "float32", "empty"),
    # Range
    Case("Range", [scalar(3, np.int64), scalar(9, np.int64), scalar(3, np.int64)], id="int"),
    Case("Range", [scalar(10, np.int32), scalar(4, np.int32), scalar(-2, np.int32)], id="int-down"),
    Case("Range", [scalar(-5, np.int64), scalar(6, np.int64), scalar(4, np.int64)], id="int-uneven"),
    Case("Range", [scalar(0.5, np.float32), scalar(3.7, np.float32), scalar(0.3, np.float32)], id="float"),
    Case("Range", [scalar(2.0, np.float32), scalar(-1.0, np.float32), scalar(-0.7, np.float32)], id="float-down"),
    Case("Range", [scalar(4, np.int64), scalar(1, np.int64), scalar(1, np.int64)], id="empty"),
    Case("Range", [scalar(0.0, np.float64), scalar(1.0, np.float64), scalar(0.1, np.float64)], id="float64"),
    # Dropout
    Case("Dropout", [X], noutputs=2, id="mask"),
    Case("Dropout", [X, scalar(0.3, np.float32)], id="ratio"),
    Case("Dropout", [X, scalar(0.3, np.float32), np.array(False)], noutputs=2, id="training-false"),
    Case("Dropout", [np.zeros((0, 3), np.float32)], noutputs=2, id="empty"),
    # EyeLike
    Case("EyeLike", [f32(3, 5)]),
    Case("EyeLike", [f32(4, 3)], {"k": 2}, id="k2"),
    Case("EyeLike", [f32(4, 3)], {"k": -1}, id="k-1"),
    Case("EyeLike", [f32(4, 3)], {"k": 7}, id="k-beyond"),
    Case("EyeLike", [f32(3, 4)], {"dtype": "int32"}, onnx_attrs={"dtype": TensorProto.INT32}, id="int32"),
    Case("EyeLike", [np.zeros((2, 5), np.int64)], id="int-input"),
    Case("EyeLike", [np.zeros((3, 3), np.int32)], {"dtype": "float32", "k": -2}, onnx_attrs={"dtype": TensorProto.FLOAT, "k": -2}, id="int-to-float"),
    Case("EyeLike", [f32(0, 3)], id="empty"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


@pytest.mark.parametrize("to", ["float8e4m3fn", "float6_e2m3fn", "string", "complex64"])  # ONNX-style spelling too: webflow names are numpy's
def test_cast_to_unsupported_dtype(to):
    with pytest.raises(UnsupportedError, match=to):
        run_reference(Case("Cast", [X], {"to": to}))


def test_cast_rejects_onnx_enum():
    with pytest.raises(UnsupportedError, match="dtype name"):
        run_reference(Case("Cast", [X], {"to": TensorProto.FLOAT}))


def test_unsupported_dtype_attributes():
    with pytest.raises(UnsupportedError, match="float6_e3m2fn"):
        run_reference(Case("ConstantOfShape", [np.array([2], np.int64)], {"dtype": "float6_e3m2fn"}))
    with pytest.raises(UnsupportedError, match="float8"):
        run_reference(Case("EyeLike", [f32(2, 2)], {"dtype": "float8e4m3fn"}))


def test_dropout_training_mode_is_unsupported():
    d = get("Dropout")
    metas = [Meta((2, 3), "float32"), None, Meta((), "bool", [True])]
    with pytest.raises(UnsupportedError, match="training_mode"):
        d.shape_rule(*metas, **d.attrs)  # known at plan time: fails when planned
    with pytest.raises(UnsupportedError, match="training_mode"):
        run_reference(Case("Dropout", [X, None, np.array(True)]))  # known only at run time: fails when run


def test_bad_shapes():
    with pytest.raises(ShapeError, match="delta"):
        run_reference(Case("Range", [scalar(1, np.int64), scalar(5, np.int64), scalar(0, np.int64)]))
    with pytest.raises(ShapeError):
        run_reference(Case("ConstantOfShape", [np.array([2, -1], np.int64)]))
    with pytest.raises(ShapeError):
        run_reference(Case("EyeLike", [f32(2, 2, 2)]))


# --- Low-precision dtypes (bfloat16, float8, float4, int4, int2; numpy has them from ml_dtypes).
# onnxruntime can neither feed nor return them, so its oracle is a two-node model: Cast(x -> T)
# then Cast(T -> float32). Where it lacks T (float4, float8_e8m0fnu, int2) or leaves the spec
# (it rounds int4 ties away from zero), the expected values are written out from ONNX's tables,
# or come from torch.

F32_MAX = np.finfo(np.float32).max
WIDE = np.concatenate([np.array([0.0, -0.0, 0.3, -0.47, 1.1, 7.5, -8.6, 9.0, 300, 448, 460, 465, 500, 5e4, 6e4, 1e6, -1e6,
                                 1e-7, -1e-7, 0.0039, -0.0039, np.nan, np.inf, -np.inf], np.float32), f32(23) * 10])


def ort_via(x, to, **attrs):
    """x cast to `to` and back to float32 by onnxruntime (opset 23)."""
    tp = helper.np_dtype_to_tensor_dtype(np.dtype(to))
    nodes = [helper.make_node("Cast", ["x"], ["t"], to=tp, **attrs), helper.make_node("Cast", ["t"], ["y"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(nodes, "via", [helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 11
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def low(x, to, id, expect=None, **attrs):
    """A Cast case to a low-precision dtype, checked against onnxruntime (or `expect`)."""
    want = ort_via(x, to, **attrs) if expect is None else np.array(expect, np.float32)
    return Case("Cast", [x], {"to": to, **attrs}, onnx=False, expect=[want], id=id)


def lp(values, dtype):
    """Values made exactly representable in a low-precision dtype, by ml_dtypes (without saturating)."""
    return np.array(values, np.float32).astype(getattr(ml_dtypes, dtype))


with np.errstate(over="ignore"):
    WIDE16 = WIDE.astype(np.float16)  # 1e6 -> inf


F8 = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"]
INT4_TIES = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 6.5, 7.5, -8.5], np.float32)
E8M0_IN = np.array([0.0, -0.0, 0.124, 0.25, 0.26, 1.1, 1.5, 1.9, 3.0, 2.0**-127, 2.0**-130, 2.0**126 * 1.5, F32_MAX, np.inf, np.nan], np.float32)
E8M0_RANGE = np.array([0.124, 0.25, 0.26, 1.1, 1.5, 1.6, 2.9, 3.0, 5.9, 1000.0, 3.3e-30, 2.0**-120 * 1.7, 2.0**126 * 1.2], np.float32)
FLOAT4_VALUES = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]  # codes 0..15 (ONNX float4 table)

LOW_CASES = [
    *[low(WIDE, t, f"float-{t}") for t in F8],
    *[low(WIDE, t, f"float-{t}-no-saturate", saturate=0) for t in F8],
    low(WIDE16, "float8_e4m3fn", "float16-float8_e4m3fn"),
    low(WIDE16, "float8_e5m2", "float16-float8_e5m2-no-saturate", saturate=0),
    low(WIDE.astype(np.float64), "float8_e5m2fnuz", "float64-float8_e5m2fnuz"),
    low(np.array([0, 1, -3, 17, 300, -1000, 70000], np.int32), "float8_e4m3fn", "int32-float8_e4m3fn"),
    low(WIDE, "bfloat16", "float-bfloat16"),
    low(WIDE.astype(np.float64) * 1.0001, "bfloat16", "float64-bfloat16"),
    low(np.array([1, -7, 255, 257, 65535, 1 << 24, (1 << 24) + 1], np.int64), "bfloat16", "int64-bfloat16"),
    low(np.array([True, False]), "bfloat16", "bool-bfloat16"),
    low(np.array([0.0, 0.3, 1.2, 2.7, -3.2, 6.9, 7.2, -8.3, 9.0, -9.0, 15.2, 16.0, 100.0, -100.0], np.float32), "int4", "float-int4-wraps"),
    low(np.array([0.0, 0.3, 1.2, 2.7, 15.2, 16.0, -1.0, -7.2, 100.0], np.float32), "uint4", "float-uint4-wraps"),
    low(np.array([1, 200, -100, 7, 8, -9, 16], np.int32), "int4", "int32-int4-wraps"),
    low(np.array([1, 200, 15, 16, 255], np.uint8), "uint4", "uint8-uint4-wraps"),
    low(INT4_TIES, "int4", "float-int4-half-to-even", expect=[0, 2, 2, -0, -2, -2, 6, -8, -8]),  # 7.5 -> 8 wraps; onnxruntime rounds ties away
    low(INT4_TIES, "uint4", "float-uint4-half-to-even", expect=[0, 2, 2, 0, 14, 14, 6, 8, 8]),
    low(np.array([-3, -2, -1, 0, 1, 2, 3, 0.5, 1.5, -1.5, 2.6, 4.4], np.float32), "int2", "float-int2",
        expect=[1, -2, -1, 0, 1, -2, -1, 0, -2, -2, -1, 0]),
    low(np.array([-3, -1, 0, 1, 2, 3, 4, 2.5, 3.5, 5], np.float32), "uint2", "float-uint2", expect=[1, 3, 0, 1, 2, 3, 0, 2, 0, 1]),
    low(np.array([7, -6, 2, 129], np.int16), "int2", "int16-int2", expect=[-1, -2, -2, 1]),
    low(np.array([0.0, -0.0, 0.25, 0.26, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 5.5, 7.0, -0.74, -2.6, -5.1, 1e9, np.inf, -np.inf, np.nan], np.float32),
        "float4_e2m1fn", "float-float4", expect=[0, -0.0, 0, 0.5, 1, 1, 2, 2, 4, 4, 6, 6, -0.5, -3, -6, 6, 6, -6, -0.0]),
    low(np.array([0.25, 6.5, -7.0, np.inf], np.float32), "float4_e2m1fn", "float4-saturate-attr-ignored", saturate=0, expect=[0, 6, -6, 6]),
    low(np.array([3.0, -9.0, 0.6], np.float16), "float4_e2m1fn", "float16-float4", expect=[3, -6, 0.5]),
    low(E8M0_IN, "float8_e8m0fnu", "float-e8m0-up-saturate",
        expect=[2.0**-127, 2.0**-127, 0.125, 0.25, 0.5, 2, 2, 2, 4, 2.0**-127, 2.0**-127, 2.0**127, 2.0**127, 2.0**127, np.nan]),
    low(E8M0_IN, "float8_e8m0fnu", "float-e8m0-down", round_mode="down",
        expect=[2.0**-127, 2.0**-127, 0.0625, 0.25, 0.25, 1, 1, 1, 2, 2.0**-127, 2.0**-127, 2.0**126, 2.0**127, 2.0**127, np.nan]),
    low(E8M0_IN, "float8_e8m0fnu", "float-e8m0-nearest-no-saturate", round_mode="nearest", saturate=0,
        expect=[np.nan, np.nan, 0.125, 0.25, 0.25, 1, 2, 2, 4, 2.0**-127, np.nan, 2.0**127, np.nan, np.nan, np.nan]),
    low(E8M0_RANGE, "float8_e8m0fnu", "float-e8m0-nearest-vs-torch", round_mode="nearest",
        expect=torch.from_numpy(E8M0_RANGE).to(torch.float8_e8m0fnu).float().numpy()),
    low(E8M0_RANGE[:10].astype(np.float16), "float8_e8m0fnu", "float16-e8m0-up",
        expect=[0.125, 0.25, 0.5, 2, 2, 2, 4, 4, 8, 1024]),
    # from low-precision dtypes: exact to floats, then numpy's rules (ints wrap)
    *[Case("Cast", [lp(WIDE, t)], {"to": "float32"}, onnx=False, expect=[ort_via(WIDE, t, saturate=0)], id=f"{t}-float32") for t in F8],
    Case("Cast", [lp(WIDE, "float8_e4m3fn")], {"to": "float16"}, onnx=False, expect=[ort_via(WIDE, "float8_e4m3fn", saturate=0)], id="float8-float16"),
    Case("Cast", [lp(WIDE, "float8_e5m2")], {"to": "bfloat16"}, onnx=False, expect=[ort_via(WIDE, "float8_e5m2", saturate=0)], id="float8-bfloat16"),
    Case("Cast", [lp(WIDE, "float8_e5m2")], {"to": "float8_e4m3fn"}, onnx=False,
         expect=[ort_via(ort_via(WIDE, "float8_e5m2", saturate=0), "float8_e4m3fn")], id="float8_e5m2-float8_e4m3fn"),
    Case("Cast", [lp(WIDE, "bfloat16")], {"to": "float32"}, onnx=False,
         expect=[torch.from_numpy(WIDE).to(torch.bfloat16).float().numpy()], id="bfloat16-float32"),
    Case("Cast", [lp([1.9, -2.9, 300.0], "bfloat16")], {"to": "int32"}, onnx=False, expect=[np.array([1, -2, 300], np.int32)], id="bfloat16-int32"),
    Case("Cast", [lp([0, 1, 7, -8, -1], "int4")], {"to": "float32"}, onnx=False, expect=[np.array([0, 1, 7, -8, -1], np.float32)], id="int4-float32"),
    Case("Cast", [lp([0, 1, 7, -8, -1], "int4")], {"to": "uint8"}, onnx=False, expect=[np.array([0, 1, 7, 248, 255], np.uint8)], id="int4-uint8-wraps"),
    Case("Cast", [lp([0, 1, 7, -8, -1], "int4")], {"to": "uint4"}, onnx=False, expect=[np.array([0, 1, 7, 8, 15], np.float32)], id="int4-uint4-wraps"),
    Case("Cast", [lp([0, 3, 15], "uint4")], {"to": "int2"}, onnx=False, expect=[np.array([0, -1, -1], np.float32)], id="uint4-int2-wraps"),
    Case("Cast", [lp([0, 1, -1, -2], "int2")], {"to": "float16"}, onnx=False, expect=[np.array([0, 1, -1, -2], np.float16)], id="int2-float16"),
    Case("Cast", [np.arange(16, dtype=np.uint8).view(ml_dtypes.float4_e2m1fn)], {"to": "float32"}, onnx=False,
         expect=[np.array(FLOAT4_VALUES, np.float32)], id="float4-float32-all-codes"),
    Case("Cast", [np.array([0, 1, 127, 200, 254, 255], np.uint8).view(ml_dtypes.float8_e8m0fnu)], {"to": "float32"}, onnx=False,
         expect=[np.array([2.0**-127, 2.0**-126, 1, 2.0**73, 2.0**127, np.nan], np.float32)], id="e8m0-float32"),
    Case("Cast", [np.zeros((0, 3), ml_dtypes.float8_e4m3fn)], {"to": "float32"}, onnx=False, expect=[np.zeros((0, 3), np.float32)], id="empty-float8"),
    # CastLike reads only target_type's dtype; saturate and round_mode as Cast
    Case("CastLike", [WIDE, np.zeros(0, ml_dtypes.float8_e4m3fn)], onnx=False, expect=[ort_via(WIDE, "float8_e4m3fn")], id="like-float8"),
    Case("CastLike", [WIDE, np.zeros(2, ml_dtypes.float8_e5m2)], {"saturate": 0}, onnx=False,
         expect=[ort_via(WIDE, "float8_e5m2", saturate=0)], id="like-float8-no-saturate"),
    Case("CastLike", [np.array([1, 200, -100], np.int32), np.zeros(1, ml_dtypes.int4)], onnx=False,
         expect=[np.array([1, -8, -4], np.float32)], id="like-int4"),
    Case("CastLike", [E8M0_IN[:9], np.zeros(1, ml_dtypes.float8_e8m0fnu)], {"round_mode": "down"}, onnx=False,
         expect=[np.array([2.0**-127, 2.0**-127, 0.0625, 0.25, 0.25, 1, 1, 1, 2], np.float32)], id="like-e8m0-down"),
    # tensors made in a low-precision dtype
    Case("ConstantOfShape", [np.array([2, 3], np.int64)], {"value": 1.3, "dtype": "bfloat16"}, onnx=False,
         expect=[np.full((2, 3), 1.296875, np.float32)], id="bfloat16"),
    Case("EyeLike", [f32(3, 4)], {"dtype": "int4", "k": 1}, onnx=False, expect=[np.eye(3, 4, 1, dtype=np.float32)], id="int4"),
]


@pytest.mark.parametrize("case", LOW_CASES, ids=ids(LOW_CASES))
def test_low_precision(case):
    check_reference(case)


@pytest.mark.parametrize("case", [c for c in LOW_CASES if c.op == "Cast" and c.inputs[0].dtype == np.float32][:6], ids=str)
def test_low_precision_outputs_are_the_target_dtype(case):
    assert run_reference(case)[0].dtype == np.dtype(case.attrs["to"])


def test_cast_attribute_values():
    with pytest.raises(UnsupportedError, match="round_mode"):
        run_reference(Case("Cast", [X], {"to": "float8_e8m0fnu", "round_mode": "even"}))
    with pytest.raises(UnsupportedError, match="saturate"):
        run_reference(Case("CastLike", [X, np.zeros(1, ml_dtypes.float8_e4m3fn)], {"saturate": 2}))


def test_low_precision_needs_ml_dtypes(monkeypatch):
    import webflow.dtypes

    monkeypatch.setattr(webflow.dtypes, "ml_dtypes", None)
    with pytest.raises(UnsupportedError, match="bfloat16.*ml_dtypes"):
        run_reference(Case("Cast", [X], {"to": "bfloat16"}))
    with pytest.raises(UnsupportedError, match="int4.*ml_dtypes"):
        run_reference(Case("ConstantOfShape", [np.array([2], np.int64)], {"value": 1, "dtype": "int4"}))
