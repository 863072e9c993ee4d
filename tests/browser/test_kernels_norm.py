"""GPU coverage for the norm family beyond tests/ops/test_norm.py: tensors that wrap texture rows,
transformer-sized rows, statistics outputs, statistics split into parts, every attribute, NaN/Inf,
and staged kernels inside a replayed plan (their temporaries return to the pool).
"""

import numpy as np
import pytest

from tests.browser.test_kernels import GPU_ATOL, GPU_RTOL, case_step
from tests.browser.test_kernels_reduce import run_on_gpu
from tests.ops.harness import Case, ids, run_reference

rng = np.random.default_rng(12)


def f32(*shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def channel_params(c):
    return [f32(c), f32(c), f32(c), f32(c, lo=0.1, hi=2)]  # scale, B, mean, var


SPECIAL = np.array([[0.0, 1.5, np.inf, -2.0], [np.nan, 1.0, 2.0, 3.0], [-np.inf, 0.0, 1.0, 2.0], [1, 1, 1, 1]], np.float32)
WRAP = f32(2, 3, 60, 50)  # 18000 elements: wraps texture rows (16384 elements a row)

CASES = [
    Case("BatchNormalization", [WRAP, *channel_params(3)], id="wrap"),
    Case("BatchNormalization", [f32(7, 3), *channel_params(3)], {"epsilon": 0.5}, id="2d-odd"),
    Case("LayerNormalization", [f32(24, 768), f32(768), f32(768)], id="hidden768", noutputs=3),
    Case("LayerNormalization", [f32(20, 1000), f32(1000), f32(1000)], id="wrap", noutputs=3),
    Case("LayerNormalization", [f32(5, 7) + 100, f32(7)], id="offset-no-bias", noutputs=3),  # mean far from 0
    Case("LayerNormalization", [f32(2, 5000) + 10, f32(5000), f32(5000)], id="split-rows", noutputs=3),  # statistics in parts
    Case("LayerNormalization", [f32(2, 3, 5), f32(3, 5), f32(5)], {"axis": 1}, id="bias-broadcasts", noutputs=3),
    Case("LayerNormalization", [f32(6, 1), f32(1), f32(1)], id="one-element-rows", noutputs=3),
    Case("LayerNormalization", [f32(4, 6), f32(6), f32(6)], {"epsilon": 0.1}, id="epsilon-4-aligned", noutputs=3),
    Case("LayerNormalization", [SPECIAL, f32(4), f32(4)], id="special-stats", noutputs=3),
    Case("LayerNormalization", [np.zeros((3, 0), np.float32), f32(0), f32(0)], id="empty-rows-stats", noutputs=3),
    Case("InstanceNormalization", [f32(2, 9, 30, 32), f32(9), f32(9)], id="wrap"),
    Case("InstanceNormalization", [f32(2, 3, 5), f32(3), f32(3)], id="odd"),
    Case("InstanceNormalization", [f32(1, 2, 100, 101), f32(2), f32(2)], id="split"),
    Case("InstanceNormalization", [f32(2, 2, 1, 1), f32(2), f32(2)], id="one-element"),
    Case("GroupNormalization", [f32(2, 8, 40, 30), f32(8), f32(8)], {"num_groups": 4}, id="wrap"),
    Case("GroupNormalization", [f32(4, 6), f32(6), f32(6)], {"num_groups": 3}, id="rank2"),
    Case("GroupNormalization", [f32(1, 4, 64, 64), f32(4), f32(4)], {"num_groups": 2}, id="split"),
    Case("GroupNormalization", [f32(2, 6, 7), f32(6), f32(6)], {"num_groups": 6, "epsilon": 0.3}, id="odd-blocks"),
    Case("GroupNormalization", [SPECIAL.reshape(1, 4, 4), f32(4), f32(4)], {"num_groups": 2}, id="special"),
    Case("LpNormalization", [f32(5, 4000)], {"axis": 0}, id="wrap-axis0"),
    Case("LpNormalization", [f32(3, 5, 7)], {"axis": 1, "p": 1}, id="p1-middle"),
    Case("LpNormalization", [np.array([[0, 0, 0, 0], [3, -4, 0, 0], [np.inf, 1, 0, 0], [np.nan, 1, 2, 3]], np.float32)], {"p": 1}, id="special"),
    Case("LpNormalization", [f32(9)], {"axis": 0}, id="1d"),
    Case("LpNormalization", [f32(5000, 2)], {"axis": 0, "p": 1}, id="split-strided"),
    Case("MeanVarianceNormalization", [f32(2, 8, 30, 36)], {"axes": [2, 3]}, id="wrap"),
    Case("MeanVarianceNormalization", [f32(2, 3, 5, 7)], id="default-axes-odd"),
    Case("MeanVarianceNormalization", [f32(2, 3, 4, 5)], {"axes": [0, 2]}, id="non-adjacent"),
    Case("MeanVarianceNormalization", [f32(2, 3, 4, 5)], {"axes": [0, 1, 2, 3]}, id="all"),
    Case("MeanVarianceNormalization", [f32(3, 7)], {"axes": [1]}, id="rank2"),
    Case("MeanVarianceNormalization", [f32(2, 3, 50, 50)], id="split-outer-axis"),
    Case("LRN", [f32(1, 16, 40, 30)], {"size": 5}, id="wrap"),
    Case("LRN", [f32(2, 5, 7)], {"size": 1, "alpha": 0.5, "beta": 1.0, "bias": 2.0}, id="size1-3d"),
    Case("LRN", [f32(1, 6, 3, 5)], {"size": 2, "alpha": 0.1}, id="even-size"),
    Case("LRN", [f32(1, 4, 2, 2, 3)], {"size": 3, "alpha": 0.3}, id="5d"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_norm_on_gpu(kernel_page, case):
    run_on_gpu(kernel_page, case)


def test_staged_ops_in_a_replayed_plan(kernel_page):
    # LayerNormalization -> Softmax, both drawn in stages, replayed twice as one plan: the same
    # numbers, and every temporary back in the pool afterwards
    x, scale, bias = f32(6, 10), f32(10), f32(10)
    ln = Case("LayerNormalization", [x, scale, bias])
    y = run_reference(ln)[0]
    sm = Case("Softmax", [y], {"axis": 0})
    want = run_reference(sm)[0]
    s1, s2 = case_step(ln)[0], case_step(sm)[0]
    s1.update(inputs=["x", "scale", "bias"], free=[])
    s1["outputs"][0][0] = "y"
    s2.update(inputs=["y"], free=["y"])
    s2["outputs"][0][0] = "z"
    meta = lambda a: [list(a.shape), "float32"]  # noqa: E731
    plan = {"inputs": ["x"], "outputs": ["z"], "metas": {"x": meta(x), "scale": meta(scale), "bias": meta(bias), "y": meta(y)}, "steps": [s1, s2]}
    got = kernel_page.evaluate("""async ({plan, x, scale, bias, shapes}) => {
      const { WebGLBackend } = await import("/webflow_js/webgl/backend.js");
      const be = new WebGLBackend({ debug: true });
      const up = (a, shape) => be.upload("float32", shape, Float32Array.from(a));
      plan.constants = { scale: up(scale, shapes[1]), bias: up(bias, shapes[2]) };
      const id = be.plan(plan), hx = up(x, shapes[0]);
      const live = be.memory().liveTextures, out = [];
      for (let k = 0; k < 2; k++) {
        const [hz] = be.replay(id, [hx]);
        out.push(Array.from(await be.read(hz)));
        be.dispose(hz);
      }
      return { out, leaked: be.memory().liveTextures - live };
    }""", {"plan": plan, "x": x.ravel().tolist(), "scale": scale.tolist(), "bias": bias.tolist(), "shapes": [x.shape, scale.shape, bias.shape]})
    assert got["leaked"] == 0
    for z in got["out"]:
        np.testing.assert_allclose(np.array(z, np.float32).reshape(want.shape), want, atol=GPU_ATOL, rtol=GPU_RTOL)
