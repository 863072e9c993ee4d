"""Convolutions: Conv and ConvTranspose, 1-D to 3-D, grouped, channels-first or channels-last.

The padding and output-size arithmetic lives in common.window / common.transposed_window, shared
with the pools. `windows()` here is the numpy side of it (also used by pool.py).
"""

import itertools

from .._np import np
from ..errors import ShapeError
from .common import join_layout, split_layout, transposed_window, window
from .registry import op


def windows(x, kernel, strides, dilations, begin, outs, fill=0):
    """A view [..., *outs, *kernel] of x's trailing spatial axes: window o, tap k reads x at
    o*stride + k*dilation - begin, and `fill` where that falls outside x."""
    n = len(kernel)
    lead = x.ndim - n
    if 0 in outs:
        return np.full(x.shape[:lead] + tuple(outs) + tuple(kernel), fill, x.dtype)
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    need = [(o - 1) * s + span for o, s, span in zip(outs, strides, spans)]
    # pad the begin; pad or crop the end so that the windows tile exactly `need`
    widths = [(0, 0)] * lead + [(b, max(0, nd - b - size)) for b, nd, size in zip(begin, need, x.shape[lead:])]
    xp = np.pad(x, widths, constant_values=fill)[(...,) + tuple(slice(0, nd) for nd in need)]
    v = np.lib.stride_tricks.sliding_window_view(xp, spans, axis=tuple(range(lead, x.ndim)))
    return v[(...,) + tuple(slice(None, None, s) for s in strides) + tuple(slice(None, None, d) for d in dilations)]


def to_channels_first(x, layout):
    return x if layout == "NCHW" else np.moveaxis(x, -1, 1)


def from_channels_first(y, layout):
    return np.ascontiguousarray(y if layout == "NCHW" else np.moveaxis(y, 1, -1))


def to_acc(x):
    """x in the precision the references compute in: float64 stays, everything else is float32."""
    return x.astype(np.float64 if x.dtype == np.float64 else np.float32, copy=False)


def _kernel(w, kernel_shape):
    k = tuple(w.shape[2:])
    if kernel_shape and tuple(kernel_shape) != k:
        raise ShapeError(f"kernel_shape {list(kernel_shape)} does not match weight shape {list(w.shape)}")
    return k


@op("X W B? Z?", fusable=True)
def Conv(x, w, b=None, z=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None, layout="NCHW"):
    """Convolution (cross-correlation) over 1, 2 or 3 (or more) spatial dims; W is [M, C/group, k...] whatever the layout.

    layout="NCHW" (ONNX) or "NHWC" (channels-last X and Y, as TFLite holds them).
    Z (webflow's, not ONNX's): a tensor of the output's shape added after the bias and before
    the fused activation, Y = activation(conv + B + Z): a residual Add folded in by the converter.
    """
    x = to_channels_first(x, layout)
    k = _kernel(w, kernel_shape)
    outs, p = window(x.shape[2:], k, strides, dilations, pads, auto_pad)
    s, d = strides or [1] * len(k), dilations or [1] * len(k)
    n, c, m, g = x.shape[0], x.shape[1], w.shape[0], group
    xf = to_acc(x)
    cols = windows(xf, k, s, d, p[: len(k)], outs)  # [N, C, *outs, *k]
    cols = cols.reshape(n, g, c // g, *outs, *k)
    # im2col: [g, C/g * k..., N * outs...], then one batched matmul over the groups
    nk, no = len(k), len(outs)
    order = (1, 2, *range(3 + no, 3 + no + nk), 0, *range(3, 3 + no))
    cols = cols.transpose(order).reshape(g, (c // g) * int(np.prod(k)), -1)
    y = w.astype(xf.dtype).reshape(g, m // g, -1) @ cols  # [g, M/g, N * outs]
    y = y.reshape(m, n, *outs).swapaxes(0, 1)
    if b is not None:
        y = y + b.astype(xf.dtype).reshape((m,) + (1,) * no)
    if z is not None:
        y = y + to_channels_first(z, layout).astype(xf.dtype)
    return from_channels_first(y.astype(x.dtype, copy=False), layout)


@Conv.shape
def _conv_shape(x, w, b=None, z=None, *, auto_pad, dilations, group, kernel_shape, pads, strides, layout):
    n, c, sizes = split_layout(x.shape, layout)
    if w.rank != x.rank:
        raise ShapeError(f"weight rank {w.rank} != input rank {x.rank}")
    if group < 1 or not c == w.shape[1] * group or w.shape[0] % group:
        raise ShapeError(f"input channels {c} should be weight dim 1 ({w.shape[1]}) * group {group}, and weight dim 0 divisible by it")
    if b is not None and tuple(b.shape) != (w.shape[0],):
        raise ShapeError(f"bias shape {list(b.shape)} should be [{w.shape[0]}]")
    outs, _ = window(sizes, _kernel(w, kernel_shape), strides, dilations, pads, auto_pad)
    y = join_layout(n, w.shape[0], outs, layout)
    if z is not None and tuple(z.shape) != tuple(y):
        raise ShapeError(f"Z shape {list(z.shape)} should be the output's, {list(y)}")
    return y


@op("X W B?", fusable=True)
def ConvTranspose(x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
                  output_shape=None, pads=None, strides=None, layout="NCHW"):
    """Transposed convolution (the gradient of Conv); W is [C, M/group, k...] whatever the layout.

    Output size: stride*(in-1) + output_padding + (k-1)*dilation + 1 - pads, unless output_shape
    or SAME set it. layout as for Conv.
    """
    x = to_channels_first(x, layout)
    k = _kernel(w, kernel_shape)
    sizes = x.shape[2:]
    outs, p = transposed_window(sizes, k, strides, dilations, pads, auto_pad, output_padding, output_shape)
    nd = len(k)
    s, d = strides or [1] * nd, dilations or [1] * nd
    n, c, g, mg = x.shape[0], x.shape[1], group, w.shape[1]
    xf = to_acc(x)
    # every (input pixel, tap) product at once: [g, M/g * k..., N * in...]
    xg = xf.reshape(n, g, c // g, -1).transpose(1, 2, 0, 3).reshape(g, c // g, -1)
    cols = w.astype(xf.dtype).reshape(g, c // g, -1).transpose(0, 2, 1) @ xg
    cols = np.moveaxis(cols.reshape(g, mg, *k, n, *sizes), 2 + nd, 0)  # [N, g, M/g, *k, *in]
    y = np.zeros((n, g, mg, *outs), xf.dtype)
    for tap in itertools.product(*(range(kk) for kk in k)):
        src, dst = [], []
        for i in range(nd):
            # input positions whose output position tap*d + pos*s - begin lands in [0, out)
            off = tap[i] * d[i] - p[i]
            lo = max(0, -(off // s[i]))
            hi = min(sizes[i], (outs[i] - 1 - off) // s[i] + 1)
            if lo >= hi:
                break
            src.append(slice(lo, hi))
            dst.append(slice(lo * s[i] + off, (hi - 1) * s[i] + off + 1, s[i]))
        else:
            y[(slice(None),) * 3 + tuple(dst)] += cols[(slice(None),) * 3 + tap + tuple(src)]
    y = y.reshape(n, g * mg, *outs)
    if b is not None:
        y = y + b.astype(xf.dtype).reshape((g * mg,) + (1,) * nd)
    return from_channels_first(y.astype(x.dtype, copy=False), layout)


@ConvTranspose.shape
def _conv_transpose_shape(x, w, b=None, *, auto_pad, dilations, group, kernel_shape, output_padding, output_shape, pads, strides, layout):
    n, c, sizes = split_layout(x.shape, layout)
    if w.rank != x.rank:
        raise ShapeError(f"weight rank {w.rank} != input rank {x.rank}")
    if not c == w.shape[0] or group < 1 or w.shape[0] % group:
        raise ShapeError(f"input channels {c} should equal weight dim 0 ({w.shape[0]}), divisible by group {group}")
    m = w.shape[1] * group
    if b is not None and tuple(b.shape) != (m,):
        raise ShapeError(f"bias shape {list(b.shape)} should be [{m}]")
    outs, _ = transposed_window(sizes, _kernel(w, kernel_shape), strides, dilations, pads, auto_pad, output_padding, output_shape)
    return join_layout(n, m, outs, layout)
