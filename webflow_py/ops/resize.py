"""Resize (ONNX opset 19+ semantics), done separably: one 1-D resampling per resized axis.

Every mode is "output position -> source coordinate -> weighted taps": nearest has one tap,
linear two, cubic four, and antialias widens the linear/cubic filter by 1/scale when shrinking.
The output-size arithmetic lives in `_plan`, shared by the shape rule and the reference.
"""

import math

from .._np import np
from ..errors import ShapeError, UnsupportedError
from .common import axes as _norm_axes
from .registry import Meta, op

MODES = ("nearest", "linear", "cubic")
COORDS = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize")
NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
POLICIES = ("stretch", "not_larger", "not_smaller")


def _values(v, what):
    """A host input as a flat list; None when omitted or empty (models write both for "absent")."""
    if v is None:
        return None
    if isinstance(v, Meta):
        if v.size == 0:
            return None
        if v.value is None:
            raise ShapeError(f"Resize {what} must be known when the plan is made")
        return list(v.value)
    return v.reshape(-1).tolist() or None


def _scaled(d, s):
    """floor(d * s), also for a symbolic dim when the scale is an integer or an exact 1/k."""
    if isinstance(d, int):
        return math.floor(d * s)
    if s == int(s):
        return d * int(s)
    k = round(1 / s)
    if k * s == 1.0:
        return d // k
    raise ShapeError(f"cannot scale symbolic dim {d} by {s}")


def _plan(shape, roi, scales, sizes, axes, policy):
    """Per resized axis: (axis, out_len, scale, width, roi_start, roi_end).

    `width` is the fractional output length in_len * scale that the coordinate rules use
    (None when in_len is symbolic: only the reference needs it).
    """
    rank = len(shape)
    ax = _norm_axes(axes, rank) if axes is not None else list(range(rank))
    if (scales is None) == (sizes is None):
        raise ShapeError("Resize needs exactly one of scales and sizes (the other omitted or empty)")
    given = scales if scales is not None else sizes
    if len(given) != len(ax):
        raise ShapeError(f"Resize {'scales' if scales is not None else 'sizes'} has {len(given)} values for {len(ax)} axes")
    roi = roi if roi is not None else [0.0] * len(ax) + [1.0] * len(ax)
    if len(roi) != 2 * len(ax):
        raise ShapeError(f"Resize roi has {len(roi)} values, expected {2 * len(ax)} (starts then ends)")
    dims = [shape[a] for a in ax]
    if scales is not None:
        if any(not s > 0 for s in scales):
            raise ShapeError(f"Resize scales must be > 0, got {scales}")
        outs = [_scaled(d, s) for d, s in zip(dims, scales)]
        widths = [d * s if isinstance(d, int) else None for d, s in zip(dims, scales)]
    elif policy == "stretch":
        outs, scales, widths = [int(n) for n in sizes], [], []
        for d, n in zip(dims, outs):
            concrete = isinstance(d, int) and d > 0
            scales.append(n / d if concrete else 1.0)
            widths.append(n if concrete else None)
            if isinstance(d, int) and d == 0 and n != 0:
                raise ShapeError(f"Resize cannot make {n} values out of an empty axis")
    else:
        if not all(isinstance(d, int) and d > 0 for d in dims):
            raise ShapeError(f"keep_aspect_ratio_policy={policy!r} needs concrete non-empty dims, got {dims}")
        ratios = [n / d for n, d in zip(sizes, dims)]
        s = min(ratios) if policy == "not_larger" else max(ratios)
        outs = [math.floor(s * d + 0.5) for d in dims]  # round half up
        scales, widths = [s] * len(ax), [s * d for d in dims]
    plan = [(a, n, s, w, roi[i], roi[i + len(ax)]) for i, (a, n, s, w) in enumerate(zip(ax, outs, scales, widths))]
    out_shape = list(shape)
    for a, n, *_ in plan:
        out_shape[a] = n
    return plan, tuple(out_shape)


def _check(mode, coordinate_transformation_mode, nearest_mode, keep_aspect_ratio_policy, antialias, exclude_outside):
    for name, value, allowed in (("mode", mode, MODES), ("coordinate_transformation_mode", coordinate_transformation_mode, COORDS),
                                 ("nearest_mode", nearest_mode, NEAREST), ("keep_aspect_ratio_policy", keep_aspect_ratio_policy, POLICIES),
                                 ("antialias", antialias, (0, 1)), ("exclude_outside", exclude_outside, (0, 1))):
        if value not in allowed:
            raise UnsupportedError(f"Resize {name}={value!r} is not supported (one of {', '.join(map(repr, allowed))})")


def _source(ctm, n, in_len, scale, width, start, end):
    """Source coordinate of each of the n output positions along one axis.

    float32, in onnxruntime's order of operations: nearest-neighbour ties and the
    tf_crop_and_resize bounds then fall the same way there, here and in the GPU kernels.
    """
    f = np.float32
    y, in_len, scale, width, start, end = np.arange(n, dtype=f), f(in_len), f(scale), f(width), f(start), f(end)
    if ctm == "asymmetric":
        return y / scale
    if ctm == "align_corners":
        return y * (in_len - 1) / (width - 1) if n > 1 else np.zeros(n, f)
    if ctm == "tf_crop_and_resize":
        if n == 1:
            return np.full(n, f(0.5) * (start + end) * (in_len - 1))
        return start * (in_len - 1) + y * (end - start) * (in_len - 1) / (width - 1)
    if ctm == "pytorch_half_pixel" and n == 1:
        return np.zeros(n, f)
    # half_pixel_symmetric keeps the centre fixed when n is the fractional width rounded down
    offset = in_len / 2 * (1 - f(n) / width) if ctm == "half_pixel_symmetric" else f(0)
    return offset + (y + f(0.5)) / scale - f(0.5)


def _nearest(x, nearest_mode):
    if nearest_mode == "round_prefer_floor":
        return np.ceil(x - 0.5)
    if nearest_mode == "round_prefer_ceil":
        return np.floor(x + 0.5)
    return np.floor(x) if nearest_mode == "floor" else np.ceil(x)


def _cubic(d, a):
    d = np.abs(d)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _taps(x, in_len, mode, scale, cubic_coeff_a, antialias, exclude_outside):
    """Tap indices (clamped to the edge) and weights, both [n, taps], for linear or cubic."""
    support = 1 if mode == "linear" else 2
    s = min(scale, 1.0) if antialias else 1.0  # antialias stretches the filter when shrinking
    r = math.ceil(support / s)
    idx = np.floor(x)[:, None] + np.arange(1 - r, r + 1)
    d = (idx - x[:, None]) * s
    w = np.maximum(1 - np.abs(d), 0) if mode == "linear" else _cubic(d, cubic_coeff_a)
    if exclude_outside:
        w = np.where((idx < 0) | (idx >= in_len), 0.0, w)
    if antialias or exclude_outside:
        total = w.sum(axis=1, keepdims=True)
        w = w / np.where(total == 0, 1, total)
    return np.clip(idx, 0, in_len - 1).astype(np.intp), w


@op("X roi? scales? sizes?", host=("roi", "scales", "sizes"))
def Resize(x, roi=None, scales=None, sizes=None, *, antialias=0, axes=None, coordinate_transformation_mode="half_pixel",
           cubic_coeff_a=-0.75, exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch",
           mode="nearest", nearest_mode="round_prefer_floor"):
    """Resize X by scales (out = floor(in * scale)) or to sizes, on all axes or on `axes`.

    mode nearest/linear/cubic (linear and cubic are N-linear / N-cubic over the resized axes;
    antialias widens their filter when shrinking and is ignored by nearest). roi is read only by
    coordinate_transformation_mode="tf_crop_and_resize", where source coordinates outside the
    input give extrapolation_value. Integer results are rounded half to even and saturated.
    """
    ctm = coordinate_transformation_mode
    plan, _ = _plan(x.shape, _values(roi, "roi"), _values(scales, "scales"), _values(sizes, "sizes"), axes, keep_aspect_ratio_policy)
    y = x if mode == "nearest" else x.astype(np.float64)
    outside = np.zeros((1,) * x.ndim, bool)
    for a, n, scale, width, start, end in plan:
        in_len = y.shape[a]
        if n == in_len and scale == 1 and (ctm != "tf_crop_and_resize" or (start, end) == (0, 1)):
            continue
        if in_len == 0 or n == 0:
            y = np.zeros(y.shape[:a] + (n,) + y.shape[a + 1:], y.dtype)
            continue
        src = _source(ctm, n, in_len, scale, width, start, end)
        if ctm == "tf_crop_and_resize":
            outside = outside | ((src < 0) | (src > in_len - 1)).reshape((-1,) + (1,) * (x.ndim - a - 1))
        if mode == "nearest":
            y = np.take(y, np.clip(_nearest(src, nearest_mode), 0, in_len - 1).astype(np.intp), axis=a)
            continue
        idx, w = _taps(src, in_len, mode, scale, cubic_coeff_a, antialias, exclude_outside)
        w = w.reshape(w.shape + (1,) * (x.ndim - a - 1))
        # a tap of weight 0 adds nothing, also when it holds NaN or Inf
        y = np.where(w != 0, np.take(y, idx, axis=a) * w, 0.0).sum(axis=a + 1)
    if outside.any():
        y = np.where(outside, extrapolation_value, y)
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        y = np.clip(np.rint(y), info.min, info.max)
    return y.astype(x.dtype, copy=False)


@Resize.shape
def _resize_shape(x, roi=None, scales=None, sizes=None, *, antialias, axes, coordinate_transformation_mode, cubic_coeff_a,
                  exclude_outside, extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode):
    _check(mode, coordinate_transformation_mode, nearest_mode, keep_aspect_ratio_policy, antialias, exclude_outside)
    roi_values = _values(roi, "roi")
    if coordinate_transformation_mode == "tf_crop_and_resize" and roi_values is None:
        raise ShapeError("coordinate_transformation_mode='tf_crop_and_resize' needs the roi input")
    return _plan(x.shape, roi_values, _values(scales, "scales"), _values(sizes, "sizes"), axes, keep_aspect_ratio_policy)[1]
