"""The models of the foundation, end to end in headless Chromium: JS API → Pyodide → webflow
planner → WebGL2 kernels, against onnxruntime (fp32: atol 1e-3, rtol 1e-3), at two batch sizes."""

import numpy as np
import onnxruntime as ort
import pytest

from tests.browser.harness import decode, encode, serve
from tests.browser.site import make_site
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
    root = make_site(str(tmp / "site"), models)
    server = serve(root)
    yield f"http://127.0.0.1:{server.server_port}", sources
    server.shutdown()


@pytest.fixture(scope="module")
def page(browser, site):
    url, _ = site
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/model.html")
    page.wait_for_function("window.ready === true", timeout=30000)
    yield page
    assert not errors, errors
    page.close()


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
