"""The runtime imports and plans with the standard library alone, as it must under Pyodide."""

import subprocess
import sys

SCRIPT = r"""
import sys
sys.modules["numpy"] = None  # any `import numpy` now fails, as in a Pyodide without numpy
import webflow, webflow.ops
from webflow.model import read_spec, check_ops
from webflow.loader import as_loader
from webflow.ops import Meta
from webflow.planner import make_plan

spec = read_spec(as_loader(sys.argv[1]))
check_ops(spec.graph)
def const_meta(name, need_value):
    e = spec.graph.constants[name]
    return Meta(e.shape, e.dtype, list(e.value) if e.value is not None else None)
plan = make_plan(spec.graph, spec.graph.topo_order(), {"x": Meta((3, 64, 64), "float32")}, const_meta)
print(len(webflow.ops.REGISTRY), [s.opdef.name for s in plan.steps], [list(s.out_metas[0].shape) for s in plan.steps])
try:
    webflow.load(sys.argv[1])
except webflow.WebflowError as e:
    print("numpy backend:", e)
"""


def test_import_and_plan_without_numpy(small_model):
    r = subprocess.run([sys.executable, "-c", SCRIPT, small_model], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "['MatMul', 'Add', 'Relu'] [[3, 64, 64], [3, 64, 64], [3, 64, 64]]" in r.stdout
    assert "numpy backend: the numpy backend needs numpy, which this Python does not have" in r.stdout
