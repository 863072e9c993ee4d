"""Op test cases, shared by every backend.

A Case is one op call: inputs (numpy arrays, None for an omitted optional input) and attributes.
`check_reference` checks webflow's numpy reference and shape/dtype rules against onnxruntime
running the same single-node ONNX model. The browser tests run the same cases on the GPU
kernels against the numpy reference.
"""

from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from webflow.ops import Meta, get
from webflow.graph import Node

ONNX_OPSET = 21


@dataclass
class Case:
    op: str
    inputs: list
    attrs: dict = field(default_factory=dict)
    id: str = ""
    noutputs: int = 1
    atol: float = 1e-5
    rtol: float = 1e-4
    onnx_attrs: dict = None  # attributes for the ONNX node when they differ from webflow's
    onnx: bool = True  # False when onnxruntime has no such op/attribute; then `expect` is the oracle
    expect: list = None  # expected outputs, for cases not checked against onnxruntime

    def __str__(self):
        return self.id or self.op


def ids(cases):
    return [f"{c.op}-{c.id or i}" for i, c in enumerate(cases)]


def run_reference(case):
    """Plan-check and run one case on the numpy reference; returns the outputs."""
    d = get(case.op)
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(case.inputs)]
    node = Node(f"{case.op}_case", case.op, names, [f"out{i}" for i in range(case.noutputs)], dict(case.attrs))
    d.check_arity(node)
    attrs = d.resolve_attrs(node)
    metas = []
    for i, x in enumerate(case.inputs):
        if x is None:
            metas.append(None)
            continue
        value = x.reshape(-1).tolist() if d.is_host_input(i) else None
        metas.append(Meta(x.shape, dtype_name(x), value))
    out_metas = d.infer(node, metas, attrs)
    outs = d.run([x for x in case.inputs], attrs)
    for i, (m, y) in enumerate(zip(out_metas, outs)):
        assert tuple(m.shape) == y.shape, f"{case}: output {i}: shape rule says {m.shape}, reference gave {y.shape}"
        assert m.dtype == dtype_name(y), f"{case}: output {i}: dtype rule says {m.dtype}, reference gave {y.dtype}"
    return outs[: case.noutputs]


def dtype_name(x):
    return "bool" if x.dtype == np.bool_ else x.dtype.name


def run_onnxruntime(case, out_dtypes):
    ins, feeds = [], {}
    for i, x in enumerate(case.inputs):
        if x is None:
            ins.append("")
            continue
        name = f"in{i}"
        ins.append(name)
        feeds[name] = x
    outs = [f"out{i}" for i in range(case.noutputs)]
    attrs = case.onnx_attrs if case.onnx_attrs is not None else case.attrs
    node = helper.make_node(case.op, ins, outs, **{k: v for k, v in attrs.items() if v is not None})
    graph = helper.make_graph(
        [node], "case",
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(feeds[n].dtype), feeds[n].shape) for n in feeds],
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(t), None) for n, t in zip(outs, out_dtypes)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 10
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def assert_close(got, want, atol, rtol, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype == np.bool_ or want.dtype.kind in "iu":
        assert np.array_equal(got, want), f"{what}: values differ\n got {got}\nwant {want}"
        return
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=atol, rtol=rtol, equal_nan=True, err_msg=what)


def check_reference(case):
    got = run_reference(case)
    want = run_onnxruntime(case, [g.dtype for g in got]) if case.onnx else case.expect
    assert want is not None, f"{case}: no oracle (neither onnxruntime nor expect)"
    for i, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, case.atol, case.rtol, f"{case} output {i}")
