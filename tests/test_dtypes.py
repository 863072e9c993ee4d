"""Low-precision dtypes (bfloat16, float8, float4, int4, int2) through the converter, model.json
and the shards; the byte layout is the one webflow_py/dtypes.py documents. The oracle for a
whole model is onnx's reference evaluator (onnxruntime lacks most of these types)."""

import json
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import webflow
from webflow.converter import convert
from webflow.dtypes import DTYPES, LOW_PRECISION, itemsize
from webflow.loader import DirLoader
from webflow.weights import ShardWriter, decode_small, decode_weight, read_shards

rng = np.random.default_rng(7)
FLOAT4_VALUES = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]


def every_value(dtype):
    """Every value of a low-precision dtype (every code of the 8-bit ones, bfloat16: a sample), odd-sized."""
    d = DTYPES[dtype]
    if dtype == "bfloat16":
        bits = np.concatenate([rng.integers(0, 1 << 16, 295), [0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x0001]]).astype(np.uint16)
        return bits.view(ml_dtypes.bfloat16).reshape(7, 43)
    if d.kind == "float":
        return np.arange(1 << d.bits, dtype=np.uint8).view(getattr(ml_dtypes, dtype))[::-1].copy()
    lo, hi = -(1 << (d.bits - 1)) if d.kind == "int" else 0, (1 << d.bits) - 1 if d.kind == "uint" else (1 << (d.bits - 1)) - 1
    return np.tile(np.arange(lo, hi + 1), 7)[:-1].astype(getattr(ml_dtypes, dtype))


def same(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got.view(np.uint8) if got.itemsize == 1 else got.view(np.uint16), want.view(np.uint8) if want.itemsize == 1 else want.view(np.uint16))


@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_shard_round_trip_and_layout(tmp_path, dtype):
    a = every_value(dtype)
    w = ShardWriter(str(tmp_path), shard_size=1024)
    e = w.add("w", a)
    small = w.add("small", a.reshape(-1)[:5])
    spec = type("Spec", (), {"shards": w.close()})()
    stream = read_shards(spec, DirLoader(str(tmp_path)))
    assert e.dtype == dtype and e.nbytes == a.size * itemsize(dtype)
    same(decode_weight(e, stream), a)
    raw = np.frombuffer(stream[e.offset:e.offset + e.nbytes], np.uint8)
    kind = DTYPES[dtype].kind
    if dtype == "bfloat16":  # the top half of the float32, little-endian
        want = (a.astype(np.float32).view("<u4") >> 16).astype("<u2")
        assert np.array_equal(raw.view("<u2"), want.reshape(-1))
    elif dtype == "float4_e2m1fn":  # the 4-bit code in the low nibble
        assert raw.max() <= 15 and np.array_equal(np.array(FLOAT4_VALUES, np.float32)[raw], a.astype(np.float32).reshape(-1))
    elif kind == "float":
        assert np.array_equal(raw, a.view(np.uint8).reshape(-1))
    else:  # one value per byte: int8 sign-extended, or uint8
        assert np.array_equal(raw.view(np.int8 if kind == "int" else np.uint8), a.astype(np.int64).reshape(-1))
        assert decode_small(small, stream) == a.reshape(-1)[:5].astype(np.int64).tolist()  # without numpy: struct


def _model():
    """Low-precision constants that stay constants (their ops also take graph inputs), big ones
    in the shards and small ones inline; a bfloat16 input; a float8 output."""
    consts = {
        "w_int4": rng.integers(-8, 8, (20, 30)).astype(ml_dtypes.int4),
        "w_uint2": rng.integers(0, 4, 601).astype(ml_dtypes.uint2),
        "w_f4": np.array(FLOAT4_VALUES * 20, np.float32).astype(ml_dtypes.float4_e2m1fn),
        "w_f8": np.array([0, -0.0, 448, -3.25, np.nan], np.float32).astype(ml_dtypes.float8_e4m3fn),
        "w_f8big": np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e5m2),
        "w_bf16": (rng.standard_normal((3, 130)) * 1e3).astype(ml_dtypes.bfloat16),
        "s_e8m0": np.array([1, 2.0**-20, 2.0**100, 0.5], np.float32).astype(ml_dtypes.float8_e8m0fnu),
        "z_int4": np.array([1, -2, 0, 7], ml_dtypes.int4),
    }
    dq = lambda w, out, **kw: helper.make_node("DequantizeLinear", [w, "s"], [out], **kw)
    nodes = [
        dq("w_int4", "y_int4"), dq("w_uint2", "y_uint2"), dq("w_f4", "y_f4"), dq("w_f8", "y_f8"), dq("w_f8big", "y_f8big"),
        helper.make_node("Concat", ["w_bf16", "b"], ["y_bf16"], axis=0),
        helper.make_node("DequantizeLinear", ["q", "s_e8m0", "z_int4"], ["y_e8m0"], axis=0, output_dtype=TensorProto.FLOAT),
        helper.make_node("Cast", ["y_int4"], ["y_cast"], to=TensorProto.FLOAT8E4M3FNUZ, saturate=0),
    ]
    inputs = [helper.make_tensor_value_info("s", TensorProto.FLOAT, []), helper.make_tensor_value_info("b", TensorProto.BFLOAT16, [2, 130]),
              helper.make_tensor_value_info("q", TensorProto.INT4, [4, 3])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in
               ("y_uint2", "y_f4", "y_f8", "y_f8big", "y_bf16", "y_e8m0", "y_cast")]
    graph = helper.make_graph(nodes, "lowp", inputs, outputs, initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 11
    return onnx.shape_inference.infer_shapes(model)


@pytest.fixture
def lowp(tmp_path):
    model = _model()
    path = str(tmp_path / "lowp.onnx")
    onnx.save(model, path)
    convert(path, str(tmp_path / "out"), log=lambda *a: None, shard_size=1024)
    return model, str(tmp_path / "out")


def test_convert_and_run(lowp):
    model, out = lowp
    feeds = {"s": np.array(0.25, np.float32), "b": (rng.standard_normal((2, 130)) * 7).astype(ml_dtypes.bfloat16),
             "q": rng.integers(-8, 8, (4, 3)).astype(ml_dtypes.int4)}
    want = dict(zip([o.name for o in model.graph.output], ReferenceEvaluator(model).run(None, feeds)))
    m = webflow.load(out)
    assert {t.name: t.dtype for t in m.inputs} == {"s": "float32", "b": "bfloat16", "q": "int4"}
    assert m.outputs[-1].dtype == "float8_e4m3fnuz"
    got = m.predict(feeds)
    for name, w in want.items():
        assert got[name].dtype == w.dtype, name
        np.testing.assert_array_equal(got[name].astype(np.float32), w.astype(np.float32), err_msg=name)

    with open(os.path.join(out, "model.json")) as f:
        tensors = {t["name"]: t for t in json.load(f)["weights"]["tensors"]}
    assert tensors["w_int4"]["dtype"] == "int4" and tensors["w_int4"]["bytes"] == 600  # one value per byte
    assert tensors["w_bf16"]["bytes"] == 3 * 130 * 2
    assert tensors["w_f8"]["value"] == [0.0, -0.0, 448.0, -3.25, "nan"]  # small ones inline, as numbers
    assert tensors["s_e8m0"]["value"] == [1.0, 2.0**-20, 2.0**100, 0.5]


SCRIPT = r"""
import sys
sys.modules["ml_dtypes"] = None  # any `import ml_dtypes` now fails
import webflow
try:
    webflow.load(sys.argv[1])
except webflow.errors.UnsupportedError as e:
    print("refused:", e)
"""


def test_without_ml_dtypes_a_model_that_needs_it_is_refused(lowp):
    r = subprocess.run([sys.executable, "-c", SCRIPT, lowp[1]], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "refused: dtype int4 needs the ml_dtypes package" in r.stdout


def test_inline_value_out_of_range_is_refused(lowp):
    path = os.path.join(lowp[1], "model.json")
    with open(path) as f:
        doc = json.load(f)
    z = next(t for t in doc["weights"]["tensors"] if t["name"] == "z_int4")
    z["value"][0] = 9
    with open(path, "w") as f:
        json.dump(doc, f)
    with pytest.raises(webflow.errors.FormatError, match=r"z_int4.*9 is outside the range of int4 \[-8, 7\]"):
        webflow.load(lowp[1])


def test_quantize_precision_attribute_converts(tmp_path):
    """QuantizeLinear's `precision` is an ONNX enum; the frontend names it (here: float16)."""
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], precision=TensorProto.FLOAT16)
    graph = helper.make_graph([node], "p", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.INT16, [4])],
                              initializer=[numpy_helper.from_array(np.array(1, np.float32), "s"), numpy_helper.from_array(np.array(0, np.int16), "z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 11
    onnx.save(model, str(tmp_path / "p.onnx"))
    convert(str(tmp_path / "p.onnx"), str(tmp_path / "out"), log=lambda *a: None)
    x = np.array([2049, 3.4998, 1, 7e4], np.float32)
    got = webflow.load(str(tmp_path / "out")).predict(x)["y"]
    with np.errstate(all="ignore"):
        want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got[:3], want[:3])
    np.testing.assert_array_equal(got, [2048, 4, 1, 32767])  # 7e4 is inf in float16: saturates (the reference wraps it)
