"""webflow in the page, under Pyodide: loading over HTTP and running on the WebGL backend.

    import webflow
    model = await webflow.load_async("models/mobilenet/")
    out = await model.predict_async({"image": x})   # x: a JS {data, shape}, numpy array, or (list, shape)
    out["logits"].shape, out["logits"].tolist()

    async for frame in webflow.camera(size=224, mirror=True):   # frames stay on the GPU (webflow.media)
        out = await model.predict_async({"image": frame})

Python plans and dispatches; tensors live in JS/GPU memory and never pass through Python.
A GPU-resident input (a camera frame: anything with `handle`, `shape` and `dtype`) is fed as it
is, with no upload and no readback.
"""

import json
import time

from .backends.webgl import Tensor, WebGLBackend, _js  # noqa: F401  (Tensor: what predict_async returns)
from .errors import InputError, UnsupportedError
from .format import parse_model
from .model import Model, check_inputs


async def load_async(url, on_progress=None):
    """Fetch a converted model (folder URL) and put its weights on the GPU."""
    import webflow_js

    if webflow_js.gpuError:
        raise UnsupportedError(f"this browser has no usable WebGL2 ({webflow_js.gpuError}) and this "
                               "Pyodide has no numpy for the numpy backend: webflow cannot run here")
    opts = _js({"onProgress": on_progress} if on_progress else {})
    fetched = await webflow_js.fetchModel(url, opts)
    spec = parse_model(json.loads(fetched.text), url + "model.json" if url.endswith("/") else url)
    handles = await webflow_js.uploadWeights(webflow_js.backend, fetched.weights)
    weights = {k: v for k, v in handles.to_py().items()}
    return BrowserModel(spec, WebGLBackend(spec, webflow_js.backend, weights))


class BrowserModel(Model):
    """A Model whose backend is in the page: predictions are async."""

    def __init__(self, spec, backend):
        super().__init__(spec, backend)
        self._input_names = [t.name for t in self.graph.inputs]
        self._output_names = [t.name for t in self.graph.outputs]
        self._signatures = {}  # predict_js's signature key -> (plan, [(name, shape, dtype, is a frame)], output metas)

    def input_specs(self):
        return [{"name": t.name, "dtype": t.dtype, "shape": [d if isinstance(d, int) else str(d) for d in t.shape]} for t in self.inputs]

    def output_specs(self):
        return [{"name": t.name, "dtype": t.dtype, "shape": [d if isinstance(d, int) else str(d) for d in t.shape]} for t in self.outputs]

    async def predict_async(self, *args, **kwargs):
        t0 = time.perf_counter()
        feeds = self._collect(args, kwargs)
        arrays = {t.name: _as_feed(feeds[t.name], t) for t in self.graph.inputs}
        out = await self._run(arrays)
        self._timed(t0)
        return out

    async def predict_js(self, inputs, key=None, datas=None):
        """The JS API's entry: inputs a JS object {name: {data, shape}} or an array in input order.

        key, datas (index.js): the inputs' signature (kind, shape and length of each) and their data
        or frame handles, in input order. A signature these checks passed before names the same
        shapes and dtypes, so a repeat call skips reading and checking every field through JS."""
        import webflow_js

        t0 = time.perf_counter()
        known = self._signatures.get(key)
        if known is None:
            if hasattr(inputs, "length") and not hasattr(inputs, "data"):
                inputs = [inputs[i] for i in range(inputs.length)]
                feeds = self._collect(inputs, {})
            else:
                feeds = self._collect([{k: getattr(inputs, k) for k in _keys(inputs)}], {})
            arrays = {t.name: _as_feed(feeds[t.name], t) for t in self.graph.inputs}
            plan = self._checked_plan(arrays)
            feed_metas = [(n, f.shape, f.dtype, f.handle is not None) for n, f in arrays.items()]
            # the outputs' [name, shape, dtype] as JS, for index.js to put beside their data
            out_metas = _js([[n, list(plan.metas[n].shape), plan.metas[n].dtype] for n in self._output_names])
            if key is not None and not self._host_inputs:  # a host input's plan depends on its values
                self._signatures[key] = (plan, feed_metas, out_metas)
        else:
            plan, feed_metas, out_metas = known
            arrays = {n: _Feed(None, shape, dtype, handle=int(x)) if frame else _Feed(x, shape, dtype)
                      for (n, shape, dtype, frame), x in zip(feed_metas, datas)}
        out = webflow_js.outputs(out_metas, await self.backend.replay_async(plan, arrays, self._input_names, self._output_names))
        self._timed(t0)
        return out

    def _checked_plan(self, arrays):
        given = {n: (f.shape, f.dtype, f.values() if n in self._host_inputs else None) for n, f in arrays.items()}
        check_inputs(self.graph.inputs, given)
        return self.plan_for(given)

    async def _run(self, arrays):
        return await self.backend.run_async(self._checked_plan(arrays), arrays, self._input_names, self._output_names)

    async def profile_js(self, inputs):
        """Per-op GPU time of one inference (the JS API's Model.profile)."""
        feeds = self._collect([{k: getattr(inputs, k) for k in _keys(inputs)}], {})
        arrays = {t.name: _as_feed(feeds[t.name], t) for t in self.graph.inputs}
        return await self.backend.profile_async(self._checked_plan(arrays), arrays, self._input_names, self._output_names)

    def _timed(self, t0):
        """Where the last inference's time went; python_ms is everything but JS and GPU time."""
        total = (time.perf_counter() - t0) * 1e3
        self.timing = dict(self.backend.timing, total_ms=total, python_ms=total - sum(self.backend.timing.values()))

    def last_timing(self):
        return dict(getattr(self, "timing", {}))

    def dispose(self):
        self.backend.dispose()


def _keys(obj):
    from js import Object

    return list(Object.keys(obj))


class _Feed:
    """An input on its way to the GPU: a JS typed array (no copy), Python data turned into one, or
    a tensor already on the GPU (`handle`: a camera frame; the run neither uploads nor frees it)."""

    def __init__(self, data, shape, dtype, handle=None):
        self.data = data
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtype
        self.handle = handle

    def values(self):
        if self.handle is not None:
            raise InputError("a tensor on the GPU (a camera frame) cannot feed a shape-like input, whose values the planner reads")
        return self.data.to_py().tolist() if hasattr(self.data, "to_py") else list(self.data)


_JS_TYPES = {"Float32Array": "float32", "Float64Array": "float64", "Int32Array": "int32", "Int8Array": "int8",
             "Uint8Array": "uint8", "Int16Array": "int16", "Uint16Array": "uint16", "Uint32Array": "uint32",
             "BigInt64Array": "int64", "BigUint64Array": "uint64"}


def _as_feed(x, info):
    """JS {data, shape} | numpy array | (flat list, shape) | GPU tensor ({handle, shape, dtype}:
    a camera frame, JS or Python) -> _Feed, named errors otherwise."""
    if hasattr(x, "handle") and hasattr(x, "shape"):
        if not isinstance(x.handle, (int, float)):  # None, or JS null (JsNull in Pyodide)
            raise InputError(f"input {info.name!r}: this frame was disposed (a camera frame lives until the next one is taken)")
        return _Feed(None, list(x.shape), str(x.dtype), handle=int(x.handle))
    if hasattr(x, "data") and hasattr(x, "shape") and not hasattr(x, "dtype"):  # a JS object
        data = x.data
        kind = getattr(getattr(data, "constructor", None), "name", None)
        dtype = _JS_TYPES.get(kind)
        if dtype is None:
            raise InputError(f"input {info.name!r}: data must be a typed array, got {kind or type(data).__name__}")
        if dtype == "uint8" and info.dtype == "bool":
            dtype = "bool"
        shape = list(x.shape)
        size = 1
        for d in shape:
            size *= int(d)
        if data.length != size:
            raise InputError(f"input {info.name!r}: data has {data.length} elements, shape {shape} needs {size}")
        return _Feed(data, shape, dtype)
    if hasattr(x, "dtype") and hasattr(x, "shape"):  # numpy
        from pyodide.ffi import to_js

        dtype = "bool" if str(x.dtype) == "bool" else str(x.dtype)
        return _Feed(to_js(x.reshape(-1)), x.shape, dtype)
    if isinstance(x, tuple) and len(x) == 2:
        from js import Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array
        from pyodide.ffi import to_js

        flat, shape = x
        typed = {"float32": Float32Array, "float64": Float64Array, "int32": Int32Array,
                 "int64": BigInt64Array, "bool": Uint8Array}.get(info.dtype, Float32Array)
        return _Feed(typed.new(to_js(list(flat))), shape, info.dtype)
    raise InputError(f"input {info.name!r}: expected a JS {{data, shape}}, a numpy array or (flat list, shape), got {type(x).__name__}")
