"""The model format: writer/reader round trip, quantized storage, and every bad-file path."""

import json
import os
import shutil

import numpy as np
import pytest

import webflow
from webflow.errors import FormatError, GraphError, ShardError
from webflow.format import parse_model
from webflow.loader import DirLoader
from webflow.weights import ShardWriter, decode_weight, read_shards


def _doc(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        return json.load(f)


def _save(model_dir, doc):
    with open(os.path.join(model_dir, "model.json"), "w") as f:
        json.dump(doc, f)


@pytest.mark.parametrize("storage", [None, "float16", "int8"])
def test_weights_round_trip(tmp_path, storage):
    rng = np.random.default_rng(0)
    arrays = {"a": rng.standard_normal((33, 7, 3)).astype(np.float32), "b": rng.integers(-5, 5, (1000,)).astype(np.int64),
              "c": rng.standard_normal((5000,)).astype(np.float32) * 100, "d": rng.random((17, 3)) > 0.5}
    w = ShardWriter(str(tmp_path), shard_size=4096)
    entries = [w.add(n, a, storage) for n, a in arrays.items()]
    shards = w.close()
    assert len(shards) > 3 and all(s.nbytes <= 4096 for s in shards)
    assert all(e.offset % 4 == 0 for e in entries)

    class Spec:
        pass

    spec = Spec()
    spec.shards = shards
    stream = read_shards(spec, DirLoader(str(tmp_path)))
    for e in entries:
        got, want = decode_weight(e, stream), arrays[e.name]
        assert got.shape == want.shape and got.dtype == want.dtype
        if want.dtype != np.float32 or storage is None:
            assert np.array_equal(got, want)
        elif storage == "float16":
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-6)
        else:  # int8: each value within one step of its channel's scale, each channel's errors
            # summing to at most half a step (balanced rounding, docs/FORMAT.md)
            axis = e.quant_axis
            red = tuple(i for i in range(want.ndim) if i != axis)
            step = np.abs(want).max(axis=red, keepdims=True) / 127
            assert np.all(np.abs(got - want) <= step * (1 + 1e-5))
            assert np.all(np.abs((got - want).sum(axis=red, keepdims=True)) <= step * (0.5 + 1e-4))


def test_convert_and_load_round_trip(small_onnx, small_model):
    doc = _doc(small_model)
    assert doc["format"] == "webflow-model" and doc["version"] == 1
    assert doc["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["batch", 64, 64]}]
    assert doc["outputs"][0]["shape"] == ["batch", 64, 64]
    assert len(doc["weights"]["shards"]) == 4  # 16 KiB of W in 4 KiB shards
    m = webflow.load(small_model)
    x = np.random.default_rng(2).standard_normal((3, 64, 64)).astype(np.float32)
    import onnxruntime as ort

    want = ort.InferenceSession(small_onnx).run(None, {"x": x})[0]
    np.testing.assert_allclose(m.predict(x)["y"], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("quantize,ratio", [("float16", 0.5), ("int8", 0.27)])
def test_quantized_download_is_smaller(tmp_path, small_onnx, quantize, ratio):
    from webflow.converter import convert

    base = convert(small_onnx, str(tmp_path / "f32"), log=lambda *a: None)
    q = convert(small_onnx, str(tmp_path / quantize), quantize=quantize, log=lambda *a: None)
    assert q["weight_bytes"] <= base["weight_bytes"] * ratio + 64
    m = webflow.load(str(tmp_path / quantize))
    x = np.ones((1, 64, 64), np.float32)
    assert m.predict(x)["y"].dtype == np.float32


def test_missing_shard(small_model):
    os.remove(os.path.join(small_model, "group1-shard2of4.bin"))
    with pytest.raises(ShardError, match=r"group1-shard2of4\.bin: file not found"):
        webflow.load(small_model)


def test_truncated_shard(small_model):
    path = os.path.join(small_model, "group1-shard3of4.bin")
    with open(path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(ShardError, match=r"group1-shard3of4\.bin: shard is 100 bytes, model.json says 4096"):
        webflow.load(small_model)


def test_sha256_mismatch(small_model):
    path = os.path.join(small_model, "group1-shard1of4.bin")
    data = bytearray(open(path, "rb").read())
    data[10] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(ShardError, match=r"group1-shard1of4\.bin: sha256 mismatch: model.json says [0-9a-f]{64}, the file hashes to"):
        webflow.load(small_model)


@pytest.mark.parametrize("name", ["../secret.bin", "sub/shard.bin", "sub\\shard.bin", "https://evil.example/x.bin",
                                  "file:shard.bin", "/etc/passwd", "..", ""])
def test_shard_path_rejected(small_model, name):
    doc = _doc(small_model)
    doc["weights"]["shards"][0]["file"] = name
    _save(small_model, doc)
    with pytest.raises(FormatError, match=r"shard file name .* is not allowed: it must be a plain file name"):
        webflow.load(small_model)


def test_unknown_version(small_model):
    doc = _doc(small_model)
    doc["version"] = 99
    _save(small_model, doc)
    with pytest.raises(FormatError, match=r"version: this webflow reads format version 1, the file has version 99"):
        webflow.load(small_model)


@pytest.mark.parametrize("path,field", [((), "nodes"), (("weights",), "tensors"), (("nodes", 0), "op"),
                                         (("inputs", 0), "dtype"), (("weights", "shards", 0), "sha256")])
def test_missing_field(small_model, path, field):
    doc = _doc(small_model)
    obj = doc
    for p in path:
        obj = obj[p]
    del obj[field]
    _save(small_model, doc)
    with pytest.raises(FormatError, match=f"missing field '{field}'"):
        webflow.load(small_model)


def test_not_json(small_model):
    with open(os.path.join(small_model, "model.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(FormatError, match=r"model.json: not valid JSON"):
        webflow.load(small_model)


def test_wrong_byte_count(small_model):
    doc = _doc(small_model)
    t = next(t for t in doc["weights"]["tensors"] if "bytes" in t)
    t["bytes"] += 4
    _save(small_model, doc)
    with pytest.raises(FormatError, match=rf"tensor '{t['name']}' \(float32, shape \[64, 64\]\) needs 16384 bytes, manifest says 16388"):
        webflow.load(small_model)


def test_undefined_tensor(small_model):
    doc = _doc(small_model)
    doc["nodes"][1]["inputs"][0] = "nowhere"
    _save(small_model, doc)
    with pytest.raises(GraphError, match=r"node 'add' \(Add\) reads tensor 'nowhere', which no node, input or constant defines"):
        webflow.load(small_model)


def test_cycle(small_model):
    doc = _doc(small_model)
    # mul reads relu's output: mul -> add -> relu -> mul
    doc["nodes"][0]["inputs"][0] = doc["nodes"][2]["outputs"][0]
    _save(small_model, doc)
    with pytest.raises(GraphError, match=r"cycle through nodes: 'mul', 'add', 'relu'"):
        webflow.load(small_model)


def test_unknown_op_in_model_json(small_model):
    doc = _doc(small_model)
    doc["nodes"][0]["op"] = "Frobnicate"
    doc["nodes"][2]["op"] = "Wibble"
    _save(small_model, doc)
    with pytest.raises(webflow.errors.UnsupportedError, match=r"2 op type\(s\) not supported:\n  Frobnicate: 1 node\(s\): mul\n  Wibble: 1 node\(s\): relu"):
        webflow.load(small_model)


def test_parse_rejects_bad_dims():
    doc = {"format": "webflow-model", "version": 1, "inputs": [{"name": "x", "dtype": "float32", "shape": [-1]}],
           "outputs": [], "nodes": [], "weights": {"shards": [], "tensors": []}}
    with pytest.raises(FormatError, match=r"inputs\[0\].shape\[0\]: a dim is a non-negative int or a symbolic name, got -1"):
        parse_model(doc)
    doc["inputs"][0]["shape"] = [1]
    doc["inputs"][0]["dtype"] = "complex64"
    with pytest.raises(FormatError, match=r"unknown dtype 'complex64'"):
        parse_model(doc)
