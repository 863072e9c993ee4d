"""The demo site without a browser: demo_site/build.py builds it (models from the .cache/demo/
steps, so nothing is retrained here when the cache is warm), the digits demo's Python turns
drawings into the data's 8x8 input (checked against a numpy reference and against the data
itself), and `webflow serve` serves the built site with the right types and cache headers.
"""

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from demo_site import build as demo_build

ROOT = demo_build.ROOT
sys.path.insert(0, os.path.join(ROOT, "demo_site", "py"))
import digits  # noqa: E402  (demo_site/py/digits: the page's own Python)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("demo") / "site")
    lines = []
    status = demo_build.build(out, demos=["digits"], log=lines.append)
    return {"dir": out, "status": status, "log": lines}


# --- the build ---------------------------------------------------------------------------------

def test_site_layout(site):
    out, status = site["dir"], site["status"]
    assert status["digits"]["built"] and status["digits"]["models"] == ["digits"]
    assert json.load(open(os.path.join(out, "demos.json"))) == status
    for rel in ("index.html", "sw.js", "manifest.json", "common/demo.js", "common/python.js", "common/style.css",
                "digits/index.html", "digits/main.js", "py/digits/__init__.py", "models/digits/model.json", "pyodide/pyodide.asm.wasm"):
        assert os.path.isfile(os.path.join(out, rel)), rel
    assert not os.path.exists(os.path.join(out, "digits", "demo.py")), "the build side stays out of the site"
    assert not os.path.exists(os.path.join(out, "common", "sw.js")), "the worker's body is only at the root"
    assert json.load(open(os.path.join(out, "py", "index.json")))["digits"] == ["__init__.py"]
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert os.path.isfile(os.path.join(out, manifest["wheel"]))


def _shell(out):
    text = open(os.path.join(out, "sw.js")).read()
    version = re.search(r'const VERSION = "([0-9a-f]+)";', text).group(1)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", text, re.S).group(1))
    return version, shell


def test_service_worker_lists_the_whole_shell(site):
    """Every file but the models (fetch.js caches those) and sw.js itself is precached."""
    out = site["dir"]
    version, shell = _shell(out)
    files = sorted(os.path.relpath(os.path.join(d, f), out).replace(os.sep, "/") for d, _, fs in os.walk(out) for f in fs)
    assert shell == [f for f in files if f != "sw.js" and not f.startswith("models/")]
    assert {"index.html", "digits/index.html", "pyodide/pyodide.asm.wasm", "py/index.json", "manifest.json"} <= set(shell)
    # a changed shell file changes the version, so browsers install the new worker
    path = os.path.join(out, "digits", "main.js")
    original = open(path, "rb").read()
    try:
        with open(path, "ab") as f:
            f.write(b"\n// changed\n")
        assert demo_build.write_service_worker(out)[1] != version
    finally:
        with open(path, "wb") as f:
            f.write(original)
        demo_build.write_service_worker(out)
    assert _shell(out)[0] == version


def test_rebuild_uses_the_cache(site):
    """A second build trains and converts nothing, and leaves the site as it was."""
    version, _ = _shell(site["dir"])
    lines = []
    t0 = time.monotonic()
    demo_build.build(site["dir"], demos=["digits"], log=lines.append)
    log = "\n".join(lines)
    assert "digits-train: cached" in log and "digits-model: cached" in log, log
    assert "making" not in log
    assert time.monotonic() - t0 < 30
    assert _shell(site["dir"])[0] == version


def test_a_skipped_demo_says_why(tmp_path, monkeypatch):
    """A demo whose inputs are missing is left out; demos.json and its own URL say why (the
    landing page shows demos.json's reason on its card)."""

    class Missing:
        TITLE = "Missing <demo>"

        def models(kit):
            raise kit.Skip("hand.tflite is missing (run scripts/fetch_models.py)")

    digits_demo = dict(demo_build.discover())["digits"]
    monkeypatch.setattr(demo_build, "discover", lambda: [("digits", digits_demo), ("missing", Missing)])
    out = str(tmp_path / "site")
    status = demo_build.build(out, log=lambda m: None)
    assert status["missing"] == {"title": "Missing <demo>", "python": [], "models": [], "built": False,
                                 "reason": "hand.tflite is missing (run scripts/fetch_models.py)"}
    page = open(os.path.join(out, "missing", "index.html")).read()
    assert "This demo was not built</strong>hand.tflite is missing (run scripts/fetch_models.py)." in page
    assert "Missing &lt;demo&gt;" in page and os.listdir(os.path.join(out, "missing")) == ["index.html"]
    assert "missing/index.html" in _shell(out)[1]
    landing = open(os.path.join(out, "index.html")).read()
    assert 'data-demo="classify"' in landing and "not built: ${s.reason}" in landing


def test_step_cache_is_keyed_by_its_inputs(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_build, "CACHE", str(tmp_path / "cache"))
    src = tmp_path / "train.py"
    src.write_text("v1")
    kit, made = demo_build.Kit("t", log=lambda m: None), []

    def make(out):
        made.append(out)
        open(os.path.join(out, "result"), "w").write(src.read_text())

    dead = tmp_path / "cache" / ".tmp-t-train-999999999"  # a killed build's leftover (no such pid)
    dead.mkdir(parents=True)
    a = kit.step("t-train", make, inputs=[str(src)])
    assert not dead.exists()
    assert kit.step("t-train", make, inputs=[str(src)]) == a and len(made) == 1
    src.write_text("v2")
    b = kit.step("t-train", make, inputs=[str(src)])
    assert b != a and len(made) == 2 and not os.path.exists(a), "the stale result is removed"
    assert open(os.path.join(b, "result")).read() == "v2"
    with pytest.raises(demo_build.Skip, match="nothing.tflite is missing"):
        kit.require(str(tmp_path / "nothing.tflite"), "run scripts/fetch_models.py")


# --- the digits demo's Python: drawing -> the data's 8x8 ------------------------------------------

def reference_8x8(alpha):
    """numpy twin of digits.to_8x8 on an (H, W) ink plane (the spec in its docstring)."""
    ink = np.asarray(alpha) >= digits.INK
    ys, xs = np.nonzero(ink)
    if not len(ys):
        return None
    h, w = ink.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    side = max(x1 - x0, y1 - y0)

    def cells(start):
        lo, hi = start + np.arange(32) * side / 32, start + np.arange(1, 33) * side / 32
        a, b = np.ceil(lo - 0.5).astype(int), np.ceil(hi - 0.5).astype(int)
        tiny = b <= a
        a[tiny] = np.floor((lo + hi) / 2)[tiny]
        b[tiny] = a[tiny] + 1
        return a, b

    (ra, rb), (ca, cb) = cells((y0 + y1 - side) / 2), cells((x0 + x1 - side) / 2)
    pad = side + 2  # blank margin: the box may reach past the canvas
    big = np.pad(ink, pad)
    grid = np.array([[big[ra[i] + pad:rb[i] + pad, ca[j] + pad:cb[j] + pad].mean() >= 0.5 for j in range(32)] for i in range(32)])
    return (grid.reshape(8, 4, 8, 4).sum(axis=(1, 3)) / 16).reshape(-1).tolist()


def strokes(shape, segments, width):
    """An (H, W) alpha plane with thick round-capped segments [(x0, y0, x1, y1)] in pixels."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    d = np.full(shape, np.inf)
    for x0, y0, x1, y1 in segments:
        vx, vy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * vx + (yy - y0) * vy) / max(vx * vx + vy * vy, 1e-9), 0, 1)
        d = np.minimum(d, np.hypot(xx - x0 - t * vx, yy - y0 - t * vy))
    return (np.clip(width / 2 - d + 0.5, 0, 1) * 255).round().astype(np.uint8)  # anti-aliased edge


def _ours(alpha):
    """digits.to_8x8 as the page calls it: canvas RGBA bytes, ink in the alpha channel."""
    rgba = np.zeros(alpha.shape + (4,), np.uint8)
    rgba[..., 3] = alpha
    rgba[..., :3] = 22
    return digits.to_8x8(rgba.tobytes(), alpha.shape[1], alpha.shape[0])


def test_to_8x8_equals_numpy_reference():
    rng = np.random.default_rng(0)
    cases = []
    for _ in range(40):
        h, w = rng.integers(40, 320, 2)
        segs = [tuple(rng.uniform(-10, [w + 10, h + 10, w + 10, h + 10])) for _ in range(rng.integers(1, 5))]
        cases.append(strokes((h, w), segs, rng.uniform(2, 30)))
    tiny = np.zeros((50, 60), np.uint8)
    tiny[20:27, 30:33] = 255  # smaller than the 32x32 box: cells narrower than a pixel
    wide = strokes((100, 300), [(20, 50, 280, 55)], 12)  # wider than tall: centred vertically
    edge = strokes((90, 90), [(0, 0, 89, 89)], 20)  # ink on the canvas edges
    dot = np.zeros((30, 30), np.uint8)
    dot[29, 0] = 200
    for alpha in cases + [tiny, wide, edge, dot]:
        assert _ours(alpha) == reference_8x8(alpha)
    assert _ours(np.zeros((20, 20), np.uint8)) is None and reference_8x8(np.zeros((20, 20))) is None
    assert _ours(np.full((20, 20), 127, np.uint8)) is None  # below the ink threshold


def test_to_8x8_recovers_a_scaled_32x32_box():
    """A 32x32 bitmap that fills its box, scaled up k times anywhere on a canvas, comes back as
    its exact 4x4 block counts (what the data is)."""
    rng = np.random.default_rng(1)
    for k in (1, 3, 8, 9):
        grid = rng.random((32, 32)) < 0.3
        grid[0, 5] = grid[31, 7] = grid[9, 0] = grid[20, 31] = True  # the ink spans the box
        alpha = np.zeros((32 * k + 40, 32 * k + 25), np.uint8)
        y, x = rng.integers(0, 25, 2)
        alpha[y:y + 32 * k, x:x + 32 * k] = np.kron(grid, np.ones((k, k))) * 255
        want = (grid.reshape(8, 4, 8, 4).sum(axis=(1, 3)) / 16).reshape(-1).tolist()
        assert digits.to_8x8(alpha.tobytes(), alpha.shape[1], alpha.shape[0], channel=0, stride=1) == want


def _load_train():
    spec = importlib.util.spec_from_file_location("digits_train", os.path.join(ROOT, "examples", "digits", "train.py"))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    return train


def test_data_drawn_again_keeps_its_class(site):
    """The held-out digits drawn as a visitor would (each 8x8 value v becomes v inked pixels of
    its 4x4 block, scaled up 8x onto a bigger canvas), cut down by to_8x8 and classified by the
    site's model: accuracy stays that of the data itself, so the page's input is the data's."""
    import webflow

    _, (x, y) = _load_train().load_data()
    model = webflow.load(os.path.join(site["dir"], "models", "digits"))
    rng = np.random.default_rng(2)
    inputs = []
    for img in x[:, 0]:
        grid = np.zeros((32, 32), bool)
        for i in range(8):
            for j in range(8):
                block = np.zeros(16, bool)
                block[rng.permutation(16)[:int(round(img[i, j] * 16))]] = True
                grid[4 * i:4 * i + 4, 4 * j:4 * j + 4] = block.reshape(4, 4)
        alpha = np.zeros((300, 300), np.uint8)
        alpha[20:276, 30:286] = np.kron(grid, np.ones((8, 8))) * 255
        inputs.append(digits.to_8x8(alpha.tobytes(), 300, 300, channel=0, stride=1))
    drawn = model.predict({"image": np.array(inputs, np.float32).reshape(-1, 1, 8, 8)})["logits"].argmax(1)
    data = model.predict({"image": x})["logits"].argmax(1)
    acc, base = (drawn == y).mean(), (data == y).mean()
    print(f"held-out accuracy: the data {base:.3f}, drawn again {acc:.3f}")
    assert base > 0.95 and acc > base - 0.03


def test_top_classes():
    probs, top = digits.top_classes([0.0, 2.0, 1.0] + [-50.0] * 7, k=2)
    e = np.exp([0.0, 2.0, 1.0] + [-50.0] * 7)
    np.testing.assert_allclose(probs, e / e.sum(), rtol=1e-12)
    assert [d for d, _ in top] == [1, 2] and top[0][1] == probs[1]


# --- webflow serve --------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webflow_serve(site):
    """`webflow serve DIR` in a subprocess: it prints the URL, serves the site with the MIME types
    module scripts and WebAssembly need, and lets the browser revalidate every file."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "webflow.cli", "serve", site["dir"], "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline() + proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/"
        assert f"open {url} in a web browser" in first, first
        with urllib.request.urlopen(url) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
            assert b"webflow demos" in r.read()
            assert r.headers["Cache-Control"] == "no-cache"
        for path, mime in [("pyodide/pyodide.mjs", "text/javascript"), ("common/demo.js", "text/javascript"),
                           ("pyodide/pyodide.asm.wasm", "application/wasm"), ("models/digits/model.json", "application/json"),
                           ("sw.js", "text/javascript"), ("digits/", "text/html")]:
            with urllib.request.urlopen(url + path) as r:
                assert r.headers["Content-Type"].split(";")[0] == mime, path
        req = urllib.request.Request(url + "sw.js")
        with urllib.request.urlopen(req) as r:
            modified = r.headers["Last-Modified"]
        req.add_header("If-Modified-Since", modified)
        with pytest.raises(urllib.error.HTTPError) as e:  # urllib reports a 304 as an error
            urllib.request.urlopen(req)
        assert e.value.code == 304
    finally:
        proc.terminate()
        proc.wait(10)


def test_webflow_serve_needs_a_site(tmp_path):
    r = subprocess.run([sys.executable, "-m", "webflow.cli", "serve", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "no index.html there" in r.stderr


# --- the image classifier's Python ------------------------------------------------------------------

def test_classify_params_are_the_weights_preprocessing():
    """demo_site/py/classify (Pyodide: no numpy, so it cannot import examples/) states the same
    preprocessing as examples/efficientnet/model.py, in the camera kernel's terms."""
    import classify
    from examples.efficientnet import model as lite0

    assert (classify.SIZE, classify.CROP_FRACTION) == (lite0.INPUT_SIZE, lite0.CROP_FRACTION)
    assert lite0.MEAN_RGB == (classify.MEAN,) * 3 and lite0.STD_RGB == (classify.STD,) * 3
    p = classify.params(640, 480)
    assert p["crop"] == [110.0, 30.0, 420.0, 420.0] and p["size"] == 224
    rgb = np.array([[[0.0, 127.0, 255.0]]])  # one pixel, (H, W, 3)
    np.testing.assert_allclose((rgb[0, 0] / 255 - p["mean"]) / p["std"], lite0.normalize(rgb).ravel(), atol=1e-6)


def test_classify_top_k():
    import classify

    rng = np.random.default_rng(3)
    logits = rng.normal(0, 5, 1000).astype(np.float32)
    labels = [f"class {i}" for i in range(1000)]
    e = np.exp(logits.astype(np.float64) - logits.max())
    p = e / e.sum()
    want = [(int(i), labels[i], p[i]) for i in np.argsort(-p)[:5]]
    got = classify.top_k(logits.tolist(), labels, 5)
    assert [g[:2] for g in got] == [w[:2] for w in want]
    np.testing.assert_allclose([g[2] for g in got], [w[2] for w in want], rtol=1e-12)
    with pytest.raises(ValueError, match="10 logits for 1000 labels"):
        classify.top_k([0.0] * 10, labels)
