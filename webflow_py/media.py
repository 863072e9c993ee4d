"""Camera and microphone input: in the page (Pyodide), and the numpy reference of the camera's
preprocessing (for training on the same pixels the page will feed).

In the page:

    import webflow
    model = await webflow.load_async("models/gestures/")
    async with webflow.camera(size=224, crop="center", mirror=True, mean=0.5, std=0.5) as cam:
        async for frame in cam:
            out = await model.predict_async({"image": frame})   # the frame stays on the GPU
            frame.timing, cam.stats(), model.last_timing()      # where the time goes

    mic = await webflow.microphone(keep=2)
    x = mic.features(98, shape=(1, 1, 98, 40))                   # newest log-mel frames, a model input

Frames are taken one at a time when the loop asks for the next one (the newest frame, if not
taken yet): frames that arrive while the loop body runs are dropped, not queued
(Camera.stats()["dropped"]). The preprocessing
parameters are webflow_js/media/preprocess.js's (crop, size, mirror, mean/std or range, layout,
channels); preprocess_image below computes the same thing in numpy. Failures (permission
denied, no camera, ...) raise MediaError with the code and message the page can show.
"""

import math
import time

from .errors import WebflowError


class MediaError(WebflowError):
    """The camera or microphone cannot be used; `code` says why (permission-denied, no-device,
    device-busy, unsupported-settings, insecure-context, device-lost, closed, ...)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


async def _call(awaitable):
    """Await a JS promise; a JS MediaError becomes a Python MediaError."""
    try:
        return await awaitable
    except Exception as e:  # pyodide.ffi.JsException, without importing pyodide at module level
        err = getattr(e, "js_error", e)
        if getattr(err, "name", None) == "MediaError":
            raise MediaError(str(err.code), str(err.message)) from None
        raise


def _js(value):
    from js import Object
    from pyodide.ffi import to_js

    return to_js(value, dict_converter=Object.fromEntries)


class Frame:
    """One camera frame on the GPU, shaped for the model: a predict_async input as it is.

    shape, dtype, handle (the backend's tensor), index (the video's frame count), dropped
    (frames skipped since the previous one), timing (wait/capture/preprocess milliseconds)."""

    def __init__(self, js_frame):
        self._js = js_frame
        self.shape = tuple(js_frame.shape)
        self.dtype = str(js_frame.dtype)
        self.index = js_frame.index
        self.dropped = js_frame.dropped
        self.timing = js_frame.timing.to_py()

    @property
    def handle(self):
        return self._js.handle

    async def read(self):
        """The values, read back from the GPU (for tests and debugging, not for every frame)."""
        from .backends.webgl import Tensor

        return Tensor(await self._js.read(), self.shape, self.dtype)

    def dispose(self):
        self._js.dispose()

    def __repr__(self):
        return f"Frame({self.dtype}, {list(self.shape)}, index={self.index})"


class Camera:
    """`async for frame in webflow.camera(...)`, or `async with webflow.camera(...) as cam` and
    `await cam.next()`. Camera options: width, height, facing_mode, device_id, mirror; the rest
    are preprocessing parameters (crop, size, mean, std, range, layout, channels); `frames`
    ends the iteration after that many frames. A frame is disposed when the next is taken."""

    def __init__(self, *, width=640, height=480, facing_mode="user", device_id=None, mirror=False, frames=None, **params):
        self.options = {"width": width, "height": height, "facingMode": facing_mode, "mirror": bool(mirror)}
        if device_id:
            self.options["deviceId"] = device_id
        self.params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items() if v is not None}
        self.limit = frames
        self.count = 0
        self._js = None
        self._frame = None
        self._yielded_at = None
        self._loop_ms = []

    async def open(self):
        import webflow_js

        if self._js is None:
            self._js = await _call(webflow_js.openCamera(_js(self.options)))
            self._params = _js(self.params)
        return self

    async def next(self):
        """The next new frame (after the previous one is disposed)."""
        await self.open()
        now = time.perf_counter()
        if self._yielded_at is not None:
            self._loop_ms = (self._loop_ms + [(now - self._yielded_at) * 1e3])[-30:]
        self._release()
        self._frame = Frame(await _call(self._js.next(self._params)))
        self.count += 1
        self._yielded_at = time.perf_counter()
        return self._frame

    def _release(self):
        if self._frame is not None:
            self._frame.dispose()
            self._frame = None

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.limit is not None and self.count >= self.limit:
            self.close()
            raise StopAsyncIteration
        return await self.next()

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc):
        self.close()

    def stats(self):
        """fps, frames, dropped, per-stage milliseconds (wait, capture, preprocess) averaged over
        the last frames, and loop_ms: the time the Python loop body took per frame (the model
        and whatever follows it; model.last_timing() splits the model's part)."""
        out = self._js.stats().to_py() if self._js is not None else {}
        out["loop_ms"] = sum(self._loop_ms) / len(self._loop_ms) if self._loop_ms else None
        return out

    @property
    def video(self):
        """The <video> element (JS), to show the preview."""
        return self._js.video if self._js is not None else None

    def close(self):
        self._release()
        if self._js is not None:
            self._js.close()


def camera(**options):
    """A Camera; it opens (asks for permission) on first use. See Camera."""
    return Camera(**options)


class Microphone:
    """The microphone as 16 kHz samples and log-mel features (webflow.audio_features.SPEC)."""

    def __init__(self, js_mic):
        self._js = js_mic
        self.sample_rate = js_mic.sampleRate

    def features(self, frames=None, shape=None):
        """The newest log-mel frames as a JS {data, shape} (a predict_async input as it is)."""
        opts = _js({"shape": list(shape)} if shape else {})
        return self._js.features(frames, opts) if frames is not None else self._js.features(self._js.rows, opts)

    def samples(self, n=None):
        """The newest 16 kHz samples (a JS Float32Array)."""
        return self._js.samples(n) if n is not None else self._js.samples()

    def level(self):
        return self._js.level()

    async def record(self, seconds):
        """The next `seconds`: {sample_rate, raw, samples, features} with JS typed arrays."""
        r = await self._js.record(seconds)
        return {"sample_rate": r.sampleRate, "raw": r.raw, "samples": r.samples, "features": r.features}

    def stats(self):
        return self._js.stats().to_py()

    async def close(self):
        await self._js.close()


async def microphone(**options):
    """Open the microphone (asks for permission): keep (seconds of history), device_id."""
    import webflow_js

    opts = {"keep": options.get("keep", 2)}
    if options.get("device_id"):
        opts["deviceId"] = options["device_id"]
    return Microphone(await _call(webflow_js.openMicrophone(_js(opts))))


# --- the numpy reference of the camera preprocessing (webflow_js/media/preprocess.js) ---------

_ORDERS = {"rgb": 0, "bgr": 1, "gray": 2}


def image_params(w, h, *, crop="center", size=None, mirror=False, mean=None, std=None, range=None, layout="NCHW", channels="rgb"):
    """Preprocessing parameters + source size -> crop box, bounds, output shape, scale/offset
    (pure Python, the same rules as preprocess.js's imageParams)."""
    if channels not in _ORDERS:
        raise ValueError(f'channels must be "rgb", "bgr" or "gray", got {channels!r}')
    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f'layout must be "NCHW" or "NHWC", got {layout!r}')
    out = None
    if size is not None:
        out = (size, size) if isinstance(size, (int, float)) else (size["height"], size["width"]) if isinstance(size, dict) else tuple(size)
    aspect = out[1] / out[0] if out else 1.0
    if crop is None or crop == "full":
        box = (0.0, 0.0, float(w), float(h))
    elif crop == "center":
        cw, ch = min(w, h * aspect), min(h, w / aspect)
        box = ((w - cw) / 2, (h - ch) / 2, cw, ch)
    elif isinstance(crop, dict):
        box = tuple(float(crop[k]) for k in ("x", "y", "width", "height"))
    else:
        box = tuple(float(v) for v in crop)
    if out is None:
        out = (max(1, math.floor(box[3] + 0.5)), max(1, math.floor(box[2] + 0.5)))  # JS Math.round
    x, y, cw, ch = box
    if not (cw > 0 and ch > 0) or x >= w or y >= h or x + cw <= 0 or y + ch <= 0:
        raise ValueError(f"crop {list(box)} does not overlap the {w}x{h} frame")
    c = 1 if channels == "gray" else 3
    if range is not None and (mean is not None or std is not None):
        raise ValueError("give either range or mean/std, not both")
    per = lambda v: [float(v)] * c if isinstance(v, (int, float)) else [float(a) for a in v]  # noqa: E731
    if mean is not None or std is not None:
        m, s = per(0 if mean is None else mean), per(1 if std is None else std)
        scale, offset = [1 / v for v in s], [-a / b for a, b in zip(m, s)]
    else:
        lo, hi = range if range is not None else (0.0, 1.0)
        scale, offset = [hi - lo] * c, [float(lo)] * c
    lo_x, lo_y = max(x, 0.0), max(y, 0.0)
    return {
        "size": out, "crop": box, "channels": channels, "layout": layout, "mirror": bool(mirror), "scale": scale, "offset": offset,
        "bounds": (lo_x, lo_y, max(lo_x, min(x + cw, w) - 1), max(lo_y, min(y + ch, h) - 1)),
    }


def preprocess_image(rgb, **params):
    """[H, W, 3] RGB pixels (0..255) -> the float32 [1, C, h, w] / [1, h, w, C] tensor the page's
    preprocessing kernel makes from the same pixels (params as webflow_js/media/preprocess.js)."""
    from ._np import require_numpy

    np = require_numpy("preprocess_image")
    img = np.asarray(rgb, dtype=np.float64)[..., :3] / 255.0
    h, w = img.shape[:2]
    p = image_params(w, h, **params)
    (oh, ow), (x, y, cw, ch), b = p["size"], p["crop"], p["bounds"]
    j = np.arange(ow)
    if p["mirror"]:
        j = ow - 1 - j
    sx = np.clip(x + (j + 0.5) * cw / ow - 0.5, b[0], b[2])
    sy = np.clip(y + (np.arange(oh) + 0.5) * ch / oh - 0.5, b[1], b[3])
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (sx - x0)[None, :, None], (sy - y0)[:, None, None]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    v = top * (1 - fy) + bottom * fy
    if p["channels"] == "gray":
        v = v @ np.array([[0.299], [0.587], [0.114]])
    elif p["channels"] == "bgr":
        v = v[..., ::-1]
    v = v * np.array(p["scale"]) + np.array(p["offset"])
    v = v.transpose(2, 0, 1) if p["layout"] == "NCHW" else v
    return v[None].astype(np.float32)


__all__ = ["Camera", "Frame", "MediaError", "Microphone", "camera", "image_params", "microphone", "preprocess_image"]
