"""The executor: a loaded model that plans once per input signature and runs on a backend."""

import json

from .backends import make_backend
from .errors import FormatError, InputError, UnsupportedError
from .format import parse_model
from .loader import as_loader
from .ops import REGISTRY, Meta
from .planner import make_plan
from .symbolic import is_sym


def load(source, backend="numpy"):
    """Load a converted model: a folder (or its model.json path), or a Loader.

    >>> model = webflow.load("out/mnist")
    >>> model.predict({"image": x})["logits"]
    """
    loader = as_loader(source)
    spec = read_spec(loader)
    return Model(spec, make_backend(backend, spec, loader))


def read_spec(loader):
    where = loader.describe("model.json")
    try:
        doc = json.loads(loader.read_text("model.json"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{where}: not valid JSON: {e}") from None
    return parse_model(doc, where)


def check_ops(graph, opset_note=""):
    """One error that lists every op the op set lacks, with the nodes that use it."""
    missing = {}
    for node in graph.nodes:
        if node.op not in REGISTRY:
            missing.setdefault(node.op, []).append(node.name)
    if missing:
        lines = "\n".join(f"  {op}: {len(names)} node(s): {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}"
                          for op, names in sorted(missing.items()))
        raise UnsupportedError(f"{len(missing)} op type(s) not supported{opset_note}:\n{lines}")
    for node in graph.nodes:
        d = REGISTRY[node.op]
        d.check_arity(node)
        d.resolve_attrs(node)


class Model:
    def __init__(self, spec, backend):
        self.spec = spec
        self.graph = spec.graph
        self.backend = backend
        check_ops(self.graph)
        self.order = self.graph.topo_order()
        self._host_inputs = self._find_host_inputs()
        self._plans = {}

    @property
    def inputs(self):
        """[TensorInfo]: name, dtype, shape (symbolic dims as Sym, printed by name)."""
        return list(self.graph.inputs)

    @property
    def outputs(self):
        return list(self.graph.outputs)

    def _find_host_inputs(self):
        names = {t.name for t in self.graph.inputs}
        host = set()
        for node in self.order:
            d = REGISTRY[node.op]
            host.update(n for i, n in enumerate(node.inputs) if n in names and d.is_host_input(i))
        return host

    def plan_for(self, given):
        """The plan for inputs {name: (shape, dtype, flat value or None)}; made once per signature."""
        key = tuple((n, tuple(s), t, tuple(v) if n in self._host_inputs else None) for n, (s, t, v) in given.items())
        plan = self._plans.get(key)
        if plan is None:
            metas = {n: Meta(s, t, list(v) if n in self._host_inputs else None) for n, (s, t, v) in given.items()}
            # ops outside the backend's `supported` set (None: all) are expanded into ones inside it
            plan = make_plan(self.graph, self.order, metas, self.backend.const_meta, getattr(self.backend, "fold", None),
                             supported=getattr(self.backend, "supported", None),
                             max_inputs=getattr(self.backend, "max_inputs", None))
            self._plans[key] = plan
        return plan

    def predict(self, *args, **kwargs):
        """Run the model. Inputs by name (a dict or keywords) or by position; returns {output name: array}."""
        np = _numpy()
        feeds = self._collect(args, kwargs)
        arrays = {}
        for t in self.graph.inputs:
            x = feeds[t.name]
            if not hasattr(x, "dtype"):
                x = np.asarray(x, dtype=t.dtype)
            arrays[t.name] = x
        given = {n: (x.shape, _dtype_name(x), x.reshape(-1).tolist() if n in self._host_inputs else None) for n, x in arrays.items()}
        check_inputs(self.graph.inputs, given)
        plan = self.plan_for(given)
        return self.backend.run(plan, arrays, [o.name for o in self.graph.outputs])

    def _collect(self, args, kwargs):
        names = [t.name for t in self.graph.inputs]
        if args and isinstance(args[0], dict) and len(args) == 1:
            feeds = dict(args[0])
        elif args:
            if len(args) != len(names):
                raise InputError(f"predict() got {len(args)} positional input(s), the model takes {len(names)}: {', '.join(t.describe() for t in self.graph.inputs)}")
            feeds = dict(zip(names, args))
        else:
            feeds = {}
        feeds.update(kwargs)
        unknown = [n for n in feeds if n not in names]
        if unknown:
            raise InputError(f"unknown input(s) {', '.join(map(repr, unknown))}; the model's inputs are {', '.join(t.describe() for t in self.graph.inputs)}")
        missing = [n for n in names if n not in feeds]
        if missing:
            raise InputError(f"missing input(s) {', '.join(map(repr, missing))}; the model's inputs are {', '.join(t.describe() for t in self.graph.inputs)}")
        return feeds


def check_inputs(declared, given):
    """Names, dtypes and shapes against the declared inputs; symbolic dims must agree across inputs."""
    bound = {}
    for t in declared:
        shape, dtype, _ = given[t.name]
        if dtype != t.dtype:
            raise InputError(f"input {t.name!r}: expected dtype {t.dtype}, got {dtype}")
        want = ", ".join(str(d) for d in t.shape)
        if len(shape) != len(t.shape):
            raise InputError(f"input {t.name!r}: expected shape [{want}] (rank {len(t.shape)}), got {list(shape)} (rank {len(shape)})")
        for i, (w, g) in enumerate(zip(t.shape, shape)):
            if is_sym(w):
                key = str(w)
                if key in bound and bound[key][0] != g:
                    raise InputError(f"input {t.name!r}: dim {i} is {key!r} = {g}, but input {bound[key][1]!r} set {key!r} = {bound[key][0]}")
                bound.setdefault(key, (g, t.name))
            elif w != g:
                raise InputError(f"input {t.name!r}: expected shape [{want}], got {list(shape)} (dim {i}: expected {w}, got {g})")
    return {k: v for k, (v, _) in bound.items()}


def _dtype_name(x):
    name = str(x.dtype)
    return "bool" if name == "bool" else name


def _numpy():
    from ._np import require_numpy

    return require_numpy("Model.predict")
