"""Shape arithmetic shared by the shape rules of several op families."""

from ..errors import ShapeError


def broadcast(*shapes):
    """Multidirectional (numpy) broadcasting of shapes; a 1 stretches, anything else must match."""
    shapes = [tuple(s) for s in shapes if s is not None]
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dim = 1
        for s in shapes:
            d = s[i - rank + len(s)] if i - rank + len(s) >= 0 else 1
            if d == 1:
                continue
            if dim == 1:
                dim = d
            elif d != dim:
                raise ShapeError(f"shapes {', '.join(str(list(s)) for s in shapes)} do not broadcast")
        out.append(dim)
    return tuple(out)


def axis(a, rank, what="axis"):
    """A possibly negative axis made non-negative, checked against the rank."""
    if not -rank <= a < max(rank, 1):
        raise ShapeError(f"{what} {a} is out of range for rank {rank}")
    return a % rank if rank else 0


def axes(values, rank, what="axes"):
    out = [axis(a, rank, what) for a in values]
    if len(set(out)) != len(out):
        raise ShapeError(f"{what} {list(values)} repeat an axis")
    return out
