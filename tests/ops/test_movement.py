import numpy as np
import pytest

from tests.ops.harness import Case, check_reference, ids, run_onnxruntime, run_reference
from webflow.errors import ShapeError, UnsupportedError
from webflow.ops import Meta, get
from webflow.symbolic import Sym

rng = np.random.default_rng(1)
INT64_MAX, INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def f32(*shape):
    return rng.uniform(-3, 3, shape).astype(np.float32)


def i64(*values):
    return np.array(values, np.int64)


def ints(*shape, dtype=np.int32):
    return rng.integers(-50, 50, shape).astype(dtype)


def bools(*shape):
    return rng.random(shape) > 0.5


X = f32(2, 3, 5)
IMG = f32(2, 18, 3, 5)

CASES = [
    # Reshape
    Case("Reshape", [X, i64(5, -1)], id="infer"),
    Case("Reshape", [X, i64(0, -1)], id="zero-copies"),
    Case("Reshape", [X, i64(0, 0, -1, 1)], id="zero-copies-two"),
    Case("Reshape", [ints(4, 6), i64(-1)], id="int-flat"),
    Case("Reshape", [bools(6, 1), i64(2, 3)], id="bool"),
    Case("Reshape", [f32(1, 1), np.zeros(0, np.int64)], id="to-scalar"),
    Case("Reshape", [np.zeros((2, 0, 3), np.float32), i64(0, 7)], {"allowzero": 1}, id="allowzero"),
    Case("Reshape", [np.zeros((0, 4), np.float32), i64(-1, 2)], id="empty-infer"),
    # Flatten
    *[Case("Flatten", [X], {"axis": a}, id=f"axis{a}") for a in (0, 1, 2, 3, -1, -3)],
    Case("Flatten", [ints(3, 1, 4, dtype=np.int64)], id="int"),
    Case("Flatten", [np.zeros((3, 0, 2), np.float32)], {"axis": 2}, id="empty"),
    # Transpose
    Case("Transpose", [X], id="reverse"),
    Case("Transpose", [f32(2, 3, 1, 5, 3)], {"perm": [3, 0, 4, 2, 1]}, id="rank5"),
    Case("Transpose", [bools(3, 4)], {"perm": [1, 0]}, id="bool"),
    Case("Transpose", [np.zeros((0, 3, 2), np.float32)], {"perm": [2, 0, 1]}, id="empty"),
    # Squeeze / Unsqueeze
    Case("Squeeze", [f32(1, 3, 1, 5, 1), i64(0, -1)], id="axes"),
    Case("Squeeze", [f32(1, 3, 1, 5, 1)], id="all"),
    Case("Squeeze", [ints(1, 1, 3), np.zeros(0, np.int64)], id="empty-axes"),
    Case("Squeeze", [np.zeros((1, 0), np.float32), i64(0)], id="empty"),
    Case("Unsqueeze", [X, i64(0)], id="front"),
    Case("Unsqueeze", [X, i64(-1)], id="back"),
    Case("Unsqueeze", [X, i64(4, 1)], id="two"),
    Case("Unsqueeze", [np.array(3, np.int64), i64(0)], id="scalar"),
    Case("Unsqueeze", [bools(2, 3), i64(-2, 0)], id="bool"),
    # Concat
    Case("Concat", [f32(2, 3, 5), f32(2, 1, 5), f32(2, 4, 5)], {"axis": 1}, id="three"),
    Case("Concat", [f32(2, 3), f32(2, 0), f32(2, 2)], {"axis": -1}, id="neg-with-empty"),
    Case("Concat", [ints(3, dtype=np.int64), ints(1, dtype=np.int64)], {"axis": 0}, id="int"),
    Case("Concat", [bools(1, 3), bools(2, 3)], {"axis": 0}, id="bool"),
    Case("Concat", [f32(3, 2)], {"axis": 1}, id="single"),
    # Split
    Case("Split", [f32(3, 7), i64(2, 3, 2)], {"axis": 1}, noutputs=3, id="sizes"),
    Case("Split", [f32(3, 7), i64(0, 3, 4)], {"axis": -1}, noutputs=3, id="zero-piece"),
    Case("Split", [f32(6, 5)], {"num_outputs": 3}, noutputs=3, id="even"),
    Case("Split", [f32(3, 7)], {"axis": 1, "num_outputs": 4}, noutputs=4, id="uneven"),
    Case("Split", [ints(2, 11)], {"axis": -1, "num_outputs": 3}, noutputs=3, id="uneven-int"),
    Case("Split", [bools(5)], {"num_outputs": 1}, noutputs=1, id="one"),
    # Slice
    Case("Slice", [f32(5, 7), i64(1, 0), i64(3, 100)], id="basic"),
    Case("Slice", [f32(5, 7), i64(-1), i64(INT64_MIN), i64(1), i64(-1)], id="reverse"),
    Case("Slice", [f32(5, 7), i64(INT64_MAX), i64(INT64_MIN), i64(-1), i64(-2)], id="step-2-from-end"),
    Case("Slice", [f32(5, 7), i64(5, -2), i64(0, 1), i64(1, 0), i64(-2, -1)], id="neg-steps"),
    Case("Slice", [f32(5, 7), i64(100), i64(-100), i64(0), i64(-1)], id="neg-step-out-of-range"),
    Case("Slice", [f32(5, 7), i64(-100, 10), i64(100, 20)], id="out-of-range"),
    Case("Slice", [f32(4, 6, 5), i64(1, 0), i64(-1, 5), i64(-1, 1), i64(3, 2)], id="neg-axes-steps"),
    Case("Slice", [ints(9), np.array([1], np.int32), np.array([8], np.int32), None, np.array([3], np.int32)], id="int32"),
    Case("Slice", [f32(6), i64(4), i64(1)], id="empty-result"),
    Case("Slice", [np.zeros((0, 4), np.float32), i64(1), i64(3), i64(1)], id="empty-input"),
    Case("Slice", [bools(4, 5), i64(2), i64(INT64_MAX), i64(-1)], id="bool"),
    # Gather / GatherElements
    Case("Gather", [f32(5, 4), np.array([[0, 4], [-1, 2], [3, -5]], np.int64)], id="axis0-neg"),
    Case("Gather", [f32(2, 3, 7), np.array([6, 0, -2], np.int32)], {"axis": -1}, id="axis-last-int32"),
    Case("Gather", [ints(3, 4, dtype=np.int64), np.array(1, np.int64)], {"axis": 1}, id="scalar-index"),
    Case("Gather", [f32(3, 4), np.zeros((0,), np.int64)], id="empty-indices"),
    Case("Gather", [bools(4, 3), i64(-1, 0)], id="bool"),
    Case("Gather", [i64(2, 3, 5), i64(2, 0)], id="shape-chain"),
    Case("GatherElements", [f32(3, 4), rng.integers(-3, 3, (2, 4)).astype(np.int64)], id="axis0"),
    Case("GatherElements", [f32(2, 3, 5), rng.integers(-5, 5, (2, 2, 7)).astype(np.int64)], {"axis": -1}, id="neg-axis"),
    Case("GatherElements", [ints(4, 3), rng.integers(0, 3, (4, 2)).astype(np.int32)], {"axis": 1}, id="int"),
    Case("GatherElements", [f32(3, 4), np.zeros((0, 4), np.int64)], id="empty"),
    # Expand
    Case("Expand", [f32(3, 1), i64(2, 3, 4)], id="grow"),
    Case("Expand", [f32(2, 3, 4), i64(3, 1)], id="shape-smaller"),
    Case("Expand", [f32(4, 1, 5), i64(1, 1, 3, 1)], id="both-ways"),
    Case("Expand", [f32(1, 1), i64(0, 5)], id="to-empty"),
    Case("Expand", [bools(1, 3), i64(2, 1)], id="bool"),
    Case("Expand", [np.array(7, np.int64), i64(3)], id="scalar"),
    # Tile
    Case("Tile", [f32(2, 3), i64(2, 3)], id="2d"),
    Case("Tile", [ints(2, 1, 3), i64(1, 4, 2)], id="int"),
    Case("Tile", [f32(2, 3), i64(1, 0)], id="zero"),
    Case("Tile", [bools(3, 1), i64(2, 5)], id="bool"),
    # Pad
    Case("Pad", [f32(1, 2, 3, 5), i64(0, 0, 1, 2, 0, 0, 2, 1), np.array(1.5, np.float32)], id="constant"),
    Case("Pad", [f32(3, 5), i64(-1, 2, 1, -2)], id="constant-crop"),
    Case("Pad", [ints(3, 4), i64(1, 1, 0, 2), np.array(-7, np.int32)], id="constant-int"),
    Case("Pad", [f32(2, 3, 5), i64(2, -1), None, i64(-1)], id="axes-no-value"),
    Case("Pad", [f32(2, 3, 5), i64(1, 2, 0, 1), np.array(9, np.float32), i64(0, 2)], id="axes"),
    Case("Pad", [np.zeros((0, 3), np.float32), i64(1, 0, 1, 1)], id="constant-empty"),
    *[Case("Pad", [f32(3, 6), i64(1, 2, 2, 3)], {"mode": m}, id=m) for m in ("reflect", "edge", "wrap")],
    *[Case("Pad", [f32(4, 6), i64(-1, 2, 2, -3)], {"mode": m}, id=f"{m}-crop") for m in ("reflect", "edge", "wrap")],
    Case("Pad", [f32(2, 6), i64(0, 5, 0, 4)], {"mode": "reflect"}, id="reflect-max"),
    Case("Pad", [f32(2, 4), i64(0, 9, 0, 6)], {"mode": "wrap"}, id="wrap-beyond"),
    Case("Pad", [f32(2, 4), i64(0, 9, 0, 6)], {"mode": "edge"}, id="edge-beyond"),
    Case("Pad", [ints(3, 4), i64(2, 1, 1, 2)], {"mode": "edge"}, id="edge-int"),
    Case("Pad", [bools(3, 4), i64(1, 0, 0, 2)], id="constant-bool"),
    Case("Pad", [bools(3, 4), i64(1, -1, 2, 2)], {"mode": "wrap"}, id="wrap-bool"),
    Case("Pad", [f32(2, 3, 5), i64(-2, 3), None, i64(-1)], {"mode": "wrap"}, id="wrap-axes"),
    # DepthToSpace / SpaceToDepth
    Case("DepthToSpace", [IMG], {"blocksize": 3}, id="DCR"),
    Case("DepthToSpace", [IMG], {"blocksize": 3, "mode": "CRD"}, id="CRD"),
    Case("SpaceToDepth", [f32(2, 3, 6, 9)], {"blocksize": 3}, id="DCR"),
    # Identity, Trilu
    Case("Identity", [X]),
    Case("Identity", [bools(0, 3)], id="empty-bool"),
    Case("Trilu", [f32(4, 6)], id="upper"),
    Case("Trilu", [f32(4, 6)], {"upper": 0}, id="lower"),
    Case("Trilu", [f32(2, 3, 5, 4), np.array(1, np.int64)], id="upper-k1-batched"),
    Case("Trilu", [f32(5, 4), np.array(-2, np.int64)], {"upper": 0}, id="lower-k-2"),
    Case("Trilu", [f32(5, 4), np.array(-1, np.int64)], id="upper-k-1"),
    Case("Trilu", [ints(3, 7, dtype=np.int64), np.array(9, np.int64)], {"upper": 0}, id="int-k-big"),
    Case("Trilu", [f32(0, 3)], id="empty"),
    Case("Trilu", [bools(4, 4)], {"upper": 0}, id="bool"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


@pytest.mark.parametrize("name,shape,mode", [("DepthToSpace", (1, 8, 2, 3), "DCR"), ("DepthToSpace", (1, 8, 2, 3), "CRD"),
                                             ("SpaceToDepth", (1, 2, 4, 2), "DCR")])
def test_block_ops_on_ints(name, shape, mode):
    # onnxruntime has these for floats only; small ints pass through float32 exactly.
    x = ints(*shape)
    attrs = {"blocksize": 2, "mode": mode}
    ort_attrs = attrs if name == "DepthToSpace" else {"blocksize": 2}  # SpaceToDepth's mode is newer than onnxruntime
    want = run_onnxruntime(Case(name, [x.astype(np.float32)], ort_attrs), [np.dtype(np.float32)])[0].astype(np.int32)
    check_reference(Case(name, [x], attrs, onnx=False, expect=[want]))


def _pixel_unshuffle(x, b):
    import torch  # a dev dependency: a missing one fails, never skips
    return torch.nn.functional.pixel_unshuffle(torch.from_numpy(x), b).numpy()


def test_space_to_depth_crd_matches_torch():
    # SpaceToDepth's mode is new in opset 28, newer than onnxruntime's; CRD is torch's pixel_unshuffle.
    x = f32(2, 3, 6, 9)
    check_reference(Case("SpaceToDepth", [x], {"blocksize": 3, "mode": "CRD"}, onnx=False, expect=[_pixel_unshuffle(x, 3)]))


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_space_to_depth_inverts_depth_to_space(mode):
    x = f32(1, 18, 3, 5)
    y = get("DepthToSpace").run([x], {"blocksize": 3, "mode": mode})[0]
    assert np.array_equal(get("SpaceToDepth").run([y], {"blocksize": 3, "mode": mode})[0], x)


BAD = [
    (Case("Pad", [f32(3, 4), i64(1, 1, 1, 1)], {"mode": "symmetric"}), UnsupportedError),
    (Case("DepthToSpace", [IMG], {"blocksize": 3, "mode": "XYZ"}), UnsupportedError),
    (Case("SpaceToDepth", [f32(1, 1, 4, 4)], {"blocksize": 2, "mode": "RCD"}), UnsupportedError),
    (Case("Split", [f32(6, 5)], noutputs=2), ShapeError),  # neither split nor num_outputs
    (Case("Split", [f32(6, 5), i64(3, 3)], {"num_outputs": 2}, noutputs=2), ShapeError),
    (Case("Split", [f32(5)], {"num_outputs": 4}, noutputs=4), ShapeError),  # 2,2,2 leaves nothing for the last
    (Case("Split", [f32(5), i64(2, 2)], noutputs=2), ShapeError),
    (Case("Reshape", [X, i64(4, -1)]), ShapeError),
    (Case("Reshape", [X, i64(-1, -1)]), ShapeError),
    (Case("Reshape", [np.zeros((2, 0)), i64(0, -1)], {"allowzero": 1}), ShapeError),
    (Case("Slice", [f32(5), i64(0), i64(3), i64(0), i64(0)]), ShapeError),
    (Case("Squeeze", [f32(2, 3), i64(0)]), ShapeError),
    (Case("Unsqueeze", [X, i64(1, 1)]), ShapeError),
    (Case("Concat", [f32(2, 3), f32(3, 3)], {"axis": 1}), ShapeError),
    (Case("Expand", [f32(2, 3), i64(4, 3)]), ShapeError),
    (Case("Tile", [f32(2, 3), i64(2)]), ShapeError),
    (Case("Pad", [f32(2, 3), i64(0, 3, 0, 3)], {"mode": "reflect"}), ShapeError),  # pad > dim - 1
    (Case("Pad", [f32(2, 3), i64(0, -3, 0, 1)], {"mode": "edge"}), ShapeError),  # cropped to nothing
    (Case("Pad", [f32(2, 3), i64(0, -4, 0, 0)]), ShapeError),
    (Case("DepthToSpace", [f32(1, 8, 2, 2)], {"blocksize": 3}), ShapeError),
    (Case("SpaceToDepth", [f32(1, 1, 5, 4)], {"blocksize": 2}), ShapeError),
    (Case("Transpose", [X], {"perm": [0, 0, 1]}), ShapeError),
    (Case("Gather", [f32(3, 4), i64(0)], {"axis": 2}), ShapeError),
    (Case("Trilu", [f32(4)]), ShapeError),
    (Case("Gather", [f32(3, 4), i64(0, 3)]), ShapeError),  # found when run: indices are not plan-time values
    (Case("GatherElements", [f32(3, 4), -i64(4, 0, 1).reshape(1, 3)], {"axis": 0}), ShapeError),
]


@pytest.mark.parametrize("case,err", BAD, ids=[f"{c.op}-{i}" for i, (c, _) in enumerate(BAD)])
def test_rejected_when_planned(case, err):
    with pytest.raises(err):
        run_reference(case)


N, B = Sym.named("n"), Sym.named("batch")


def _shape(name, *metas, **attrs):
    d = get(name)
    return d.shape_rule(*metas, **{**d.attrs, **attrs})


def _host(*values):
    return Meta((len(values),), "int64", list(values))


def test_symbolic_shapes():
    x = Meta((B, 3, N), "float32")
    assert _shape("Reshape", x, _host(0, -1)) == (B, 3 * N)
    assert _shape("Reshape", Meta((B, N, 6), "float32"), _host(0, 0, 2, -1)) == (B, N, 2, 3)
    assert _shape("Flatten", x, axis=2) == (3 * B, N)
    assert _shape("Transpose", x) == (N, 3, B)
    assert _shape("Unsqueeze", x, _host(1)) == (B, 1, 3, N)
    assert _shape("Squeeze", Meta((B, 1, N), "float32"), _host(1)) == (B, N)
    assert _shape("Concat", x, Meta((B, 3, 2), "float32"), axis=-1) == (B, 3, N + 2)
    assert _shape("Split", Meta((B, 4 * N), "float32"), axis=1, num_outputs=2) == [(B, 2 * N), (B, 2 * N)]
    assert _shape("Slice", x, _host(1), _host(INT64_MAX), _host(2)) == (B, 3, N - 1)
    assert _shape("Slice", x, _host(0), _host(-1), _host(-1)) == (B, 3, N - 1)
    assert _shape("Slice", x, _host(-1), _host(INT64_MIN), _host(2), _host(-1)) == (B, 3, N)
    assert _shape("Gather", x, Meta((5,), "int64"), axis=1) == (B, 5, N)
    assert _shape("Expand", Meta((B, 1), "float32"), _host(1, 4)) == (B, 4)
    assert _shape("Tile", x, _host(1, 2, 3)) == (B, 6, 3 * N)
    assert _shape("Pad", x, _host(0, 0, 1, 0, 0, 2)) == (B, 3, N + 3)
    assert _shape("DepthToSpace", Meta((B, 8, N, N), "float32"), blocksize=2) == (B, 2, 2 * N, 2 * N)
    with pytest.raises(ShapeError):
        _shape("Squeeze", x)  # which dims are 1 is not known
