"""Data movement: ops that rearrange, select or repeat elements without arithmetic on them.

Shape-like operands (Reshape.shape, Slice.starts, Pad.pads, axes, ...) are host inputs, known
when the plan is made. Shape rules are plain arithmetic so that symbolic dims pass through.
"""

import math

from .._np import np
from ..errors import ShapeError, UnsupportedError
from .common import axes as _axes, axis as _axis, broadcast
from .registry import op

# Slice bounds at or beyond these mean "to the end" on a dim whose size is symbolic
# (exporters write INT_MAX / INT_MIN there, 32- or 64-bit).
_TO_END, _TO_START = 2**31 - 1, -(2**31)


def _is_int(d):
    return isinstance(d, int)


def _ints(a):
    """A host input array as a list of ints; None when omitted or empty (= absent in ONNX)."""
    return None if a is None or a.size == 0 else [int(v) for v in a.reshape(-1)]


def _host_ints(m, what):
    """A host input's value as ints; None when the input is omitted or empty (= absent in ONNX)."""
    if m is None or m.size == 0:
        return None
    return m.ints(what)


@op("data shape", "reshaped", host=("shape",))
def Reshape(data, shape, *, allowzero=0):
    """Reshape to `shape`; one -1 is inferred, a 0 copies the input dim (allowzero=0) or is a literal 0 (allowzero=1)."""
    return data.reshape(_reshape_dims(data.shape, _ints(shape) or [], allowzero))


def _reshape_dims(dims, spec, allowzero):
    if spec.count(-1) > 1:
        raise ShapeError(f"Reshape shape {spec} has more than one -1")
    if any(v < -1 for v in spec):
        raise ShapeError(f"Reshape shape {spec} has a negative entry other than -1")
    if allowzero and 0 in spec and -1 in spec:
        raise ShapeError(f"Reshape shape {spec} has both 0 and -1 with allowzero=1")
    if not allowzero and any(v == 0 and i >= len(dims) for i, v in enumerate(spec)):
        raise ShapeError(f"Reshape shape {spec}: a 0 copies an input dim, but the input has rank {len(dims)}")
    out = [dims[i] if v == 0 and not allowzero else v for i, v in enumerate(spec)]
    total = math.prod(dims)
    if -1 in out:
        known = math.prod(d for d in out if not (_is_int(d) and d == -1))
        if _is_int(known) and known == 0:
            raise ShapeError(f"Reshape shape {spec}: cannot infer -1 next to a zero-size dim")
        if _is_int(total) and _is_int(known) and total % known:
            raise ShapeError(f"Reshape cannot make {spec} from {list(dims)} ({total} elements)")
        out[out.index(-1)] = total // known
    elif _is_int(total) and _is_int(math.prod(out)) and total != math.prod(out):
        raise ShapeError(f"Reshape cannot make {spec} ({math.prod(out)} elements) from {list(dims)} ({total} elements)")
    return tuple(out)


@Reshape.shape
def _(data, shape, *, allowzero=0):
    if shape.rank != 1:
        raise ShapeError(f"Reshape shape must be 1-D, got rank {shape.rank}")
    return _reshape_dims(data.shape, shape.ints("Reshape shape"), allowzero)


@op("input", "output")
def Flatten(x, *, axis=1):
    """Reshape to 2-D: dims before `axis` become the rows, the rest the columns (axis in [-rank, rank])."""
    return x.reshape(_flatten(x.shape, axis))


def _flatten(dims, axis):
    r = len(dims)
    if not -r <= axis <= r:
        raise ShapeError(f"Flatten axis {axis} is out of range for rank {r}")
    a = axis + r if axis < 0 else axis
    return (math.prod(dims[:a]), math.prod(dims[a:]))


Flatten.shape(lambda x, *, axis=1: _flatten(x.shape, axis))


@op("data", "transposed")
def Transpose(data, *, perm=None):
    """Permute the axes; perm=None reverses them."""
    return np.transpose(data, _perm(data.ndim, perm))


def _perm(rank, perm):
    if perm is None:
        return list(range(rank))[::-1]
    if len(perm) != rank:
        raise ShapeError(f"Transpose perm {list(perm)} does not match rank {rank}")
    return _axes(perm, rank, "Transpose perm")


Transpose.shape(lambda data, *, perm=None: tuple(data.shape[p] for p in _perm(data.rank, perm)))


@op("data axes?", "squeezed", host=("axes",))
def Squeeze(data, axes=None):
    """Remove the given size-1 axes; with axes omitted (or empty), every size-1 axis."""
    sel = _ints(axes)
    return np.squeeze(data, axis=None if sel is None else tuple(sel))


@Squeeze.shape
def _(data, axes=None):
    sel = _host_ints(axes, "Squeeze axes")
    if sel is None:
        if not all(_is_int(d) for d in data.shape):
            raise ShapeError(f"Squeeze without axes needs concrete dims, got {list(data.shape)}")
        return tuple(d for d in data.shape if d != 1)
    sel = _axes(sel, data.rank, "Squeeze axes")
    for a in sel:
        if _is_int(data.shape[a]) and data.shape[a] != 1:
            raise ShapeError(f"Squeeze axis {a} has size {data.shape[a]}, not 1")
    return tuple(d for i, d in enumerate(data.shape) if i not in sel)


@op("data axes", "expanded", host=("axes",))
def Unsqueeze(data, axes):
    """Insert size-1 axes at `axes`, which index the output (negative: counted from its end)."""
    return data.reshape(_unsqueeze(data.shape, _ints(axes) or []))


def _unsqueeze(dims, axes):
    rank = len(dims) + len(axes)
    sel = set(_axes(axes, rank, "Unsqueeze axes"))
    rest = iter(dims)
    return tuple(1 if i in sel else next(rest) for i in range(rank))


Unsqueeze.shape(lambda data, axes: _unsqueeze(data.shape, axes.ints("Unsqueeze axes")))


@op("inputs*", "concat_result")
def Concat(*xs, axis):
    """Join tensors along `axis`; all other dims must match."""
    return np.concatenate(xs, axis=axis).astype(xs[0].dtype, copy=False)


@Concat.shape
def _(*xs, axis):
    first = xs[0]
    if first.rank == 0:
        raise ShapeError("Concat inputs must have rank >= 1")
    a = _axis(axis, first.rank, "Concat axis")
    total = 0
    for x in xs:
        if x.rank != first.rank or x.dtype != first.dtype:
            raise ShapeError(f"Concat inputs differ in rank or dtype: {x.dtype}{list(x.shape)} vs {first.dtype}{list(first.shape)}")
        if any(x.shape[i] != first.shape[i] for i in range(first.rank) if i != a):
            raise ShapeError(f"Concat inputs {list(x.shape)} and {list(first.shape)} differ off axis {a}")
        total = total + x.shape[a]
    return first.shape[:a] + (total,) + first.shape[a + 1:]


@op("input split?", "outputs", host=("split",))
def Split(x, split=None, *, axis=0, num_outputs=None):
    """Cut along `axis` into pieces of sizes `split`, or into `num_outputs` pieces of ceil(dim/n)
    (the last one smaller). The converter always sets num_outputs when `split` is absent."""
    sizes = _split_sizes(x.shape[axis], _ints(split), num_outputs)
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def _split_sizes(dim, split, num_outputs):
    if split is not None and num_outputs is not None:
        raise ShapeError("Split takes either the split input or num_outputs, not both")
    if split is not None:
        if any(s < 0 for s in split):
            raise ShapeError(f"Split sizes {split} must be >= 0")
        if sum(split) != dim:
            raise ShapeError(f"Split sizes {split} do not add up to the dim {dim}")
        return split
    if num_outputs is None:
        raise ShapeError("Split needs num_outputs (the number of outputs) when the split input is absent")
    n = num_outputs
    if n < 1:
        raise ShapeError(f"Split num_outputs must be >= 1, got {n}")
    chunk = -(-dim // n) if _is_int(dim) else dim // n  # a symbolic dim must divide exactly
    last = dim - chunk * (n - 1)
    if _is_int(last) and last <= 0 and n > 1:
        raise ShapeError(f"Split cannot cut a dim of {dim} into {n} pieces of {chunk} with a smaller last one")
    return [chunk] * (n - 1) + [last]


@Split.shape
def _(x, split=None, *, axis=0, num_outputs=None):
    a = _axis(axis, x.rank, "Split axis")
    sizes = _split_sizes(x.shape[a], _host_ints(split, "Split split"), num_outputs)
    return [x.shape[:a] + (s,) + x.shape[a + 1:] for s in sizes]


@op("data starts ends axes? steps?", "output", host=("starts", "ends", "axes", "steps"))
def Slice(data, starts, ends, axes=None, steps=None):
    """Strided slice along `axes` (default: the first len(starts)); bounds clamp as in numpy,
    so INT_MAX / INT_MIN mean "to the end"; a negative step walks backwards."""
    index = [slice(None)] * data.ndim
    for a, s, e, st in _slice_args(data.ndim, starts, ends, axes, steps, lambda v: _ints(v) or []):
        index[a] = slice(s, e, st)  # numpy clamps exactly as ONNX specifies
    return data[tuple(index)]


def _slice_args(rank, starts, ends, axes, steps, ints):
    s, e = ints(starts), ints(ends)
    ax = list(range(len(s))) if axes is None else ints(axes)
    st = [1] * len(s) if steps is None else ints(steps)
    if not len(s) == len(e) == len(ax) == len(st):
        raise ShapeError(f"Slice starts {s}, ends {e}, axes {ax}, steps {st} differ in length")
    if 0 in st:
        raise ShapeError("Slice steps must not be 0")
    return zip(_axes(ax, rank, "Slice axes"), s, e, st)


def _slice_len(dim, start, end, step):
    if _is_int(dim):
        return len(range(*slice(start, end, step).indices(dim)))
    # A symbolic dim is assumed to be at least as large as every literal bound.
    if step > 0:
        s = start if start >= 0 else dim + start
        e = dim if end >= _TO_END else end if end >= 0 else dim + end
        n = e - s
    else:
        s = dim - 1 if start >= _TO_END else start if start >= 0 else dim + start
        e = -1 if end <= _TO_START else end if end >= 0 else dim + end
        n = s - e
    step = abs(step)
    if _is_int(n):
        return max(0, -(-n // step))
    return (n + step - 1) // step


@Slice.shape
def _(data, starts, ends, axes=None, steps=None):
    out = list(data.shape)
    ints = lambda m: m.ints("Slice starts/ends/axes/steps")  # noqa: E731
    for a, s, e, st in _slice_args(data.rank, starts, ends, axes, steps, ints):
        out[a] = _slice_len(data.shape[a], s, e, st)
    return tuple(out)


@op("data indices", "output")
def Gather(data, indices, *, axis=0):
    """Take entries of `data` along `axis` at `indices` (negative indices count from the end);
    out-of-range indices raise, as in onnxruntime."""
    return np.take(data, _wrap_indices(indices, data.shape[axis], "Gather"), axis=axis)


def _wrap_indices(indices, n, what):
    if indices.size and (indices.min() < -n or indices.max() >= n):
        raise ShapeError(f"{what} indices {indices.min()}..{indices.max()} are out of range for a dim of {n}")
    return np.where(indices < 0, indices + n, indices)


@Gather.shape
def _(data, indices, *, axis=0):
    if data.rank == 0:
        raise ShapeError("Gather data must have rank >= 1")
    a = _axis(axis, data.rank, "Gather axis")
    return data.shape[:a] + indices.shape + data.shape[a + 1:]


@op("data indices", "output")
def GatherElements(data, indices, *, axis=0):
    """out[i][j][k] = data[indices[i][j][k]][j][k] for axis=0 (and so on); output has indices' shape."""
    a = axis % data.ndim
    grid = list(np.indices(indices.shape, sparse=True))
    grid[a] = _wrap_indices(indices, data.shape[a], "GatherElements")
    return data[tuple(grid)]


@GatherElements.shape
def _(data, indices, *, axis=0):
    if data.rank == 0 or indices.rank != data.rank:
        raise ShapeError(f"GatherElements data and indices need the same rank >= 1, got {data.rank} and {indices.rank}")
    a = _axis(axis, data.rank, "GatherElements axis")
    for i, (n, d) in enumerate(zip(indices.shape, data.shape)):
        if i != a and _is_int(n) and _is_int(d) and n > d:
            raise ShapeError(f"GatherElements indices dim {i} ({n}) exceeds the data dim ({d})")
    return indices.shape


@op("input shape", "output", host=("shape",))
def Expand(x, shape):
    """Broadcast x against `shape` in both directions (numpy rules; a 1 in `shape` keeps x's dim)."""
    out = broadcast(x.shape, tuple(_ints(shape) or ()))
    return np.array(np.broadcast_to(x, out))


@Expand.shape
def _(x, shape):
    dims = shape.ints("Expand shape")
    if any(d < 0 for d in dims):
        raise ShapeError(f"Expand shape {dims} has a negative dim")
    return broadcast(x.shape, tuple(dims))


@op("input repeats", "output", host=("repeats",))
def Tile(x, repeats):
    """Repeat x `repeats[i]` times along axis i."""
    return np.tile(x, _ints(repeats) or [])


@Tile.shape
def _(x, repeats):
    reps = repeats.ints("Tile repeats")
    if len(reps) != x.rank or any(r < 0 for r in reps):
        raise ShapeError(f"Tile repeats {reps} must be {x.rank} values >= 0")
    return tuple(d * r for d, r in zip(x.shape, reps))


_PAD_MODES = ("constant", "reflect", "edge", "wrap")


@op("data pads constant_value? axes?", "output", host=("pads", "constant_value", "axes"))
def Pad(data, pads, constant_value=None, axes=None, *, mode="constant"):
    """Pad (or, for negative pads, crop) each axis; pads = [begins..., ends...] over `axes`
    (default all). Cropping happens first, so reflect/edge/wrap read the cropped tensor.
    constant_value (default 0) is used by mode="constant" only."""
    width = _pad_widths(data.ndim, _ints(pads) or [], _ints(axes))
    crop = tuple(slice(max(-b, 0), n - max(-e, 0)) for (b, e), n in zip(width, data.shape))
    grow = [(max(b, 0), max(e, 0)) for b, e in width]
    x = data[crop]
    if mode == "constant":
        fill = 0 if constant_value is None or constant_value.size == 0 else constant_value.reshape(-1)[0]
        return np.pad(x, grow, mode="constant", constant_values=fill).astype(data.dtype, copy=False)
    return np.pad(x, grow, mode=mode)  # numpy's edge/reflect/wrap are ONNX's


def _pad_widths(rank, pads, axes):
    axes = list(range(rank)) if axes is None else _axes(axes, rank, "Pad axes")
    if len(pads) != 2 * len(axes):
        raise ShapeError(f"Pad pads {pads} must hold 2 values per padded axis ({len(axes)} axes)")
    width = [(0, 0)] * rank
    for i, a in enumerate(axes):
        width[a] = (pads[i], pads[len(axes) + i])
    return width


@Pad.shape
def _(data, pads, constant_value=None, axes=None, *, mode="constant"):
    if mode not in _PAD_MODES:
        raise UnsupportedError(f"Pad mode={mode!r} is not supported (supported: {', '.join(_PAD_MODES)})")
    width = _pad_widths(data.rank, pads.ints("Pad pads"), _host_ints(axes, "Pad axes"))
    out = []
    for d, (b, e) in zip(data.shape, width):
        kept = d + min(b, 0) + min(e, 0)
        if mode != "constant" and _is_int(kept) and max(b, e) > 0:
            if kept == 0:
                raise ShapeError(f"Pad mode={mode!r} cannot pad an axis left empty")
            if mode == "reflect" and max(b, e) > kept - 1:
                raise ShapeError(f"Pad mode='reflect' pads of {max(b, e)} exceed the axis size {kept} less 1")
        out.append(d + b + e)
    return tuple(out)


@op("input", "output")
def DepthToSpace(x, *, blocksize, mode="DCR"):
    """NCHW: move channel blocks into blocksize x blocksize spatial tiles. DCR: channel index is
    (row, col, depth) order; CRD: (depth, row, col)."""
    n, c, h, w = x.shape
    b = blocksize
    if mode == "DCR":
        t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return t.reshape(n, c // (b * b), h * b, w * b)


@DepthToSpace.shape
def _(x, *, blocksize, mode="DCR"):
    _check_block("DepthToSpace", x, blocksize, mode)
    n, c, h, w = x.shape
    b = blocksize
    if _is_int(c) and c % (b * b):
        raise ShapeError(f"DepthToSpace channels {c} are not divisible by blocksize^2 = {b * b}")
    return (n, c // (b * b), h * b, w * b)


@op("input", "output")
def SpaceToDepth(x, *, blocksize, mode="DCR"):
    """NCHW: move blocksize x blocksize spatial tiles into channels (the inverse of DepthToSpace
    in the same mode). mode is new in opset 28; DCR is what every earlier opset does."""
    n, c, h, w = x.shape
    b = blocksize
    t = x.reshape(n, c, h // b, b, w // b, b)
    t = t.transpose(0, 3, 5, 1, 2, 4) if mode == "DCR" else t.transpose(0, 1, 3, 5, 2, 4)
    return t.reshape(n, c * b * b, h // b, w // b)


@SpaceToDepth.shape
def _(x, *, blocksize, mode="DCR"):
    _check_block("SpaceToDepth", x, blocksize, mode)
    n, c, h, w = x.shape
    b = blocksize
    if any(_is_int(d) and d % b for d in (h, w)):
        raise ShapeError(f"SpaceToDepth spatial dims {h}x{w} are not divisible by blocksize {b}")
    return (n, c * b * b, h // b, w // b)


def _check_block(name, x, blocksize, mode):
    if mode not in ("DCR", "CRD"):
        raise UnsupportedError(f"{name} mode={mode!r} is not supported (DCR or CRD)")
    if x.rank != 4:
        raise ShapeError(f"{name} needs a 4-D NCHW input, got rank {x.rank}")
    if blocksize < 1:
        raise ShapeError(f"{name} blocksize must be >= 1, got {blocksize}")


@op("input", "output")
def Identity(x):
    """x unchanged"""
    return x


Identity.shape(lambda x: x.shape)


@op("input k?", "output", host=("k",))
def Trilu(x, k=None, *, upper=1):
    """Keep the upper (upper=1) or lower triangle of the last two dims, from diagonal k
    (k > 0: above the main diagonal); zero the rest."""
    d = 0 if k is None else int(k.reshape(-1)[0])
    return np.triu(x, d) if upper else np.tril(x, d)


@Trilu.shape
def _(x, k=None, *, upper=1):
    if x.rank < 2:
        raise ShapeError(f"Trilu needs rank >= 2, got {x.rank}")
    if k is not None and k.size != 1:
        raise ShapeError(f"Trilu k must be a single value, got shape {list(k.shape)}")
    return x.shape
