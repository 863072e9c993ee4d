"""webflow: Python-trained models in the browser. The runtime: format, op set, executor, backends.

Needs only the standard library; numpy is used when present (the numpy backend).
"""

__version__ = "0.1.0"

from .errors import WebflowError  # noqa: E402,F401
from .model import Model, load  # noqa: E402,F401


async def load_async(url, on_progress=None):
    """In the page (Pyodide): fetch a converted model and run it on the GPU. See webflow.browser."""
    from .browser import load_async as _load

    return await _load(url, on_progress)


def camera(**options):
    """In the page (Pyodide): `async for frame in webflow.camera(size=224)`, frames on the GPU. See webflow.media."""
    from .media import camera as _camera

    return _camera(**options)


async def microphone(**options):
    """In the page (Pyodide): log-mel features of the microphone. See webflow.media."""
    from .media import microphone as _microphone

    return await _microphone(**options)
