"""Headless Chromium with real WebGL2 (SwiftShader here), driven by Playwright, for the tests.

A static server serves the repository root on 127.0.0.1, so pages import webflow_js/ and
node_modules/pyodide/ directly, with no build step. WEBFLOW_CHROMIUM overrides the browser.
"""

import base64
import functools
import http.server
import os
import threading

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = os.environ.get("WEBFLOW_CHROMIUM", "/usr/bin/chromium")
# Flags that work headless as root here; the swiftshader ones also enable GPU timer queries.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--js-flags=--expose-gc"]


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}

    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def serve(root=ROOT):
    """Serve `root` on 127.0.0.1 (a free port) in a daemon thread; returns the server."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def launch(playwright, extra_args=()):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra_args))


def encode(x):
    """numpy array -> {dtype, shape, b64} for page.evaluate (exact, NaN/Inf included)."""
    x = np.ascontiguousarray(x)
    dtype = "bool" if x.dtype == np.bool_ else x.dtype.name
    return {"dtype": dtype, "shape": list(x.shape), "b64": base64.b64encode(x.astype(x.dtype.newbyteorder("<")).tobytes()).decode()}


def decode(d):
    dtype = np.bool_ if d["dtype"] == "bool" else np.dtype(d["dtype"]).newbyteorder("<")
    return np.frombuffer(base64.b64decode(d["b64"]), dtype).astype(d["dtype"]).reshape(d["shape"])
