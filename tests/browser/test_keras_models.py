"""The Keras models of tests/test_keras.py (trained here for a few steps), converted from .keras
and from the SavedModel, in headless Chromium (JS API → Pyodide → WebGL2 kernels), against
Keras' own predictions (fp32: atol 1e-3, rtol 1e-3), at two batch sizes."""

import numpy as np
import pytest

from tests.browser.harness import decode, encode
from tests.browser.site import model_page, served

import keras  # noqa: E402

from tests.test_keras import FORMATS, MODELS, feeds_for, save  # noqa: E402
from webflow.converter import convert  # noqa: E402

ATOL, RTOL = 1e-3, 1e-3
CASES = [(name, fmt) for name in MODELS for fmt in FORMATS]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keras_models")
    models, keras_models = {}, {}
    for name in MODELS:
        model, path, folder = save(name, tmp)
        keras_models[name] = model
        for fmt, src in zip(FORMATS, (path, folder)):
            convert(src, str(tmp / f"{name}_{fmt}"), log=lambda *a: None)
            models[f"{name}_{fmt}"] = str(tmp / f"{name}_{fmt}")
    with served(str(tmp / "site"), models) as url:
        yield url, keras_models


@pytest.fixture(scope="module")
def page(browser, site):
    with model_page(browser, site[0]) as p:
        yield p


@pytest.mark.parametrize("name,fmt", CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_keras_model_in_browser(page, site, name, fmt):
    url, keras_models = site
    model = keras_models[name]
    model_url = f"{url}/models/{name}_{fmt}/"
    info = page.evaluate("u => window.loadModel(u, {debug: true})", model_url)
    assert info["backend"] == "webgl" and [i["name"] for i in info["inputs"]] == [t.name for t in model.inputs]
    for batch in (1, 3):
        feeds = feeds_for(model, batch, seed=20 + batch)
        xs = [feeds[t.name] for t in model.inputs]
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        want = want if isinstance(want, list) else [want]
        got = page.evaluate("([u, x]) => window.predict(u, x)", [model_url, {k: encode(v) for k, v in feeds.items()}])
        assert len(got) == len(want)
        for (out, g), w in zip(got.items(), want):
            g = decode(g)
            err = float(np.max(np.abs(g - w)))
            print(f"{name} {fmt} batch {batch} {out}{list(w.shape)}: max abs error {err:.3g}")
            np.testing.assert_allclose(g, w, atol=ATOL, rtol=RTOL, err_msg=f"{name} {fmt} batch {batch} {out}")
