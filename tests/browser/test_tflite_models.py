"""The three MediaPipe TFLite models in headless Chromium (JS API → Pyodide → WebGL2 kernels),
against LiteRT on the same inputs: uniform noise and a natural photograph.

Tolerance: atol 1e-3 / rtol 1e-3 (fp32), as every browser model test. The landmark and box
outputs are pixel coordinates (up to ~224), so rtol 1e-3 is what bounds them there; the
scores and handedness logits are small and atol 1e-3 bounds those.
"""

import numpy as np
import pytest

from tests.browser.harness import decode, encode
from tests.browser.site import model_page, served
from tests.test_tflite import MODELS, mediapipe_inputs, model_path
from webflow.converter import convert
from webflow.converter.verify import source_runtime

ATOL, RTOL = 1e-3, 1e-3
NAMES = sorted(MODELS)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tflite_models")
    models = {}
    for name in NAMES:
        stem = name.split(".")[0]
        convert(model_path(name), str(tmp / stem), log=lambda *a: None)
        models[stem] = str(tmp / stem)
    with served(str(tmp / "site"), models) as url:
        yield url


@pytest.fixture(scope="module")
def page(browser, site):
    with model_page(browser, site) as p:
        yield p


@pytest.mark.parametrize("name", NAMES)
def test_mediapipe_in_browser(page, site, name):
    url = f"{site}/models/{name.split('.')[0]}/"
    info = page.evaluate("u => window.loadModel(u, {debug: true})", url)
    assert info["backend"] == "webgl" and [i["name"] for i in info["inputs"]] == ["input_1"]
    run = source_runtime(model_path(name))
    for kind, x in mediapipe_inputs(tuple(info["inputs"][0]["shape"])).items():
        want = run({"input_1": x})
        got = page.evaluate("([u, x]) => window.predict(u, x)", [url, {"input_1": encode(x)}])
        assert list(got) == list(want)
        for out, w in want.items():
            g = decode(got[out])
            err = float(np.max(np.abs(g - w)))
            rel = float(np.max(np.abs(g - w) / (ATOL + RTOL * np.abs(w))))
            print(f"{name} {kind} {out}{list(w.shape)}: max abs error {err:.3g} (magnitude {np.max(np.abs(w)):.3g}; "
                  f"{rel:.2f} of the tolerance)")
            np.testing.assert_allclose(g, w, atol=ATOL, rtol=RTOL, err_msg=f"{name} {kind} {out}")
