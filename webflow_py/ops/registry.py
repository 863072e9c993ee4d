"""The op registry: each op is defined once, here and in its family module.

An op is a numpy reference function whose signature *is* the spec: positional parameters are
the inputs, keyword-only parameters are the attributes with their defaults
(`def LeakyRelu(x, *, alpha=0.01)`). Beside it sit a shape rule and a dtype rule. The
converter, the planner, the numpy backend, the docs (docs/OPS.md) and the browser kernel
registry all read this one table.
"""

import inspect
import math

from .._np import np
from ..errors import ShapeError, UnsupportedError, WebflowError

REGISTRY = {}


class Meta:
    """What planning knows of a tensor: shape, dtype, and its value when known at plan time.

    `value` is a flat row-major Python list, or None when only the GPU/numpy backend holds it.
    """

    __slots__ = ("shape", "dtype", "value")

    def __init__(self, shape, dtype, value=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.value = value

    @property
    def rank(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    def ints(self, what="value"):
        """The plan-time value as a list of ints (ShapeError when it is not known)."""
        if self.value is None:
            raise ShapeError(f"{what} must be known when the plan is made (a constant or computed from shapes)")
        return [v if not isinstance(v, float) else int(v) for v in self.value]

    def __repr__(self):
        return f"Meta({list(self.shape)}, {self.dtype}{', value' if self.value is not None else ''})"


class InputSpec:
    __slots__ = ("name", "optional", "variadic", "host")

    def __init__(self, token, host):
        self.variadic = token.endswith("*")
        self.optional = token.endswith("?") or self.variadic
        self.name = token.rstrip("?*")
        self.host = self.name in host


class OpDef:
    """One op: spec (inputs, outputs, attributes), numpy reference, shape rule, dtype rule."""

    def __init__(self, name, inputs, outputs, reference, dtype=None, host=(), fusable=False, shape_only=False, doc=None, family=None):
        self.name = name
        self.shape_only = shape_only  # output depends on input shapes only (Shape, Size): always known at plan time
        self.inputs = [InputSpec(t, host) for t in inputs.split()]
        self.outputs = outputs.split()
        self.reference = reference
        self.dtype_rule = dtype
        self.fusable = fusable  # accepts a fused `activation` (a unary op applied to its output)
        self.family = family or reference.__module__.rsplit(".", 1)[-1]
        self.doc = inspect.cleandoc(doc or reference.__doc__ or "")
        self.shape_rule = None
        self.attrs = {}
        self.required = []
        for p in inspect.signature(reference).parameters.values():
            if p.kind is p.KEYWORD_ONLY:
                if p.default is p.empty:
                    self.required.append(p.name)
                else:
                    self.attrs[p.name] = p.default
        if fusable:
            self.attrs["activation"] = None

    def __repr__(self):
        return f"<op {self.name}>"

    def shape(self, fn):
        """Decorator: the shape rule, same signature as the reference but over Meta objects."""
        self.shape_rule = fn
        return fn

    @property
    def host_positions(self):
        return [i for i, s in enumerate(self.inputs) if s.host]

    def is_host_input(self, i):
        spec = self.inputs[min(i, len(self.inputs) - 1)]
        return spec.host and (i < len(self.inputs) or spec.variadic)

    def resolve_attrs(self, node):
        """Defaults filled in; unknown or missing attributes named."""
        unknown = set(node.attrs) - set(self.attrs) - set(self.required)
        if unknown:
            raise UnsupportedError(f"{node.describe()}: unknown attribute(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(self.attrs) + self.required)})")
        missing = [a for a in self.required if a not in node.attrs]
        if missing:
            raise ShapeError(f"{node.describe()}: required attribute(s) missing: {', '.join(missing)}")
        out = dict(self.attrs)
        out.update(node.attrs)
        return out

    def check_arity(self, node):
        n_in = len(node.inputs)
        fixed = [s for s in self.inputs if not s.variadic]
        need = sum(1 for s in fixed if not s.optional)
        has_var = any(s.variadic for s in self.inputs)
        if n_in < need or (not has_var and n_in > len(self.inputs)):
            raise ShapeError(f"{node.describe()}: takes {need}..{'n' if has_var else len(self.inputs)} inputs ({' '.join(s.name for s in self.inputs)}), got {n_in}")
        for i, name in enumerate(node.inputs):
            if not name and i < len(fixed) and not fixed[i].optional:
                raise ShapeError(f"{node.describe()}: input {i} ({fixed[i].name}) is required")

    def infer(self, node, metas, attrs):
        """Output Metas (value None) from input Metas; errors name the node and the shapes."""
        if self.shape_rule is None:
            raise UnsupportedError(f"op {self.name} has no shape rule")
        try:
            shapes = self.shape_rule(*metas, **_shape_attrs(attrs))
            dtypes = self._dtypes(metas, attrs, len(node.outputs))
        except WebflowError as e:
            raise type(e)(f"{node.describe()}: {e} (inputs: {_describe(metas)})") from None
        except (ValueError, IndexError, TypeError, ZeroDivisionError, KeyError, OverflowError) as e:
            raise ShapeError(f"{node.describe()}: inputs do not fit: {e} (inputs: {_describe(metas)})") from None
        if isinstance(shapes, tuple) or (shapes and not isinstance(shapes[0], (tuple, list))):
            shapes = [tuple(shapes)]
        shapes = [tuple(s) for s in shapes]
        if len(shapes) < len(node.outputs):
            raise ShapeError(f"{node.describe()}: shape rule gave {len(shapes)} outputs, the node has {len(node.outputs)}")
        for s in shapes:
            if any((isinstance(d, int) and d < 0) for d in s):
                raise ShapeError(f"{node.describe()}: negative output dim {list(s)} (inputs: {_describe(metas)})")
        return [Meta(s, t) for s, t in zip(shapes, dtypes)]

    def _dtypes(self, metas, attrs, n):
        rule = self.dtype_rule
        if rule is None:
            first = next(m for m in metas if m is not None)
            return [first.dtype] * n
        if isinstance(rule, str):
            return [rule] * n
        out = rule(metas, attrs)
        return [out] * n if isinstance(out, str) else list(out)

    def run(self, values, attrs):
        """The numpy reference on numpy values; returns a list of outputs."""
        act = attrs.get("activation") if self.fusable else None
        kw = {k: v for k, v in attrs.items() if k != "activation"} if self.fusable else attrs
        with np.errstate(all="ignore"):  # IEEE results (inf, nan) are the spec, not warnings
            out = self.reference(*values, **kw)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if act:
            outs[0] = apply_activation(outs[0], act)
        return outs


def _shape_attrs(attrs):
    return {k: v for k, v in attrs.items() if k != "activation"}


def _describe(metas):
    return ", ".join("-" if m is None else f"{m.dtype}{list(m.shape)}" for m in metas)


def op(inputs, outputs="Y", *, dtype=None, host=(), fusable=False, shape_only=False):
    """Decorator that turns a numpy reference into a registered op."""

    def wrap(fn):
        return register(OpDef(fn.__name__, inputs, outputs, fn, dtype=dtype, host=host, fusable=fusable, shape_only=shape_only))

    return wrap


def register(opdef):
    if opdef.name in REGISTRY:
        raise ValueError(f"op {opdef.name} is defined twice")
    REGISTRY[opdef.name] = opdef
    return opdef


def get(name, node=None):
    d = REGISTRY.get(name)
    if d is None:
        where = f"{node.describe()}: " if node else ""
        raise UnsupportedError(f"{where}op {name!r} is not in webflow's op set")
    return d


def apply_activation(y, act):
    """A fused activation: {"op": "Clip", "min": 0, "max": 6} applies that unary op to y."""
    params = {k: v for k, v in act.items() if k != "op"}
    d = get(act["op"])
    if not getattr(d, "activation_ok", False):
        raise UnsupportedError(f"{act['op']} cannot be fused as an activation")
    args = [params.pop(s.name, None) for s in d.inputs[1:]]
    return d.reference(y, *args, **params)
