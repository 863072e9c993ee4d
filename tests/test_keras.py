"""Keras 3 models trained here for a few steps on generated data, saved as .keras and as a TF
SavedModel (model.export), converted, and compared with Keras' own predictions (model.predict)
and the SavedModel's serving signature on the numpy backend (atol 1e-4, rtol 1e-3), at two
batch sizes. Plus: the graphs stay channels-last with no Transpose, recurrent layers become
one GRU/LSTM op each, and unsupported layers / TF ops are reported in one error."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402

import webflow  # noqa: E402
from webflow.converter import convert  # noqa: E402
from webflow.converter.verify import source_runtime  # noqa: E402
from webflow.errors import UnsupportedError  # noqa: E402

ATOL, RTOL = 1e-4, 1e-3
L = keras.layers
FORMATS = ("keras", "savedmodel")


def cnn():
    """Conv2D SAME/VALID with strides (odd sizes, so SAME pads unevenly), BatchNormalization,
    ReLU, MaxPooling2D, DepthwiseConv2D, Add, GlobalAveragePooling2D, Dropout, Dense."""
    inp = keras.Input((19, 19, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", use_bias=False, name="stem")(inp)
    x = L.BatchNormalization(momentum=0.5, name="stem_bn")(x)
    x = L.ReLU(name="stem_relu")(x)
    y = L.DepthwiseConv2D(3, padding="same", name="dw")(x)
    y = L.BatchNormalization(momentum=0.5, name="dw_bn")(y)
    y = L.ReLU(max_value=6.0, name="dw_relu6")(y)
    x = L.Add(name="residual")([x, y])
    x = L.MaxPooling2D(2, name="pool")(x)  # 19 -> 9
    x = L.Conv2D(16, 4, strides=2, padding="same", activation="relu", name="down")(x)  # 9 -> 5, pads (1, 2)
    x = L.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=2, name="dw2")(x)  # 5 -> 2
    x = L.BatchNormalization(momentum=0.5, name="dw2_bn")(x)
    x = L.Activation("relu", name="dw2_relu")(x)
    x = L.Conv2D(24, 1, padding="valid", name="expand")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dropout(0.25, name="drop")(x)
    x = L.Dense(32, activation="relu", name="fc")(x)
    out = L.Dense(5, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="cnn")


def gru():
    """Sequential; GRU with reset_after=True (linear_before_reset=1) returning sequences, then
    reset_after=False (linear_before_reset=0) returning the last step."""
    return keras.Sequential([keras.Input((12, 6), name="sequence"),
                             L.GRU(16, return_sequences=True, name="gru_after"),
                             L.GRU(8, reset_after=False, name="gru_before"),
                             L.Dense(3, name="out")], name="gru")


def lstm():
    """LSTM returning sequences (read per step by a Dense: a second output) and one returning the last step."""
    inp = keras.Input((10, 4), name="sequence")
    x = L.LSTM(12, return_sequences=True, name="lstm_seq")(inp)
    per_step = L.Dense(2, name="per_step")(x)
    x = L.LSTM(6, name="lstm_last")(x)
    out = L.Dense(1, name="value")(x)
    return keras.Model(inp, [out, per_step], name="lstm")


def zoo():
    """More layers: padding, separable/dilated/1-D convolutions, average pooling, upsampling,
    layer norm, a nested Sequential, Bidirectional GRU, a backwards SimpleRNN, an LSTM with
    initial states and hard_sigmoid gates, two inputs."""
    img = keras.Input((12, 12, 4), name="img")
    seq = keras.Input((10, 6), name="seq")
    x = L.ZeroPadding2D(((1, 0), (2, 1)))(img)
    x = L.SeparableConv2D(8, 3, depth_multiplier=2, activation="relu6")(x)
    x = L.AveragePooling2D(2, padding="same")(x)
    x = L.UpSampling2D(2)(x)
    x = L.Conv2D(6, 3, dilation_rate=2, activation="swish")(x)
    x = L.LayerNormalization()(x)
    x = L.GlobalMaxPooling2D()(x)
    s = L.Conv1D(8, 3, padding="same", activation="gelu")(seq)
    s = L.Bidirectional(L.GRU(5, reset_after=False, return_sequences=True))(s)
    s = L.SimpleRNN(4, go_backwards=True)(s)
    h0, c0 = L.Dense(3, name="h0")(x), L.Dense(3, name="c0")(x)
    s2 = L.LSTM(3, recurrent_activation="hard_sigmoid", name="lstm_init")(seq, initial_state=[h0, c0])
    head = keras.Sequential([L.Dense(7, activation="elu"), L.Dense(5, activation="hard_sigmoid")], name="head")
    y = head(L.Concatenate()([x, s, s2]))
    return keras.Model([img, seq], [y, L.Activation("tanh", name="state")(s)], name="zoo")


MODELS = {"cnn": cnn, "gru": gru, "lstm": lstm, "zoo": zoo}


def feeds_for(model, batch, seed):
    rng = np.random.default_rng(seed)
    return {t.name: rng.standard_normal((batch,) + tuple(t.shape[1:])).astype(np.float32) for t in model.inputs}


def train(name, seed=0):
    """The model, trained a few steps on generated data (so BN statistics and weights move)."""
    keras.utils.set_random_seed(seed)
    model = MODELS[name]()
    x = feeds_for(model, 48, seed)
    x = x[model.inputs[0].name] if len(model.inputs) == 1 else [x[t.name] for t in model.inputs]
    rng = np.random.default_rng(seed + 1)
    if name == "cnn":
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        y = rng.integers(0, 5, 48)
    else:
        model.compile(keras.optimizers.Adam(0.01), "mse")
        y = [rng.standard_normal((48,) + tuple(o.shape[1:])).astype(np.float32) for o in model.outputs]
        y = y[0] if len(y) == 1 else y
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    return model


def save(name, tmp):
    """(model, .keras path, SavedModel folder) of a freshly trained model."""
    model = train(name)
    path, folder = str(tmp / f"{name}.keras"), str(tmp / f"{name}_savedmodel")
    model.save(path)
    model.export(folder, verbose=False)
    return model, path, folder


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keras")
    out = {}
    for name in MODELS:
        model, path, folder = save(name, tmp)
        for fmt, src in zip(FORMATS, (path, folder)):
            dst = str(tmp / f"{name}_{fmt}_webflow")
            report = convert(src, dst, log=lambda *a: None)
            out[name, fmt] = (model, src, dst, report)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(MODELS))
def test_matches_keras(converted, name, fmt):
    model, src, dst, report = converted[name, fmt]
    wf = webflow.load(dst)
    assert [t.name for t in wf.inputs] == [t.name for t in model.inputs]
    assert all(str(t.shape[0]) == "batch" for t in wf.inputs)
    run = source_runtime(src)  # model.predict of the loaded .keras / the SavedModel's serving signature
    for batch in (1, 3):
        feeds = feeds_for(model, batch, seed=10 + batch)
        want, got = run(feeds), wf.predict(feeds)
        assert list(got) == list(want) and len(want) == len(model.outputs)
        ref = model.predict([feeds[t.name] for t in model.inputs] if len(feeds) > 1 else next(iter(feeds.values())), verbose=0)
        for (out, w), r in zip(want.items(), ref if isinstance(ref, list) else [ref]):
            np.testing.assert_allclose(w, r, atol=1e-5, rtol=1e-5)  # the file holds the trained model
            err = float(np.max(np.abs(got[out] - w)))
            print(f"{name} {fmt} batch {batch} {out}{list(w.shape)}: max abs error {err:.3g}")
            np.testing.assert_allclose(got[out], w, atol=ATOL, rtol=RTOL, err_msg=f"{name} {fmt} batch {batch} {out}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_cnn_stays_channels_last(converted, fmt):
    """No Transpose at all: Conv/pools run NHWC, weights were put into ONNX layout at conversion;
    batch norms folded into the convolutions, biases and activations fused."""
    model, src, dst, report = converted["cnn", fmt]
    ops = report["ops_after"]
    assert not {"Transpose", "BatchNormalization", "Mul", "Sub", "Relu", "Clip", "Identity", "Dropout"} & set(ops), ops
    assert ops["Conv"] == 5 and ops["Gemm"] == 2 and ops["Add"] == 1, ops
    spec = json.load(open(os.path.join(dst, "model.json")))
    assert spec["inputs"][0]["shape"] == ["batch", 19, 19, 3]
    assert spec["outputs"][0]["shape"] == ["batch", 5]
    for node in spec["nodes"]:
        if node["op"] in ("Conv", "MaxPool", "GlobalAveragePool"):
            assert node["attrs"]["layout"] == "NHWC", node
    acts = sorted(json.dumps(n["attrs"].get("activation")) for n in spec["nodes"] if n["op"] == "Conv")
    assert acts.count('{"op": "Relu"}') == 3, acts
    assert report["warnings"] == []


def test_recurrent_layers_are_one_op_each(converted):
    """Keras GRU/LSTM → the op set's GRU/LSTM, batch-major (layout=1); reset_after → linear_before_reset."""
    spec = json.load(open(os.path.join(converted["gru", "keras"][2], "model.json")))
    grus = [n for n in spec["nodes"] if n["op"] == "GRU"]
    assert [n["attrs"].get("linear_before_reset") for n in grus] == [1, 0]
    assert all(n["attrs"]["layout"] == 1 for n in grus)
    assert spec["inputs"][0]["shape"] == ["batch", 12, 6]
    spec = json.load(open(os.path.join(converted["lstm", "keras"][2], "model.json")))
    assert [n["op"] for n in spec["nodes"]].count("LSTM") == 2
    assert [o["shape"] for o in spec["outputs"]] == [["batch", 1], ["batch", 10, 2]]
    ops = converted["zoo", "keras"][3]["ops_after"]
    assert ops.get("GRU") == 1 and ops.get("RNN") == 1 and ops.get("LSTM") == 1 and "Transpose" not in ops, ops


def test_keras_ops_in_a_functional_graph(tmp_path):
    """keras.ops calls between layers (operations, not layers, in the model's graph)."""
    inp = keras.Input((5, 4), name="x")
    y = keras.ops.tanh(keras.ops.add(inp, 1.0)) * 2.0
    y = keras.ops.transpose(keras.ops.reshape(keras.ops.mean(y, axis=1), (-1, 2, 2)), (0, 2, 1))
    y = keras.ops.concatenate([y, keras.ops.square(keras.ops.squeeze(keras.ops.expand_dims(y, -1), -1))], axis=-1)
    y = keras.ops.gelu(L.Dense(3)(L.Flatten()(y)))
    model = keras.Model(inp, keras.ops.softmax(y))
    model.save(str(tmp_path / "m.keras"))
    model.export(str(tmp_path / "m_savedmodel"), verbose=False)
    for fmt in FORMATS:
        src = str(tmp_path / ("m.keras" if fmt == "keras" else "m_savedmodel"))
        convert(src, str(tmp_path / fmt), log=lambda *a: None)
        feeds = feeds_for(model, 3, seed=5)
        want, got = source_runtime(src)(feeds), webflow.load(str(tmp_path / fmt)).predict(feeds)
        for (out, w), g in zip(want.items(), got.values()):
            print(f"keras.ops {fmt} {out}: max abs error {np.max(np.abs(g - w)):.3g}")
            np.testing.assert_allclose(g, w, atol=ATOL, rtol=RTOL)


def test_savedmodel_from_plain_tf(tmp_path):
    """A SavedModel that is not Keras: a tf.Module whose tf.function uses a spread of TF ops
    (strided slices, split/unstack/stack, reflect padding, where, gather, reverse, tile, ...)."""
    import tensorflow as tf

    class M(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.random.stateless_normal([6, 4], seed=[1, 2]))
            self.f = tf.Variable(tf.random.stateless_normal([3, 3, 2, 5], seed=[3, 4]))

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 2], tf.float32, name="img"),
                                      tf.TensorSpec([None, 6], tf.float32, name="vec")])
        def serve(self, img, vec):
            y = tf.nn.max_pool2d(tf.nn.leaky_relu(tf.nn.conv2d(img, self.f, strides=2, padding="SAME"), 0.1), 2, 1, "VALID")
            y = tf.pad(y, [[0, 0], [1, 0], [0, 2], [0, 0]], mode="REFLECT")
            a, b = tf.split(y, [2, 3], axis=-1)
            z = tf.concat([tf.reduce_max(a, axis=[1, 2]), tf.reduce_sum(b, axis=[1, 2])], axis=1)
            v = tf.matmul(vec, self.w)
            u = tf.unstack(tf.reshape(v, [-1, 2, 2]), axis=1)
            p = tf.stack([u[1], u[0]], axis=-1)
            q = tf.where(vec[:, :4] > 0, v, -v) * tf.math.rsqrt(tf.abs(v) + 1.0)
            r = tf.gather(q, [3, 0, 2], axis=1) + tf.cast(tf.argmax(vec, axis=1)[:, None], tf.float32)
            s = tf.reverse(tf.slice(vec, [0, 1], [-1, 3]), axis=[1]) + tf.ones_like(r) + tf.range(3, dtype=tf.float32)
            w = tf.tile(vec[:, None, ::2], [1, 2, 1]) - tf.zeros_like(vec[:, None, 1::2])
            return {"a": tf.squeeze(tf.expand_dims(tf.nn.softmax(z), 1), 1), "b": r * s,
                    "c": tf.reduce_mean(p, axis=1) + tf.math.squared_difference(q[:, :2], 0.5),
                    "d": tf.nn.relu6(w * 3.0) + tf.math.floormod(w, 0.7) + tf.math.erfc(w)}

    m = M()
    folder = str(tmp_path / "sm")
    tf.saved_model.save(m, folder, signatures={"serving_default": m.serve})
    report = convert(folder, str(tmp_path / "out"), log=lambda *a: None)
    assert report["warnings"] == [] and "Shape" not in report["ops_after"]
    wf = webflow.load(str(tmp_path / "out"))
    assert [t.name for t in wf.inputs] == ["img", "vec"] and [t.name for t in wf.outputs] == ["a", "b", "c", "d"]
    run = source_runtime(folder)
    for batch in (1, 3):
        rng = np.random.default_rng(batch)
        feeds = {"img": rng.standard_normal((batch, 8, 8, 2)).astype(np.float32), "vec": rng.standard_normal((batch, 6)).astype(np.float32)}
        want, got = run(feeds), wf.predict(feeds)
        for out, w in want.items():
            print(f"tf.Module batch {batch} {out}: max abs error {np.max(np.abs(got[out] - w)):.3g}")
            np.testing.assert_allclose(got[out], w, atol=ATOL, rtol=RTOL)


def test_unsupported_layers_are_listed_in_one_error(tmp_path):
    inp = keras.Input((6, 6, 2), name="x")
    x = L.UnitNormalization(name="unit_a")(inp)
    x = L.Conv2D(2, 3, padding="same")(x)
    x = L.UnitNormalization(name="unit_b")(x)
    x = L.Flatten()(x)
    q = L.Reshape((8, 9))(x)
    x = L.Attention(name="attend")([q, q])
    path = str(tmp_path / "m.keras")
    keras.Model(inp, x).save(path)
    with pytest.raises(UnsupportedError) as e:
        convert(path, str(tmp_path / "out"), log=lambda *a: None)
    msg = str(e.value)
    print(msg)
    assert "2 unsupported layer type(s)" in msg
    assert "UnitNormalization: unit_a, unit_b" in msg and "Attention: attend" in msg


def test_unsupported_tf_ops_are_listed_in_one_error(tmp_path):
    import tensorflow as tf

    class M(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4, 4], tf.float32, name="x")])
        def serve(self, x):
            return {"det": tf.linalg.det(x) + tf.reduce_sum(tf.math.cumsum(x, axis=1), axis=[1, 2]),
                    "y": tf.nn.relu(x)}

    m = M()
    folder = str(tmp_path / "sm")
    tf.saved_model.save(m, folder, signatures={"serving_default": m.serve})
    with pytest.raises(UnsupportedError) as e:
        convert(folder, str(tmp_path / "out"), log=lambda *a: None)
    msg = str(e.value)
    print(msg)
    assert "2 unsupported op type(s)" in msg and "MatrixDeterminant:" in msg and "Cumsum:" in msg


def test_cli_converts_both_formats(converted, tmp_path):
    """`webflow convert model.keras out/` and `webflow convert saved_model_dir/ out/`, then
    `webflow verify` against Keras itself."""
    cli = [sys.executable, "-m", "webflow.cli"]
    for fmt in FORMATS:
        src = converted["lstm", fmt][1]
        r = subprocess.run(cli + ["convert", src, str(tmp_path / fmt)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "wrote" in r.stdout
        producer = json.load(open(tmp_path / fmt / "model.json"))["producer"]
        assert producer["source_format"] == {"keras": "keras", "savedmodel": "tensorflow"}[fmt]
        assert len(producer["source_sha256"]) == 64
    r = subprocess.run(cli + ["verify", converted["gru", "keras"][1], "--dim", "batch=3"], capture_output=True, text=True)
    assert r.returncode == 0 and "all 1 output(s) within" in r.stdout, r.stdout + r.stderr
