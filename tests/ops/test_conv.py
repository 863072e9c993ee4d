import numpy as np
import pytest

from tests.ops.harness import Case, assert_close, check_reference, ids, run_onnxruntime, run_reference
from webflow.errors import ShapeError, UnsupportedError

rng = np.random.default_rng(1)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


X = f32(2, 4, 9, 11)
W = f32(6, 4, 3, 3)
B = f32(6)
MANY = 1e-4  # atol for convs that sum many products

CASES = [
    Case("Conv", [X, W, B], id="bias"),
    Case("Conv", [X, W], id="no-bias"),
    Case("Conv", [X, f32(6, 4, 1, 1), B], id="1x1"),
    Case("Conv", [X, f32(6, 4, 2, 3), B], {"kernel_shape": [2, 3]}, id="kernel_shape"),
    Case("Conv", [X, W, B], {"strides": [2, 2]}, id="stride2-odd"),
    Case("Conv", [X, W, B], {"strides": [2, 3], "pads": [1, 0, 2, 1]}, id="asym-pads"),
    Case("Conv", [X, W, B], {"dilations": [2, 3], "pads": [2, 1, 0, 3]}, id="dilations"),
    Case("Conv", [X, W, B], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, id="same-upper"),
    Case("Conv", [X, W, B], {"strides": [2, 2], "auto_pad": "SAME_LOWER"}, id="same-lower"),
    Case("Conv", [X, f32(6, 4, 2, 2), B], {"strides": [1, 3], "auto_pad": "SAME_LOWER"}, id="same-lower-even-k"),
    Case("Conv", [X, W, B], {"strides": [2, 2], "auto_pad": "VALID"}, id="valid"),
    Case("Conv", [X, f32(6, 4, 1, 1)], {"strides": [4, 3], "auto_pad": "SAME_UPPER"}, id="same-stride>kernel"),
    Case("Conv", [X, f32(6, 2, 3, 3), B], {"group": 2}, id="group2"),
    Case("Conv", [X, f32(4, 1, 3, 3), f32(4)], {"group": 4, "pads": [1, 1, 1, 1]}, id="depthwise"),
    Case("Conv", [X, f32(8, 1, 3, 3), f32(8)], {"group": 4, "strides": [2, 2], "auto_pad": "SAME_UPPER"}, id="depthwise-x2"),
    Case("Conv", [f32(1, 32, 15, 17), f32(7, 32, 3, 3), f32(7)], {"pads": [1, 1, 1, 1]}, id="many-channels", atol=MANY),
    Case("Conv", [f32(2, 3, 13), f32(5, 3, 4), f32(5)], {"strides": [3], "pads": [2, 1]}, id="1d"),
    Case("Conv", [f32(2, 3, 13), f32(5, 3, 3)], {"dilations": [3], "auto_pad": "SAME_UPPER"}, id="1d-same-dilated",
         onnx_attrs={"dilations": [3], "pads": [3, 3]}),  # onnxruntime refuses SAME with dilation: pads by hand
    Case("Conv", [f32(2, 3, 13), f32(5, 3, 2)], {"dilations": [3], "strides": [2], "auto_pad": "SAME_LOWER"}, id="1d-same-lower-dilated",
         onnx_attrs={"dilations": [3], "strides": [2], "pads": [2, 1]}),  # out 7, total pad (7-1)*2 + 4 - 13 = 3, odd one first
    Case("Conv", [f32(1, 2, 5, 6, 7), f32(3, 2, 2, 3, 2), f32(3)], {"strides": [2, 1, 2], "pads": [1, 0, 1, 0, 1, 1]}, id="3d"),
    Case("Conv", [X[:0], W, B], id="empty-batch"),
    Case("Conv", [np.where(rng.random(X.shape) < 0.02, np.float32(np.nan), X).astype(np.float32), W, B], {"pads": [1, 1, 1, 1]}, id="nan"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 3), f32(3)], id="bias"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 2)], {"strides": [2, 3], "pads": [1, 0, 2, 1]}, id="stride-asym-pads"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 2)], {"strides": [3, 2], "dilations": [2, 1], "output_padding": [1, 1]}, id="dilations-output-padding"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 3)], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, id="same-upper"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 3)], {"strides": [2, 2], "auto_pad": "SAME_LOWER"}, id="same-lower"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 3)], {"strides": [2, 2], "auto_pad": "VALID"}, id="valid"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 3)], {"strides": [2, 2], "output_shape": [10, 12]}, id="output_shape"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 3)], {"strides": [2, 2], "output_shape": [10, 12], "output_padding": [1, 1]},
         id="output_shape-padding"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 3)], {"strides": [2, 2], "output_shape": [9, 11], "auto_pad": "SAME_UPPER"},
         id="output_shape-same-upper"),
    # larger than the natural 15 x 13 by up to stride - 1: zeros at the end, as output_padding gives
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 3)], {"strides": [3, 2], "output_shape": [17, 14]}, id="output_shape-beyond"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 2, 3, 3), f32(4)], {"group": 2, "strides": [2, 1]}, id="group2"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 1, 4, 4), f32(4)], {"group": 4, "strides": [2, 2], "pads": [1, 1, 1, 1]}, id="depthwise"),
    Case("ConvTranspose", [f32(1, 32, 7, 9), f32(32, 5, 3, 3)], {"strides": [2, 2]}, id="many-channels", atol=MANY),
    Case("ConvTranspose", [f32(2, 3, 7), f32(3, 2, 4), f32(2)], {"strides": [3], "pads": [2, 1]}, id="1d"),
    Case("ConvTranspose", [f32(1, 2, 3, 4, 5), f32(2, 3, 2, 3, 2)], {"strides": [2, 1, 2], "pads": [1, 0, 1, 0, 1, 1]}, id="3d"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


# NHWC: webflow's channels-last layout. The oracle is onnxruntime run on the input transposed to
# NCHW, with its output transposed back to NHWC; weights stay [M, C/group, k...] in both.
NHWC = [
    Case("Conv", [X, W, B], {"strides": [2, 2], "pads": [1, 0, 2, 1]}, id="asym-pads"),
    Case("Conv", [X, f32(4, 1, 3, 3)], {"group": 4, "auto_pad": "SAME_UPPER", "strides": [2, 2]}, id="depthwise-same"),
    Case("Conv", [f32(2, 3, 13), f32(5, 3, 4), f32(5)], {"strides": [3]}, id="1d"),
    Case("ConvTranspose", [f32(2, 4, 5, 6), f32(4, 3, 3, 2), f32(3)], {"strides": [2, 3], "pads": [1, 0, 2, 1]}, id="stride"),
]


def to_nhwc(a):
    return np.moveaxis(a, 1, -1)


@pytest.mark.parametrize("nchw", NHWC, ids=ids(NHWC))
def test_nhwc_against_onnxruntime_on_transposed_input(nchw):
    want = [to_nhwc(y) for y in run_onnxruntime(nchw, [np.dtype(np.float32)])]
    x, *rest = nchw.inputs
    check_reference(Case(nchw.op, [np.ascontiguousarray(to_nhwc(x)), *rest], {**nchw.attrs, "layout": "NHWC"}, onnx=False, expect=want))


# Z, the residual the converter folds into a Conv (webflow's input, not ONNX's): the oracle is the
# unfused graph, onnxruntime's Conv, then Z added in numpy, then the activation in numpy.
def _relu6(y):
    return np.clip(y, 0, 6)


RESIDUAL = [
    (Case("Conv", [X, W, B, f32(2, 6, 9, 11)], {"pads": [1, 1, 1, 1]}, id="nchw"), None),
    (Case("Conv", [X, f32(6, 4, 1, 1), None, f32(2, 6, 9, 11)], id="no-bias"), None),
    (Case("Conv", [X, f32(4, 1, 3, 3), f32(4), 3 * f32(2, 4, 5, 6)],
          {"group": 4, "strides": [2, 2], "pads": [1, 1, 1, 1], "activation": {"op": "Clip", "min": 0.0, "max": 6.0}}, id="act-after-z"), _relu6),
]


@pytest.mark.parametrize("case,act", RESIDUAL, ids=[c.id for c, _ in RESIDUAL])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_residual_is_added_after_bias_before_activation(case, act, layout):
    x, w, b, z = case.inputs
    attrs = {k: v for k, v in case.attrs.items() if k != "activation"}
    (conv,) = run_onnxruntime(Case("Conv", [x, w] + ([b] if b is not None else []), attrs), [np.dtype(np.float32)])
    want = conv + z if act is None else act(conv + z)
    if layout == "NHWC":
        x, z, want = (np.ascontiguousarray(to_nhwc(a)) for a in (x, z, want))
    got = run_reference(Case("Conv", [x, w, b, z], {**case.attrs, "layout": layout}))
    assert_close(got[0], want, 1e-5, 1e-5, case.id)


BAD = [
    (ShapeError, Case("Conv", [X, W, B, f32(2, 6, 9, 1)], {"pads": [1, 1, 1, 1]}, id="z-broadcast")),
    (UnsupportedError, Case("Conv", [X, W], {"layout": "NCWH"}, id="layout")),
    (UnsupportedError, Case("Conv", [X, W], {"auto_pad": "SAME"}, id="auto_pad")),
    (UnsupportedError, Case("ConvTranspose", [f32(1, 2, 5), f32(2, 1, 1)], {"strides": [3], "auto_pad": "SAME_UPPER"}, id="same-negative-pad")),
    (ShapeError, Case("ConvTranspose", [f32(1, 2, 5), f32(2, 1, 3)], {"strides": [2], "output_shape": [13]}, id="output_shape-too-big")),
    (ShapeError, Case("Conv", [X, f32(6, 3, 3, 3)], id="channels")),
    (ShapeError, Case("Conv", [X, W], {"group": 3}, id="group")),
    (ShapeError, Case("Conv", [X, W], {"strides": [2]}, id="strides-length")),
    (ShapeError, Case("Conv", [X, W], {"kernel_shape": [2, 2]}, id="kernel_shape")),
    (ShapeError, Case("Conv", [f32(1, 4, 2, 2), W], id="kernel-too-big")),
]


@pytest.mark.parametrize("error,case", BAD, ids=[c.id for _, c in BAD])
def test_rejected_at_plan_time(error, case):
    with pytest.raises(error):
        run_reference(case)


def test_shape_rule_with_symbolic_batch_and_size():
    from webflow.graph import Node
    from webflow.ops import Meta, get
    from webflow.symbolic import Sym

    n, h = Sym.named("batch"), Sym.named("h")
    d = get("Conv")
    node = Node("c", "Conv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1]})
    (y,) = d.infer(node, [Meta((n, 4, h, 2 * h), "float32"), Meta((6, 4, 3, 3), "float32")], d.resolve_attrs(node))
    assert y.shape == (n, 6, h, 2 * h)
    node = Node("t", "ConvTranspose", ["x", "w"], ["y"], {"strides": [2, 2], "auto_pad": "SAME_UPPER"})
    d = get("ConvTranspose")
    (y,) = d.infer(node, [Meta((n, 4, h, h), "float32"), Meta((4, 3, 3, 3), "float32")], d.resolve_attrs(node))
    assert y.shape == (n, 3, 2 * h, 2 * h)
