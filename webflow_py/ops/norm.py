"""Normalizations: BatchNormalization (inference), LayerNormalization, InstanceNormalization,
GroupNormalization, LpNormalization, MeanVarianceNormalization, LRN.

Statistics are computed in float32 (float64 for float64 inputs, or as stash_type says), then
cast back to the input's dtype.
"""

from .._np import np
from ..errors import ShapeError, UnsupportedError
from .common import axes as norm_axes, axis as norm_axis, broadcast
from .conv import to_acc, windows
from .registry import op

STASH_TYPES = ("float32", "float64")  # stash_type as a dtype name (ONNX: TensorProto enum, 1 = float32)


def _per_channel(v, x):
    """A [C] vector shaped to broadcast over x's channel axis 1."""
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def _check_channel_vectors(x, *vs, names):
    if x.rank < 2:
        raise ShapeError(f"input needs rank >= 2 (batch, channels, ...), got {list(x.shape)}")
    for v, name in zip(vs, names):
        if not (v.rank == 1 and v.shape[0] == x.shape[1]):
            raise ShapeError(f"{name} shape {list(v.shape)} should be [{x.shape[1]}] (the channels)")


def _standardize(x, reduce_axes, epsilon, stash=None):
    """(x - mean) / sqrt(var + epsilon) over reduce_axes, with its mean and 1/stddev (kept dims)."""
    xs = x.astype(stash or (np.float64 if x.dtype == np.float64 else np.float32), copy=False)
    mean = xs.mean(axis=reduce_axes, keepdims=True)
    d = xs - mean
    inv = 1 / np.sqrt((d * d).mean(axis=reduce_axes, keepdims=True) + epsilon)
    return d * inv, mean, inv


@op("X scale B input_mean input_var")
def BatchNormalization(x, scale, b, mean, var, *, epsilon=1e-5, momentum=0.9, training_mode=0):
    """Inference batch norm: (x - mean) / sqrt(var + epsilon) * scale + B over channel axis 1.
    momentum is only for training, which is unsupported (training_mode=1)."""
    xf = to_acc(x)
    inv = to_acc(scale) / np.sqrt(to_acc(var) + epsilon)
    y = (xf - _per_channel(to_acc(mean), xf)) * _per_channel(inv, xf) + _per_channel(to_acc(b), xf)
    return y.astype(x.dtype)


@BatchNormalization.shape
def _batch_norm_shape(x, scale, b, mean, var, *, epsilon, momentum, training_mode):
    if training_mode:
        raise UnsupportedError(f"training_mode={training_mode} (webflow runs inference only)")
    _check_channel_vectors(x, scale, b, mean, var, names=("scale", "B", "input_mean", "input_var"))
    return x.shape


def _stash(stash_type):
    if stash_type not in STASH_TYPES:
        raise UnsupportedError(f"stash_type={stash_type!r} (webflow supports {', '.join(STASH_TYPES)})")
    return stash_type


def _layer_norm_dtypes(metas, attrs):
    """X's dtype; Mean and InvStdDev in stash_type"""
    stash = _stash(attrs["stash_type"])
    return [metas[0].dtype, stash, stash]


@op("X Scale B?", "Y Mean? InvStdDev?", dtype=_layer_norm_dtypes)
def LayerNormalization(x, scale, b=None, *, axis=-1, epsilon=1e-5, stash_type="float32"):
    """Standardize over dims [axis, rank) in stash_type precision (a dtype name; ONNX's enum 1 is
    "float32"), then * Scale + B in X's dtype. Mean and InvStdDev keep the reduced dims as 1s."""
    a = axis % x.ndim
    normalized, mean, inv = _standardize(x, tuple(range(a, x.ndim)), epsilon, stash_type)
    y = normalized.astype(x.dtype) * scale
    if b is not None:
        y = y + b
    return y.astype(x.dtype), mean, inv


@LayerNormalization.shape
def _layer_norm_shape(x, scale, b=None, *, axis, epsilon, stash_type):
    _stash(stash_type)
    a = norm_axis(axis, x.rank)
    for v, name in ((scale, "Scale"), (b, "B")):
        if v is not None and broadcast(x.shape, v.shape) != tuple(x.shape):
            raise ShapeError(f"{name} shape {list(v.shape)} does not broadcast to X {list(x.shape)}")
    stats = tuple(x.shape[:a]) + (1,) * (x.rank - a)
    return [x.shape, stats, stats]


@op("input scale B")
def InstanceNormalization(x, scale, b, *, epsilon=1e-5):
    """Standardize each (batch, channel) over the spatial dims, then * scale[c] + B[c]."""
    normalized, _, _ = _standardize(x, tuple(range(2, x.ndim)), epsilon)
    return (normalized * _per_channel(to_acc(scale), x) + _per_channel(to_acc(b), x)).astype(x.dtype)


@InstanceNormalization.shape
def _instance_norm_shape(x, scale, b, *, epsilon):
    if x.rank < 3:
        raise ShapeError(f"input needs rank >= 3 (batch, channels, spatial...), got {list(x.shape)}")
    _check_channel_vectors(x, scale, b, names=("scale", "B"))
    return x.shape


@op("X scale bias")
def GroupNormalization(x, scale, bias, *, epsilon=1e-5, num_groups, stash_type="float32"):
    """Standardize each (batch, group of C/num_groups channels) over those channels and the spatial
    dims in stash_type precision, then * scale[c] + bias[c] per channel (opset-21 semantics)."""
    grouped = x.reshape(x.shape[0], num_groups, -1)
    normalized, _, _ = _standardize(grouped, (2,), epsilon, stash_type)
    y = normalized.astype(x.dtype).reshape(x.shape)
    return (y * _per_channel(scale, x) + _per_channel(bias, x)).astype(x.dtype)


@GroupNormalization.shape
def _group_norm_shape(x, scale, bias, *, epsilon, num_groups, stash_type):
    _stash(stash_type)
    _check_channel_vectors(x, scale, bias, names=("scale", "bias"))
    if num_groups < 1 or x.shape[1] % num_groups:
        raise ShapeError(f"channels {x.shape[1]} are not divisible into num_groups={num_groups}")
    return x.shape


@op("input")
def LpNormalization(x, *, axis=-1, p=2):
    """x / ||x||_p along axis (p = 1 or 2); a zero vector stays zero."""
    xf = to_acc(x)
    norm = np.abs(xf).sum(axis=axis, keepdims=True) if p == 1 else np.sqrt((xf * xf).sum(axis=axis, keepdims=True))
    return np.where(norm == 0, 0, xf / np.where(norm == 0, 1, norm)).astype(x.dtype)


@LpNormalization.shape
def _lp_norm_shape(x, *, axis, p):
    if p not in (1, 2):
        raise UnsupportedError(f"p={p} (ONNX allows 1 or 2)")
    norm_axis(axis, x.rank)
    return x.shape


@op("X")
def MeanVarianceNormalization(x, *, axes=[0, 2, 3]):  # noqa: B006 (read only)
    """(x - mean) / (stddev + 1e-9), mean and (population) variance over axes."""
    xf = to_acc(x)
    a = tuple(v % x.ndim for v in axes)
    mean = xf.mean(axis=a, keepdims=True)
    d = xf - mean
    return (d / (np.sqrt((d * d).mean(axis=a, keepdims=True)) + 1e-9)).astype(x.dtype)


@MeanVarianceNormalization.shape
def _mvn_shape(x, *, axes):
    norm_axes(axes, x.rank)
    return x.shape


@op("X")
def LRN(x, *, alpha=0.0001, beta=0.75, bias=1.0, size):
    """Local response norm across channels: x / (bias + alpha/size * sum of x^2 over channels
    [c - floor((size-1)/2), c + ceil((size-1)/2)]) ** beta."""
    sq = np.moveaxis(to_acc(x) ** 2, 1, -1)
    c = x.shape[1]
    total = windows(sq, [size], [1], [1], [(size - 1) // 2], [c]).sum(axis=-1)
    return (x / (bias + alpha / size * np.moveaxis(total, -1, 1)) ** beta).astype(x.dtype)


@LRN.shape
def _lrn_shape(x, *, alpha, beta, bias, size):
    if x.rank < 3:
        raise ShapeError(f"input needs rank >= 3 (batch, channels, spatial...), got {list(x.shape)}")
    if size < 1:
        raise ShapeError(f"size={size} must be >= 1")
    return x.shape
