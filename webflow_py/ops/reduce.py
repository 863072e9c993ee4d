"""Reductions, as one table; ArgMax/ArgMin; and the softmax family, which works along one axis.

A Reduce* op is its table entry: a numpy function of (x, axes) that keeps the reduced dims.
The wrapper reads the axes input and noop_with_empty_axes, drops dims for keepdims=0 and casts
back. Reducing over no axes (noop_with_empty_axes=1) still does the element-wise steps, as ONNX
says: ReduceSumSquare gives x*x, ReduceLogSum gives log(x).
"""

from .._np import np
from ..dtypes import FLOATS
from ..errors import ShapeError, UnsupportedError
from . import common
from .registry import OpDef, op, register


def _acc(x):
    """float16 accumulates in float32 (as the GPU kernels do); integer sums in int64."""
    if x.dtype == np.float16:
        return x.astype(np.float32)
    return x.astype(np.int64) if x.dtype.kind in "iu" and x.dtype != np.uint64 else x


def _lowest(dtype):
    """The identity of max: -inf, or the smallest integer, or False."""
    if dtype.kind == "f":
        return -np.inf
    return False if dtype == np.bool_ else np.iinfo(dtype).min


def _highest(dtype):
    if dtype.kind == "f":
        return np.inf
    return True if dtype == np.bool_ else np.iinfo(dtype).max


def _sum(x, ax):
    return np.add.reduce(_acc(x), axis=ax, keepdims=True)


def _mean(x, ax):
    s = _sum(x, ax)
    n = 1
    for a in ax:
        n *= x.shape[a]
    if x.dtype.kind in "iu":  # truncates toward zero, as onnxruntime does; an empty mean is 0
        return np.sign(s) * (np.abs(s) // max(n, 1))
    return s / s.dtype.type(n)  # an empty mean is 0/0 = NaN: no silent 0 for an undefined value


def _logsumexp(x, ax):
    x = _acc(x)
    m = np.maximum.reduce(x, axis=ax, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(m), m, 0)  # an infinite max shifts by 0, so ±inf rows give ±inf, not NaN
    return np.log(np.add.reduce(np.exp(x - shift), axis=ax, keepdims=True)) + shift


# name: (numpy function of (x, axes) keeping reduced dims, what it computes, value over no elements, floats only)
REDUCE = {
    "ReduceSum": (_sum, "sum", "0", False),
    "ReduceMean": (_mean, "mean (integers truncate toward zero)", "NaN (ONNX leaves it undefined; 0 for integers)", False),
    "ReduceMax": (lambda x, ax: np.maximum.reduce(x, axis=ax, keepdims=True, initial=_lowest(x.dtype)),
                  "max (NaN propagates; False < True)", "-inf, the smallest integer, or False", False),
    "ReduceMin": (lambda x, ax: np.minimum.reduce(x, axis=ax, keepdims=True, initial=_highest(x.dtype)),
                  "min (NaN propagates; False < True)", "+inf, the largest integer, or True", False),
    "ReduceProd": (lambda x, ax: np.multiply.reduce(_acc(x), axis=ax, keepdims=True), "product", "1", False),
    "ReduceL1": (lambda x, ax: _sum(np.abs(x), ax), "sum(|x|)", "0", False),
    "ReduceL2": (lambda x, ax: np.sqrt(_sum(np.square(_acc(x)), ax)), "sqrt(sum(x*x))", "0", False),
    "ReduceSumSquare": (lambda x, ax: _sum(np.square(_acc(x)), ax), "sum(x*x)", "0", False),
    "ReduceLogSum": (lambda x, ax: np.log(_sum(x, ax)), "log(sum(x))", "-inf", True),
    "ReduceLogSumExp": (_logsumexp, "log(sum(exp(x))), computed without overflow", "-inf", True),
}


def _axes(rank, axes, noop):
    """The reduced axes as a tuple: the axes input, or all of them (none when noop_with_empty_axes)."""
    if not axes:
        return () if noop else tuple(range(rank))
    return tuple(common.axes(axes, rank))


def _reduced_shape(shape, ax, keepdims):
    return tuple(1 if i in ax else d for i, d in enumerate(shape) if keepdims or i not in ax)


def _reduction(name, fn, what, empty, floats_only):
    def ref(data, axes=None, *, keepdims=1, noop_with_empty_axes=0):
        ax = _axes(data.ndim, [] if axes is None else axes.reshape(-1).tolist(), noop_with_empty_axes)
        y = np.asarray(fn(data, ax)).reshape(_reduced_shape(data.shape, ax, keepdims))
        return y.astype(data.dtype, copy=False)

    def shape(data, axes=None, *, keepdims=1, noop_with_empty_axes=0):
        if floats_only and data.dtype not in FLOATS:
            raise UnsupportedError(f"{name} takes float inputs only (got {data.dtype}); cast first")
        ax = _axes(data.rank, [] if axes is None else axes.ints("axes"), noop_with_empty_axes)
        return _reduced_shape(data.shape, ax, keepdims)

    ref.__name__ = name
    doc = (f"{what} over the `axes` input (all axes when it is empty or omitted, none when "
           f"noop_with_empty_axes=1); keepdims=1 keeps reduced dims as 1. Over no elements: {empty}.")
    d = register(OpDef(name, "data axes?", "reduced", ref, host=("axes",), doc=doc, family="reduce"))
    d.shape(shape)


for _name, _entry in REDUCE.items():
    _reduction(_name, *_entry)


def _arg(fn, x, axis, keepdims, select_last_index):
    a = common.axis(axis, x.ndim)
    if select_last_index:
        x = np.flip(x, a)
    i = fn(x, axis=a, keepdims=True)
    if select_last_index:
        i = x.shape[a] - 1 - i
    return i.reshape(_reduced_shape(x.shape, (a,), keepdims)).astype(np.int64)


def _arg_shape(name, data, axis, keepdims):
    a = common.axis(axis, data.rank)
    d = data.shape[a]
    if isinstance(d, int) and d == 0:
        raise ShapeError(f"{name} along axis {axis}, which has no elements")
    return _reduced_shape(data.shape, (a,), keepdims)


@op("data", "reduced", dtype="int64")
def ArgMax(data, *, axis=0, keepdims=1, select_last_index=0):
    """index of the largest value along `axis` (the first one, or the last with select_last_index=1); NaN counts as largest"""
    return _arg(np.argmax, data, axis, keepdims, select_last_index)


@op("data", "reduced", dtype="int64")
def ArgMin(data, *, axis=0, keepdims=1, select_last_index=0):
    """index of the smallest value along `axis` (the first one, or the last with select_last_index=1); NaN counts as smallest"""
    return _arg(np.argmin, data, axis, keepdims, select_last_index)


ArgMax.shape(lambda data, *, axis=0, keepdims=1, select_last_index=0: _arg_shape("ArgMax", data, axis, keepdims))
ArgMin.shape(lambda data, *, axis=0, keepdims=1, select_last_index=0: _arg_shape("ArgMin", data, axis, keepdims))


def _shifted(x, axis):
    """x minus its max along axis (so exp cannot overflow), in a float dtype that accumulates well."""
    x = _acc(x)
    a = common.axis(axis, x.ndim)
    return x - np.maximum.reduce(x, axis=a, keepdims=True, initial=-np.inf), a


@op("input", "output")
def Softmax(x, *, axis=-1):
    """exp(x) / sum(exp(x)) along `axis` (opset-13 form: one axis, not the flattened trailing dims)"""
    z, a = _shifted(x, axis)
    e = np.exp(z)
    return (e / np.add.reduce(e, axis=a, keepdims=True)).astype(x.dtype)


@op("input", "output")
def LogSoftmax(x, *, axis=-1):
    """x - log(sum(exp(x))) along `axis` (opset-13 form)"""
    z, a = _shifted(x, axis)
    return (z - np.log(np.add.reduce(np.exp(z), axis=a, keepdims=True))).astype(x.dtype)


@op("input", "output")
def Hardmax(x, *, axis=-1):
    """1 at the first largest value along `axis`, 0 elsewhere (opset-13 form); NaN counts as largest"""
    a = common.axis(axis, x.ndim)
    y = np.zeros_like(x)
    if x.size:
        np.put_along_axis(y, np.argmax(x, axis=a, keepdims=True), 1, axis=a)
    return y


def _along_axis(x, *, axis=-1):
    if x.rank == 0:
        raise ShapeError("needs an input of rank >= 1")
    common.axis(axis, x.rank)
    return x.shape


for _d in (Softmax, LogSoftmax, Hardmax):
    _d.shape(_along_axis)
