"""The `webflow` command line, run as a user runs it (a subprocess), checked on real outputs."""

import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

WEBFLOW = [sys.executable, "-m", "webflow.cli"]


def webflow(*args, ok=True):
    r = subprocess.run(WEBFLOW + [str(a) for a in args], capture_output=True, text=True)
    if ok:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_convert_info_run(small_onnx, tmp_path):
    out = tmp_path / "m"
    r = webflow("convert", small_onnx, out, "--shard-size", "8KB")
    assert "fold_constants" in r.stdout and "wrote" in r.stdout
    assert sorted(os.listdir(out)) == ["group1-shard1of2.bin", "group1-shard2of2.bin", "model.json", "report.json"]

    info = webflow("info", out).stdout
    assert "'x' (float32, [batch, 64, 64])" in info and "'y' (float32, [batch, 64, 64])" in info
    assert "MatMul" in info and "parameters: 4,160" in info and "float32 16,384" in info and "group1-shard2of2.bin  8,192 bytes" in info

    x = np.random.default_rng(3).standard_normal((2, 64, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    webflow("run", out, "--input", f"x={tmp_path / 'x.npy'}", "--backend", "numpy", "--output", tmp_path / "y.npz")
    webflow("run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y2.npz")  # bare FILE for a one-input model
    want = ort.InferenceSession(small_onnx).run(None, {"x": x})[0]
    for f in ("y.npz", "y2.npz"):
        got = np.load(tmp_path / f)
        assert list(got.keys()) == ["y"]
        np.testing.assert_allclose(got["y"], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("quantize", [None, "float16", "int8"])
def test_convert_quantized(small_onnx, tmp_path, quantize):
    args = ["--quantize", quantize] if quantize else []
    webflow("convert", small_onnx, tmp_path / "m", *args)
    info = webflow("info", tmp_path / "m").stdout
    assert {None: "float32 16,384", "float16": "float16 8,192", "int8": "int8 4,352"}[quantize] in info


def test_verify_passes_and_fails(small_onnx, tmp_path):
    r = webflow("verify", small_onnx, "--dim", "batch=3")
    assert "max abs err" in r.stdout and "all 1 output(s) within atol=0.0001 rtol=0.001" in r.stdout
    # int8 weights are off by far more than 1e-9: verify must say so and exit non-zero
    r = webflow("verify", small_onnx, "--quantize", "int8", "--atol", "1e-9", "--rtol", "1e-9", ok=False)
    assert r.returncode == 1 and "FAIL" in r.stdout and "beyond atol=1e-09" in r.stdout


def test_verify_with_given_input(small_onnx, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((1, 64, 64), np.float32))
    r = webflow("verify", small_onnx, "--input", f"x={tmp_path / 'x.npy'}")
    assert r.returncode == 0


def test_errors_are_messages_not_tracebacks(small_onnx, tmp_path):
    webflow("convert", small_onnx, tmp_path / "m")
    np.save(tmp_path / "bad.npy", np.ones((1, 64, 64)))  # float64
    cases = [
        (("run", tmp_path / "m", "--input", f"x={tmp_path / 'bad.npy'}", "--output", tmp_path / "o.npz"), "input 'x': expected dtype float32, got float64"),
        (("run", tmp_path / "m", "--input", f"nope={tmp_path / 'bad.npy'}", "--output", tmp_path / "o.npz"), "unknown input(s) 'nope'"),
        (("run", tmp_path / "m", "--input", f"x={tmp_path / 'missing.npy'}", "--output", tmp_path / "o.npz"), "cannot read"),
        (("run", tmp_path / "nowhere", "--output", tmp_path / "o.npz"), "not a folder with a model.json"),
        (("convert", tmp_path / "bad.npy", tmp_path / "o"), "unknown source format"),
    ]
    for args, msg in cases:
        r = webflow(*args, ok=False)
        assert r.returncode == 2, r.stderr
        assert msg in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_progress_bar(small_onnx, tmp_path):
    import io

    from webflow.converter import convert

    err = io.StringIO()
    sys_stderr, sys.stderr = sys.stderr, err
    try:
        convert(small_onnx, str(tmp_path / "m"), show_progress=True, log=lambda *a: None)
    finally:
        sys.stderr = sys_stderr
    assert "writing weights [" in err.getvalue() and "100.0%" in err.getvalue()
