"""numpy, when this Python has it (CPython: yes; Pyodide: usually not). The runtime never needs it
to import; only the numpy backend and the op references use it."""

try:
    import numpy as np
except ImportError:  # pragma: no cover - exercised under Pyodide
    np = None


def require_numpy(what):
    if np is None:
        from .errors import UnsupportedError

        raise UnsupportedError(f"{what} needs numpy, which this Python does not have")
    return np
