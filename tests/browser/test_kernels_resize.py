"""GPU coverage for Resize beyond tests/ops/test_resize.py: every nearest_mode with every
coordinate_transformation_mode (ties included), antialias and exclude_outside on every
filter, tf_crop_and_resize extrapolation, integer rounding and saturation, NaN/Inf, ranks 1
to 5, resized batch/channel axes, outputs of one element, empty outputs and outputs that wrap
texture rows. Each case is one plan step on the GPU, checked against the numpy reference.
"""

import numpy as np
import pytest

from tests.browser.test_kernels_movement import check
from tests.ops.harness import Case, ids

rng = np.random.default_rng(31)
NONE = np.array([], np.float32)
CTMS = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def f32(*shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def sc(*s):
    return np.array(s, np.float32)


def sz(*s):
    return np.array(s, np.int64)


X = f32(1, 2, 6, 8)
ROI = sc(0, 0, 0.1, -0.2, 1, 1, 1.1, 0.9)  # partly outside the image

CASES = []
for ctm in CTMS:
    roi = ROI if ctm == "tf_crop_and_resize" else NONE
    for nm in NEAREST:
        CASES.append(Case("Resize", [X, roi, sc(1, 1, 2.5, 0.5)], {"coordinate_transformation_mode": ctm, "nearest_mode": nm}, id=f"nearest-{ctm}-{nm}"))
        CASES.append(Case("Resize", [X, roi, None, sz(1, 2, 3, 24)], {"coordinate_transformation_mode": ctm, "nearest_mode": nm}, id=f"nearest-{ctm}-{nm}-sizes"))
    for mode in ["linear", "cubic"]:
        CASES.append(Case("Resize", [X, roi, sc(1, 1, 1.3, 0.7)], {"mode": mode, "coordinate_transformation_mode": ctm}, id=f"{mode}-{ctm}"))
        CASES.append(Case("Resize", [X, roi, None, sz(1, 2, 1, 5)], {"mode": mode, "coordinate_transformation_mode": ctm}, id=f"{mode}-{ctm}-len1"))
        CASES.append(Case("Resize", [X, roi, sc(1, 1, 0.3, 0.55)], {"mode": mode, "coordinate_transformation_mode": ctm, "antialias": 1},
                          id=f"{mode}-{ctm}-antialias", atol=1e-4))
for mode in ["linear", "cubic"]:
    for aa in (0, 1):
        CASES.append(Case("Resize", [X, NONE, sc(1, 1, 2.2, 0.4)], {"mode": mode, "antialias": aa, "exclude_outside": 1}, id=f"{mode}-exclude-aa{aa}"))
    CASES.append(Case("Resize", [X, NONE, sc(1, 1, 0.2, 0.25)], {"mode": mode, "antialias": 1, "cubic_coeff_a": -0.5}, id=f"{mode}-antialias-small", atol=1e-4))
    CASES.append(Case("Resize", [X, NONE, sc(1, 1, 1.5, 0.5)], {"mode": mode, "antialias": 1, "exclude_outside": 1,
                                                                "coordinate_transformation_mode": "align_corners"}, id=f"{mode}-antialias-mixed"))

BIG = f32(1, 2, 60, 70)
INTS = {t: rng.integers(np.iinfo(t).min, np.iinfo(t).max, (1, 2, 5, 6), endpoint=True).astype(t) for t in (np.int8, np.uint8, np.int16, np.uint16)}
NAN = np.array([[1, np.nan, 3, 4], [5, 6, np.inf, 8], [9, 10, 11, -np.inf]], np.float32)

CASES += [
    # outputs that wrap texture rows (more than 16384 elements)
    *[Case("Resize", [BIG, None, None, sz(1, 2, 100, 90)], {"mode": m}, id=f"wrap-{m}") for m in ("nearest", "linear", "cubic")],
    Case("Resize", [BIG, NONE, sc(1, 1, 0.45, 0.3)], {"mode": "linear", "antialias": 1}, id="wrap-in-antialias"),
    # integers round half to even and saturate
    *[Case("Resize", [x, NONE, sc(1, 1, 1.7, 0.6)], {"mode": m}, id=f"{m}-{x.dtype}") for x in INTS.values() for m in ("linear", "cubic")],
    Case("Resize", [rng.integers(-99, 99, (2, 5, 7)).astype(np.int64), NONE, sc(1, 1.5, 2)], id="nearest-int64"),
    Case("Resize", [np.array([[0, 1]], np.int32), None, None, sz(1, 4)], {"mode": "linear", "coordinate_transformation_mode": "asymmetric"},
         id="int-ties"),
    # NaN and Inf stay local to the taps that weigh them
    *[Case("Resize", [NAN, NONE, sc(2, 1.5)], {"mode": m}, id=f"nan-inf-{m}") for m in ("nearest", "linear", "cubic")],
    Case("Resize", [NAN, NONE, sc(0.5, 0.6)], {"mode": "linear", "antialias": 1}, id="nan-inf-antialias"),
    Case("Resize", [X, ROI, None, sz(1, 2, 7, 9)], {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
                                                  "extrapolation_value": float("nan")}, id="extrapolate-nan"),
    # ranks and axes
    Case("Resize", [f32(9), NONE, sc(0.5)], {"mode": "cubic"}, id="1d-cubic"),
    Case("Resize", [f32(9), NONE, sc(2.5)], {"mode": "nearest", "nearest_mode": "ceil"}, id="1d-nearest"),
    Case("Resize", [f32(3, 4, 5), NONE, sc(2, 0.5, 1.5)], {"mode": "cubic"}, id="3d-all-axes"),
    Case("Resize", [f32(1, 2, 3, 4, 5), NONE, sc(1.4, 1.5, 0.7)], {"mode": "linear", "axes": [2, 1, 4]}, id="5d-axes"),
    Case("Resize", [f32(2, 3, 4, 5), NONE, sc(2, 0.5, 1, 1)], {"mode": "linear"}, id="batch-channel"),
    Case("Resize", [f32(2, 3, 4, 5), sc(0.2, 0.3, 0.8, 1.4), sc(1.5, 1.5)], {"mode": "cubic", "axes": [0, 3],
                                                                           "coordinate_transformation_mode": "tf_crop_and_resize"}, id="crop-batch"),
    # identity scales (a copy), a crop at scale 1, one output element, an empty output
    Case("Resize", [X, NONE, sc(1, 1, 1, 1)], {"mode": "cubic"}, id="identity"),
    Case("Resize", [X, sc(0.25, 0.5), sc(1)], {"mode": "linear", "axes": [3], "coordinate_transformation_mode": "tf_crop_and_resize"}, id="crop-scale1"),
    Case("Resize", [X, None, None, sz(1, 1)], {"mode": "cubic", "axes": [2, 3]}, id="to-one"),
    Case("Resize", [X, None, None, sz(0, 3)], {"mode": "linear", "axes": [2, 3]}, id="to-empty"),
    # nearest ignores antialias; keep_aspect_ratio_policy
    Case("Resize", [X, NONE, sc(1, 1, 0.5, 0.3)], {"antialias": 1}, id="nearest-antialias-ignored"),
    *[Case("Resize", [X, None, None, sz(9, 9)], {"mode": "linear", "axes": [2, 3], "keep_aspect_ratio_policy": p}, id=p)
      for p in ("not_larger", "not_smaller")],
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_gpu_matches_reference(kernel_page, case):
    check(kernel_page, case)
