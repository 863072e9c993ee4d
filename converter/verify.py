"""Run a source model in its own runtime and webflow side by side, and compare outputs."""

import numpy as np

from webflow.errors import ConversionError, InputError
from webflow.symbolic import is_sym


def source_runtime(src):
    """A callable feeds -> {output name: array} running `src` in its own runtime."""
    if str(src).endswith(".onnx"):
        import onnxruntime as ort

        try:
            sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
        except Exception as e:
            raise ConversionError(f"{src}: onnxruntime cannot load it: {e}") from None
        names = [o.name for o in sess.get_outputs()]
        return lambda feeds: dict(zip(names, sess.run(None, feeds)))
    if str(src).endswith(".tflite"):
        return _litert(src)
    if str(src).endswith(".keras"):
        return _keras(src)
    from .frontends import tensorflow as tf_frontend

    if tf_frontend.accepts(str(src)):
        return _saved_model(src)
    raise ConversionError(f"{src}: no reference runtime for this format")


def _litert(src):
    """LiteRT (ai-edge-litert), TFLite's own runtime; inputs and outputs by tensor name."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ConversionError(f"{src}: verifying a .tflite model needs the ai-edge-litert package") from None
    try:
        interp = Interpreter(model_path=str(src))
        interp.allocate_tensors()
    except Exception as e:
        raise ConversionError(f"{src}: LiteRT cannot load it: {e}") from None
    ins, outs = interp.get_input_details(), interp.get_output_details()

    def run(feeds):
        missing = [d["name"] for d in ins if d["name"] not in feeds]
        if missing:
            raise InputError(f"missing input(s) {missing} for {src}")
        for d in ins:
            x = np.asarray(feeds[d["name"]], d["dtype"])
            if tuple(x.shape) != tuple(d["shape"]):
                interp.resize_tensor_input(d["index"], x.shape)
                interp.allocate_tensors()
            interp.set_tensor(d["index"], x)
        interp.invoke()
        return {d["name"]: interp.get_tensor(d["index"]).copy() for d in outs}
    return run


def _keras(src):
    """Keras itself (model.predict); outputs named as the converter names them."""
    from .frontends.keras import load, output_names

    keras, model = load(src)
    names, inputs = output_names(model), [t.name for t in model.inputs]

    def run(feeds):
        missing = [n for n in inputs if n not in feeds]
        if missing:
            raise InputError(f"missing input(s) {missing} for {src}")
        xs = [np.asarray(feeds[n]) for n in inputs]
        ys = model.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
        return dict(zip(names, ys if isinstance(ys, (list, tuple)) else [ys]))
    return run


def _saved_model(src):
    """TensorFlow running the SavedModel's serving signature (the one the converter reads)."""
    from .frontends.tensorflow import load_signature

    tf, loaded, fn, _ = load_signature(src)
    specs = fn.structured_input_signature[1]

    def run(feeds):
        missing = [n for n in specs if n not in feeds]
        if missing:
            raise InputError(f"missing input(s) {missing} for {src}")
        out = fn(**{n: tf.constant(feeds[n], dtype=s.dtype) for n, s in specs.items()})
        return {k: out[k].numpy() for k in sorted(out)}  # the converter's output order
    run.keep_alive = loaded  # the signature's variables live as long as the loaded object
    return run


def random_inputs(inputs, dims=None, seed=0):
    """Random feeds for declared inputs; symbolic dims take `dims[name]` or 2."""
    rng = np.random.default_rng(seed)
    dims = dims or {}
    feeds = {}
    for t in inputs:
        shape = []
        for d in t.shape:
            if is_sym(d):
                names = sorted(d.names)
                shape.append(d.evaluate({n: dims.get(n, 2) for n in names}))
            else:
                shape.append(d)
        if t.dtype.startswith("float"):
            feeds[t.name] = rng.standard_normal(shape).astype(t.dtype)
        elif t.dtype == "bool":
            feeds[t.name] = rng.random(shape) > 0.5
        else:
            feeds[t.name] = rng.integers(0, 10, shape).astype(t.dtype)
    return feeds


def compare(got, want, atol, rtol):
    """[(name, max abs err, max rel err, ok)] per output of `want`."""
    rows = []
    for name, w in want.items():
        if name not in got:
            raise InputError(f"output {name!r} of the source model is missing from webflow's outputs {sorted(got)}")
        g = np.asarray(got[name])
        w = np.asarray(w)
        if g.shape != w.shape:
            rows.append((name, float("inf"), float("inf"), False, f"shape {g.shape} vs {w.shape}"))
            continue
        if w.dtype == np.bool_ or w.dtype.kind in "iu":
            bad = int(np.sum(g.astype(np.int64) != w.astype(np.int64)))
            rows.append((name, float(bad), float(bad), bad == 0, f"{bad} differing elements"))
            continue
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        diff = np.abs(g64 - w64)
        both_nan = np.isnan(g64) & np.isnan(w64)
        diff = np.where(both_nan, 0.0, diff)
        abs_err = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff))) if diff.size else 0.0
        rel_err = float(np.max(diff / np.maximum(np.abs(w64), 1e-12))) if diff.size else 0.0
        ok = bool(np.all(diff <= atol + rtol * np.abs(w64)))
        rows.append((name, abs_err, rel_err, ok, ""))
    return rows
