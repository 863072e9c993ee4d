"""Tensor ops: shapes and sizes, dtype casts, and tensors made from shapes or scalars.

Where ONNX takes a dtype as a TensorProto enum (Cast.to, EyeLike.dtype) or a value as a tensor
attribute (ConstantOfShape.value), webflow takes a dtype name ("float32", "float8_e4m3fn": see
dtypes.py) and a plain number.
"""

import math

from .._np import np
from ..dtypes import DTYPES, FLOATS, int_range, ml_dtypes, numpy_dtype
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


ROUND_MODES = ("up", "down", "nearest")


def cast_array(x, to, saturate=1, round_mode="up"):
    """x converted to the dtype named `to` by ONNX Cast's rules (see Cast)."""
    dt = numpy_dtype(to)
    src, dst = DTYPES[x.dtype.name], DTYPES[to]
    if src.lib == "ml_dtypes":
        # every low-precision value is exact in float32 or int8, whose numpy rules then apply
        x = x.astype(np.float32 if src.kind == "float" else np.int8)
    if dst.lib == "numpy" or to == "bfloat16":
        return x.astype(dt)  # floats round to nearest even and overflow to inf
    if dst.kind != "float":
        # 4- and 2-bit ints: round half to even, then keep the low bits as any narrower int does
        if src.kind == "float":
            x = np.rint(x.astype(np.float64))
            x = np.where(np.isfinite(x), x, 0)  # undefined in ONNX
        lo, hi = int_range(to)
        return ((x.astype(np.int64) - lo) % (hi - lo + 1) + lo).astype(np.int8).astype(dt)
    v = x if x.dtype.name in FLOATS else x.astype(np.float64)
    if to == "float8_e8m0fnu":
        return _to_e8m0(v, saturate, round_mode, dt)
    top = float(ml_dtypes.finfo(dt).max)
    if to == "float4_e2m1fn":
        # no inf or NaN: always saturates. NaN gives -0 as in ONNX's reference and test data
        # (its float4 note says 6: the value is unspecified)
        return np.where(np.isnan(v), -0.0, np.clip(v, -top, top)).astype(dt)
    # float8 rounds to nearest even; out of range it saturates to +-max, or (saturate=0) gives
    # what the type has, inf for e5m2 else NaN, which is what ml_dtypes' conversion gives
    return (np.clip(v, -top, top) if saturate else v).astype(dt)


def _to_e8m0(v, saturate, round_mode, dt):
    """float8_e8m0fnu holds 2^k (k = -127..127) as k + 127 and NaN as 255. A value between two
    powers rounds `up`, `down` or to the `nearest` (ties up); out of range (zero and inf
    included) it saturates to the end it passed, or gives NaN. The sign is dropped (negative
    inputs are undefined in ONNX)."""
    mant, exp = np.frexp(np.abs(v).astype(np.float64))  # |v| = mant * 2^exp, mant in [0.5, 1)
    extra = mant * 2 - 1  # |v| = (1 + extra) * 2^(exp - 1)
    step = {"up": extra > 0, "down": False, "nearest": extra >= 0.5}[round_mode]
    code = exp - 1 + np.asarray(step, np.int64) + 127
    code = np.where(v == 0, -1, np.where(np.isinf(v), 255, code))
    code = np.clip(code, 0, 254) if saturate else np.where((code < 0) | (code > 254), 255, code)
    return np.where(np.isnan(v), 255, code).astype(np.uint8).view(dt)


@op("input", "output", dtype=lambda m, a: a["to"])
def Cast(x, *, to, saturate=1, round_mode="up"):
    """Convert to the dtype named by `to` (a name like "float32" or "float8_e4m3fn", not ONNX's
    enum). Floats to numpy's ints truncate toward zero; out-of-range and NaN values are
    undefined in ONNX and give what numpy gives on x86 (NaN -> INT_MIN for int32/int64). Ints
    wrap to narrower ints. To bool: nonzero (and NaN) is true.
    Low-precision targets: floats round to nearest even. float8: out of range (inf included)
    gives +-max when saturate=1, else inf (e5m2) or NaN (types without inf). float4_e2m1fn
    always saturates to +-6. float8_e8m0fnu (powers of two) rounds by round_mode ("up": away
    from zero, "down", "nearest": ties up), zero and tiny values saturate to 2^-127 (NaN when
    saturate=0). int4/uint4/int2/uint2: round to nearest even, then wrap like any narrower
    int (ONNX's int4 note), so 9.0 -> int4 gives -7."""
    return cast_array(x, to, saturate, round_mode)


def _check_cast_attrs(saturate, round_mode):
    if round_mode not in ROUND_MODES:
        raise UnsupportedError(f"round_mode={round_mode!r} (known: {', '.join(ROUND_MODES)})")
    if saturate not in (0, 1):
        raise UnsupportedError(f"saturate={saturate!r} (0 or 1)")


@Cast.shape
def _(x, *, to, saturate=1, round_mode="up"):
    _check_dtype(to, "Cast to")
    _check_cast_attrs(saturate, round_mode)
    return x.shape


@op("input target_type", "output", dtype=lambda m, a: m[1].dtype)
def CastLike(x, target_type, *, saturate=1, round_mode="up"):
    """Cast to the dtype of target_type (only its dtype is read); rules as Cast."""
    return cast_array(x, target_type.dtype.name, saturate, round_mode)


@CastLike.shape
def _(x, target_type, *, saturate=1, round_mode="up"):
    _check_cast_attrs(saturate, round_mode)
    return x.shape


@op("input", "output", dtype=lambda m, a: a["dtype"], host=("input",))
def ConstantOfShape(shape, *, value=0.0, dtype="float32"):
    """A tensor of the given shape filled with `value` (a plain number and a dtype name instead
    of ONNX's one-element tensor attribute). An empty shape gives a scalar."""
    return np.full([int(d) for d in shape.reshape(-1)], value, dtype=numpy_dtype(dtype))


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
    return np.eye(x.shape[0], x.shape[1], k, dtype=numpy_dtype(dtype) if dtype else x.dtype)


@EyeLike.shape
def _(x, *, dtype=None, k=0):
    if dtype is not None:
        _check_dtype(dtype, "EyeLike dtype")
    if x.rank != 2:
        raise ShapeError(f"EyeLike needs a 2-D input, got rank {x.rank}")
    return x.shape
