"""The webgl backend: the plan runs as WebGL2 kernels in the browser (webflow_js/webgl).

Python plans; JavaScript computes. This module turns a plan into the JSON the JS side prepares
once (docs/CONTRACT.md) and drives it: per inference one upload of the inputs, one replay, one
read per output. Tensor data never passes through Python.
"""

from ..errors import UnsupportedError
from ..ops import Meta
from ..planner import check_plan_supported

CONTRACT_VERSION = 1


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


class WebGLBackend:
    """Drives the JS WebGLBackend (`js`) for one model whose weights JS already uploaded."""

    name = "webgl"

    def __init__(self, spec, js, weight_handles):
        version = js.contractVersion
        if version != CONTRACT_VERSION:
            raise UnsupportedError(f"webflow_js speaks contract version {version}, this Python runtime {CONTRACT_VERSION}: rebuild the site")
        self.spec = spec
        self.js = js
        self.weights = dict(weight_handles)  # name -> JS tensor handle
        self.supported = set(js.kernelNames())
        self._plan_ids = {}

    def const_meta(self, name, need_value):
        e = self.spec.weights[name]
        return Meta(e.shape, e.dtype, list(e.value) if e.value is not None else None)

    fold = None  # no numpy here: plan-time values come from the converter's folding

    def prepare(self, plan, input_names, output_names):
        """Hand the plan to JS once; returns its id there."""
        key = id(plan)
        if key not in self._plan_ids:
            check_plan_supported(plan, self.supported, "webgl")
            constants = {}
            for name in plan.weights_used:
                if name in plan.folded:
                    m = plan.metas[name]
                    constants[name] = self.js.upload(m.dtype, _js(list(m.shape)), _js(list(plan.folded[name])))
                else:
                    constants[name] = self.weights[name]
            self._plan_ids[key] = self.js.plan(_js(plan_json(plan, input_names, output_names, constants)))
        return self._plan_ids[key]


def _js(value):
    """Python data -> JS (plain objects, not Maps). Only plans and tiny constants cross this way."""
    from pyodide.ffi import to_js
    from js import Object

    return to_js(value, dict_converter=Object.fromEntries)
