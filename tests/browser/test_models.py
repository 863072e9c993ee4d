"""The models of the foundation, end to end in headless Chromium: JS API → Pyodide → webflow
planner → WebGL2 kernels, against onnxruntime (fp32: atol 1e-3, rtol 1e-3), at two batch sizes."""

import numpy as np
import onnxruntime as ort
import pytest

from tests.browser.harness import decode, encode
from tests.browser.site import model_page, served
from tests.torch_models import MODELS, export
from tests.test_torch_models import _inputs
from webflow.converter import convert

ATOL, RTOL = 1e-3, 1e-3


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    models, sources = {}, {}
    for name in MODELS:
        src = str(tmp / f"{name}.onnx")
        _, args, ins, outs = export(name, src)
        convert(src, str(tmp / name), log=lambda *a: None)
        models[name] = str(tmp / name)
        sources[name] = (src, args, ins, outs)
    with served(str(tmp / "site"), models) as url:
        yield url, sources


@pytest.fixture(scope="module")
def page(browser, site):
    with model_page(browser, site[0]) as p:
        yield p


@pytest.mark.parametrize("name", MODELS)
def test_model_in_browser(page, site, name):
    url, sources = site
    src, args, ins, outs = sources[name]
    info = page.evaluate("u => window.loadModel(u, {debug: true})", f"{url}/models/{name}/")
    assert [i["name"] for i in info["inputs"]] == ins and info["backend"] == "webgl"
    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        feeds = dict(zip(ins, _inputs(args, batch, seed=batch)))
        got = page.evaluate("([u, x]) => window.predict(u, x)", [f"{url}/models/{name}/", {k: encode(v) for k, v in feeds.items()}])
        want = sess.run(None, feeds)
        for out, w in zip(outs, want):
            g = decode(got[out])
            err = float(np.max(np.abs(g - w)))
            print(f"{name} batch {batch} {out}: max abs error {err:.3g}")
            np.testing.assert_allclose(g, w, atol=ATOL, rtol=RTOL, err_msg=f"{name} batch {batch} output {out}")


def test_300_inferences_do_not_grow_memory(page, site):
    """Steady state allocates nothing: live textures, GPU bytes and the JS heap stay flat."""
    url, sources = site
    src, args, ins, outs = sources["mobilenet_v2"]
    model_url = f"{url}/models/mobilenet_v2/"
    page.evaluate("u => window.loadModel(u)", model_url)
    feeds = {k: encode(v) for k, v in zip(ins, _inputs(args, 2, seed=0))}
    r = page.evaluate("([u, x]) => window.repeat(u, x, 300)", [model_url, feeds])
    before, after = r["before"], r["after"]
    print("before", before, "after", after)
    for key in ("tensors", "liveTextures", "liveBytes", "pooledTextures", "pooledBytes", "programs"):
        assert after[key] == before[key], f"{key}: {before[key]} -> {after[key]} after 300 inferences"
    # after a full collection: 300 inferences may leave at most ~1 KB each (they leave ~0)
    assert after["heap"] < before["heap"] + 300_000, f"JS heap grew {before['heap']} -> {after['heap']}"


def test_second_visit_loads_from_cache_offline(browser, site):
    """A model loaded once is served from the Cache API when the network is gone."""
    url, sources = site
    src, args, ins, outs = sources["cnn"]
    model_url = f"{url}/models/cnn/"
    feeds = {k: encode(v) for k, v in zip(ins, _inputs(args, 2, seed=7))}
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/model.html")
    page.wait_for_function("window.ready === true")
    page.evaluate("u => window.loadModel(u)", model_url)
    online = page.evaluate("([u, x]) => window.predict(u, x)", [model_url, feeds])
    page.close()
    page = context.new_page()
    blocked = []
    page.route("**/models/**", lambda route: (blocked.append(route.request.url), route.abort()))
    page.goto(f"{url}/model.html")
    page.wait_for_function("window.ready === true")
    page.evaluate("u => window.loadModel(u)", model_url)
    offline = page.evaluate("([u, x]) => window.predict(u, x)", [model_url, feeds])
    context.close()
    assert blocked, "the model's URLs were requested and refused"
    np.testing.assert_array_equal(decode(offline[outs[0]]), decode(online[outs[0]]))
    want = ort.InferenceSession(src).run(None, dict(zip(ins, _inputs(args, 2, seed=7))))[0]
    np.testing.assert_allclose(decode(offline[outs[0]]), want, atol=ATOL, rtol=RTOL)


def test_no_webgl_fails_clearly(playwright, site):
    """Without WebGL2 the page says so; it never computes a wrong answer."""
    from tests.browser.harness import CHROMIUM

    url, sources = site
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-software-rasterizer",
                                                                    "--disable-background-networking", "--disable-component-update"])
    page = b.new_page()
    page.goto(f"{url}/model.html")
    page.wait_for_function("window.ready === true")
    caps = page.evaluate("window.capabilities()")
    assert caps["webgl2"] is False
    with pytest.raises(Exception, match=r"UnsupportedError: this browser has no usable WebGL2 \(WebGL2 is not available in this browser\)"):
        page.evaluate("u => window.loadModel(u)", f"{url}/models/cnn/")
    b.close()


def test_bad_input_in_the_page_is_a_clear_error(page, site):
    url, sources = site
    model_url = f"{url}/models/cnn/"
    page.evaluate("u => window.loadModel(u)", model_url)
    bad = {"image": encode(np.zeros((1, 3, 21, 20), np.float32))}
    with pytest.raises(Exception, match=r"InputError: input 'image': expected shape \[batch, 3, 20, 20\], got \[1, 3, 21, 20\]"):
        page.evaluate("([u, x]) => window.predict(u, x)", [model_url, bad])
    with pytest.raises(Exception, match=r"InputError: unknown input\(s\) 'pixels'"):
        page.evaluate("([u, x]) => window.predict(u, x)", [model_url, {"pixels": bad["image"]}])


PYTHON_API = """
import webflow
model = await webflow.load_async("{url}")
x = ([0.5] * (2 * 3 * 20 * 20), (2, 3, 20, 20))
out = await model.predict_async({{"image": x}})
logits = out["logits"]
# eager mode: every intermediate tensor, read from the GPU, op by op
feeds = {{"image": webflow.browser._as_feed(x, model.inputs[0])}}
plan = model.plan_for({{"image": ((2, 3, 20, 20), "float32", None)}})
trace = await model.backend.trace_async(plan, feeds, ["image"])
{{"shape": list(logits.shape), "logits": logits.tolist(), "steps": len(plan.steps),
  "traced": sorted(trace), "trace_logits": trace["logits"].tolist(), "timing": model.last_timing()}}
"""


def test_python_api_in_pyodide(page, site):
    """The Python API a page author uses under Pyodide: load_async, predict_async, and eager mode."""
    url, sources = site
    src, args, ins, outs = sources["cnn"]
    r = page.evaluate("code => window.runPython(code)", PYTHON_API.format(url=f"{url}/models/cnn/"))
    want = ort.InferenceSession(src).run(None, {"image": np.full((2, 3, 20, 20), 0.5, np.float32)})[0]
    assert r["shape"] == [2, 10]
    np.testing.assert_allclose(np.array(r["logits"]), want, atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(np.array(r["trace_logits"]), want, atol=ATOL, rtol=RTOL)
    assert len(r["traced"]) == r["steps"] + 1  # every step's output plus the input
    assert set(r["timing"]) >= {"python_ms", "replay_ms", "read_ms", "total_ms"}
