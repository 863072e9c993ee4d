"""webflow_js/fetch.js in real Chromium, against the Python reader (webflow.weights), and the
static site of scripts/build_web.py (its wheel installed in Pyodide, offline).

One site is built into a temp folder and served on 127.0.0.1: build_web's output, this folder's
fetch.html, and models under models/<name>/ (converted ONNX models, a hand-written one with
every dtype, and broken copies). Weights are compared byte for byte with decode_weight.
"""

import base64
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import zipfile

import ml_dtypes  # noqa: F401  (registers bfloat16, float8_*, int4, ... with numpy)
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from tests.browser.harness import ROOT, serve
from webflow.converter import convert
from webflow.dtypes import DTYPES
from webflow.format import ModelSpec, WeightEntry, dump_model, is_symbolic
from webflow.graph import Graph
from webflow.loader import DirLoader
from webflow.model import read_spec
from webflow.symbolic import Sym
from webflow.weights import ShardWriter, decode_weight, read_shards

_spec = importlib.util.spec_from_file_location("build_web", os.path.join(ROOT, "scripts", "build_web.py"))
build_web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_web)

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # on purpose: 1e6 as float16
LOW_FLOATS = [n for n, d in DTYPES.items() if d.lib == "ml_dtypes" and d.kind == "float"]


# --- models ----------------------------------------------------------------------------------------

def make_onnx(path, seed=1):
    """MatMul + Gemm weights (quantizable, the MatMul one spans shards), int64 Gather indices,
    a bool Where mask, and small inline constants with NaN/Inf."""
    rng = np.random.default_rng(seed)
    f = lambda a, n: numpy_helper.from_array(a, n)
    inits = [f(rng.standard_normal((64, 64)).astype(np.float32), "W"),
             f(rng.standard_normal((64,)).astype(np.float32), "B"),
             f(rng.standard_normal((32, 64)).astype(np.float32), "W2"),
             f(rng.integers(0, 512, 300).astype(np.int64), "idx"),
             f(rng.random(300) > 0.5, "mask"),
             f(np.array(0.0, np.float32), "zero"),
             f(np.array([np.nan, np.inf, -np.inf, 1.5], np.float32), "C")]
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"], name="mul"),
             helper.make_node("Add", ["xw", "B"], ["xwb"], name="add"),
             helper.make_node("Gemm", ["xwb", "W2"], ["y"], name="gemm", transB=1),
             helper.make_node("Gather", ["t", "idx"], ["g"], name="gather", axis=1),
             helper.make_node("Where", ["mask", "g", "zero"], ["wh"], name="where"),
             helper.make_node("Add", ["c", "C"], ["cc"], name="addc")]
    fl = onnx.TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "fetchtest",
        [helper.make_tensor_value_info("x", fl, ["batch", 64]), helper.make_tensor_value_info("t", fl, ["batch", 512]),
         helper.make_tensor_value_info("c", fl, [4])],
        [helper.make_tensor_value_info("y", fl, ["batch", 32]), helper.make_tensor_value_info("wh", fl, ["batch", 300]),
         helper.make_tensor_value_info("cc", fl, [4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.save(model, path)
    return path


def edge_floats(rng):
    """Values that exercise rounding, overflow, underflow, NaN/Inf, and e8m0's odd corners."""
    special = [0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 1e30, -1e30, 500.0, 449.0, 464.0, 465.0, 6.0, 7.0, -7.0,
               1e-30, 3.0, 0.25, 0.75, 5.0, 1e-3, 2.0**-10, 1.5 * 2.0**-9, 65504.0, 65520.0, 1e-8, 2.0**-25, 3 * 2.0**-25,
               1 + 2.0**-8 + 2.0**-30, 1 + 2.0**-11 + 2.0**-30, 1 + 2.0**-4 + 2.0**-30, 12.0, 0.375, 1e-300, 2.0**130]
    special += [f * 2.0**-127 for f in (0.3, 0.9, 1.0, 1.01, 1.49, 1.5, 2.0, 2.9, 3.0)] + [1.5 * 2.0**127, 2.0**127]
    rand = rng.standard_normal(150) * 10.0 ** rng.uniform(-12, 12, 150)
    return special + rand.tolist()


def make_all_dtypes(out):
    """A hand-written model: every dtype in the shards (an int64 at an offset that is 4 mod 8),
    int8 storage on several axes, float16 storage, inline values of every kind, symbolic dims."""
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    w = ShardWriter(out, shard_size=1024)
    entries = []

    def add(name, a, storage=None, axis=0):
        entries.append(w.add(name, a, storage, axis))

    f32 = rng.standard_normal(301).astype(np.float32)
    f32[:4] = [np.nan, np.inf, -np.inf, -0.0]
    add("f32", f32)
    add("f64", rng.standard_normal((20, 17)))
    f16 = (rng.standard_normal(300) * 100).astype(np.float16)
    f16[:5] = [np.nan, np.inf, -np.inf, 6e-8, -0.0]
    add("f16", f16)
    for dt in ("int8", "uint8", "int16", "uint16", "int32", "uint32"):
        info = np.iinfo(dt)
        add(dt, rng.integers(info.min, info.max, 301, dtype=dt, endpoint=True))
    assert entries[-1].nbytes % 8 == 4  # so int64 below starts at 4 mod 8: the reader must copy
    add("int64", rng.integers(-2**63, 2**63 - 1, 257, dtype=np.int64, endpoint=True))
    add("uint64", rng.integers(0, 2**64 - 1, 257, dtype=np.uint64, endpoint=True))
    add("bool", rng.random(333) > 0.5)
    for dt in LOW_FLOATS:
        bits = max(DTYPES[dt].bits, 8)
        codes = np.arange(2**16 if bits == 16 else 256, dtype=np.uint16 if bits == 16 else np.uint8)
        if dt == "float4_e2m1fn":
            codes = codes & 0x0F
        add(dt, codes.view(dt) if bits >= 8 else codes.astype(np.uint8).view(dt))
    for dt, lo, hi in (("int4", -8, 7), ("uint4", 0, 15), ("int2", -2, 1), ("uint2", 0, 3)):
        add(dt, rng.integers(lo, hi, 300, endpoint=True).astype(dt))
    add("q8_axis1", rng.standard_normal((5, 7, 9)).astype(np.float32), "int8", 1)
    add("q8_axis0", rng.standard_normal((30, 11)).astype(np.float32), "int8", 0)
    add("q8_last", rng.standard_normal((9, 40)).astype(np.float32), "int8", 1)
    h = (rng.standard_normal((17, 19)) * 1000).astype(np.float32)
    h[0, :4] = [np.nan, np.inf, 1e6, 1e-9]  # 1e6: past float16's range
    add("h16", h, "float16")
    add("empty", np.zeros((0, 5), np.float32))
    add("scalar_q", np.array(2.5, np.float32), "int8")  # a scalar falls back to float16 storage

    fl = edge_floats(rng)
    inline = [WeightEntry("in_f32", "float32", (len(fl),), value=fl),
              WeightEntry("in_f64", "float64", (len(fl),), value=fl),
              WeightEntry("in_i64", "int64", (6,), value=[0, -1, 2**63 - 1, -2**63, 2**53 + 1, -(2**53) - 3]),
              WeightEntry("in_u64", "uint64", (4,), value=[0, 2**64 - 1, 2**63, 2**53 + 1]),
              WeightEntry("in_i32", "int32", (3,), value=[-2**31, 2**31 - 1, 7]),
              WeightEntry("in_u8", "uint8", (2,), value=[0, 255]),
              WeightEntry("in_bool", "bool", (4,), value=[True, False, 1, 0]),
              WeightEntry("in_int4", "int4", (3,), value=[-8, 7, 0]),
              WeightEntry("in_sym", "int64", (2,), value=[Sym.named("batch"), -1]),
              WeightEntry("in_sym2", "int64", (1,), value=[Sym.named("batch") * 2]),
              WeightEntry("in_empty", "float32", (0,), value=[]),
              WeightEntry("in_scalar", "float32", (), value=[0.1])]
    inline += [WeightEntry(f"in_{dt}", dt, (len(fl),), value=fl) for dt in ["float16"] + LOW_FLOATS]
    graph = Graph([], [], [], {e.name: e for e in entries + inline})
    spec = ModelSpec(graph, w.close())
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(dump_model(spec), f)
    return out


def python_weights(model_dir):
    """What the Python reader gives: name -> numpy array (symbolic inline constants left out)."""
    loader = DirLoader(model_dir)
    spec = read_spec(loader)
    stream = read_shards(spec, loader)
    return spec, {n: decode_weight(e, stream) for n, e in spec.weights.items() if not is_symbolic(e)}


# --- the site -----------------------------------------------------------------------------------------

class Site:
    def __init__(self, root, url, models):
        self.root, self.url, self.models = root, url, models

    def model_url(self, name):
        return f"{self.url}/models/{name}/"


def quiet_disconnects(handle_error):
    """fetch.js cancels the other downloads when one shard fails: the server sees resets."""
    def handle(request, address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            handle_error(request, address)
    return handle


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fetch")
    root = str(tmp / "site")
    build_web.build(root, log=lambda *a: None)
    os.makedirs(os.path.join(root, "tests", "browser"))
    shutil.copy(os.path.join(ROOT, "tests", "browser", "fetch.html"), os.path.join(root, "tests", "browser"))
    src = make_onnx(str(tmp / "m.onnx"))
    models = {}
    for q in ("float32", "float16", "int8"):
        out = str(tmp / f"conv_{q}")
        convert(src, out, quantize=None if q == "float32" else q, shard_size=4096, log=lambda *a: None)
        models[q] = out
        build_web.copy_model(out, root, q)
    models["all"] = make_all_dtypes(str(tmp / "all"))
    build_web.copy_model(models["all"], root, "all")
    # a second version of the float32 model: same shard names, other bytes (an updated model)
    convert(make_onnx(str(tmp / "m2.onnx"), seed=2), str(tmp / "conv_v2"), shard_size=4096, log=lambda *a: None)
    models["v2"] = str(tmp / "conv_v2")
    server = serve(root)
    server.handle_error = quiet_disconnects(server.handle_error)
    yield Site(root, f"http://127.0.0.1:{server.server_port}", models)
    server.shutdown()


@pytest.fixture
def page(browser, site):
    context = browser.new_context()  # its own Cache Storage
    p = context.new_page()
    errors = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(f"{site.url}/tests/browser/fetch.html")
    p.wait_for_function("window.ready === true", timeout=30000)
    yield p
    assert not errors, errors
    context.close()


def load(page, url, **opts):
    return page.evaluate("([url, opts]) => window.load(url, opts)", [url, opts])


def assert_same_weights(got, model_dir):
    spec, expected = python_weights(model_dir)
    assert "error" not in got, got.get("error")
    assert set(got["weights"]) == set(expected)
    for name, want in expected.items():
        w = got["weights"][name]
        assert w["dtype"] == ("float32" if spec.weights[name].storage else spec.weights[name].dtype), name
        assert w["shape"] == list(want.shape), name
        if want.dtype.name in ("int4", "int2"):  # ml_dtypes keeps the 4/2-bit pattern; JS an Int8Array value
            want = want.astype(np.int8)
        assert base64.b64decode(w["b64"]) == want.tobytes(), f"{name}: bytes differ"
    return spec


def shard_bytes(model_dir):
    return [(s["file"], s["bytes"]) for s in json.load(open(os.path.join(model_dir, "model.json")))["weights"]["shards"]]


# --- decoding ---------------------------------------------------------------------------------------------

def test_js_dtypes_match_python(page):
    js = page.evaluate("Object.fromEntries(Object.entries(fetchjs.DTYPES).map(([k, [T, kind, bits]]) => [k, [T.BYTES_PER_ELEMENT, kind, bits ?? 8 * T.BYTES_PER_ELEMENT]]))")
    assert js == {n: [max(d.bits, 8) // 8, d.kind, d.bits] for n, d in DTYPES.items()}


@pytest.mark.parametrize("dtype,value", [("int4", 8), ("uint8", -1), ("int64", 2**63), ("uint64", 2**64)])
def test_inline_int_out_of_range(page, site, dtype, value):
    """As webflow.format.inline_value: an inline int must fit its dtype."""
    def edit(d, s):
        p = os.path.join(d, "model.json")
        doc = json.load(open(p))
        doc["weights"]["tensors"].append({"name": "bad", "dtype": dtype, "shape": [1], "value": [value]})
        json.dump(doc, open(p, "w"))

    got = load(page, broken_copy(site, f"range_{dtype}", edit), cache=False)
    assert f"{value} is outside the range of {dtype}" in got.get("error", ""), got.get("error")


@pytest.mark.parametrize("name", ["float32", "float16", "int8"])
def test_converted_model_decodes_like_python(page, site, name):
    got = load(page, site.model_url(name), cache=False)
    spec = assert_same_weights(got, site.models[name])
    storages = {e.storage for e in spec.weights.values()}
    assert (name if name != "float32" else None) in storages  # the converter really quantized
    dtypes = {e.dtype for e in spec.weights.values()}
    assert {"int64", "bool", "float32"} <= dtypes
    entries = spec.weights.values()
    assert any(e.value is not None and any(isinstance(v, float) and math.isnan(v) for v in e.value) for e in entries)
    assert got["format"] == "webflow-model" and json.loads(got["text"]) == json.load(open(os.path.join(site.models[name], "model.json")))


def test_weight_spanning_shards(site):
    spec, _ = python_weights(site.models["float32"])
    starts, pos = [], 0
    for s in spec.shards:
        starts.append(pos)
        pos += s.nbytes
    assert any(e.value is None and any(e.offset < b < e.offset + e.nbytes for b in starts) for e in spec.weights.values())


def test_every_dtype_decodes_like_python(page, site):
    got = load(page, site.model_url("all"), cache=False)
    assert_same_weights(got, site.models["all"])
    assert "in_sym" not in got["weights"] and "in_sym2" not in got["weights"]  # Python binds those per plan
    assert got["weights"]["int64"]["kind"] == "BigInt64Array" and got["weights"]["bool"]["kind"] == "Uint8Array"
    assert got["weights"]["q8_axis1"]["kind"] == "Float32Array" and got["weights"]["f16"]["kind"] == "Uint16Array"


def test_small_floats_to_float32_like_numpy(page, site):
    """uploadWeights hands low-precision floats to the backend as float32 values."""
    for dt in ["float16"] + LOW_FLOATS:
        bits = max(DTYPES[dt].bits, 8)
        codes = np.arange(2**bits if bits == 16 else (16 if dt == "float4_e2m1fn" else 256), dtype=f"<u{bits // 8}")
        got = page.evaluate(
            "([b, dt, n]) => b64(fetchjs.smallFloatsToFloat32(new (n === 2 ? Uint16Array : Uint8Array)(fromB64(b).buffer), dt))",
            [base64.b64encode(codes.tobytes()).decode(), dt, bits // 8])
        got = np.frombuffer(base64.b64decode(got), np.float32)
        want = codes.view(dt).astype(np.float32) if bits >= 8 and dt != "float4_e2m1fn" else codes.astype(np.uint8).view(dt).astype(np.float32)
        np.testing.assert_array_equal(got, want, err_msg=dt)
        if dt == "float16":  # bit for bit, NaN payloads included
            assert got.tobytes() == want.tobytes()


def test_upload_weights(page, site):
    """uploadWeights through the real WebGL backend: read back, the values are the decoded ones."""
    out = page.evaluate("""async (url) => {
        const { WebGLBackend } = await import("../../webflow_js/webgl/backend.js");
        const backend = new WebGLBackend({ debug: true });
        const m = await fetchjs.fetchModel(url, { cache: false });
        const handles = await fetchjs.uploadWeights(backend, m.weights);
        const res = {};
        for (const [name, h] of handles) {
            const w = m.weights.get(name);
            if (w.dtype !== "float32") continue;
            res[name] = { shape: backend.info(h).shape, b64: b64(await backend.read(h)) };
        }
        return res;
    }""", site.model_url("float16"))
    _, expected = python_weights(site.models["float16"])
    assert out and set(out) == {n for n, a in expected.items() if a.dtype == np.float32}
    for name, r in out.items():
        got = np.frombuffer(base64.b64decode(r["b64"]), np.float32)
        np.testing.assert_array_equal(got, expected[name].reshape(-1), err_msg=name)
        assert r["shape"] == list(expected[name].shape)


# --- progress ------------------------------------------------------------------------------------------

def check_progress(events, model_dir):
    shards = shard_bytes(model_dir)
    total = sum(n for _, n in shards)
    loaded = [e["loaded"] for e in events]
    assert events and all(b > a for a, b in zip(loaded, loaded[1:])), loaded
    assert loaded[-1] == total and {e["total"] for e in events} == {total}
    assert {e["file"] for e in events} == {f for f, n in shards if n}


def test_progress(page, site):
    got = load(page, site.model_url("float32"), cache=False)
    assert len(shard_bytes(site.models["float32"])) > 3
    check_progress(got["events"], site.models["float32"])


# --- errors ----------------------------------------------------------------------------------------------

def broken_copy(site, name, change):
    """A copy of the float32 model under models/<name>/, broken by change(folder, shards)."""
    dest = os.path.join(site.root, "models", name)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(site.models["float32"], dest)
    change(dest, shard_bytes(dest))
    return site.model_url(name)


def test_missing_shard(page, site):
    url = broken_copy(site, "missing", lambda d, s: os.remove(os.path.join(d, s[1][0])))
    got = load(page, url)
    file, n = shard_bytes(site.models["float32"])[1]
    assert got["file"] == file and file in got["error"]
    assert "HTTP 404" in got["error"] and f"expected HTTP 200 with {n} bytes" in got["error"], got["error"]


def test_truncated_shard(page, site):
    def cut(d, s):
        p = os.path.join(d, s[2][0])
        data = open(p, "rb").read()
        open(p, "wb").write(data[:-100])

    got = load(page, broken_copy(site, "truncated", cut))
    file, n = shard_bytes(site.models["float32"])[2]
    assert got["file"] == file and f"shard {file} is {n - 100} bytes, model.json says {n}" in got["error"], got["error"]


def test_sha256_mismatch(page, site):
    def flip(d, s):
        p = os.path.join(d, s[0][0])
        data = bytearray(open(p, "rb").read())
        data[10] ^= 0xFF
        open(p, "wb").write(bytes(data))

    url = broken_copy(site, "corrupt", flip)
    got = load(page, url)
    spec = json.load(open(os.path.join(site.models["float32"], "model.json")))["weights"]["shards"][0]
    import hashlib

    bad = hashlib.sha256(open(os.path.join(site.root, "models", "corrupt", spec["file"]), "rb").read()).hexdigest()
    assert got["file"] == spec["file"] and spec["file"] in got["error"]
    assert spec["sha256"] in got["error"] and bad in got["error"], got["error"]


@pytest.mark.parametrize("bad", ["../group1-shard1of5.bin", "sub/x.bin", "a\\b.bin", "https://evil.example/x.bin", ".."])
def test_bad_shard_name(page, site, bad):
    def rename(d, s):
        p = os.path.join(d, "model.json")
        doc = json.load(open(p))
        doc["weights"]["shards"][0]["file"] = bad
        json.dump(doc, open(p, "w"))

    got = load(page, broken_copy(site, "badname", rename))
    assert got["name"] == "ModelLoadError" and got["file"] == bad, got
    assert json.dumps(bad) in got["error"] and "plain file name" in got["error"], got["error"]


def test_bad_format_version(page, site):
    def bump(d, s):
        p = os.path.join(d, "model.json")
        doc = json.load(open(p))
        doc["version"] = 7
        json.dump(doc, open(p, "w"))

    got = load(page, broken_copy(site, "version7", bump))
    assert "version" in got["error"] and "7" in got["error"] and got["file"] == "model.json"


# --- the Cache API ------------------------------------------------------------------------------------------

def test_second_visit_offline(page, site):
    url = site.model_url("int8")
    first = load(page, url)
    assert_same_weights(first, site.models["int8"])
    page.route("**/models/**", lambda route: route.abort())
    page.reload()
    page.wait_for_function("window.ready === true")
    second = load(page, url)
    assert "error" not in second, second.get("error")
    assert second["weights"] == first["weights"]
    check_progress(second["events"], site.models["int8"])  # progress also for cached shards
    # without the cache, the blocked network is an error that says what failed
    third = load(page, url, cache=False)
    assert third["file"] == "model.json" and "could not fetch model.json" in third["error"]


def test_updated_model_is_picked_up(page, site):
    """model.json is network-first; a cached shard of the old model under the same name fails its
    sha256 and is fetched again; offline, the new version then comes from the cache."""
    build_web.copy_model(site.models["float32"], site.root, "upd")
    old = load(page, site.model_url("upd"))
    assert_same_weights(old, site.models["float32"])
    assert shard_bytes(site.models["v2"]) == shard_bytes(site.models["float32"])  # same names and sizes
    build_web.copy_model(site.models["v2"], site.root, "upd")
    new = load(page, site.model_url("upd"))
    assert_same_weights(new, site.models["v2"])
    page.route("**/models/**", lambda route: route.abort())
    offline = load(page, site.model_url("upd"))
    assert_same_weights(offline, site.models["v2"])


def test_model_json_url_and_fetch_impl(page, site):
    """The URL may name model.json itself; fetchImpl replaces fetch (here: counts requests)."""
    got = page.evaluate("""async (url) => {
        const seen = [];
        const m = await fetchjs.fetchModel(url, { cache: false, fetchImpl: (u, init) => { seen.push(String(u)); return fetch(u, init); } });
        return { seen, n: m.weights.size };
    }""", site.model_url("float16") + "model.json")
    shards = shard_bytes(site.models["float16"])
    assert got["seen"][0].endswith("/models/float16/model.json")
    assert sorted(u.rsplit("/", 1)[1] for u in got["seen"][1:]) == sorted(f for f, _ in shards)


def test_sha256_fallback(page):
    """The pure-JS SHA-256 (pages without crypto.subtle) agrees with crypto.subtle."""
    ok = page.evaluate("""async () => {
        for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 70000]) {
            const b = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
            const want = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
            if (b64(fetchjs.sha256(b)) !== b64(want)) return n;
        }
        return true;
    }""")
    assert ok is True


# --- scripts/build_web.py -----------------------------------------------------------------------------------

def test_build_is_idempotent(tmp_path):
    root = str(tmp_path / "site")
    build_web.build(root, log=lambda *a: None)
    open(os.path.join(root, "webflow_js", "stale.js"), "w").write("")  # not in webflow_js/: removed
    before = open(os.path.join(root, "manifest.json")).read()
    mtimes = {p: os.stat(p).st_mtime_ns for p in (os.path.join(root, f) for f in json.loads(before)["files"])}
    manifest = build_web.build(root, log=lambda *a: None)
    assert open(os.path.join(root, "manifest.json")).read() == before
    assert {p: os.stat(p).st_mtime_ns for p in mtimes} == mtimes  # nothing rewritten
    assert not os.path.exists(os.path.join(root, "webflow_js", "stale.js"))
    assert build_web.wheel_bytes() == build_web.wheel_bytes()  # reproducible
    for rel, f in manifest["files"].items():
        assert os.path.getsize(os.path.join(root, rel)) == f["bytes"]
    assert {"pyodide/pyodide.mjs", "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip", "pyodide/pyodide-lock.json",
            "webflow_js/fetch.js", manifest["wheel"]} <= set(manifest["files"])


def test_wheel_is_valid(site, tmp_path):
    import webflow

    wheel = os.path.join(site.root, f"wheels/webflow-{webflow.__version__}-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "webflow/__init__.py" in names and "webflow/ops/registry.py" in names
    assert not any(n.startswith("webflow/converter") for n in names)
    # pip checks RECORD's hashes while installing
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(tmp_path / "t"), wheel],
                   check=True)
    out = subprocess.run([sys.executable, "-c", "import webflow; print(webflow.__version__, webflow.__file__)"],
                         cwd=str(tmp_path / "t"), capture_output=True, text=True, check=True).stdout
    assert out.startswith(webflow.__version__) and str(tmp_path / "t") in out


def test_wheel_installs_in_pyodide_offline(page, site):
    """loadPyodide from the site's pyodide/, the wheel from wheels/: nothing but the local server,
    then Python parses the model.json that fetch.js brought."""
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    out = page.evaluate("""async ([wheel, model]) => {
        const { loadPyodide } = await import("/pyodide/pyodide.mjs");
        const py = await loadPyodide({ indexURL: new URL("/pyodide/", location.href).href });
        await py.loadPackage(new URL(wheel, location.href).href);
        const m = await fetchjs.fetchModel(model, { cache: false });
        py.globals.set("text", m.text);
        return py.runPython(`
import json, webflow
from webflow.format import parse_model
try:
    import webflow.converter
    conv = "importable"
except ImportError as e:
    conv = type(e).__name__
spec = parse_model(json.loads(text))
json.dumps([webflow.__version__, conv, sorted(spec.weights)])
`);
    }""", ["/" + json.load(open(os.path.join(site.root, "manifest.json")))["wheel"], site.model_url("float16")])
    import webflow

    version, conv, names = json.loads(out)
    assert version == webflow.__version__
    assert conv == "ModuleNotFoundError"
    assert names == sorted(python_weights(site.models["float16"])[0].weights)
    assert requests and all(u.startswith(site.url + "/") for u in requests), [u for u in requests if not u.startswith(site.url)]
