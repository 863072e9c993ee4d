"""Pooling: MaxPool, AveragePool, LpPool and the global pools, 1-D to 3-D, channels-first or -last.

Window geometry comes from common.window, as for Conv. NaN propagates through max (like
np.max and PyTorch; onnxruntime's result depends on where the NaN sits in the window).
"""

import math

from .._np import np
from ..errors import ShapeError, UnsupportedError
from .common import join_layout, split_layout, window
from .conv import from_channels_first, to_acc, to_channels_first, windows
from .registry import op


def _geometry(x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode):
    """(outs, resolved pads, strides, dilations) of a pool over channels-first x."""
    n = len(kernel_shape)
    outs, p = window(x.shape[2:], kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    return outs, p, strides or [1] * n, dilations or [1] * n


def _pool_shape(x, kernel_shape, layout, pads, **geometry):
    n, c, sizes = split_layout(x.shape, layout)
    if len(kernel_shape) != len(sizes):
        raise ShapeError(f"kernel_shape {list(kernel_shape)} should have {len(sizes)} values")
    # a window wholly inside the padding has no defined value (onnxruntime refuses it too)
    if pads and any(pads[i] >= k or pads[len(sizes) + i] >= k for i, k in enumerate(kernel_shape)):
        raise ShapeError(f"pads {list(pads)} must be smaller than kernel_shape {list(kernel_shape)}")
    outs, _ = window(sizes, kernel_shape, pads=pads, **geometry)
    return join_layout(n, c, outs, layout)


def _window_sum(x, kernel, s, d, begin, outs, fill=0):
    return windows(x, kernel, s, d, begin, outs, fill).sum(axis=tuple(range(-len(kernel), 0)))


def _max_pool_dtypes(metas, attrs):
    """X's dtype; Indices int64"""
    return [metas[0].dtype, "int64"]


@op("X", "Y Indices?", dtype=_max_pool_dtypes)
def MaxPool(x, *, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape, pads=None, storage_order=0, strides=None, layout="NCHW"):
    """Max over each window; Indices are flat indices into X: ((n*C + c)*H + h)*W + w, or with
    storage_order=1 the spatial part column-major ((n*C + c)*H*W + w*H + h). Ties pick the first
    tap (row-major) that reads the input, never the padding. With layout="NHWC", Indices index
    the NHWC tensor row-major (((n*H + h)*W + w)*C + c, as TF's MaxPoolWithArgmax)."""
    x = to_channels_first(x, layout)
    outs, p, s, d = _geometry(x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    nd, taps, sizes = len(kernel_shape), math.prod(kernel_shape), x.shape[2:]
    begin = p[:nd]
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    flat = windows(x, kernel_shape, s, d, begin, outs, fill=lowest).reshape(*x.shape[:2], *outs, taps)
    pick = np.argmax(flat, axis=-1)  # the first max; NaN counts as the max, so it propagates
    # a padding tap wins only by tying with the lowest value: then take the first tap on the input
    real = np.broadcast_to(windows(np.ones(sizes, bool), kernel_shape, s, d, begin, outs, fill=False).reshape(*outs, taps), flat.shape)
    pick = np.where(np.take_along_axis(real, pick[..., None], axis=-1)[..., 0], pick, np.argmax(real, axis=-1))
    y = np.take_along_axis(flat, pick[..., None], axis=-1)[..., 0]
    tap = np.unravel_index(pick, kernel_shape)
    grid = np.meshgrid(*(np.arange(o) for o in outs), indexing="ij")
    coords = [grid[i] * s[i] + tap[i] * d[i] - begin[i] for i in range(nd)]
    ones = (1,) * nd
    batch, chan = np.arange(x.shape[0]).reshape(-1, 1, *ones), np.arange(x.shape[1]).reshape(1, -1, *ones)
    if layout == "NHWC":
        ind = np.ravel_multi_index((batch, *coords, chan), (x.shape[0], *sizes, x.shape[1]))
    else:
        spatial = np.ravel_multi_index(coords, sizes, order="F" if storage_order else "C")
        ind = (batch * x.shape[1] + chan) * math.prod(sizes) + spatial
    return from_channels_first(y, layout), from_channels_first(ind.astype(np.int64), layout)


@MaxPool.shape
def _max_pool_shape(x, *, auto_pad, ceil_mode, dilations, kernel_shape, pads, storage_order, strides, layout):
    if storage_order not in (0, 1):
        raise UnsupportedError(f"storage_order={storage_order}")
    if storage_order and layout == "NHWC":
        raise UnsupportedError("storage_order=1 with layout='NHWC'")
    y = _pool_shape(x, kernel_shape, layout, pads, strides=strides, dilations=dilations, auto_pad=auto_pad, ceil_mode=ceil_mode)
    return [y, y]


@op("X")
def AveragePool(x, *, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None, kernel_shape, pads=None, strides=None, layout="NCHW"):
    """Mean over each window. The divisor counts the taps on the input, plus those on the pads
    when count_include_pad=1; never those past the end pad that ceil_mode adds."""
    xc = to_channels_first(x, layout)
    outs, p, s, d = _geometry(xc, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    nd, sizes = len(kernel_shape), xc.shape[2:]
    total = _window_sum(to_acc(xc), kernel_shape, s, d, p[:nd], outs)
    if count_include_pad:
        region, begin = np.ones([n + p[i] + p[nd + i] for i, n in enumerate(sizes)], np.int32), [0] * nd
    else:
        region, begin = np.ones(sizes, np.int32), p[:nd]
    count = _window_sum(region, kernel_shape, s, d, begin, outs)
    return from_channels_first((total / count).astype(x.dtype), layout)


@AveragePool.shape
def _average_pool_shape(x, *, auto_pad, ceil_mode, count_include_pad, dilations, kernel_shape, pads, strides, layout):
    return _pool_shape(x, kernel_shape, layout, pads, strides=strides, dilations=dilations, auto_pad=auto_pad, ceil_mode=ceil_mode)


@op("X")
def LpPool(x, *, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape, p=2, pads=None, strides=None, layout="NCHW"):
    """(sum over each window of |x|^p)^(1/p); padding counts as 0."""
    xc = to_channels_first(x, layout)
    outs, pd, s, d = _geometry(xc, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    total = _window_sum(np.abs(to_acc(xc)) ** p, kernel_shape, s, d, pd[: len(kernel_shape)], outs)
    return from_channels_first((total ** (1.0 / p)).astype(x.dtype), layout)


@LpPool.shape
def _lp_pool_shape(x, *, auto_pad, ceil_mode, dilations, kernel_shape, p, pads, strides, layout):
    if not (isinstance(p, int) and p >= 1):
        raise UnsupportedError(f"p={p!r} (a positive integer)")
    return _pool_shape(x, kernel_shape, layout, pads, strides=strides, dilations=dilations, auto_pad=auto_pad, ceil_mode=ceil_mode)


def _global_shape(x, layout):
    n, c, sizes = split_layout(x.shape, layout)
    return join_layout(n, c, [1] * len(sizes), layout)


def _spatial_axes(x, layout):
    return tuple(range(2, x.ndim)) if layout == "NCHW" else tuple(range(1, x.ndim - 1))


@op("X")
def GlobalAveragePool(x, *, layout="NCHW"):
    """Mean over all spatial dims (kept as 1s)."""
    return to_acc(x).mean(axis=_spatial_axes(x, layout), keepdims=True).astype(x.dtype)


GlobalAveragePool.shape(lambda x, *, layout: _global_shape(x, layout))


@op("X")
def GlobalMaxPool(x, *, layout="NCHW"):
    """Max over all spatial dims (kept as 1s); NaN propagates."""
    return x.max(axis=_spatial_axes(x, layout), keepdims=True)


GlobalMaxPool.shape(lambda x, *, layout: _global_shape(x, layout))
