"""Symbolic dimensions ("batch", "seq") as small integer polynomials.

Shape rules are written with plain arithmetic, so the same rule computes concrete shapes in the
planner and symbolic ones in the converter (model.json output shapes, folding of the shape
arithmetic PyTorch exports). Only what shape rules need is here: + - * and exact // and %.
"""

import re

from .errors import ShapeError


class Sym:
    """A polynomial over named dims with integer coefficients: {monomial (sorted names): coef}."""

    __slots__ = ("terms",)

    def __init__(self, terms):
        self.terms = {m: c for m, c in terms.items() if c}

    @classmethod
    def named(cls, name):
        return cls({(name,): 1})

    @staticmethod
    def lift(v):
        if isinstance(v, Sym):
            return v
        if isinstance(v, bool) or not isinstance(v, int):
            v = int(v)
        return Sym({(): v})

    @staticmethod
    def simplify(s):
        """A Sym whose only term is a constant becomes a plain int."""
        if not s.terms:
            return 0
        if set(s.terms) == {()}:
            return s.terms[()]
        return s

    def _combine(self, other, sign):
        other = Sym.lift(other)
        t = dict(self.terms)
        for m, c in other.terms.items():
            t[m] = t.get(m, 0) + sign * c
        return Sym.simplify(Sym(t))

    def __add__(self, o):
        return self._combine(o, 1)

    __radd__ = __add__

    def __sub__(self, o):
        return self._combine(o, -1)

    def __rsub__(self, o):
        return Sym.lift(o)._combine(self, -1)

    def __neg__(self):
        return Sym.simplify(Sym({m: -c for m, c in self.terms.items()}))

    def __mul__(self, o):
        o = Sym.lift(o)
        t = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in o.terms.items():
                m = tuple(sorted(m1 + m2))
                t[m] = t.get(m, 0) + c1 * c2
        return Sym.simplify(Sym(t))

    __rmul__ = __mul__

    def __floordiv__(self, o):
        if isinstance(o, Sym):
            q = _exact_quotient(self, o)
            if q is not None:
                return q
            raise ShapeError(f"cannot divide symbolic dim {self} by {o}")
        if all(c % o == 0 for c in self.terms.values()):
            return Sym.simplify(Sym({m: c // o for m, c in self.terms.items()}))
        raise ShapeError(f"symbolic dim {self} is not known to be divisible by {o}")

    __truediv__ = __floordiv__

    def __mod__(self, o):
        if not isinstance(o, Sym) and all(c % o == 0 for c in self.terms.values()):
            return 0
        raise ShapeError(f"cannot take symbolic dim {self} modulo {o}")

    def __eq__(self, o):
        if isinstance(o, bool) or not isinstance(o, (Sym, int)):
            return NotImplemented
        return not isinstance(self - o, Sym) and self - o == 0

    def _compare(self, o, op):
        """Order against a number, assuming every dim is at least 1: decidable when the
        polynomial's non-constant coefficients are positive and its least value settles it."""
        d = self - o
        if not isinstance(d, Sym):
            return op(d, 0)
        if any(c < 0 for m, c in d.terms.items() if m):
            raise ShapeError(f"cannot tell the sign of symbolic dim expression {d}")
        least = sum(d.terms.values())
        if op(least, 0) and op(least + 10**9, 0):  # true at the least value and beyond
            return True
        if not op(least, 0) and not op(least + 10**9, 0):
            return False
        raise ShapeError(f"cannot compare symbolic dim {self} with {o}")

    def __lt__(self, o):
        return self._compare(o, lambda a, b: a < b)

    def __le__(self, o):
        return self._compare(o, lambda a, b: a <= b)

    def __gt__(self, o):
        return self._compare(o, lambda a, b: a > b)

    def __ge__(self, o):
        return self._compare(o, lambda a, b: a >= b)

    def __hash__(self):
        return hash(tuple(sorted(self.terms.items())))

    def __bool__(self):
        return True  # a symbolic dim is assumed non-zero

    def __index__(self):
        raise ShapeError(f"symbolic dim {self} used where a concrete size is needed")

    def evaluate(self, env):
        """The value for concrete dims {name: int}."""
        total = 0
        for m, c in self.terms.items():
            for name in m:
                c *= env[name]
            total += c
        return total

    @property
    def names(self):
        return {n for m in self.terms for n in m}

    def __repr__(self):
        parts = []
        for m, c in sorted(self.terms.items(), key=lambda kv: (-len(kv[0]), kv[0])):
            name = "*".join(m)
            if not m:
                parts.append(str(c))
            elif c == 1:
                parts.append(name)
            else:
                parts.append(f"{c}*{name}")
        return " + ".join(parts).replace("+ -", "- ")

    def __str__(self):
        return self.__repr__()


def _exact_quotient(a, b):
    """a / b when b is a single term dividing every term of a exactly, else None."""
    if len(b.terms) != 1:
        return Sym.simplify(Sym({(): 1})) if a == b else None
    (mb, cb), = b.terms.items()
    out = {}
    for m, c in a.terms.items():
        rest = list(m)
        for name in mb:
            if name not in rest:
                return None
            rest.remove(name)
        if c % cb:
            return None
        out[tuple(rest)] = c // cb
    return Sym.simplify(Sym(out))


def is_sym(v):
    return isinstance(v, Sym)


_TERM = re.compile(r"^(?:(\d+)\*)?([A-Za-z_][\w.:]*(?:\*[A-Za-z_][\w.:]*)*)$|^(\d+)$")


def parse_dim(text):
    """Read back what str(Sym) writes: "batch", "2*batch + 1", "batch*seq"."""
    total = 0
    for sign, term in re.findall(r"([+-]?)\s*([^+-]+)", text.replace(" ", "")):
        m = _TERM.match(term)
        if not m:
            raise ValueError(f"not a dimension expression: {text!r}")
        if m.group(3):
            value = int(m.group(3))
        else:
            value = Sym({tuple(sorted(m.group(2).split("*"))): int(m.group(1) or 1)})
        total = total - value if sign == "-" else total + value
    return total


def dim_from_json(d):
    """A shape entry of model.json: an int, or a string naming a symbolic dim (or an expression of them)."""
    return parse_dim(d) if isinstance(d, str) else d


def dim_to_json(d):
    if isinstance(d, Sym):
        return str(d)
    return int(d)


class SymbolicTensor:
    """A small int tensor whose entries may be symbolic dims, e.g. the shape [2, batch, 16].

    The converter finds these in shape arithmetic; model.json stores them inline (entries as
    dim expressions), and the planner binds them to the input's dims in pure Python.
    """

    def __init__(self, values, dtype, shape):
        self.values = list(values)
        self.dtype = dtype
        self.shape = tuple(shape)

    @property
    def size(self):
        return len(self.values)

    def bind(self, env):
        """Entries with every dim bound to an int; None when some dim is not in env."""
        try:
            return [v.evaluate(env) if is_sym(v) else v for v in self.values]
        except KeyError:
            return None

    def __repr__(self):
        return f"SymbolicTensor({self.values}, {self.dtype})"


def bind_dims(declared, shapes):
    """{dim name: size} from declared input shapes (Sym dims) and concrete shapes."""
    env = {}
    for t, shape in zip(declared, shapes):
        for d, g in zip(t.shape, shape):
            if is_sym(d) and isinstance(g, int) and len(d.terms) == 1 and list(d.terms.values()) == [1] and len(next(iter(d.terms))) == 1:
                env[next(iter(d.terms))[0]] = g
    return env
