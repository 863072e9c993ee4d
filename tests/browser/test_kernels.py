"""Every WebGL kernel against its numpy reference, on the op test cases of tests/ops/.

Each case runs as one plan step on the GPU (real WebGL2 in headless Chromium), with exact
inputs and outputs, and is compared with the numpy reference under the GPU tolerance policy
(docs/DESIGN.md): float32 atol 1e-5 / rtol 1e-3, or the case's own looser tolerance.
There is no CPU shortcut for small tensors: every case runs a shader.
"""

import importlib
import pkgutil

import numpy as np
import pytest

import tests.ops
from tests.browser.harness import decode, encode
from tests.ops.harness import Case, assert_close, run_reference
from webflow.backends.webgl import step_json
from webflow.dtypes import LOW_PRECISION
from webflow.graph import Node
from webflow.ops import Meta, get
from webflow.planner import Step

GPU_ATOL, GPU_RTOL = 1e-5, 1e-3


def all_cases():
    """Every Case in a list at module level of tests/ops/test_*.py."""
    out = []
    for info in pkgutil.iter_modules(tests.ops.__path__):
        if not info.name.startswith("test_"):
            continue
        mod = importlib.import_module(f"tests.ops.{info.name}")
        for name, value in vars(mod).items():
            if isinstance(value, list) and value and all(isinstance(c, Case) for c in value):
                out += [(f"{info.name[5:]}.{name}", c) for c in value]
    return out


CASES = all_cases()


def case_plan(case, supported):
    """The case as a one-node graph, planned for the GPU's kernels: ops without a kernel are
    expanded by the planner (webflow.decompose), exactly as in a real model."""
    from webflow.graph import Graph, TensorInfo
    from webflow.planner import make_plan

    d = get(case.op)
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(case.inputs)]
    outs = [f"out{i}" for i in range(case.noutputs)]
    node = Node(f"{case.op}_case", case.op, names, outs, dict(case.attrs))
    inputs, consts = [], {}
    for i, x in enumerate(case.inputs):
        if x is None:
            continue
        dtype = "bool" if x.dtype == np.bool_ else x.dtype.name
        if d.is_host_input(i):
            consts[names[i]] = Meta(x.shape, dtype, x.reshape(-1).tolist())
        else:
            inputs.append(TensorInfo(names[i], dtype, x.shape))
    graph = Graph(inputs, [TensorInfo(o, "", ()) for o in outs], [node], consts)
    plan = make_plan(graph, [node], {t.name: Meta(t.shape, t.dtype) for t in inputs}, lambda n, need: consts[n], supported=supported, max_inputs=16)
    tensors = {t.name: encode(case.inputs[names.index(t.name)]) for t in inputs}
    for name in plan.weights_used:  # plan-time constants the expansion reads as tensors
        m = plan.metas[name]
        tensors[name] = encode(np.array(plan.folded[name], dtype=m.dtype).reshape(m.shape))
    return {"tensors": tensors, "steps": [step_json(s) for s in plan.steps], "outputs": outs}


def case_step(case):
    d = get(case.op)
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(case.inputs)]
    node = Node(f"{case.op}_case", case.op, names, [f"out{i}" for i in range(case.noutputs)], dict(case.attrs))
    attrs = d.resolve_attrs(node)
    metas, host = [], {}
    for i, x in enumerate(case.inputs):
        if x is None:
            metas.append(None)
            continue
        value = x.reshape(-1).tolist() if d.is_host_input(i) else None
        if value is not None:
            host[i] = value
        metas.append(Meta(x.shape, "bool" if x.dtype == np.bool_ else x.dtype.name, value))
    outs = d.infer(node, metas, attrs)[: case.noutputs]
    step = Step(node, d, attrs, metas, outs, host)
    step.outputs = step.outputs[: case.noutputs]
    return step_json(step), [None if i in host or x is None else encode(x) for i, x in enumerate(case.inputs)]


def _low_precision(case):
    """Cases with float8/float4/bfloat16/int4/int2 tensors: the numpy backend's, not the GPU's."""
    dtypes = {("bool" if x.dtype == np.bool_ else x.dtype.name) for x in case.inputs if x is not None}
    dtypes |= {str(v) for v in case.attrs.values() if isinstance(v, str)}
    return bool(dtypes & set(LOW_PRECISION))


GPU = [(n, c) for n, c in CASES if not _low_precision(c)]
LOW = [(n, c) for n, c in CASES if _low_precision(c)]


@pytest.fixture(scope="module")
def kernels(kernel_page):
    return set(kernel_page.evaluate("window.kernelNames()"))


@pytest.mark.parametrize("case", [c for _, c in GPU], ids=[f"{n}-{c.op}-{c.id or i}" for i, (n, c) in enumerate(GPU)])
def test_kernel_matches_reference(kernel_page, kernels, case):
    want = run_reference(case)
    if case.op in kernels:
        step, inputs = case_step(case)
        (result,) = kernel_page.evaluate("cases => window.runSteps(cases)", [{"step": step, "inputs": inputs}])
    else:  # no kernel: the planner's expansion into ops that have one, run on the GPU
        result = kernel_page.evaluate("p => window.runPlan(p)", case_plan(case, kernels))
    assert "error" not in result, result.get("error")
    for i, (g, w) in enumerate(zip(result["outputs"], want)):
        assert_close(decode(g), w, max(case.atol, GPU_ATOL), max(case.rtol, GPU_RTOL), f"{case} output {i} on the GPU")


def test_low_precision_is_refused_by_name():
    """The webgl backend does not run float8/float4/bfloat16/int4/int2 tensors: planning says so,
    naming the node and the dtype, before anything reaches the GPU."""
    from webflow.backends.webgl import check_gpu_dtypes
    from webflow.errors import UnsupportedError
    from webflow.planner import Plan

    assert len(LOW) > 50
    for _, case in LOW:
        plan = Plan(())
        plan.steps.append(_step_for(case))
        with pytest.raises(UnsupportedError, match=r"webgl backend cannot hold .*(bfloat16|float8|float4|int4|uint4|int2|uint2)"):
            check_gpu_dtypes(plan)


def _step_for(case):
    d = get(case.op)
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(case.inputs)]
    node = Node(f"{case.op}_case", case.op, names, [f"out{i}" for i in range(case.noutputs)], dict(case.attrs))
    attrs = d.resolve_attrs(node)
    metas = [None if x is None else Meta(x.shape, x.dtype.name, x.reshape(-1).tolist() if d.is_host_input(i) else None) for i, x in enumerate(case.inputs)]
    return Step(node, d, attrs, metas, d.infer(node, metas, attrs)[: case.noutputs], {})
