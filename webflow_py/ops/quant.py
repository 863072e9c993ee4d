"""Linear (de)quantization: per-tensor, per-axis and blocked, for 8- and 16-bit integers.

The scale and zero point have one shape that picks the granularity: a scalar (or [1]) is
per-tensor, a 1-D [D_axis] is per-axis, and with block_size > 0 a tensor of x's rank whose
`axis` dim is ceil(D_axis / block_size) is blocked. `output_dtype` is a dtype name (ONNX: a
TensorProto enum) or None. float8, int4 and the other sub-byte types are unsupported.
"""

from .._np import np
from ..errors import ShapeError, UnsupportedError
from .common import axis as norm_axis
from .registry import op

QUANTIZED = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535)}
DEQUANTIZABLE = (*QUANTIZED, "int32")
FLOATS = ("float32", "float16")


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
    if zero_point is not None and tuple(zero_point.shape) != tuple(scale.shape):
        raise ShapeError(f"zero point shape {list(zero_point.shape)} != scale shape {list(scale.shape)}")
    if block_size < 0:
        raise ShapeError(f"block_size={block_size} must be >= 0")
    if block_size:
        a = norm_axis(axis, x.rank)
        blocks = (x.shape[a] + block_size - 1) // block_size
        if scale.rank != x.rank or any(not scale.shape[i] == (blocks if i == a else x.shape[i]) for i in range(x.rank)):
            raise ShapeError(f"blocked scale shape {list(scale.shape)} should be x's {list(x.shape)} with dim {a} = ceil({x.shape[a]}/{block_size})")
    elif not (scale.rank <= 1 and scale.size == 1):
        a = norm_axis(axis, x.rank)
        if scale.rank != 1 or not scale.shape[0] == x.shape[a]:
            raise ShapeError(f"per-axis scale shape {list(scale.shape)} should be [{x.shape[a]}] (x dim {a})")


def _dequantize_dtype(metas, attrs):
    """output_dtype, else x_scale's dtype"""
    return attrs["output_dtype"] or metas[1].dtype


@op("x x_scale x_zero_point?", "y", dtype=_dequantize_dtype)
def DequantizeLinear(x, scale, zero_point=None, *, axis=1, block_size=0, output_dtype=None):
    """y = (x - x_zero_point) * x_scale, in the dtype output_dtype names, else the scale's."""
    q = x.astype(np.int64)
    if zero_point is not None:
        q = q - _expand(zero_point, x, axis, block_size).astype(np.int64)
    y = q.astype(np.float32) * _expand(scale, x, axis, block_size).astype(np.float32)
    return y.astype(output_dtype or scale.dtype)


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


@op("x y_scale y_zero_point?", "y", dtype=_quantize_dtype)
def QuantizeLinear(x, scale, zero_point=None, *, axis=1, block_size=0, saturate=1, output_dtype=None):
    """y = saturate(round_half_to_even(x / y_scale) + y_zero_point), computed in float32. The
    output dtype is the zero point's, else output_dtype, else uint8. saturate only concerns
    float8, which is unsupported; integers always saturate."""
    dt = zero_point.dtype if zero_point is not None else np.dtype(output_dtype or "uint8")
    v = np.rint(x.astype(np.float32) / _expand(scale, x, axis, block_size).astype(np.float32))
    if zero_point is not None:
        v = v + _expand(zero_point, x, axis, block_size)
    lo, hi = QUANTIZED[dt.name]
    return np.clip(v, lo, hi).astype(dt)


@QuantizeLinear.shape
def _quantize_shape(x, scale, zero_point=None, *, axis, block_size, saturate, output_dtype):
    dt = zero_point.dtype if zero_point is not None else output_dtype or "uint8"
    if output_dtype and output_dtype != dt:
        raise ShapeError(f"output_dtype {output_dtype} != zero point dtype {dt}")
    if dt not in QUANTIZED:
        raise UnsupportedError(f"quantizing to {dt} (webflow quantizes to {', '.join(QUANTIZED)}; float8 and int4 are not supported)")
    _check_params(x, scale, zero_point, axis, block_size)
    return x.shape
