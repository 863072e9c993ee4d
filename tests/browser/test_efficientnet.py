"""EfficientNet-Lite0 with its ImageNet weights in headless Chromium (WebGL2 through the public
JS API) against the torch module: logits within atol 1e-3 / rtol 1e-3, and the photo of a cat
classified as a cat."""

import numpy as np
import pytest

from tests.browser.harness import decode, encode, serve
from tests.browser.site import make_site
from webflow.converter import convert

from examples.efficientnet import classes
from examples.efficientnet.images import photos
from examples.efficientnet.model import build, export_onnx, preprocess, torch_logits

ATOL, RTOL = 1e-3, 1e-3


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lite0")
    module = build()
    src = export_onnx(str(tmp / "lite0.onnx"), module)
    convert(src, str(tmp / "lite0"), log=lambda *a: None)
    root = make_site(str(tmp / "site"), {"lite0": str(tmp / "lite0")})
    server = serve(root)
    yield f"http://127.0.0.1:{server.server_port}", module
    server.shutdown()


def test_lite0_in_browser_matches_torch(browser, site):
    url, module = site
    named = dict(photos())
    x = np.concatenate([preprocess(named[n]) for n in ("chelsea", "coffee")])
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/model.html")
    page.wait_for_function("window.ready === true", timeout=60000)
    model_url = f"{url}/models/lite0/"
    info = page.evaluate("u => window.loadModel(u, {debug: true})", model_url)
    assert info["backend"] == "webgl" and [i["name"] for i in info["inputs"]] == ["image"]
    got = decode(page.evaluate("([u, x]) => window.predict(u, x)", [model_url, {"image": encode(x)}])["logits"])
    page.close()
    assert not errors, errors
    want = torch_logits(module, x)
    print(f"lite0 in the browser: max abs error vs torch {np.abs(got - want).max():.3g} (logits up to {np.abs(want).max():.1f})")
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)
    names = classes.names()
    cat = [names[i] for i in np.argsort(-got[0])[:5]]
    assert any(n.endswith("cat") or n.startswith("tabby") for n in cat), cat
    assert names[int(got[1].argmax())] == "espresso"
