import os

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from webflow.converter import convert


def make_onnx(path, n=64, opset=17):
    """A small ONNX model: y = Relu(x @ W + B) with W (n, n) big enough to need shards."""
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((n, n)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal((n,)).astype(np.float32), "B")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"], name="mul"),
             helper.make_node("Add", ["xw", "B"], ["xwb"], name="add"),
             helper.make_node("Relu", ["xwb"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", n, n])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", n, n])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9  # what onnxruntime reads
    onnx.save(model, path)
    return path


@pytest.fixture
def small_onnx(tmp_path):
    return make_onnx(str(tmp_path / "small.onnx"))


@pytest.fixture
def small_model(tmp_path, small_onnx):
    out = str(tmp_path / "model")
    convert(small_onnx, out, shard_size=4096, log=lambda *a: None)
    return out
