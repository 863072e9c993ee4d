"""Every layer agrees on the op set: the Python op registry, the JS kernel registry, and the
planner's expansions. (Node imports the JS registry; no browser needed.)"""

import json
import os
import subprocess

from webflow.backends.webgl import KERNEL_OPS, how_op_runs
from webflow.decompose import DECOMPOSITIONS
from webflow.ops import REGISTRY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def js_kernels():
    script = "import('./webflow_js/webgl/kernels/index.js').then(m => console.log(JSON.stringify([...m.KERNELS.keys()])))"
    return set(json.loads(subprocess.check_output(["node", "-e", script], cwd=ROOT, text=True)))


def test_python_knows_the_js_kernels():
    assert KERNEL_OPS == js_kernels()


def test_every_op_runs_on_the_gpu():
    assert set(KERNEL_OPS) <= set(REGISTRY), sorted(set(KERNEL_OPS) - set(REGISTRY))
    missing = [op for op in REGISTRY if how_op_runs(op) == "not on the GPU"]
    assert not missing, f"ops with neither a kernel nor an expansion: {missing}"
    assert set(DECOMPOSITIONS) <= set(REGISTRY)


def test_ops_doc_is_generated_from_the_registry():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_docs", os.path.join(ROOT, "scripts", "gen_docs.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with open(os.path.join(ROOT, "docs", "OPS.md")) as f:
        assert f.read() == gen.ops_markdown(), "docs/OPS.md is stale: run python scripts/gen_docs.py ops"
