"""Run a converted model in headless Chromium (real WebGL2) from CPython: what
`webflow run/verify/bench --backend webgl` use.

The page is webflow_js/runner.html on a site built by scripts/build_web.py (so this needs the
source checkout, with node_modules/ from scripts/setup.sh), served on 127.0.0.1. Chromium is
Debian's (/usr/bin/chromium) or $WEBFLOW_CHROMIUM, driven by Playwright.
"""

import base64
import functools
import http.server
import importlib.util
import json
import os
import shutil
import tempfile
import threading

from .errors import UnsupportedError, WebflowError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def _build_web():
    path = os.path.join(ROOT, "scripts", "build_web.py")
    if not os.path.exists(path) or not os.path.isdir(os.path.join(ROOT, "node_modules", "pyodide")):
        raise UnsupportedError("the webgl backend runs in a browser page built from the webflow source checkout "
                               f"(scripts/build_web.py and node_modules/pyodide under {ROOT}); run scripts/setup.sh there")
    spec = importlib.util.spec_from_file_location("build_web", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def encode(x):
    import numpy as np

    x = np.ascontiguousarray(x)
    dtype = "bool" if x.dtype == np.bool_ else x.dtype.name
    return {"dtype": dtype, "shape": list(x.shape), "b64": base64.b64encode(x.astype(x.dtype.newbyteorder("<")).tobytes()).decode()}


def decode(d):
    import numpy as np

    dtype = np.bool_ if d["dtype"] == "bool" else np.dtype(d["dtype"]).newbyteorder("<")
    return np.frombuffer(base64.b64decode(d["b64"]), dtype).astype(d["dtype"]).reshape(d["shape"])


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}

    def log_message(self, *args):
        pass

    def do_POST(self):  # the runner reports to /__result; Playwright reads window.__result instead
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()


def run_page(model_dir, query, inputs=None, timeout_s=600):
    """Serve a site with the model, open runner.html?model=...&<query>, return its result."""
    from playwright.sync_api import sync_playwright

    build_web = _build_web()
    site = tempfile.mkdtemp(prefix="webflow-site-")
    try:
        build_web.build(site, log=lambda *a: None)
        build_web.copy_model(model_dir, site, "model")
        if inputs is not None:
            with open(os.path.join(site, "inputs.json"), "w") as f:
                json.dump({k: encode(v) for k, v in inputs.items()}, f)
            query = dict(query, inputs="../inputs.json")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=site))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/webflow_js/runner.html?model=../models/model/&" + "&".join(f"{k}={v}" for k, v in query.items())
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=os.environ.get("WEBFLOW_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(url)
                page.wait_for_function("window.__result !== undefined", timeout=timeout_s * 1000)
                result = page.evaluate("window.__result")
                browser.close()
        finally:
            server.shutdown()
    finally:
        shutil.rmtree(site, ignore_errors=True)
    if result.get("status") != "ok":
        raise WebflowError(f"in the browser: {result.get('error')}")
    return result


def predict(model_dir, feeds):
    """Outputs of one inference in headless Chromium, as numpy arrays."""
    result = run_page(model_dir, {"outputs": 1}, inputs=feeds)
    return {k: decode(v) for k, v in result["outputs"].items()}
