import numpy as np
import pytest

from tests.ops.harness import Case, check_reference, ids, run_onnxruntime, run_reference
from webflow.errors import ShapeError, UnsupportedError

rng = np.random.default_rng(2)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


X = f32(2, 3, 9, 11)
X1 = f32(2, 3, 13)
X3 = f32(1, 2, 5, 6, 7)
I8 = rng.integers(-128, 128, (2, 3, 7, 8)).astype(np.int8)

# attribute sets every windowed pool is checked with
GEOMETRY = {
    "plain": {"kernel_shape": [3, 2]},
    "stride2-odd": {"kernel_shape": [3, 3], "strides": [2, 2]},
    "asym-pads": {"kernel_shape": [3, 2], "strides": [2, 3], "pads": [1, 0, 2, 1]},
    "dilations": {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 2, 1], "dilations": [2, 3]},
    "ceil": {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1},
    "ceil-asym": {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [1, 0, 0, 2], "ceil_mode": 1},
    # ceil would give 4 windows on dim 0, the last starting in the end pad: ONNX drops it
    "ceil-drop-last": {"kernel_shape": [3, 3], "strides": [3, 3], "pads": [0, 0, 2, 2], "ceil_mode": 1},
    "ceil-dilated": {"kernel_shape": [2, 2], "strides": [2, 3], "dilations": [2, 2], "ceil_mode": 1},
    "same-upper": {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": "SAME_UPPER"},
    "same-lower": {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": "SAME_LOWER"},
    "same-lower-ceil": {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_LOWER", "ceil_mode": 1},
    "valid": {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": "VALID"},
}

CASES = []
for name, attrs in GEOMETRY.items():
    CASES.append(Case("MaxPool", [X], attrs, id=name, noutputs=2))
    CASES.append(Case("AveragePool", [X], attrs, id=name))
    CASES.append(Case("AveragePool", [X], {**attrs, "count_include_pad": 1}, id=name + "-count-pad"))
    CASES.append(Case("LpPool", [X], attrs, id=name))
CASES += [
    # the spec's VALID formula ignores ceil_mode; onnxruntime's does not, so it is asked without it
    Case("MaxPool", [X], {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "VALID", "ceil_mode": 1}, id="valid-ceil",
         onnx_attrs={"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "VALID"}),
    Case("MaxPool", [X], {"kernel_shape": [3, 2], "strides": [2, 3], "pads": [1, 0, 2, 1], "storage_order": 1}, id="storage-order", noutputs=2),
    Case("MaxPool", [X], {"kernel_shape": [3, 2]}, id="values-only"),
    Case("MaxPool", [I8], {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 2, 1]}, id="int8", noutputs=2),
    Case("MaxPool", [(I8.astype(np.int16) + 128).astype(np.uint8)], {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, id="uint8", noutputs=2),
    # ties with the padding: the index must point into the input
    Case("MaxPool", [np.zeros((1, 2, 5, 4), np.uint8)], {"kernel_shape": [3, 2], "pads": [1, 1, 1, 1]}, id="uint8-zeros-padded", noutputs=2),
    Case("MaxPool", [np.full((1, 1, 5), -np.inf, np.float32)], {"kernel_shape": [3], "pads": [1, 1]}, id="-inf-padded", noutputs=2),
    Case("MaxPool", [X1], {"kernel_shape": [4], "strides": [3], "pads": [2, 1], "ceil_mode": 1}, id="1d", noutputs=2),
    Case("MaxPool", [X3], {"kernel_shape": [2, 3, 2], "strides": [2, 1, 2], "pads": [1, 0, 1, 0, 1, 1]}, id="3d", noutputs=2),
    Case("MaxPool", [X3], {"kernel_shape": [2, 3, 2], "strides": [2, 1, 2], "storage_order": 1}, id="3d-storage-order", noutputs=2),
    Case("MaxPool", [X[:0]], {"kernel_shape": [3, 2]}, id="empty-batch", noutputs=2),
    Case("AveragePool", [X1], {"kernel_shape": [4], "strides": [3], "pads": [2, 1], "ceil_mode": 1, "count_include_pad": 1}, id="1d"),
    Case("AveragePool", [X3], {"kernel_shape": [2, 3, 2], "strides": [2, 1, 2], "pads": [1, 0, 1, 0, 1, 1], "count_include_pad": 1}, id="3d"),
    Case("MaxPool", [X.astype(np.float64)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, id="float64", noutputs=2),
    Case("LpPool", [X], {"kernel_shape": [3, 2], "p": 1}, id="p1"),
    Case("LpPool", [X], {"kernel_shape": [3, 2], "strides": [2, 2], "p": 3}, id="p3"),
    Case("LpPool", [X1], {"kernel_shape": [3], "pads": [1, 2], "strides": [2]}, id="1d"),
    Case("GlobalAveragePool", [X], id="2d"),
    Case("GlobalAveragePool", [X1], id="1d"),
    Case("GlobalAveragePool", [X3], id="3d"),
    Case("GlobalMaxPool", [X], id="2d"),
    Case("GlobalMaxPool", [X1], id="1d"),
    Case("GlobalMaxPool", [X3], id="3d"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


def test_nan_propagates_like_torch():
    # onnxruntime's MaxPool keeps or drops a NaN depending on where it sits in the window
    import torch  # a dev dependency: a missing one fails, never skips
    x = f32(1, 2, 7, 8)
    x[0, 0, 2, 3] = x[0, 1, 6, 7] = np.nan
    t = torch.from_numpy(x)
    y, ind = torch.nn.functional.max_pool2d(t, (3, 2), stride=(2, 2), padding=(1, 1), return_indices=True)
    # torch indexes within each (n, c) plane; ONNX counts from the start of the tensor
    ind = ind.numpy() + (np.arange(2) * 7 * 8).reshape(1, 2, 1, 1)
    check_reference(Case("MaxPool", [x], {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 1, 1, 1]},
                         noutputs=2, onnx=False, expect=[y.numpy(), ind]))
    check_reference(Case("GlobalMaxPool", [x], onnx=False, expect=[torch.amax(t, dim=(2, 3), keepdim=True).numpy()]))


# NHWC: webflow's channels-last layout. The oracle is onnxruntime run on the input transposed to
# NCHW, with its outputs transposed back to NHWC. MaxPool's NHWC Indices index the NHWC tensor:
# the NCHW index from onnxruntime is unravelled to (n, c, h, w) and ravelled again as (n, h, w, c).
NHWC = [
    Case("MaxPool", [X], GEOMETRY["asym-pads"], id="asym-pads", noutputs=2),
    Case("MaxPool", [X], GEOMETRY["ceil"], id="ceil", noutputs=2),
    Case("MaxPool", [X1], {"kernel_shape": [4], "strides": [3], "pads": [2, 1]}, id="1d", noutputs=2),
    Case("AveragePool", [X], {**GEOMETRY["same-lower"], "count_include_pad": 1}, id="same-lower-count-pad"),
    Case("AveragePool", [X], GEOMETRY["ceil-asym"], id="ceil-asym"),
    Case("LpPool", [X], GEOMETRY["dilations"], id="dilations"),
    Case("GlobalAveragePool", [X], id="2d"),
    Case("GlobalMaxPool", [X], id="2d"),
]


def to_nhwc(a):
    return np.moveaxis(a, 1, -1)


def nchw_index_to_nhwc(ind, nchw_shape):
    n, c, *spatial = np.unravel_index(ind, nchw_shape)
    return np.ravel_multi_index((n, *spatial, c), (nchw_shape[0], *nchw_shape[2:], nchw_shape[1]))


@pytest.mark.parametrize("nchw", NHWC, ids=ids(NHWC))
def test_nhwc_against_onnxruntime_on_transposed_input(nchw):
    x = nchw.inputs[0]
    want = run_onnxruntime(nchw, [x.dtype, np.dtype(np.int64)][: nchw.noutputs])
    if nchw.noutputs == 2:
        want[1] = nchw_index_to_nhwc(want[1], x.shape)
    want = [to_nhwc(y) for y in want]
    check_reference(Case(nchw.op, [np.ascontiguousarray(to_nhwc(x))], {**nchw.attrs, "layout": "NHWC"},
                         noutputs=nchw.noutputs, onnx=False, expect=want))


BAD = [
    (UnsupportedError, Case("MaxPool", [X], {"kernel_shape": [2, 2], "layout": "CHWN"}, id="layout")),
    (UnsupportedError, Case("MaxPool", [X], {"kernel_shape": [2, 2], "storage_order": 1, "layout": "NHWC"}, id="nhwc-storage-order")),
    (UnsupportedError, Case("AveragePool", [X], {"kernel_shape": [2, 2], "auto_pad": "same"}, id="auto_pad")),
    (UnsupportedError, Case("LpPool", [X], {"kernel_shape": [2, 2], "p": 0}, id="p0")),
    (ShapeError, Case("MaxPool", [X], {"kernel_shape": [2, 2], "pads": [2, 0, 0, 0]}, id="pad-not-smaller-than-kernel")),
    (ShapeError, Case("MaxPool", [X], {"kernel_shape": [2]}, id="kernel-rank")),
    (ShapeError, Case("AveragePool", [X], {"kernel_shape": [10, 2]}, id="kernel-too-big")),
    (ShapeError, Case("GlobalAveragePool", [f32(3, 4)], id="rank2")),
]


@pytest.mark.parametrize("error,case", BAD, ids=[c.id for _, c in BAD])
def test_rejected_at_plan_time(error, case):
    with pytest.raises(error):
        run_reference(case)


def test_kernel_shape_is_required():
    with pytest.raises(ShapeError, match="kernel_shape"):
        run_reference(Case("MaxPool", [X]))
