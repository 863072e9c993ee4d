import numpy as np
import pytest

from tests.ops.harness import Case, check_reference, ids, run_reference
from webflow.errors import ShapeError, UnsupportedError

rng = np.random.default_rng(3)


def f32(*shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def channel_params(c):
    return [f32(c), f32(c), f32(c), f32(c, lo=0.1, hi=2)]  # scale, B, mean, var (var > 0)


X = f32(2, 5, 7, 9)
SPECIAL = np.array([[0.0, 1.5, np.inf, -2.0], [np.nan, 1.0, 2.0, 3.0], [-np.inf, 0.0, 1.0, 2.0]], np.float32).reshape(1, 3, 4)

CASES = [
    Case("BatchNormalization", [X, *channel_params(5)], id="4d"),
    Case("BatchNormalization", [f32(3, 5), *channel_params(5)], {"epsilon": 1e-2}, id="2d-epsilon"),
    Case("BatchNormalization", [f32(2, 3, 11), *channel_params(3)], {"momentum": 0.5}, id="3d-momentum"),
    Case("BatchNormalization", [f32(1, 2, 3, 4, 5), *channel_params(2)], id="5d"),
    Case("BatchNormalization", [SPECIAL, *channel_params(3)], id="special"),
    Case("BatchNormalization", [X[:0], *channel_params(5)], id="empty"),
    Case("LayerNormalization", [f32(3, 5, 7), f32(7), f32(7)], id="last-axis", noutputs=3),
    Case("LayerNormalization", [f32(3, 5, 7), f32(5, 7), f32(5, 7)], {"axis": 1, "epsilon": 1e-3}, id="axis1", noutputs=3),
    Case("LayerNormalization", [f32(3, 5, 7), f32(5, 7)], {"axis": -2}, id="negative-axis-no-bias", noutputs=3),
    Case("LayerNormalization", [f32(3, 5, 7), f32(3, 5, 7), f32(3, 5, 7)], {"axis": 0}, id="axis0", noutputs=3),
    Case("LayerNormalization", [f32(4, 33), f32(33), f32(33)], {"stash_type": "float32"}, id="stash-float32",
         onnx_attrs={"stash_type": 1}),  # webflow names the dtype; ONNX uses the TensorProto enum
    Case("LayerNormalization", [f32(4, 33), f32(33), f32(33)], id="y-only"),
    # Y only: onnxruntime's Mean of a row holding inf is NaN; the spec's ReduceMean (and webflow) gives inf
    Case("LayerNormalization", [SPECIAL, f32(4), f32(4)], id="special"),
    Case("InstanceNormalization", [X, f32(5), f32(5)], id="4d"),
    Case("InstanceNormalization", [f32(2, 3, 17), f32(3), f32(3)], {"epsilon": 1e-2}, id="3d-epsilon"),
    Case("InstanceNormalization", [f32(1, 2, 3, 4, 5), f32(2), f32(2)], id="5d"),
    Case("GroupNormalization", [X, f32(5), f32(5)], {"num_groups": 5}, id="groups=channels"),
    Case("GroupNormalization", [X, f32(5), f32(5)], {"num_groups": 1, "epsilon": 1e-3}, id="one-group"),
    Case("GroupNormalization", [f32(2, 6, 5, 3), f32(6), f32(6)], {"num_groups": 3}, id="3-groups"),
    Case("GroupNormalization", [f32(2, 6, 11), f32(6), f32(6)], {"num_groups": 2, "stash_type": "float32"}, id="3d-stash",
         onnx_attrs={"num_groups": 2, "stash_type": 1}),
    Case("LpNormalization", [f32(3, 5, 7)], id="default"),
    Case("LpNormalization", [f32(3, 5, 7)], {"axis": 1, "p": 1}, id="p1-axis1"),
    Case("LpNormalization", [f32(3, 5, 7)], {"axis": -3, "p": 2}, id="p2-axis-3"),
    Case("LpNormalization", [np.array([[0, 0, 0], [3, -4, 0]], np.float32)], id="zero-row"),
    Case("MeanVarianceNormalization", [X], id="default-axes"),
    Case("MeanVarianceNormalization", [f32(3, 5, 7)], {"axes": [2]}, id="last-axis"),
    Case("MeanVarianceNormalization", [f32(3, 5, 7)], {"axes": [0, -1]}, id="negative-axes"),
    Case("LRN", [X], {"size": 3}, id="size3"),
    Case("LRN", [f32(1, 7, 3, 5)], {"size": 5, "alpha": 0.2, "beta": 0.9, "bias": 0.5}, id="size5"),
    Case("LRN", [f32(1, 3, 2, 2)], {"size": 7}, id="size>channels"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_against_onnxruntime(case):
    check_reference(case)


def test_lrn_3d_matches_torch():
    # onnxruntime's LRN takes 4-D input only; torch's window matches ONNX's for odd sizes
    import torch  # a dev dependency: a missing one fails, never skips
    x = f32(2, 6, 13)
    want = torch.nn.functional.local_response_norm(torch.from_numpy(x), 5, alpha=0.3, beta=0.6, k=1.5).numpy()
    check_reference(Case("LRN", [x], {"size": 5, "alpha": 0.3, "beta": 0.6, "bias": 1.5}, onnx=False, expect=[want]))


def test_lrn_even_size_matches_torch_on_reversed_channels():
    # onnxruntime refuses even sizes. ONNX sums channels [c - 1, c + 2] for size 4, torch [c - 2, c + 1]:
    # the same windows once the channel order is reversed, so torch runs on reversed channels.
    import torch  # a dev dependency: a missing one fails, never skips
    x = f32(2, 7, 3, 5)
    flipped = torch.from_numpy(np.ascontiguousarray(x[:, ::-1]))
    want = torch.nn.functional.local_response_norm(flipped, 4, alpha=0.01, beta=0.5, k=2.0).numpy()[:, ::-1]
    check_reference(Case("LRN", [x], {"size": 4, "alpha": 0.01, "beta": 0.5, "bias": 2.0}, onnx=False, expect=[want]))


BAD = [
    (UnsupportedError, Case("BatchNormalization", [X, *channel_params(5)], {"training_mode": 1}, id="training")),
    (UnsupportedError, Case("LayerNormalization", [f32(3, 4), f32(4)], {"stash_type": "float16"}, id="stash-float16")),
    (UnsupportedError, Case("LayerNormalization", [f32(3, 4), f32(4)], {"stash_type": 1}, id="stash-enum")),
    (UnsupportedError, Case("GroupNormalization", [X, f32(5), f32(5)], {"num_groups": 5, "stash_type": "bfloat16"}, id="group-stash")),
    (UnsupportedError, Case("LpNormalization", [X], {"p": 3}, id="p3")),
    (ShapeError, Case("BatchNormalization", [X, *channel_params(4)], id="channels")),
    (ShapeError, Case("GroupNormalization", [X, f32(5), f32(5)], {"num_groups": 2}, id="groups-divide")),
    (ShapeError, Case("GroupNormalization", [X, f32(5), f32(5)], id="num_groups-required")),
    (ShapeError, Case("LayerNormalization", [f32(3, 4), f32(3)], id="scale-shape")),
    (ShapeError, Case("LayerNormalization", [f32(3, 4), f32(4)], {"axis": 2}, id="axis")),
    (ShapeError, Case("MeanVarianceNormalization", [X], {"axes": [1, -3]}, id="repeated-axes")),
    (ShapeError, Case("InstanceNormalization", [f32(3, 4), f32(4), f32(4)], id="rank2")),
]


@pytest.mark.parametrize("error,case", BAD, ids=[c.id for _, c in BAD])
def test_rejected_at_plan_time(error, case):
    with pytest.raises(error):
        run_reference(case)
