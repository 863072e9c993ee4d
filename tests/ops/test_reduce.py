import numpy as np
import pytest
import torch

from tests.ops.harness import Case, check_reference, ids, run_reference
from webflow.errors import ShapeError, UnsupportedError
from webflow.ops import Meta, get
from webflow.ops.reduce import REDUCE
from webflow.symbolic import Sym

rng = np.random.default_rng(1)


def f32(*shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def i64(*values):
    return np.array(values, np.int64)


NONE = np.zeros((0,), np.int64)  # an empty axes input
POSITIVE = {"ReduceLogSum"}  # log of a negative sum is NaN; keep the random cases meaningful

CASES = []
for name in REDUCE:
    lo = 0.1 if name in POSITIVE else -2
    x = f32(3, 4, 5, lo=lo, hi=2)
    CASES += [
        Case(name, [x, i64(1)], id="axis1"),
        Case(name, [x, i64(-1, 0)], {"keepdims": 0}, id="neg-axes-drop"),
        Case(name, [x, i64(2, -2)], id="two-axes"),
        Case(name, [x], id="all"),
        Case(name, [x], {"keepdims": 0}, id="all-drop"),
        Case(name, [x, NONE], id="empty-axes-all"),
        Case(name, [x, NONE], {"noop_with_empty_axes": 1}, id="noop"),
        Case(name, [x], {"noop_with_empty_axes": 1, "keepdims": 0}, id="noop-omitted"),
        Case(name, [f32(7, 1, 3, lo=lo, hi=2), i64(0, 2)], {"keepdims": 0}, id="odd"),
        Case(name, [np.array(1.5, np.float32)], id="scalar"),
        Case(name, [np.array(1.5, np.float32)], {"keepdims": 0}, id="scalar-drop"),
        Case(name, [np.zeros((0, 3), np.float32), i64(1)], id="empty-rows"),
        Case(name, [f32(2, 3, 4, lo=lo, hi=2).astype(np.float16), i64(-1)], atol=2e-3, rtol=2e-3, id="f16"),
    ]
    if name != "ReduceMean":  # onnxruntime gives 0 for an empty mean; see test_empty_mean_is_nan
        CASES += [
            Case(name, [np.zeros((0, 3), np.float32), i64(0)], id="empty-axis"),
            Case(name, [np.zeros((2, 0, 3), np.float32)], {"keepdims": 0}, id="empty-all"),
        ]

CASES += [
    Case("ReduceSum", [np.array([[1, -7, 3], [2**20, 5, -6]], np.int32), i64(1)], id="int32"),
    Case("ReduceSum", [rng.integers(-9, 9, (3, 5)).astype(np.int64), i64(0)], {"keepdims": 0}, id="int64"),
    Case("ReduceMax", [rng.integers(-9, 9, (3, 5)).astype(np.int32), i64(-1)], id="int32"),
    Case("ReduceMin", [rng.integers(-9, 9, (3, 5)).astype(np.int64)], id="int64"),
    Case("ReduceProd", [rng.integers(-3, 4, (3, 5)).astype(np.int32), i64(1)], id="int32"),
    Case("ReduceMean", [np.array([[-3, -4, 0], [5, -4, 1], [7, 7, 7]], np.int32), i64(1)], id="int-trunc"),
    Case("ReduceL1", [rng.integers(-9, 9, (3, 5)).astype(np.int32), i64(1)], id="int32"),
    Case("ReduceL2", [rng.integers(-9, 9, (3, 5)).astype(np.int32), i64(1)], id="int32"),
    Case("ReduceSumSquare", [rng.integers(-9, 9, (3, 5)).astype(np.int64), i64(0)], id="int64"),
    Case("ReduceMax", [np.zeros((0, 3), np.int32), i64(0)], id="int-empty"),
    Case("ReduceMin", [np.zeros((0, 3), np.int64), i64(0)], id="int-empty"),
    Case("ReduceMax", [rng.random((3, 4)) > 0.7, i64(1)], id="bool"),
    Case("ReduceMin", [rng.random((3, 4)) > 0.3, i64(0)], id="bool"),
    Case("ReduceSum", [np.array([[1, np.inf, 2], [np.nan, 1, 1], [np.inf, -np.inf, 0]], np.float32), i64(1)], id="nan-inf"),
    Case("ReduceLogSumExp", [np.array([[np.inf, 1], [-np.inf, -np.inf], [np.inf, -np.inf], [1000, 999]], np.float32), i64(1)], id="inf-big"),
    Case("ReduceLogSum", [np.array([[0, 0], [1, -2], [np.inf, 1]], np.float32), i64(1)], id="zero-neg-inf"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_reduce_against_onnxruntime(case):
    check_reference(case)


NAN = np.array([[1, np.nan, 3], [np.nan, -1, -5], [2, 2, -np.inf], [4, 2, 9]], np.float32)


@pytest.mark.parametrize("name,fn", [("ReduceMax", torch.amax), ("ReduceMin", torch.amin)])
def test_max_min_propagate_nan(name, fn):
    # onnxruntime's answer depends on where the NaN sits; ours is NaN, as torch and numpy say
    want = fn(torch.from_numpy(NAN), dim=1, keepdim=True).numpy()
    check_reference(Case(name, [NAN, i64(1)], onnx=False, expect=[want]))


def test_empty_mean_is_nan():
    # ONNX leaves an empty mean undefined (onnxruntime gives 0); we give NaN, as torch does
    x = np.zeros((0, 3), np.float32)
    want = torch.mean(torch.from_numpy(x), dim=0, keepdim=True).numpy()
    check_reference(Case("ReduceMean", [x, i64(0)], onnx=False, expect=[want]))
    check_reference(Case("ReduceMean", [x], {"keepdims": 0}, onnx=False, expect=[np.array(np.nan, np.float32)]))


@pytest.mark.parametrize("name", ["ReduceLogSum", "ReduceLogSumExp"])
def test_log_reductions_take_floats_only(name):
    with pytest.raises(UnsupportedError, match="float"):
        run_reference(Case(name, [np.ones((2, 3), np.int32), i64(1)]))


@pytest.mark.parametrize("axes", [i64(2), i64(-3), i64(1, -1)])
def test_bad_axes(axes):
    with pytest.raises(ShapeError):
        run_reference(Case("ReduceSum", [f32(2, 3), axes]))


def test_reduce_shape_rule_symbolic():
    b = Sym.named("batch")
    x = Meta((b, 3, 5), "float32")
    rule = get("ReduceMean").shape_rule
    assert rule(x, Meta((1,), "int64", [-1]), keepdims=1, noop_with_empty_axes=0) == (b, 3, 1)
    assert rule(x, Meta((1,), "int64", [0]), keepdims=0, noop_with_empty_axes=0) == (3, 5)
    assert rule(x, None, keepdims=0, noop_with_empty_axes=1) == (b, 3, 5)
    assert get("ArgMax").shape_rule(x, axis=-1, keepdims=0, select_last_index=0) == (b, 3)
    assert get("Softmax").shape_rule(x, axis=1) == (b, 3, 5)


TIES = np.array([[3, 1, 3, 0, 1], [2, 2, 2, 2, 2], [0, 5, 1, 5, 0]], np.float32)
ARG = []
for name in ("ArgMax", "ArgMin"):
    x = f32(3, 4, 5)
    ARG += [
        Case(name, [x], id="default"),
        Case(name, [x], {"axis": 1}, id="axis1"),
        Case(name, [x], {"axis": -1, "keepdims": 0}, id="neg-drop"),
        Case(name, [TIES], {"axis": 1}, id="ties-first"),
        Case(name, [TIES], {"axis": 1, "select_last_index": 1}, id="ties-last"),
        Case(name, [TIES.T.copy()], {"axis": 0, "select_last_index": 1, "keepdims": 0}, id="ties-last-axis0"),
        Case(name, [rng.integers(-4, 4, (5, 7)).astype(np.int32)], {"axis": 1}, id="int32"),
        Case(name, [rng.integers(-4, 4, (5, 7)).astype(np.int64)], {"axis": 0, "select_last_index": 1}, id="int64"),
        Case(name, [np.zeros((0, 3), np.float32)], {"axis": 1}, id="empty-rows"),
        Case(name, [f32(3, 4).astype(np.float16)], {"axis": 1}, id="f16"),
        Case(name, [np.array([[1, np.inf, -np.inf, 2]], np.float32)], {"axis": 1}, id="inf"),
    ]


@pytest.mark.parametrize("case", ARG, ids=ids(ARG))
def test_arg_against_onnxruntime(case):
    check_reference(case)


@pytest.mark.parametrize("name,fn", [("ArgMax", torch.argmax), ("ArgMin", torch.argmin)])
@pytest.mark.parametrize("last", [0, 1])
def test_arg_nan_counts_as_extreme(name, fn, last):
    # onnxruntime's NaN handling here is position-dependent; torch picks the NaN, as ReduceMax does
    x = np.array([[1, np.nan, 3, np.nan], [0, -1, 2, 2], [np.nan, 5, 5, 1]], np.float32)
    t = torch.from_numpy(x)
    if last:
        want = x.shape[1] - 1 - fn(torch.flip(t, [1]), dim=1, keepdim=True)
    else:
        want = fn(t, dim=1, keepdim=True)
    check_reference(Case(name, [x], {"axis": 1, "select_last_index": last}, onnx=False, expect=[want.numpy()]))


def test_arg_over_empty_axis_fails():
    with pytest.raises(ShapeError, match="no elements"):
        run_reference(Case("ArgMax", [np.zeros((0, 3), np.float32)], {"axis": 0}))


SOFT = []
for name in ("Softmax", "LogSoftmax", "Hardmax"):
    x = f32(3, 4, 5)
    SOFT += [
        Case(name, [x], id="default"),
        Case(name, [x], {"axis": 0}, id="axis0"),
        Case(name, [x], {"axis": 1}, id="axis1"),
        Case(name, [x], {"axis": -2}, id="neg"),
        Case(name, [f32(7) * 300], id="1d-big"),  # overflows exp without the max shift
        Case(name, [np.array([[1000, 0, -1000], [-np.inf, 0, 1], [5, 5, 5]], np.float32)], id="extremes"),
        Case(name, [np.zeros((0, 3), np.float32)], id="empty-rows"),
        Case(name, [np.zeros((3, 0), np.float32)], id="empty-axis"),
        Case(name, [f32(3, 9).astype(np.float16)], atol=1e-3, rtol=1e-2, id="f16"),
    ]
SOFT += [
    Case("Hardmax", [TIES], id="ties"),
    Case("Hardmax", [TIES], {"axis": 0}, id="ties-axis0"),
    Case("Softmax", [np.array([[np.inf, 1], [-np.inf, -np.inf], [np.nan, 1]], np.float32)], id="nan"),
    Case("LogSoftmax", [np.array([[np.inf, 1], [-np.inf, -np.inf], [np.nan, 1]], np.float32)], id="nan"),
]


@pytest.mark.parametrize("case", SOFT, ids=ids(SOFT))
def test_softmax_against_onnxruntime(case):
    check_reference(case)


def test_hardmax_nan_counts_as_largest():
    x = np.array([[1, np.nan, 3, np.nan], [0, -1, 2, 2], [np.nan, 5, 5, 1]], np.float32)
    t = torch.from_numpy(x)
    want = torch.nn.functional.one_hot(torch.argmax(t, dim=1), x.shape[1]).to(torch.float32).numpy()
    check_reference(Case("Hardmax", [x], onnx=False, expect=[want]))


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "Hardmax"])
def test_softmax_needs_rank_1(name):
    with pytest.raises(ShapeError):
        run_reference(Case(name, [np.array(1.0, np.float32)]))
    with pytest.raises(ShapeError):
        run_reference(Case(name, [f32(2, 3)], {"axis": 2}))
