"""The ONNX backend node test cases that ship inside the `onnx` package, run through webflow.

The package ships them as code (onnx.backend.test.case.node): each case is a one-node model
(or its function expansion, `*_expanded`) with inputs and expected outputs. A case belongs to
the op it tests; webflow claims every op of its op set (plus Constant, which the ONNX frontend
folds). Each case is converted and run on the numpy backend, and ends as:
  pass         outputs match (the case's own rtol/atol)
  unsupported  webflow refused it with a clear UnsupportedError (a feature it lacks)
  fail         wrong numbers, or any other error: a bug
"""

import os
import re
import shutil
import tempfile
import warnings
from collections import Counter, defaultdict

import numpy as np

from webflow.errors import UnsupportedError, WebflowError
from webflow.ops import REGISTRY

FRONTEND_ONLY = {"Constant"}


def claimed_ops():
    return set(REGISTRY) | FRONTEND_ONLY


def collect():
    """[(case, owner op)] for the cases of claimed ops, in name order."""
    from onnx.backend.test.case import node

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    by_name = {c.name: c for c in cases}
    claimed = claimed_ops()
    out = []
    for c in sorted(cases, key=lambda c: c.name):
        base = by_name.get(re.sub(r"_expanded.*$", "", c.name), c)
        owner = base.model.graph.node[0].op_type
        if owner in claimed:
            out.append((c, owner))
    return out


def run_case(case):
    """(status, message) for one case."""
    import onnx

    import webflow
    from webflow.converter import convert

    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, f"{case.name}.onnx")  # messages then name the case
        onnx.save(case.model, path)
        convert(path, os.path.join(tmp, "out"), log=lambda *a: None, show_progress=False)
        model = webflow.load(os.path.join(tmp, "out"))
        init = {i.name for i in case.model.graph.initializer}
        in_names = [i.name for i in case.model.graph.input if i.name not in init]
        out_names = [o.name for o in case.model.graph.output]
        for inputs, expected in case.data_sets:
            inputs, expected = [_array(x) for x in inputs], [_array(x) for x in expected]
            if not all(isinstance(x, np.ndarray) for x in inputs + expected):
                raise UnsupportedError("sequence, optional or map values are not supported")
            got = model.predict(dict(zip(in_names, inputs)))
            for name, want in zip(out_names, expected):
                msg = _compare(got[name], want, case.rtol, case.atol)
                if msg:
                    return "fail", f"output {name!r}: {msg}"
        return "pass", ""
    except UnsupportedError as e:
        return "unsupported", " ".join(str(e).replace(tmp + "/", "").split())[:300]
    except WebflowError as e:
        return "fail", f"{type(e).__name__}: " + " ".join(str(e).replace(tmp + "/", "").split())[:300]
    except Exception as e:  # a crash is a bug, reported as a failure with its type
        return "fail", f"crash {type(e).__name__}: {str(e)[:300]}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _array(x):
    """Cases give numpy arrays, numpy scalars or TensorProtos; sequences and maps stay as they are."""
    import onnx
    from onnx import numpy_helper

    if isinstance(x, onnx.TensorProto):
        return numpy_helper.to_array(x)
    return np.asarray(x) if isinstance(x, np.generic) else x


def _compare(got, want, rtol, atol):
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, expected {want.dtype}"
    if _low_precision_float(want.dtype):  # bfloat16, float8, float4: compared as float32 (exact)
        got, want = got.astype(np.float32), want.astype(np.float32)
    if want.dtype.kind in "fc":
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
            err = np.nanmax(np.abs(got.astype(np.float64) - want.astype(np.float64)))
            return f"max abs error {err:.3g} beyond rtol={rtol} atol={atol}"
    elif not np.array_equal(got, want):
        return "values differ"
    return ""


def _low_precision_float(dtype):
    from webflow.dtypes import DTYPES

    d = DTYPES.get(dtype.name)
    return d is not None and d.kind == "float" and d.lib == "ml_dtypes"


def run_all(cases=None):
    """{op: Counter(status)}, [(case name, op, status, message)]."""
    per_op = defaultdict(Counter)
    rows = []
    for case, op in cases or collect():
        status, msg = run_case(case)
        per_op[op][status] += 1
        rows.append((case.name, op, status, msg))
    return per_op, rows


def write_markdown(per_op, rows, path):
    total = Counter()
    for c in per_op.values():
        total.update(c)
    n = sum(total.values())
    import onnx

    lines = [
        "# ONNX conformance",
        "",
        "Generated by `python scripts/gen_docs.py conformance` from the ONNX backend node test cases",
        f"that ship inside the `onnx` package (version {onnx.__version__}), run on the numpy backend.",
        "A case belongs to the op it tests (its `_expanded` function form included).",
        "",
        f"**{total['pass']} of {n} cases pass ({100 * total['pass'] / max(n, 1):.1f}%)**; "
        f"{total['unsupported']} are refused as unsupported; {total['fail']} fail.",
        "",
        "| op | cases | pass | unsupported | fail |",
        "|---|---:|---:|---:|---:|",
    ]
    for op in sorted(per_op):
        c = per_op[op]
        lines.append(f"| {op} | {sum(c.values())} | {c['pass']} | {c['unsupported']} | {c['fail']} |")
    not_passing = [r for r in rows if r[2] != "pass"]
    if not_passing:
        lines += ["", "## Cases that do not pass", "", "| case | op | result | why |", "|---|---|---|---|"]
        for name, op, status, msg in not_passing:
            lines.append(f"| {name} | {op} | {status} | {msg.replace('|', '/')} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
