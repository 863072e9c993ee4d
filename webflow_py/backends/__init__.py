"""Backends run a plan. `numpy` is the reference (CPython, or Pyodide with numpy); `webgl`
runs in the browser (webflow_js/)."""


def make_backend(name, spec, loader):
    if name == "numpy":
        from .numpy_backend import NumpyBackend

        return NumpyBackend(spec, loader)
    from ..errors import UnsupportedError

    raise UnsupportedError(f"unknown backend {name!r} in this Python (here: numpy; webgl runs in the browser)")
