"""Source formats, one module each. A frontend module has:

    FORMAT = "onnx"                        its name (report.json, --help)
    def accepts(path) -> bool              is this file/folder in its format?
    def import_file(path, log) -> (graph, producer)
        graph: a webflow Graph whose constants are numpy arrays, inputs/outputs keeping the
        source's names; producer: {"source_format": FORMAT, ...} for model.json.

`frontend_for` picks the first module (in FRONTENDS order) that accepts the path.
"""

import importlib
import os

from webflow.errors import ConversionError

FRONTENDS = ["onnx", "tflite", "keras", "tensorflow"]  # module names in this package, tried in order


def frontend_for(path):
    path = os.fspath(path)
    names = []
    for name in FRONTENDS:
        mod = importlib.import_module(f"{__name__}.{name}")
        names.append(mod.FORMAT)
        if mod.accepts(path):
            return mod
    raise ConversionError(f"{path}: unknown source format (supported: {', '.join(names)})")
