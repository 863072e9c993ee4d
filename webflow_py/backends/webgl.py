"""The webgl backend: the plan runs as WebGL2 kernels in the browser (webflow_js/webgl).

Python plans; JavaScript computes. This module turns a plan into the JSON the JS side prepares
once (docs/CONTRACT.md) and drives it: per inference one upload of the inputs (none for an
input already on the GPU, such as a camera frame), one replay, one read of every output behind a
single GPU fence. Tensor data never passes through Python.
"""

import time

from ..errors import UnsupportedError
from ..ops import Meta
from ..planner import check_plan_supported

CONTRACT_VERSION = 2


def step_json(step):
    """One plan step for the JS kernel layer: host inputs travel as attributes (by input name)."""
    attrs = dict(step.attrs)
    inputs = []
    for i, name in enumerate(step.inputs):
        if i in step.host_values:
            attrs[step.opdef.inputs[min(i, len(step.opdef.inputs) - 1)].name] = list(step.host_values[i])
            inputs.append(None)
        else:
            inputs.append(name or None)
    return {
        "name": step.node.name,
        "op": step.opdef.name,
        "attrs": attrs,
        "inputs": inputs,
        "outputs": [[name, list(m.shape), m.dtype] for name, m in zip(step.outputs, step.out_metas)],
    }


def plan_json(plan, input_names, output_names, constants):
    """The whole plan: steps with the tensors they free, the metas of every tensor they read."""
    steps = []
    metas = {}
    for step, free in zip(plan.steps, plan.free_after):
        s = step_json(step)
        s["outputs"] = [o for o in s["outputs"] if o[0]]
        s["free"] = list(free)
        steps.append(s)
        for name in s["inputs"]:
            if name:
                m = plan.metas[name]
                metas[name] = [list(m.shape), m.dtype]
    return {"inputs": list(input_names), "outputs": list(output_names), "constants": constants, "metas": metas, "steps": steps}


# The ops webflow_js has a kernel for (webflow_js/webgl/kernels/index.js), known here so the
# converter can say how a model will run without a browser; a test checks both lists agree.
# In the page, the JS registry itself is asked (kernelNames()).
KERNEL_OPS = frozenset({
    "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "BatchNormalization", "Cast",
    "CastLike", "Ceil", "Celu", "Clip", "Concat", "ConstantOfShape", "Conv", "ConvTranspose", "Cos",
    "DepthToSpace", "DequantizeLinear", "Div", "Dropout", "Elu", "Equal", "Erf", "Exp", "Expand",
    "EyeLike", "Flatten", "Floor", "Gather", "GatherElements", "Gelu", "Gemm", "GlobalAveragePool",
    "GlobalMaxPool", "Greater", "GreaterOrEqual", "GroupNormalization", "HardSigmoid", "HardSwish",
    "Hardmax", "Identity", "InstanceNormalization", "IsNaN", "LRN", "LayerNormalization",
    "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "LpNormalization", "LpPool", "MatMul",
    "Max", "MaxPool", "Mean", "MeanVarianceNormalization", "Min", "Mish", "Mod", "Mul", "Neg",
    "Not", "Or", "PRelu", "Pad", "Pow", "QuantizeLinear", "Range", "Reciprocal", "ReduceL1",
    "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize", "Round", "Selu",
    "Shape", "Sigmoid", "Sign", "Sin", "Size", "Slice", "Softmax", "Softplus", "Softsign",
    "SpaceToDepth", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "ThresholdedRelu", "Tile",
    "Transpose", "Trilu", "Unsqueeze", "Where", "Xor"
})


def how_op_runs(op):
    """How the webgl backend runs an op: its own kernel, an expansion into other ops, or not."""
    from ..decompose import DECOMPOSITIONS

    if op in KERNEL_OPS:
        return "gpu kernel"
    if op in DECOMPOSITIONS:
        return "expanded into ops with kernels"
    return "not on the GPU"


GPU_DTYPES = ("float32", "float16", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool")


def check_gpu_dtypes(plan):
    """One error naming every node with a tensor dtype the GPU textures cannot hold."""
    bad = {}
    for step in plan.steps:
        for m in list(step.in_metas) + list(step.out_metas):
            if m is not None and m.dtype not in GPU_DTYPES:
                bad.setdefault(m.dtype, []).append(step.node.name)
    if bad:
        lines = "; ".join(f"{t} (nodes: {', '.join(sorted(set(n))[:5])})" for t, n in sorted(bad.items()))
        raise UnsupportedError(f"the webgl backend cannot hold these dtypes, use the numpy backend: {lines}")


class WebGLBackend:
    """Drives the JS WebGLBackend (`js`) for one model whose weights JS already uploaded."""

    name = "webgl"
    max_inputs = 16  # textures one draw samples: WebGL2 guarantees 16 units
    def __init__(self, spec, js, weight_handles):
        version = js.contractVersion
        if version != CONTRACT_VERSION:
            raise UnsupportedError(f"webflow_js speaks contract version {version}, this Python runtime {CONTRACT_VERSION}: rebuild the site")
        self.spec = spec
        self.js = js
        self.weights = dict(weight_handles)  # name -> JS tensor handle
        self.supported = set(js.kernelNames())
        self._plan_ids = {}
        self._const_handles = {}

    def const_meta(self, name, need_value):
        e = self.spec.weights[name]
        return Meta(e.shape, e.dtype, list(e.value) if e.value is not None else None)

    fold = None  # no numpy here: plan-time values come from the converter's folding

    def prepare(self, plan, input_names, output_names):
        """Hand the plan to JS once; returns its id there."""
        key = id(plan)
        if key not in self._plan_ids:
            check_plan_supported(plan, self.supported, "webgl")
            check_gpu_dtypes(plan)
            constants = {}
            for name in plan.weights_used:
                if name in plan.folded:
                    m = plan.metas[name]
                    constants[name] = self.js.upload(m.dtype, _js(list(m.shape)), _js(list(plan.folded[name])))
                else:
                    constants[name] = self.weights[name]
            self._const_handles[key] = constants
            self._plan_ids[key] = self.js.plan(_js(plan_json(plan, input_names, output_names, constants)))
        return self._plan_ids[key]

    async def run_async(self, plan, feeds, input_names, output_names):
        """One inference: {output name: Tensor}."""
        datas = await self.replay_async(plan, feeds, input_names, output_names)
        return {name: Tensor(data, plan.metas[name].shape, plan.metas[name].dtype) for name, data in zip(output_names, datas)}

    async def replay_async(self, plan, feeds, input_names, output_names):
        """One inference: upload the inputs, replay the plan, read the outputs (O(1) JS calls); returns
        the JS array of the outputs' typed arrays, in output order.

        self.timing: milliseconds inside JS for the upload, the replay (issuing every draw) and
        the reads (waiting for the GPU); the caller's wall time minus these is Python's share."""
        plan_id = self.prepare(plan, input_names, output_names)
        t0 = time.perf_counter()
        handles, uploaded = _upload_feeds(self.js, feeds, input_names)
        t1 = time.perf_counter()
        try:
            outs = self.js.replay(plan_id, _js(handles))
        finally:
            for h in uploaded:
                self.js.dispose(h)
        t2 = time.perf_counter()
        try:
            datas = await self.js.readMany(outs)  # one GPU fence for all outputs
        finally:
            for h in outs:
                self.js.dispose(h)
        t3 = time.perf_counter()
        self.timing = {"upload_ms": (t1 - t0) * 1e3, "replay_ms": (t2 - t1) * 1e3, "read_ms": (t3 - t2) * 1e3}
        return datas

    async def profile_async(self, plan, feeds, input_names, output_names):
        """One replay with every step timed on the GPU: {source, steps: [{name, op, ms}]}."""
        plan_id = self.prepare(plan, input_names, output_names)
        handles, uploaded = _upload_feeds(self.js, feeds, input_names)
        try:
            result = await self.js.profile(plan_id, _js(handles))
        finally:
            for h in uploaded:
                self.js.dispose(h)
        return result

    async def trace_async(self, plan, feeds, input_names, keep=None):
        """Eager mode: run the plan op by op and read back every tensor named in `keep` (all when
        None), e.g. to find the first op whose output differs from the numpy backend."""
        self.prepare(plan, input_names, [])  # uploads plan-time constants; checks support
        handles, owned = _upload_feeds(self.js, feeds, input_names)
        env = dict(zip(input_names, handles))
        consts = self._const_handles[id(plan)]
        result = {}
        try:
            for step in plan.steps:
                s = step_json(step)
                ins = [None if n is None else env[n] if n in env else consts[n] for n in s["inputs"]]
                outs = list(self.js.runStep(_js(s), _js(ins)))
                for (name, _, _), h in zip(s["outputs"], outs):
                    env[name] = h
                    owned.append(h)
            for name, h in env.items():
                if keep is None or name in keep:
                    m = plan.metas[name]
                    result[name] = Tensor(await self.js.read(h), m.shape, m.dtype)
        finally:
            for h in owned:
                self.js.dispose(h)
        return result

    def dispose(self):
        """Free every tensor of this model on the GPU (weights and plan constants)."""
        for h in self.weights.values():
            self.js.dispose(h)
        for consts in self._const_handles.values():
            for name, h in consts.items():
                if name not in self.weights:
                    self.js.dispose(h)
        for pid in self._plan_ids.values():
            self.js.releasePlan(pid)
        self.weights, self._const_handles, self._plan_ids = {}, {}, {}


def _js(value):
    """Python data -> JS (plain objects, not Maps). Only plans and tiny constants cross this way."""
    from pyodide.ffi import to_js
    from js import Object

    return to_js(value, dict_converter=Object.fromEntries)


class Tensor:
    """A result in JS memory: `data` is a JS typed array; tolist()/numpy() copy it into Python."""

    def __init__(self, data, shape, dtype):
        self.data = data
        self.shape = tuple(shape)
        self.dtype = dtype

    def tolist(self):
        flat = list(self.data.to_py()) if hasattr(self.data, "to_py") else list(self.data)
        return _nest(flat, self.shape)

    def numpy(self):
        import numpy as np

        return np.asarray(self.data.to_py()).reshape(self.shape)

    def __repr__(self):
        return f"Tensor({self.dtype}, {list(self.shape)})"


def _nest(flat, shape):
    if len(shape) == 0:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _upload_feeds(js, feeds, names):
    """(input handles, the handles uploaded here). A feed already on the GPU (one with a
    `handle`, e.g. a camera frame) is used as it is: not uploaded, and not the run's to dispose."""
    handles, uploaded = [], []
    for n in names:
        f = feeds[n]
        if getattr(f, "handle", None) is not None:
            handles.append(f.handle)
        else:
            handles.append(js.upload(f.dtype, _js(list(f.shape)), f.data))
            uploaded.append(handles[-1])
    return handles, uploaded
