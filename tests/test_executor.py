"""The executor's public API: inputs/outputs, predict by dict/position/keyword, plans, input errors."""

import numpy as np
import pytest

import webflow
from webflow.errors import InputError


@pytest.fixture
def model(small_model):
    return webflow.load(small_model)


def x(batch=2):
    return np.random.default_rng(0).standard_normal((batch, 64, 64)).astype(np.float32)


def test_inputs_and_outputs(model):
    (i,), (o,) = model.inputs, model.outputs
    assert (i.name, i.dtype, [str(d) for d in i.shape]) == ("x", "float32", ["batch", "64", "64"])
    assert (o.name, o.dtype, [str(d) for d in o.shape]) == ("y", "float32", ["batch", "64", "64"])


def test_predict_forms_agree(model):
    a = model.predict(x())["y"]
    assert np.array_equal(model.predict({"x": x()})["y"], a)
    assert np.array_equal(model.predict(x=x())["y"], a)


def test_one_plan_per_signature(model):
    model.predict(x(2))
    model.predict(x(2))
    model.predict(x(5))
    assert len(model._plans) == 2
    plan = next(iter(model._plans.values()))
    # the intermediate of MatMul is freed after Add reads it
    assert any(plan.free_after) and plan.peak_bytes < plan.total_bytes


def test_wrong_input_name(model):
    with pytest.raises(InputError, match=r"unknown input\(s\) 'image'; the model's inputs are 'x' \(float32, \[batch, 64, 64\]\)"):
        model.predict({"image": x()})


def test_missing_input(model):
    with pytest.raises(InputError, match=r"missing input\(s\) 'x'"):
        model.predict({})


def test_wrong_shape(model):
    with pytest.raises(InputError, match=r"input 'x': expected shape \[batch, 64, 64\], got \[2, 64, 32\] \(dim 2: expected 64, got 32\)"):
        model.predict(np.zeros((2, 64, 32), np.float32))


def test_wrong_rank(model):
    with pytest.raises(InputError, match=r"input 'x': expected shape \[batch, 64, 64\] \(rank 3\), got \[64, 64\] \(rank 2\)"):
        model.predict(np.zeros((64, 64), np.float32))


def test_wrong_dtype(model):
    with pytest.raises(InputError, match=r"input 'x': expected dtype float32, got float64"):
        model.predict(np.zeros((1, 64, 64)))


def test_wrong_positional_count(model):
    with pytest.raises(InputError, match=r"predict\(\) got 2 positional input\(s\), the model takes 1"):
        model.predict(x(), x())
