import numpy as np
import pytest
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


@pytest.mark.parametrize("to", ["bfloat16", "float8e4m3fn", "float8e5m2", "string", "complex64"])
def test_cast_to_unsupported_dtype(to):
    with pytest.raises(UnsupportedError, match=to):
        run_reference(Case("Cast", [X], {"to": to}))


def test_cast_rejects_onnx_enum():
    with pytest.raises(UnsupportedError, match="dtype name"):
        run_reference(Case("Cast", [X], {"to": TensorProto.FLOAT}))


def test_unsupported_dtype_attributes():
    with pytest.raises(UnsupportedError, match="bfloat16"):
        run_reference(Case("ConstantOfShape", [np.array([2], np.int64)], {"dtype": "bfloat16"}))
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

