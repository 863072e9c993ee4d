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
    raise ConversionError(f"{src}: no reference runtime for this format")


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
