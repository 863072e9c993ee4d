"""Tensor ops: shapes and sizes, dtype casts, and tensors made from shapes or scalars.

Where ONNX takes a dtype as a TensorProto enum (Cast.to, EyeLike.dtype) or a value as a tensor
attribute (ConstantOfShape.value), webflow takes a dtype name ("float32") and a plain number.
"""

import math

from .._np import np
from ..dtypes import DTYPES
from ..errors import ShapeError, UnsupportedError
from .registry import op


def _check_dtype(name, what):
    if not isinstance(name, str):
        raise UnsupportedError(f"{what}={name!r}: expected a dtype name such as 'float32', not an ONNX enum")
    if name not in DTYPES:
        raise UnsupportedError(f"{what}={name!r} is not supported (webflow dtypes: {', '.join(DTYPES)})")


@op("data", "shape", dtype="int64", shape_only=True)
def Shape(data, *, start=0, end=None):
    """The dims of data as int64, from axis `start` up to `end` (exclusive; negative counts from
    the end; both clamp to [0, rank])."""
    return np.array(data.shape[start:end], np.int64)


Shape.shape(lambda data, *, start=0, end=None: (len(range(data.rank)[start:end]),))


@op("data", "size", dtype="int64", shape_only=True)
def Size(data):
    """The number of elements, as an int64 scalar."""
    return np.array(data.size, np.int64)


Size.shape(lambda data: ())


@op("input", "output", dtype=lambda m, a: a["to"])
def Cast(x, *, to, saturate=1, round_mode="up"):
    """Convert to the dtype named by `to` (a name like "float32", not ONNX's enum). Floats to
    ints truncate toward zero; out-of-range and NaN values are undefined in ONNX and give what
    numpy gives on x86 (NaN -> INT_MIN for int32/int64). Ints wrap to narrower ints. To bool:
    nonzero (and NaN) is true. saturate and round_mode only concern float8 targets, which
    webflow does not have (nor bfloat16 or string)."""
    return x.astype(to)


@Cast.shape
def _(x, *, to, saturate=1, round_mode="up"):
    _check_dtype(to, "Cast to")
    return x.shape


@op("input target_type", "output", dtype=lambda m, a: m[1].dtype)
def CastLike(x, target_type, *, saturate=1, round_mode="up"):
    """Cast to the dtype of target_type (only its dtype is read); rules as Cast."""
    return x.astype(target_type.dtype)


CastLike.shape(lambda x, target_type, **_: x.shape)


@op("input", "output", dtype=lambda m, a: a["dtype"], host=("input",))
def ConstantOfShape(shape, *, value=0.0, dtype="float32"):
    """A tensor of the given shape filled with `value` (a plain number and a dtype name instead
    of ONNX's one-element tensor attribute). An empty shape gives a scalar."""
    return np.full([int(d) for d in shape.reshape(-1)], value, dtype=dtype)


@ConstantOfShape.shape
def _(shape, *, value=0.0, dtype="float32"):
    _check_dtype(dtype, "ConstantOfShape dtype")
    dims = shape.ints("ConstantOfShape shape")
    if shape.rank != 1 or any(d < 0 for d in dims):
        raise ShapeError(f"ConstantOfShape needs a 1-D shape of dims >= 0, got {dims}")
    return tuple(dims)


def _range_len(start, limit, delta):
    if delta == 0:
        raise ShapeError("Range delta must not be 0")
    if all(isinstance(v, int) for v in (start, limit, delta)):
        return max(-((start - limit) // delta), 0)  # exact ceil for ints
    return max(math.ceil((limit - start) / delta), 0)


@op("start limit delta", "output", host=("start", "limit", "delta"))
def Range(start, limit, delta):
    """start, start + delta, ... up to limit (exclusive); ceil((limit - start) / delta) values
    (computed in float64 for floats), each start + i * delta in start's dtype."""
    n = _range_len(start.item(), limit.item(), delta.item())
    return (np.arange(n, dtype=start.dtype) * delta.astype(start.dtype) + start).astype(start.dtype)


@Range.shape
def _(start, limit, delta):
    vals = []
    for m, what in ((start, "start"), (limit, "limit"), (delta, "delta")):
        if m.size != 1 or m.value is None:
            raise ShapeError(f"Range {what} must be a scalar known when the plan is made")
        vals.append(m.value[0])
    return (_range_len(*vals),)


@op("data ratio? training_mode?", "output mask?", dtype=lambda m, a: [m[0].dtype, "bool"])
def Dropout(data, ratio=None, training_mode=None, *, seed=None):
    """Inference only: output = data, mask all true. training_mode true is unsupported."""
    if training_mode is not None and bool(training_mode.reshape(-1)[0]):
        raise UnsupportedError("Dropout with training_mode=true (random dropout) is not supported")
    return data, np.ones(data.shape, np.bool_)


@Dropout.shape
def _(data, ratio=None, training_mode=None, *, seed=None):
    if training_mode is not None and training_mode.value is not None and any(training_mode.value):
        raise UnsupportedError("Dropout with training_mode=true (random dropout) is not supported")
    return [data.shape, data.shape]


@op("input", "output", dtype=lambda m, a: a["dtype"] or m[0].dtype, shape_only=True)
def EyeLike(x, *, dtype=None, k=0):
    """A 2-D tensor shaped like x with ones on diagonal k (k > 0: above the main one), zeros
    elsewhere; dtype is a name like "float32" (None: x's dtype), not ONNX's enum."""
    return np.eye(x.shape[0], x.shape[1], k, dtype=dtype or x.dtype)


@EyeLike.shape
def _(x, *, dtype=None, k=0):
    if dtype is not None:
        _check_dtype(dtype, "EyeLike dtype")
    if x.rank != 2:
        raise ShapeError(f"EyeLike needs a 2-D input, got rank {x.rank}")
    return x.shape
