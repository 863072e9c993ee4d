import warnings

import numpy as np
import pytest
from onnx import helper

from tests.ops.harness import ONNX_OPSET, Case, assert_close, check_reference, ids, run_reference
from webflow.errors import ShapeError, UnsupportedError
from webflow.ops import Meta, get
from webflow.symbolic import Sym

rng = np.random.default_rng(0)
NONE = np.array([], np.float32)  # an empty roi/scales input: how exporters write "absent"


def f32(*shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def sc(*s):
    return np.array(s, np.float32)


def sz(*s):
    return np.array(s, np.int64)


def onnx_reference(case):
    """The same single-node model run by onnx.reference: the oracle where onnxruntime has no kernel
    (N-cubic beyond 2-D/4-D) or differs from the ONNX spec (it truncates integer results)."""
    from onnx.reference import ReferenceEvaluator

    names = [f"in{i}" if x is not None else "" for i, x in enumerate(case.inputs)]
    feeds = {n: x for n, x in zip(names, case.inputs) if n}
    outs = [f"out{i}" for i in range(case.noutputs)]
    node = helper.make_node(case.op, names, outs, **{k: v for k, v in case.attrs.items() if v is not None})
    graph = helper.make_graph([node], "case", [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
                                                for n, x in feeds.items()], [helper.make_tensor_value_info(n, 0, None) for n in outs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    return ReferenceEvaluator(model).run(None, feeds)


def by_onnx_reference(case):
    case.onnx, case.expect = False, onnx_reference(case)
    return case


X4 = f32(2, 3, 7, 9)
CTMS = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "asymmetric"]
CASES = []
for mode in ["nearest", "linear", "cubic"]:
    for ctm in CTMS:
        CASES.append(Case("Resize", [X4, NONE, sc(1, 1, 1.7, 2.3)], {"mode": mode, "coordinate_transformation_mode": ctm}, id=f"{mode}-{ctm}-up"))
        CASES.append(Case("Resize", [X4, NONE, sc(1, 1, 0.7, 0.45)], {"mode": mode, "coordinate_transformation_mode": ctm}, id=f"{mode}-{ctm}-down"))
    # onnxruntime reads align_corners with the integer output length; sizes keep it exact
    CASES.append(Case("Resize", [X4, None, None, sz(2, 3, 12, 5)], {"mode": mode, "coordinate_transformation_mode": "align_corners"}, id=f"{mode}-align_corners"))
    CASES.append(Case("Resize", [X4, None, None, sz(2, 3, 1, 4)], {"mode": mode, "coordinate_transformation_mode": "pytorch_half_pixel"}, id=f"{mode}-pytorch-len1"))
    roi = sc(0, 0, 0.2, -0.1, 1, 1, 0.9, 1.3)  # partly outside the image: extrapolation_value there
    CASES.append(Case("Resize", [X4, roi, None, sz(2, 3, 5, 11)], {"mode": mode, "coordinate_transformation_mode": "tf_crop_and_resize",
                                                                    "extrapolation_value": 7.5}, id=f"{mode}-tf_crop"))
    # onnxruntime divides by the integer output length where the ONNX tests use in * scale
    CASES.append(by_onnx_reference(Case("Resize", [X4, roi, sc(1, 1, 1.7, 0.8)], {"mode": mode, "coordinate_transformation_mode": "tf_crop_and_resize"},
                                        id=f"{mode}-tf_crop-scales")))
for nm in ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]:
    for ctm in ["half_pixel", "asymmetric", "align_corners"]:
        CASES.append(Case("Resize", [X4, None, None, sz(2, 3, 13, 4)], {"nearest_mode": nm, "coordinate_transformation_mode": ctm}, id=f"nearest-{nm}-{ctm}"))
    CASES.append(Case("Resize", [X4, NONE, sc(1, 1, 2, 0.5)], {"nearest_mode": nm}, id=f"nearest-{nm}-ties"))  # x.5 sources when shrinking by 2
for mode in ["linear", "cubic"]:
    CASES += [
        Case("Resize", [X4, NONE, sc(1, 1, 0.35, 0.6)], {"mode": mode, "antialias": 1}, id=f"{mode}-antialias-down"),
        Case("Resize", [X4, NONE, sc(1, 1, 0.35, 1.6)], {"mode": mode, "antialias": 1, "exclude_outside": 1}, id=f"{mode}-antialias-exclude"),
        Case("Resize", [X4, None, None, sz(2, 3, 3, 4)], {"mode": mode, "antialias": 1, "coordinate_transformation_mode": "align_corners"}, id=f"{mode}-antialias-ac"),
    ]
CASES += [
    Case("Resize", [X4, NONE, sc(1, 1, 1.7, 0.6)], {"mode": "cubic", "cubic_coeff_a": -0.5}, id="cubic-a-0.5"),
    Case("Resize", [X4, NONE, sc(1, 1, 1.7, 0.6)], {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1}, id="cubic-exclude"),
    # Upsample (deprecated) is Resize with asymmetric coordinates and floor
    Case("Resize", [X4, NONE, sc(1, 1, 2, 3)], {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, id="upsample-int"),
    Case("Resize", [X4, None, None, sz(2, 3, 4, 11)], {"mode": "linear"}, id="sizes"),
    Case("Resize", [X4, None, None, sz(11, 13)], {"mode": "linear", "axes": [2, 3]}, id="axes-sizes"),
    Case("Resize", [X4, NONE, sc(2.5, 0.5)], {"mode": "linear", "axes": [3, 2]}, id="axes-scales-swapped"),
    Case("Resize", [X4, NONE, sc(0.5, 2)], {"axes": [-1, -2]}, id="negative-axes"),
    Case("Resize", [X4, sc(0.1, 0.2, 0.9, 1.2), None, sz(5, 6)], {"mode": "linear", "axes": [2, 3], "coordinate_transformation_mode": "tf_crop_and_resize"}, id="axes-tf_crop"),
    Case("Resize", [f32(3, 5, 7), NONE, sc(1.5, 2.0, 0.5)], {"mode": "linear"}, id="trilinear-3d"),
    Case("Resize", [f32(1, 2, 3, 5, 4), NONE, sc(1, 1, 1.5, 0.6, 2)], {"mode": "linear"}, id="trilinear-5d"),
    Case("Resize", [f32(6, 9), NONE, sc(1.5, 0.6)], {"mode": "cubic"}, id="bicubic-2d"),
    Case("Resize", [f32(0, 3, 4, 5), NONE, sc(1, 1, 2, 2)], {"mode": "linear"}, id="empty-batch"),
    Case("Resize", [np.array([[[[1, np.nan, 3], [np.inf, 5, -np.inf]]]], np.float32), NONE, sc(1, 1, 3, 2)], id="nearest-nan-inf"),
    Case("Resize", [rng.integers(0, 256, (1, 3, 5, 7)).astype(np.uint8), NONE, sc(1, 1, 1.7, 2.3)], id="nearest-uint8"),
    Case("Resize", [rng.integers(-99, 99, (2, 5, 7)).astype(np.int32), None, None, sz(2, 9, 4)], {"nearest_mode": "ceil"}, id="nearest-int32"),
]
for policy in ["not_larger", "not_smaller"]:
    for sizes in (sz(4, 20), sz(20, 6)):
        CASES.append(Case("Resize", [X4, None, None, sizes], {"mode": "linear", "axes": [2, 3], "keep_aspect_ratio_policy": policy}, id=f"{policy}-{sizes[0]}"))
    # onnxruntime misreads negative axes under a keep_aspect_ratio_policy: it gets the same axes non-negative
    attrs = {"axes": [-1, -2], "keep_aspect_ratio_policy": policy}
    CASES.append(Case("Resize", [X4, None, None, sz(20, 4)], attrs, onnx_attrs={**attrs, "axes": [3, 2]}, id=f"{policy}-negative-axes"))
# onnxruntime has cubic only for 2-D and NCHW-style 4-D, linear not for 1-D, exclude_outside only for cubic or
# antialias; it truncates integer results (the spec's reference rounds) and lets a NaN taint its zero-weight neighbours
CASES += [by_onnx_reference(c) for c in [
    Case("Resize", [f32(3, 5, 7), NONE, sc(2.0, 0.5)], {"mode": "cubic", "axes": [0, 2]}, id="cubic-3d-axes"),
    Case("Resize", [f32(2, 3, 4, 5), NONE, sc(1.5, 1, 0.5, 2)], {"mode": "cubic", "antialias": 1, "exclude_outside": 1}, id="cubic-4d-all-axes"),
    Case("Resize", [rng.integers(0, 256, (1, 3, 5, 7)).astype(np.uint8), NONE, sc(1, 1, 1.7, 0.6)], {"mode": "linear"}, id="linear-uint8"),
    Case("Resize", [rng.integers(0, 256, (1, 3, 5, 7)).astype(np.uint8), NONE, sc(1, 1, 1.7, 2.3)], {"mode": "cubic"}, id="cubic-uint8-saturates"),
    Case("Resize", [rng.integers(-99, 99, (3, 5, 7)).astype(np.int32), NONE, sc(1, 1.7, 0.6)], {"mode": "linear"}, id="linear-int32"),
    Case("Resize", [X4, NONE, sc(1, 1, 1.7, 0.6)], {"mode": "linear", "exclude_outside": 1}, id="linear-exclude"),
    Case("Resize", [f32(7), NONE, sc(2.4)], {"mode": "linear"}, id="1d"),
    Case("Resize", [np.array([[[[1, np.nan, 3], [4, 5, 6]]]], np.float32), NONE, sc(1, 1, 2, 2)], {"mode": "linear"}, id="linear-nan"),
    # onnxruntime uses the integer output length for align_corners; the ONNX tests use in * scale
    Case("Resize", [X4, NONE, sc(1, 1, 0.6, 1.7)], {"mode": "linear", "coordinate_transformation_mode": "align_corners"}, id="align_corners-fractional"),
]]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


def test_bilinear_matches_torch():
    import torch  # a dev dependency: a missing one fails, never skips
    x = f32(2, 3, 7, 9)
    for align, ctm in ((False, "pytorch_half_pixel"), (True, "align_corners")):
        want = torch.nn.functional.interpolate(torch.from_numpy(x), size=(12, 5), mode="bilinear", align_corners=align).numpy()
        check_reference(Case("Resize", [x, None, None, sz(2, 3, 12, 5)], {"mode": "linear", "coordinate_transformation_mode": ctm}, onnx=False, expect=[want]))
    # torch's antialiased bicubic is PIL's filter: a = -0.5, taps outside the image left out
    want = torch.nn.functional.interpolate(torch.from_numpy(x), size=(3, 4), mode="bicubic", antialias=True).numpy()
    check_reference(Case("Resize", [x, None, None, sz(2, 3, 3, 4)], {"mode": "cubic", "antialias": 1, "cubic_coeff_a": -0.5, "exclude_outside": 1},
                         onnx=False, expect=[want], atol=1e-4))


def test_nan_inf_stay_local():
    """A NaN or Inf taints only the outputs that weight it (worked out by hand)."""
    x = np.array([1, np.nan, 3, 4, np.inf], np.float32)
    want = np.array([1, np.nan, np.nan, np.nan, 3, 3.5, 4, np.inf, np.inf, np.inf], np.float32)
    check_reference(Case("Resize", [x, NONE, sc(2)], {"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, onnx=False, expect=[want]))


def node_test_cases(*prefixes):
    """The ONNX backend node tests whose names start with one of `prefixes`: (name, Case, wanted output positions)."""
    from onnx.backend.test.case import node as onnx_node

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = [c for c in onnx_node.collect_testcases(None) if c.name.startswith(prefixes)]
    out = []
    for c in found:
        node = c.model.graph.node[0]
        attrs = {a.name: _plain(helper.get_attribute_value(a)) for a in node.attribute}
        inputs, outputs = c.data_sets[0]
        given = iter(inputs)
        args = [next(given) if name else None for name in node.input]
        wanted = [i for i, name in enumerate(node.output) if name]
        out.append((c.name, Case(node.op_type, args, attrs, id=c.name, noutputs=len(node.output), expect=list(outputs)), wanted))
    return out


def _plain(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def check_node_test(case, wanted):
    got = run_reference(case)
    for i, want in zip(wanted, case.expect):
        assert_close(got[i], want, 1e-5, 1e-4, f"{case} output {i}")


NODE_TESTS = node_test_cases("test_resize")


@pytest.mark.parametrize("case,wanted", [(c, w) for _, c, w in NODE_TESTS], ids=[n for n, _, _ in NODE_TESTS])
def test_onnx_node_tests(case, wanted):
    check_node_test(case, wanted)


def test_onnx_node_tests_found():
    assert len(NODE_TESTS) >= 39


def test_upsample_node_test_through_resize():
    """Upsample(mode=nearest, scales) is Resize(asymmetric, floor)."""
    (_, case, wanted), = node_test_cases("test_upsample_nearest")
    x, scales = case.inputs
    resize = Case("Resize", [x, None, scales], {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
                  expect=case.expect)
    check_node_test(resize, wanted)


def shape_of(x_shape, roi=None, scales=None, sizes=None, **attrs):
    d = get("Resize")
    metas = [Meta(x_shape, "float32")]
    for v, t in ((roi, "float32"), (scales, "float32"), (sizes, "int64")):
        metas.append(None if v is None else Meta((len(v),), t, list(v)))
    return d.shape_rule(*metas, **{**d.attrs, **attrs})


def test_symbolic_shapes():
    n, h = Sym.named("n"), Sym.named("h")
    assert shape_of((n, 3, 2 * h, 8), scales=[1, 1, 2, 0.5]) == (n, 3, 4 * h, 4)
    assert shape_of((n, 3, 2 * h, 8), scales=[1, 1, 0.5, 0.5]) == (n, 3, h, 4)
    assert shape_of((n, 3, h, 8), sizes=[224, 224], axes=[2, 3]) == (n, 3, 224, 224)
    with pytest.raises(ShapeError):
        shape_of((n, 3, h, 8), scales=[1, 1, 0.7, 1])
    with pytest.raises(ShapeError):
        shape_of((n, 3, h, 8), sizes=[20, 20], axes=[2, 3], keep_aspect_ratio_policy="not_larger")


def test_floor_of_output_size():
    # floor(in * scale) in double precision, as the ONNX spec and shape inference do (onnxruntime
    # multiplies in float32 and can get one more: 10 * 0.7f)
    assert shape_of((1, 1, 10, 10), scales=[1, 1, float(np.float32(0.7)), 0.35]) == (1, 1, 6, 3)


@pytest.mark.parametrize("attrs", [{"mode": "area"}, {"coordinate_transformation_mode": "tf_half_pixel_for_nn"},
                                   {"nearest_mode": "round"}, {"keep_aspect_ratio_policy": "fit"}, {"antialias": 2}])
def test_unsupported(attrs):
    with pytest.raises(UnsupportedError, match=next(iter(attrs))):
        run_reference(Case("Resize", [X4, NONE, sc(1, 1, 2, 2)], attrs))


@pytest.mark.parametrize("inputs,attrs", [
    ([X4, NONE, sc(1, 1, 2, 2), sz(2, 3, 4, 4)], {}),  # both scales and sizes
    ([X4, NONE, NONE], {}),  # neither
    ([X4, NONE, sc(1, 2, 2)], {}),  # one scale short
    ([X4, NONE, sc(1, 1, 0, 2)], {}),  # scale 0
    ([X4, None, None, sz(4, 4)], {"axes": [2, 2]}),  # repeated axis
    ([X4, None, None, sz(4, 4)], {"axes": [2, 4]}),  # axis out of range
    ([X4, None, None, sz(2, 3, 4, 4)], {"coordinate_transformation_mode": "tf_crop_and_resize"}),  # no roi
    ([X4, sc(0, 1), None, sz(2, 3, 4, 4)], {"coordinate_transformation_mode": "tf_crop_and_resize"}),  # roi too short
])
def test_bad_inputs(inputs, attrs):
    with pytest.raises(ShapeError):
        run_reference(Case("Resize", inputs, attrs))
