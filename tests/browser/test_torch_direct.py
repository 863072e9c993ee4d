"""The PyTorch models converted with from_torch (no ONNX), end to end in headless Chromium
(JS API → Pyodide → planner → WebGL2 kernels), against the modules themselves (eval mode,
no_grad) at fp32 tolerance atol 1e-3, rtol 1e-3, at two batch sizes."""

import numpy as np
import pytest

from tests.browser.harness import decode, encode
from tests.browser.site import model_page, served
from tests.test_from_torch import OP_MODELS, feeds_for, torch_outputs
from tests.torch_models import MODELS, build
from webflow.converter import from_torch

ATOL, RTOL = 1e-3, 1e-3
# beyond the five models: causal scaled_dot_product_attention and nn.MultiheadAttention's float
# mask; many other ATen ops (pads, resizes, reductions, integer arithmetic, indexing)
EXTRA = {k: OP_MODELS[k] for k in ("attention", "more_ops", "kitchen")}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("torch_direct")
    models, sources = {}, {}
    for name in MODELS + list(EXTRA):
        module, args, ins, outs = EXTRA[name]() if name in EXTRA else build(name)
        from_torch(module, args, str(tmp / name), input_names=ins, output_names=outs, log=lambda *a: None)
        models[name] = str(tmp / name)
        sources[name] = (module, args, ins, outs)
    with served(str(tmp / "site"), models) as url:
        yield url, sources


@pytest.fixture(scope="module")
def page(browser, site):
    with model_page(browser, site[0]) as p:
        yield p


@pytest.mark.parametrize("name", MODELS + list(EXTRA))
def test_torch_model_in_browser(page, site, name):
    url, sources = site
    module, args, ins, outs = sources[name]
    model_url = f"{url}/models/{name}/"
    info = page.evaluate("u => window.loadModel(u, {debug: true})", model_url)
    assert [i["name"] for i in info["inputs"]] == ins and info["backend"] == "webgl"
    for batch in (1, 3):
        feeds = feeds_for(args, batch, seed=batch)
        got = page.evaluate("([u, x]) => window.predict(u, x)", [model_url, {k: encode(v) for k, v in zip(ins, feeds)}])
        for out, want in zip(outs, torch_outputs(module, feeds)):
            g = decode(got[out])
            err = float(np.max(np.abs(g - want)))
            print(f"{name} batch {batch} {out}: max abs error {err:.3g}")
            np.testing.assert_allclose(g, want, atol=ATOL, rtol=RTOL, err_msg=f"{name} batch {batch} output {out}")
