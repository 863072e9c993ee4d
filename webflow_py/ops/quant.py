"""Linear (de)quantization: per-tensor, per-axis and blocked, to and from 16-, 8-, 4- and 2-bit
integers, float8 and float4.

The scale and zero point have one shape that picks the granularity: a scalar (or [1]) is
per-tensor, a 1-D [D_axis] is per-axis, and with block_size > 0 a tensor of x's rank whose
`axis` dim is ceil(D_axis / block_size) is blocked. `output_dtype` is a dtype name (ONNX: a
TensorProto enum) or None, and so is QuantizeLinear's `precision`. The float6 types (float6e2m3,
float6e3m2) are unsupported.
"""

from .._np import np
from ..dtypes import DTYPES, int_range, numpy_dtype
from ..errors import ShapeError, UnsupportedError
from .common import axis as norm_axis
from .registry import op
from .tensor import cast_array

QUANTIZED_INTS = ("int8", "uint8", "int16", "uint16", "int4", "uint4", "int2", "uint2")
QUANTIZED_FLOATS = ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float4_e2m1fn")
QUANTIZED = QUANTIZED_INTS + QUANTIZED_FLOATS
DEQUANTIZABLE = (*QUANTIZED, "int32")
FLOATS = ("float32", "float16", "bfloat16")


def _expand(v, x, axis, block_size):
    """The scale or zero point v shaped to broadcast over x."""
    if block_size:
        a = axis % x.ndim
        return np.repeat(v, block_size, axis=a)[(slice(None),) * a + (slice(0, x.shape[a]),)]
    if v.size == 1 and v.ndim <= 1:
        return v.reshape(())
    a = axis % x.ndim
    return v.reshape((-1,) + (1,) * (x.ndim - a - 1))


def _check_params(x, scale, zero_point, axis, block_size):
    """Shape rule part shared by both ops: the granularity the scale's shape implies, and a zero point alike."""
    per_tensor = scale.rank <= 1 and scale.size == 1
    if zero_point is not None and tuple(zero_point.shape) != tuple(scale.shape) and not (
            per_tensor and zero_point.rank <= 1 and zero_point.size == 1):  # [] with [1] is per-tensor too
        raise ShapeError(f"zero point shape {list(zero_point.shape)} != scale shape {list(scale.shape)}")
    if block_size < 0:
        raise ShapeError(f"block_size={block_size} must be >= 0")
    if block_size:
        a = norm_axis(axis, x.rank)
        blocks = (x.shape[a] + block_size - 1) // block_size
        if scale.rank != x.rank or any(not scale.shape[i] == (blocks if i == a else x.shape[i]) for i in range(x.rank)):
            raise ShapeError(f"blocked scale shape {list(scale.shape)} should be x's {list(x.shape)} with dim {a} = ceil({x.shape[a]}/{block_size})")
    elif not per_tensor:
        a = norm_axis(axis, x.rank)
        if scale.rank != 1 or not scale.shape[0] == x.shape[a]:
            raise ShapeError(f"per-axis scale shape {list(scale.shape)} should be [{x.shape[a]}] (x dim {a})")


def _dequantize_dtype(metas, attrs):
    """output_dtype, else x_scale's dtype"""
    return attrs["output_dtype"] or metas[1].dtype


@op("x x_scale x_zero_point?", "y", dtype=_dequantize_dtype)
def DequantizeLinear(x, scale, zero_point=None, *, axis=1, block_size=0, output_dtype=None):
    """y = (x - x_zero_point) * x_scale, computed in float32 and given in the dtype output_dtype
    names, else the scale's. Integers subtract exactly (in int64), float8/float4 in float32."""
    work = np.float32 if DTYPES[x.dtype.name].kind == "float" else np.int64
    q = x.astype(work)
    if zero_point is not None:
        q = q - _expand(zero_point, x, axis, block_size).astype(work)
    y = q.astype(np.float32) * _expand(scale, x, axis, block_size).astype(np.float32)
    return y.astype(numpy_dtype(output_dtype or scale.dtype.name))


@DequantizeLinear.shape
def _dequantize_shape(x, scale, zero_point=None, *, axis, block_size, output_dtype):
    if x.dtype not in DEQUANTIZABLE:
        raise UnsupportedError(f"x dtype {x.dtype} (webflow dequantizes {', '.join(DEQUANTIZABLE)})")
    if zero_point is not None and zero_point.dtype != x.dtype:
        raise ShapeError(f"zero point dtype {zero_point.dtype} != x dtype {x.dtype}")
    if (output_dtype or scale.dtype) not in FLOATS:
        raise UnsupportedError(f"output dtype {output_dtype or scale.dtype} (webflow outputs {', '.join(FLOATS)})")
    _check_params(x, scale, zero_point, axis, block_size)
    return x.shape


def _quantize_dtype(metas, attrs):
    """y_zero_point's dtype, else output_dtype, else uint8"""
    zero_point = metas[2] if len(metas) > 2 else None
    return zero_point.dtype if zero_point is not None else attrs["output_dtype"] or "uint8"


DIVIDE_IN = ("float32", "float16", "bfloat16")


def _divide(x, scale, precision):
    """x / scale in `precision`: operands and quotient rounded to it. float32 holds the exact
    float16/bfloat16 quotient closely enough that rounding it once more is still correct."""
    ct = precision or (x.dtype.name if x.dtype == scale.dtype and x.dtype.name in DIVIDE_IN else "float32")
    if ct == "float32":
        return x.astype(np.float32) / scale.astype(np.float32)
    low = numpy_dtype(ct)
    q = x.astype(low).astype(np.float32) / scale.astype(low).astype(np.float32)
    return q.astype(low).astype(np.float32)


@op("x y_scale y_zero_point?", "y", dtype=_quantize_dtype)
def QuantizeLinear(x, scale, zero_point=None, *, axis=1, block_size=0, saturate=1, output_dtype=None, precision=None):
    """y = saturate(round(x / y_scale) + y_zero_point). The output dtype is the zero point's, else
    output_dtype, else uint8. The division runs in `precision` (a dtype name: float32, float16
    or bfloat16), else in x's dtype when the scale has the same one, else in float32; the rest
    in float32. Integers: round half to even, then clamp to the dtype's range (int4: [-8, 7],
    uint2: [0, 3], ...). float8/float4: x / y_scale + y_zero_point converted as Cast does:
    round to nearest even; out of range gives +-max when saturate=1 (float4 always), else inf
    or NaN as the float8 type has."""
    dt = zero_point.dtype.name if zero_point is not None else output_dtype or "uint8"
    v = _divide(x, _expand(scale, x, axis, block_size), precision)
    if dt in QUANTIZED_INTS:
        v = np.rint(v)
    if zero_point is not None:
        v = v + _expand(zero_point, x, axis, block_size).astype(np.float32)
    if dt in QUANTIZED_INTS:
        v = np.clip(v, *int_range(dt))
    return cast_array(v, dt, saturate)


@QuantizeLinear.shape
def _quantize_shape(x, scale, zero_point=None, *, axis, block_size, saturate, output_dtype, precision):
    if precision is not None and precision not in DIVIDE_IN:
        raise UnsupportedError(f"precision={precision!r} (webflow divides in {', '.join(DIVIDE_IN)})")
    dt = zero_point.dtype if zero_point is not None else output_dtype or "uint8"
    if output_dtype and output_dtype != dt:
        raise ShapeError(f"output_dtype {output_dtype} != zero point dtype {dt}")
    if dt not in QUANTIZED:
        raise UnsupportedError(f"quantizing to {dt} (webflow quantizes to {', '.join(QUANTIZED)})")
    _check_params(x, scale, zero_point, axis, block_size)
    return x.shape
