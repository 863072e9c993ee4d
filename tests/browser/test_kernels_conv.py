"""GPU coverage for the conv and pool kernels beyond tests/ops/: every fast path of Conv
(pointwise as a matrix product in both layouts, NHWC depthwise, NHWC 4-output-channel blocks with
vec4 or scalar input channels, NCHW 4-wide output rows with and without overlapping windows;
eager steps may write banded outputs, so the NHWC pointwise and few-channel cases run
register-blocked, and one chain feeds banded tensors to other kernels)
and the general kernel, channels-last ConvTranspose, the 4-channel NHWC pools, 1-D and 3-D,
groups, every padding mode, fused activations and residuals (Z) on every path, NaN/Inf, and tensors that wrap texture rows (more
than 16384 elements). Each case is one plan step on the GPU, checked against the numpy reference.
"""

import numpy as np
import pytest

from tests.browser.harness import decode, encode
from tests.browser.test_kernels import GPU_ATOL, GPU_RTOL, case_step
from tests.ops.harness import Case, assert_close, ids, run_reference

rng = np.random.default_rng(41)
MANY = 1e-4  # atol for convs that sum many products


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def nhwc(*shape):
    """A channels-last tensor given its channels-first shape."""
    return np.ascontiguousarray(np.moveaxis(f32(*shape), 1, -1))


def with_nan(x):
    x = x.copy()
    x.flat[::37] = np.nan
    x.flat[5::53] = np.inf
    return x


RELU6 = {"op": "Clip", "min": 0.0, "max": 6.0}
NH = {"layout": "NHWC"}

CONV = [
    # pointwise: the matrix-product kernel
    Case("Conv", [nhwc(2, 8, 5, 6), f32(12, 8, 1, 1), f32(12)], {**NH, "activation": RELU6}, id="pointwise-nhwc-texel"),
    Case("Conv", [nhwc(2, 8, 5, 6), f32(6, 8, 1, 1), f32(6)], NH, id="pointwise-nhwc-element"),
    Case("Conv", [nhwc(1, 6, 5, 6), f32(8, 6, 1, 1)], NH, id="pointwise-nhwc-odd-channels"),
    Case("Conv", [f32(2, 8, 4, 6), f32(12, 8, 1, 1), f32(12)], {"activation": {"op": "Relu"}}, id="pointwise-nchw-texel"),
    Case("Conv", [f32(2, 8, 5, 5), f32(12, 8, 1, 1), f32(12)], id="pointwise-nchw-element"),
    Case("Conv", [f32(1, 16, 36, 32), f32(20, 16, 1, 1), f32(20)], id="pointwise-nchw-wrap"),
    Case("Conv", [nhwc(1, 16, 36, 32), f32(20, 16, 1, 1), f32(20)], NH, id="pointwise-nhwc-wrap"),
    Case("Conv", [f32(2, 5, 7), f32(8, 5, 1)], id="pointwise-1d"),
    # NHWC depthwise
    Case("Conv", [nhwc(2, 8, 9, 11), f32(8, 1, 3, 3), f32(8)], {**NH, "group": 8, "pads": [1, 1, 1, 1], "activation": RELU6}, id="dw-nhwc"),
    Case("Conv", [nhwc(1, 12, 10, 9), f32(12, 1, 3, 3)], {**NH, "group": 12, "strides": [2, 2], "auto_pad": "SAME_UPPER"}, id="dw-nhwc-stride2-same"),
    Case("Conv", [nhwc(1, 4, 11, 12), f32(4, 1, 3, 2), f32(4)], {**NH, "group": 4, "dilations": [2, 3], "pads": [2, 0, 1, 3]}, id="dw-nhwc-dilated"),
    Case("Conv", [nhwc(1, 8, 9, 9), f32(8, 1, 5, 5), f32(8)], {**NH, "group": 8, "auto_pad": "SAME_LOWER"}, id="dw-nhwc-5x5"),
    Case("Conv", [nhwc(2, 8, 13), f32(8, 1, 4), f32(8)], {**NH, "group": 8, "strides": [2], "pads": [1, 2]}, id="dw-nhwc-1d"),
    Case("Conv", [nhwc(1, 4, 4, 5, 6), f32(4, 1, 2, 3, 2), f32(4)], {**NH, "group": 4, "pads": [1, 0, 1, 0, 1, 1]}, id="dw-nhwc-3d"),
    Case("Conv", [nhwc(1, 12, 40, 40), f32(12, 1, 3, 3), f32(12)], {**NH, "group": 12, "pads": [1, 1, 1, 1]}, id="dw-nhwc-wrap"),
    Case("Conv", [with_nan(nhwc(1, 8, 9, 11)), f32(8, 1, 3, 3), f32(8)], {**NH, "group": 8, "pads": [1, 1, 1, 1]}, id="dw-nhwc-nan"),
    # NHWC blocks of 4 output channels
    Case("Conv", [nhwc(2, 8, 9, 11), f32(12, 8, 3, 3), f32(12)], {**NH, "pads": [1, 1, 1, 1], "activation": {"op": "HardSwish"}}, id="nhwc-vec", atol=MANY),
    Case("Conv", [nhwc(1, 8, 9, 11), f32(8, 4, 3, 3), f32(8)], {**NH, "group": 2, "strides": [2, 1], "pads": [0, 1, 2, 1]}, id="nhwc-vec-group2"),
    Case("Conv", [nhwc(1, 3, 15, 16), f32(8, 3, 3, 3), f32(8)], {**NH, "strides": [2, 2], "pads": [1, 1, 1, 1], "activation": RELU6}, id="nhwc-scalar-first-layer"),
    Case("Conv", [nhwc(1, 5, 9, 10), f32(8, 5, 3, 3), f32(8)], {**NH, "pads": [1, 1, 1, 1]}, id="nhwc-scalar-many-channels"),
    Case("Conv", [nhwc(1, 4, 9, 10), f32(16, 1, 3, 3)], {**NH, "group": 4, "dilations": [2, 2], "auto_pad": "SAME_UPPER"}, id="nhwc-depth-multiplier"),
    Case("Conv", [nhwc(2, 8, 9, 11), f32(4, 8, 1, 1), f32(4)], {**NH, "strides": [2, 2]}, id="nhwc-1x1-stride2"),
    Case("Conv", [nhwc(2, 8, 9, 11), f32(4, 8, 1, 1), f32(4)], {**NH, "pads": [1, 0, 0, 1]}, id="nhwc-1x1-padded"),
    Case("Conv", [nhwc(2, 4, 13), f32(8, 4, 3), f32(8)], {**NH, "dilations": [2], "auto_pad": "SAME_LOWER"}, id="nhwc-1d"),
    Case("Conv", [nhwc(1, 4, 4, 5, 6), f32(4, 4, 2, 3, 2)], {**NH, "strides": [2, 1, 2], "pads": [1, 0, 1, 0, 1, 1]}, id="nhwc-3d"),
    Case("Conv", [nhwc(1, 8, 24, 24), f32(32, 8, 3, 3), f32(32)], {**NH, "pads": [1, 1, 1, 1]}, id="nhwc-wrap", atol=MANY),
    Case("Conv", [with_nan(nhwc(1, 8, 9, 11)), f32(8, 8, 3, 3), f32(8)], {**NH, "pads": [1, 1, 1, 1]}, id="nhwc-nan", atol=MANY),
    Case("Conv", [nhwc(1, 4, 8, 8), f32(4, 4, 6, 5), f32(4)], {**NH, "pads": [2, 2, 3, 2]}, id="nhwc-big-kernel-general"),
    Case("Conv", [nhwc(2, 4, 9, 11), f32(6, 4, 3, 3), f32(6)], {**NH, "strides": [2, 2], "pads": [1, 0, 2, 1]}, id="nhwc-general"),
    Case("Conv", [nhwc(0, 8, 9, 11), f32(8, 8, 3, 3), f32(8)], {**NH, "pads": [1, 1, 1, 1]}, id="nhwc-empty-batch"),
    # NCHW rows of 4 outputs
    Case("Conv", [f32(2, 3, 6, 8), f32(4, 3, 3, 3), f32(4)], {"pads": [1, 1, 1, 1], "activation": RELU6}, id="nchw-row"),
    Case("Conv", [f32(1, 3, 9, 16), f32(4, 3, 3, 3), f32(4)], {"strides": [2, 2], "pads": [1, 1, 1, 1]}, id="nchw-row-stride2"),
    Case("Conv", [f32(1, 2, 9, 12), f32(4, 2, 2, 3)], {"dilations": [2, 2], "pads": [1, 2, 0, 2]}, id="nchw-row-dilated"),
    Case("Conv", [f32(1, 4, 7, 8), f32(6, 2, 3, 5), f32(6)], {"group": 2, "pads": [1, 2, 1, 2]}, id="nchw-row-group2"),
    Case("Conv", [f32(2, 8, 10, 12), f32(8, 1, 3, 3), f32(8)], {"group": 8, "pads": [1, 1, 1, 1]}, id="nchw-row-depthwise"),
    Case("Conv", [f32(1, 6, 14, 16), f32(6, 1, 3, 3), f32(6)], {"group": 6, "strides": [2, 2], "auto_pad": "SAME_LOWER"}, id="nchw-row-dw-stride2"),
    Case("Conv", [f32(1, 4, 40, 40), f32(12, 4, 3, 3), f32(12)], {"pads": [1, 1, 1, 1]}, id="nchw-row-wrap", atol=MANY),
    Case("Conv", [with_nan(f32(1, 3, 6, 8)), f32(4, 3, 3, 3), f32(4)], {"pads": [1, 1, 1, 1]}, id="nchw-row-nan"),
    Case("Conv", [f32(1, 3, 6, 8), f32(4, 3, 1, 1), f32(4)], {"pads": [1, 2, 1, 2]}, id="nchw-row-1x1-padded"),
    # NCHW depthwise, output width % 4 != 0: 4 outputs that may wrap rows, planes and batches
    Case("Conv", [f32(1, 8, 14, 14), f32(8, 1, 3, 3), f32(8)], {"group": 8, "pads": [1, 1, 1, 1], "activation": RELU6}, id="nchw-dw-14"),
    Case("Conv", [f32(2, 3, 7, 7), f32(3, 1, 3, 3), f32(3)], {"group": 3, "pads": [1, 1, 1, 1]}, id="nchw-dw-wrap-planes"),
    Case("Conv", [f32(2, 3, 7, 7), f32(3, 1, 3, 3)], {"group": 3, "pads": [1, 1, 1, 1]}, id="nchw-dw-wrap-no-bias"),
    Case("Conv", [f32(1, 6, 14, 14), f32(6, 1, 3, 3), f32(6)], {"group": 6, "strides": [2, 2], "pads": [0, 0, 1, 1]}, id="nchw-dw-stride2"),
    Case("Conv", [f32(1, 4, 11, 10), f32(4, 1, 3, 2), f32(4)], {"group": 4, "dilations": [2, 3], "pads": [2, 0, 1, 3]}, id="nchw-dw-dilated"),
    Case("Conv", [f32(1, 4, 9, 9), f32(4, 1, 5, 5), f32(4)], {"group": 4, "auto_pad": "SAME_UPPER"}, id="nchw-dw-5x5"),
    Case("Conv", [f32(1, 96, 15, 15), f32(96, 1, 3, 3), f32(96)], {"group": 96, "pads": [1, 1, 1, 1]}, id="nchw-dw-wrap"),
    Case("Conv", [with_nan(f32(1, 4, 7, 7)), f32(4, 1, 3, 3), f32(4)], {"group": 4, "pads": [1, 1, 1, 1]}, id="nchw-dw-nan"),
    # the general kernel
    Case("Conv", [f32(1, 3, 7, 9), f32(4, 3, 3, 3), f32(4)], {"pads": [1, 1, 1, 1], "activation": {"op": "LeakyRelu", "alpha": 0.1}}, id="general-nchw"),
    Case("Conv", [f32(1, 3, 60, 70), f32(5, 3, 3, 3), f32(5)], {"pads": [1, 1, 1, 1]}, id="general-wrap"),
    # a fused residual Z on every path, added before the activation
    Case("Conv", [nhwc(2, 8, 5, 6), f32(12, 8, 1, 1), f32(12), nhwc(2, 12, 5, 6)], {**NH, "activation": RELU6}, id="z-pointwise-nhwc-texel"),
    Case("Conv", [nhwc(2, 8, 5, 6), f32(6, 8, 1, 1), None, nhwc(2, 6, 5, 6)], NH, id="z-pointwise-nhwc-element"),
    Case("Conv", [f32(2, 8, 4, 6), f32(12, 8, 1, 1), f32(12), f32(2, 12, 4, 6)], {"activation": {"op": "Relu"}}, id="z-pointwise-nchw-texel"),
    Case("Conv", [f32(2, 8, 5, 5), f32(12, 8, 1, 1), f32(12), f32(2, 12, 5, 5)], id="z-pointwise-nchw-element"),
    Case("Conv", [nhwc(1, 16, 36, 32), f32(20, 16, 1, 1), f32(20), nhwc(1, 20, 36, 32)], NH, id="z-pointwise-nhwc-wrap"),
    Case("Conv", [nhwc(2, 8, 9, 11), f32(8, 1, 3, 3), f32(8), nhwc(2, 8, 9, 11)], {**NH, "group": 8, "pads": [1, 1, 1, 1], "activation": RELU6}, id="z-dw-nhwc"),
    Case("Conv", [nhwc(2, 8, 9, 11), f32(12, 8, 3, 3), f32(12), nhwc(2, 12, 9, 11)], {**NH, "pads": [1, 1, 1, 1]}, id="z-nhwc-vec", atol=MANY),
    Case("Conv", [nhwc(1, 3, 15, 16), f32(8, 3, 3, 3), None, nhwc(1, 8, 8, 8)], {**NH, "strides": [2, 2], "pads": [1, 1, 1, 1]}, id="z-nhwc-scalar-first-layer"),
    Case("Conv", [f32(2, 3, 6, 8), f32(4, 3, 3, 3), f32(4), f32(2, 4, 6, 8)], {"pads": [1, 1, 1, 1], "activation": RELU6}, id="z-nchw-row"),
    Case("Conv", [f32(2, 3, 7, 7), f32(3, 1, 3, 3), f32(3), f32(2, 3, 7, 7)], {"group": 3, "pads": [1, 1, 1, 1]}, id="z-nchw-dw-wrap-planes"),
    Case("Conv", [f32(1, 3, 7, 9), f32(4, 3, 3, 3), f32(4), f32(1, 4, 7, 9)], {"pads": [1, 1, 1, 1], "activation": {"op": "Relu"}}, id="z-general-nchw"),
    Case("Conv", [nhwc(2, 4, 9, 11), f32(6, 4, 3, 3), f32(6), nhwc(2, 6, 5, 5)], {**NH, "strides": [2, 2], "pads": [1, 0, 2, 1]}, id="z-nhwc-general"),
]

CONV_TRANSPOSE = [
    Case("ConvTranspose", [nhwc(2, 4, 5, 6), f32(4, 3, 3, 3), f32(3)], {**NH, "strides": [2, 2], "pads": [1, 0, 1, 1], "activation": RELU6}, id="nhwc"),
    Case("ConvTranspose", [nhwc(1, 4, 5, 6), f32(4, 2, 3, 3), f32(4)], {**NH, "group": 2, "strides": [2, 2], "output_shape": [10, 12]}, id="nhwc-group2-output-shape"),
    Case("ConvTranspose", [nhwc(1, 4, 5, 6), f32(4, 3, 3, 3)], {**NH, "strides": [2, 2], "auto_pad": "SAME_LOWER"}, id="nhwc-same-lower"),
    Case("ConvTranspose", [nhwc(2, 3, 7), f32(3, 2, 4), f32(2)], {**NH, "strides": [3], "dilations": [2], "output_padding": [1]}, id="nhwc-1d"),
    Case("ConvTranspose", [f32(1, 4, 20, 24), f32(4, 4, 4, 4), f32(4)], {"strides": [2, 2], "pads": [1, 1, 1, 1]}, id="wrap"),
    Case("ConvTranspose", [with_nan(f32(1, 2, 5, 6)), f32(2, 3, 3, 3)], {"strides": [2, 2]}, id="nan"),
]

X = nhwc(2, 8, 9, 11)
GEO = {
    "pads": {"kernel_shape": [3, 2], "strides": [2, 3], "pads": [1, 0, 2, 1]},
    "dilated": {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 2, 1], "dilations": [2, 3]},
    "ceil": {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1},
    "same-lower": {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": "SAME_LOWER"},
}
POOL = []
for name, attrs in GEO.items():
    POOL += [
        Case("MaxPool", [X], {**NH, **attrs}, noutputs=2, id=f"max-nhwc4-{name}"),
        Case("AveragePool", [X], {**NH, **attrs}, id=f"avg-nhwc4-{name}"),
        Case("AveragePool", [X], {**NH, **attrs, "count_include_pad": 1}, id=f"avg-nhwc4-{name}-count-pad"),
        Case("LpPool", [X], {**NH, **attrs, "p": 3}, id=f"lp-nhwc4-{name}"),
    ]
XN = X.copy()
XN[0, 2, 3, :] = np.nan
XN[1, 4, 4, 1] = np.inf
XN[1, 5, 5, 2] = -np.inf
POOL += [
    Case("MaxPool", [XN], {**NH, "kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, noutputs=2, id="max-nhwc4-nan-inf"),
    Case("MaxPool", [np.full((1, 5, 4, 4), -np.inf, np.float32)], {**NH, "kernel_shape": [3, 2], "pads": [1, 1, 1, 1]}, noutputs=2, id="max-nhwc4--inf-padded"),
    Case("MaxPool", [np.zeros((1, 5, 4, 8), np.uint8)], {**NH, "kernel_shape": [3, 2], "pads": [1, 1, 1, 1]}, noutputs=2, id="max-nhwc4-uint8-ties"),
    Case("MaxPool", [rng.integers(-128, 128, (1, 7, 8, 4)).astype(np.int8)], {**NH, "kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, noutputs=2, id="max-nhwc4-int8"),
    Case("MaxPool", [nhwc(2, 4, 13)], {**NH, "kernel_shape": [4], "strides": [3], "pads": [2, 1]}, noutputs=2, id="max-nhwc4-1d"),
    Case("MaxPool", [nhwc(1, 4, 5, 6, 7)], {**NH, "kernel_shape": [2, 3, 2], "strides": [2, 1, 2], "pads": [1, 0, 1, 0, 1, 1]}, noutputs=2, id="max-nhwc4-3d"),
    Case("MaxPool", [nhwc(1, 4, 68, 68)], {**NH, "kernel_shape": [3, 3]}, noutputs=2, id="max-nhwc4-wrap"),
    Case("MaxPool", [f32(1, 4, 68, 68)], {"kernel_shape": [3, 3]}, noutputs=2, id="max-nchw-wrap"),
    Case("MaxPool", [nhwc(2, 3, 9, 11)], {**NH, "kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, noutputs=2, id="max-nhwc-element"),
    Case("MaxPool", [f32(1, 2, 6, 7)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "storage_order": 1, "dilations": [1, 2]}, noutputs=2, id="max-storage-order-dilated"),
    Case("AveragePool", [nhwc(1, 4, 5, 6, 7)], {**NH, "kernel_shape": [2, 3, 2], "strides": [2, 1, 2], "pads": [1, 0, 1, 0, 1, 1], "count_include_pad": 1}, id="avg-nhwc4-3d"),
    Case("AveragePool", [nhwc(2, 3, 9, 11)], {**NH, "kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}, id="avg-nhwc-element"),
    Case("LpPool", [nhwc(2, 4, 9, 11)], {**NH, "kernel_shape": [3, 2], "p": 1}, id="lp-nhwc4-p1"),
    Case("GlobalAveragePool", [nhwc(2, 8, 7, 7)], NH, id="gap-nhwc4"),
    Case("GlobalMaxPool", [XN], NH, id="gmp-nhwc4-nan"),
    Case("GlobalAveragePool", [nhwc(2, 3, 7, 7)], NH, id="gap-nhwc-element"),
    Case("GlobalAveragePool", [nhwc(1, 4, 3, 4, 5)], NH, id="gap-nhwc4-3d"),
    Case("GlobalAveragePool", [f32(1, 5000, 2, 2)], id="gap-wrap"),
    Case("GlobalMaxPool", [nhwc(1, 8, 130, 20)], NH, id="gmp-nhwc4-wrap-input"),
    Case("GlobalAveragePool", [nhwc(0, 8, 3, 3)], NH, id="gap-empty"),
]

CASES = CONV + CONV_TRANSPOSE + POOL


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_conv_pool_kernel(kernel_page, case):
    want = run_reference(case)
    step, inputs = case_step(case)
    (result,) = kernel_page.evaluate("cases => window.runSteps(cases)", [{"step": step, "inputs": inputs}])
    assert "error" not in result, result.get("error")
    for i, (g, w) in enumerate(zip(result["outputs"], want)):
        assert_close(decode(g), w, max(case.atol, GPU_ATOL), max(case.rtol, GPU_RTOL), f"{case} output {i} on the GPU")


def test_banded_tensors_feed_other_kernels(kernel_page):
    """Register-blocked convs write banded tensors (4-layer textures, webflow_js/webgl/textures.js):
    a chain where they feed convs, a residual, an element-wise op, a transpose and a pool, each
    output checked against the numpy references."""
    from webflow.graph import Node
    from webflow.ops import get

    x = nhwc(1, 8, 6, 7)
    consts = {"x": x, "w1": f32(16, 8, 1, 1), "b1": f32(16), "w2": f32(16, 1, 3, 3), "b2": f32(16), "w3": f32(8, 16, 1, 1), "b3": f32(8)}
    chain = [  # (op, inputs, attrs, output)
        ("Conv", ["x", "w1", "b1"], {**NH, "activation": RELU6}, "y1"),  # pointwise: banded
        ("Conv", ["y1", "w2", "b2"], {**NH, "group": 16, "pads": [1, 1, 1, 1]}, "y2"),  # depthwise: banded in, plain out
        ("Conv", ["y2", "w3", "b3", "x"], NH, "y3"),  # pointwise with a plain residual
        ("Add", ["y1", "y2"], {}, "y4"),
        ("Transpose", ["y2"], {"perm": [0, 3, 1, 2]}, "y5"),
        ("GlobalAveragePool", ["y3"], NH, "y6"),
    ]
    values, steps = dict(consts), []
    for op, ins, attrs, out in chain:
        d = get(op)
        full = d.resolve_attrs(Node(out, op, ins, [out], dict(attrs)))
        (values[out],) = d.run([values[n] for n in ins], full)
        steps.append({"name": out, "op": op, "attrs": full, "inputs": ins, "outputs": [[out, list(values[out].shape), "float32"]]})
    outs = ["y3", "y4", "y5", "y6"]
    result = kernel_page.evaluate("p => window.runPlan(p)", {"tensors": {k: encode(v) for k, v in consts.items()}, "steps": steps, "outputs": outs})
    assert "error" not in result, result.get("error")
    for name, got in zip(outs, result["outputs"]):
        assert_close(decode(got), values[name], MANY, GPU_RTOL, f"{name} on the GPU")
