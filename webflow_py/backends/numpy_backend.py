"""The numpy backend: runs each step with the op's numpy reference. It is the spec the GPU
kernels are tested against, so it does nothing clever."""

from .._np import np, require_numpy
from ..errors import ShapeError
from ..ops import Meta
from ..planner import FOLD_LIMIT
from ..format import is_symbolic
from ..weights import decode_weight, read_shards


def _array(meta, value):
    return np.array(value, dtype=meta.dtype).reshape(meta.shape)


class NumpyBackend:
    name = "numpy"
    supported = None  # runs every op; a test may narrow it to run the planner's expansions (webflow.decompose)

    def __init__(self, spec, loader):
        require_numpy("the numpy backend")
        stream = read_shards(spec, loader) if spec.shards else b""
        # symbolic constants (shapes such as [2, batch, 16]) are bound by the planner per plan
        self.symbolic = {n: e for n, e in spec.weights.items() if is_symbolic(e)}
        self.weights = {n: decode_weight(e, stream) for n, e in spec.weights.items() if n not in self.symbolic}

    def const_meta(self, name, need_value):
        if name in self.symbolic:
            e = self.symbolic[name]
            return Meta(e.shape, e.dtype, list(e.value))
        a = self.weights[name]
        return Meta(a.shape, _dtype(a), a.reshape(-1).tolist() if need_value or a.size <= FOLD_LIMIT else None)

    def fold(self, opdef, metas, attrs, n_out):
        """Plan-time evaluation of a node whose inputs are all known (values or, for Shape, shapes)."""
        args = [None if m is None else _array(m, m.value) if m.value is not None else np.empty(m.shape, m.dtype) for m in metas]
        outs = opdef.run(args, attrs)[:n_out]
        return [np.asarray(o).reshape(-1).tolist() for o in outs]

    def run(self, plan, feeds, output_names):
        env = dict(feeds)
        for name in plan.weights_used:
            env[name] = _array(plan.metas[name], plan.folded[name]) if name in plan.folded else self.weights[name]
        for step, free in zip(plan.steps, plan.free_after):
            args = []
            for i, name in enumerate(step.inputs):
                if not name:
                    args.append(None)
                elif i in step.host_values:
                    args.append(_array(step.in_metas[i], step.host_values[i]))
                else:
                    args.append(env[name])
            outs = step.opdef.run(args, step.attrs)
            for name, meta, y in zip(step.outputs, step.out_metas, outs):
                if not name:
                    continue
                if y.shape != meta.shape:
                    raise ShapeError(f"{step.node.describe()}: produced shape {list(y.shape)}, the plan says {list(meta.shape)}")
                env[name] = y
            for name in free:
                del env[name]
        result = {}
        for name in output_names:
            if name in env:
                result[name] = env[name]
            elif name in plan.folded:
                result[name] = _array(plan.metas[name], plan.folded[name])
            else:
                result[name] = self.weights[name]
        return result


def _dtype(a):
    return "bool" if a.dtype == np.bool_ else a.dtype.name
