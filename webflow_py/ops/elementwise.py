"""Element-wise ops, as tables: a new unary op is one line here (plus its kernel line and a test).

Unary ops can also be fused into Conv/MatMul/Gemm as their `activation`.
"""

import functools
import math

from .._np import np
from .common import broadcast
from .registry import OpDef, register, op


def _erf(x):
    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


def _f(fn):
    """Compute in the input's float dtype (numpy would otherwise promote Python floats); bfloat16
    in float32, rounded once at the end (each ml_dtypes step would round on its own)."""
    @functools.wraps(fn)  # keeps the signature, which is the spec
    def wrapped(x, *args, **kw):
        work = x.astype(np.float32) if x.dtype.name == "bfloat16" else x
        return np.asarray(fn(work, *args, **kw)).astype(x.dtype, copy=False)
    return wrapped


# name: (reference, doc). Attributes are the reference's keyword-only parameters.
UNARY = {
    "Relu": (lambda x: np.maximum(x, x.dtype.type(0)), "max(x, 0)"),
    "Sigmoid": (lambda x: 1 / (1 + np.exp(-x)), "1 / (1 + exp(-x))"),
    "Tanh": (lambda x: np.tanh(x), "tanh(x)"),
    "Exp": (lambda x: np.exp(x), "exp(x)"),
    "Log": (lambda x: np.log(x), "natural log"),
    "Sqrt": (lambda x: np.sqrt(x), "square root"),
    "Reciprocal": (lambda x: 1 / x, "1 / x"),
    "Neg": (lambda x: -x, "-x"),
    "Abs": (lambda x: np.abs(x), "|x|"),
    "Floor": (lambda x: np.floor(x), "round down"),
    "Ceil": (lambda x: np.ceil(x), "round up"),
    "Round": (lambda x: np.round(x), "round half to even"),
    "Sign": (lambda x: np.sign(x), "-1, 0 or 1"),
    "Sin": (lambda x: np.sin(x), "sine"),
    "Cos": (lambda x: np.cos(x), "cosine"),
    "Erf": (_erf, "the error function"),
    "Softplus": (lambda x: np.logaddexp(0, x), "log(1 + exp(x))"),
    "Softsign": (lambda x: x / (1 + np.abs(x)), "x / (1 + |x|)"),
    "HardSwish": (lambda x: x * np.clip(x / 6 + 0.5, 0, 1), "x * clip(x/6 + 1/2, 0, 1)"),
    "Mish": (lambda x: x * np.tanh(np.logaddexp(0, x)), "x * tanh(softplus(x))"),
    "LeakyRelu": (lambda x, *, alpha=0.01: np.where(x >= 0, x, alpha * x), "x if x >= 0 else alpha * x"),
    "Elu": (lambda x, *, alpha=1.0: np.where(x >= 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1)), "x if x >= 0 else alpha * (exp(x) - 1)"),
    "Selu": (lambda x, *, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875:
             gamma * np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1)), "gamma * (x if x > 0 else alpha * (exp(x) - 1))"),
    "Celu": (lambda x, *, alpha=1.0: np.maximum(x, 0) + np.minimum(0, alpha * (np.exp(np.minimum(x, 0) / alpha) - 1)), "max(0,x) + min(0, alpha*(exp(x/alpha)-1))"),
    "HardSigmoid": (lambda x, *, alpha=0.2, beta=0.5: np.clip(alpha * x + beta, 0, 1), "clip(alpha * x + beta, 0, 1)"),
    "ThresholdedRelu": (lambda x, *, alpha=1.0: np.where(x > alpha, x, 0), "x if x > alpha else 0"),
    "Gelu": (lambda x, *, approximate="none": (
        0.5 * x * (1 + _erf(x / np.sqrt(x.dtype.type(2))))) if approximate == "none" else
        0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
        "x * Phi(x); approximate='tanh' uses the tanh formula"),
}

for _name, (_fn, _doc) in UNARY.items():
    _d = register(OpDef(_name, "X", "Y", _f(_fn), doc=_doc, family="elementwise"))
    _d.activation_ok = True
    _d.shape(lambda x, **_: x.shape)


@op("X min? max?", host=("min", "max"))
def Clip(x, min=None, max=None):
    """clip(x, min, max); an omitted bound does not clip."""
    lo = None if min is None or np.size(min) == 0 else np.asarray(min).reshape(())
    hi = None if max is None or np.size(max) == 0 else np.asarray(max).reshape(())
    y = x
    if lo is not None:
        y = np.maximum(y, lo.astype(x.dtype))
    if hi is not None:
        y = np.minimum(y, hi.astype(x.dtype))
    return y.astype(x.dtype, copy=False)


Clip.activation_ok = True
Clip.shape(lambda x, lo=None, hi=None: x.shape)


@op("X")
def Not(x):
    """logical not"""
    return np.logical_not(x)


Not.shape(lambda x: x.shape)


@op("X", dtype="bool")
def IsNaN(x):
    """true where x is NaN"""
    return np.isnan(x)


IsNaN.shape(lambda x: x.shape)


def _int_div(a, b):
    """Integer division truncates toward zero (C semantics), as ONNX runtimes do."""
    q = np.trunc(a.astype(np.float64) / np.where(b == 0, 1, b))
    return q.astype(a.dtype)


def _mod(a, b, fmod=0):
    if fmod:
        return np.fmod(a, b)
    return np.mod(a, b)


# name: (reference over broadcast numpy arrays, dtype rule, doc)
BINARY = {
    "Add": (lambda a, b: a + b, None, "a + b"),
    "Sub": (lambda a, b: a - b, None, "a - b"),
    "Mul": (lambda a, b: a * b, None, "a * b"),
    "Div": (lambda a, b: _int_div(a, b) if a.dtype.kind in "iu" else a / b, None, "a / b (integers truncate toward zero)"),
    "Pow": (lambda a, b: np.power(a, b.astype(a.dtype) if a.dtype.kind == "f" else b), None, "a ** b (result has a's dtype)"),
    "Equal": (lambda a, b: a == b, "bool", "a == b"),
    "Less": (lambda a, b: a < b, "bool", "a < b"),
    "LessOrEqual": (lambda a, b: a <= b, "bool", "a <= b"),
    "Greater": (lambda a, b: a > b, "bool", "a > b"),
    "GreaterOrEqual": (lambda a, b: a >= b, "bool", "a >= b"),
    "And": (lambda a, b: np.logical_and(a, b), "bool", "logical and"),
    "Or": (lambda a, b: np.logical_or(a, b), "bool", "logical or"),
    "Xor": (lambda a, b: np.logical_xor(a, b), "bool", "logical xor"),
}


def _binary(name, fn):
    def ref(a, b):
        y = fn(a, b)
        return np.asarray(y).astype(a.dtype, copy=False) if y.dtype != np.bool_ else y
    ref.__name__ = name
    return ref


for _name, (_fn, _dt, _doc) in BINARY.items():
    _d = register(OpDef(_name, "A B", "C", _binary(_name, _fn), dtype=_dt, doc=_doc + " (numpy broadcasting)", family="elementwise"))
    _d.shape(lambda a, b: broadcast(a.shape, b.shape))


@op("A B", "C")
def Mod(a, b, *, fmod=0):
    """a mod b; fmod=0 takes the sign of b (integers only), fmod=1 the sign of a (C fmod)"""
    return np.asarray(_mod(a, b, fmod)).astype(a.dtype, copy=False)


Mod.shape(lambda a, b, **_: broadcast(a.shape, b.shape))


def _variadic(name, fn, doc):
    def ref(*xs):
        y = xs[0]
        for x in xs[1:]:
            y = fn(y, x)
        return np.asarray(y).astype(xs[0].dtype, copy=False)
    ref.__name__ = name
    d = register(OpDef(name, "data_0*", "Y", ref, doc=doc + " (numpy broadcasting, any number of inputs)", family="elementwise"))
    d.shape(lambda *xs: broadcast(*(x.shape for x in xs)))
    return d


_variadic("Max", lambda a, b: np.maximum(a, b), "element-wise maximum (NaN propagates)")
_variadic("Min", lambda a, b: np.minimum(a, b), "element-wise minimum (NaN propagates)")
_variadic("Sum", lambda a, b: a + b, "element-wise sum")


@op("data_0*", "Y")
def Mean(*xs):
    """element-wise mean (numpy broadcasting)"""
    return (sum(xs[1:], xs[0]) / len(xs)).astype(xs[0].dtype)


Mean.shape(lambda *xs: broadcast(*(x.shape for x in xs)))


@op("X slope", "Y")
def PRelu(x, slope):
    """x if x >= 0 else slope * x; slope broadcasts to x"""
    return np.where(x >= 0, x, slope * x).astype(x.dtype)


PRelu.shape(lambda x, slope: broadcast(x.shape, slope.shape))


@op("condition X Y", "Z", dtype=lambda m, a: m[1].dtype)
def Where(cond, x, y):
    """x where condition else y (numpy broadcasting of all three)"""
    return np.where(cond, x, y)


Where.shape(lambda c, x, y: broadcast(c.shape, x.shape, y.shape))
