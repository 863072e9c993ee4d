"""Keras 3 (.keras) → webflow graph, read layer by layer.

- The model is loaded by Keras itself (safe mode, not compiled); its layer graph is read from
  the model's own config (the `inbound_nodes` of each layer, as config.json in the .keras file
  stores them) and each layer is lowered by a handler here, with its weights from the layer.
  Nested models are inlined. Keras' own tensor shapes in the config are checked against the
  shapes webflow infers, so a wrong lowering fails at conversion, not at inference.
- Channels-last stays channels-last: Conv/pools get layout="NHWC" with the weights put into
  ONNX layout once ([kh,kw,I,O] → [O,I,kh,kw]; depthwise [kh,kw,C,M] → [C*M,1,kh,kw], group=C),
  so no Transpose runs at inference.
- GRU / LSTM / SimpleRNN (and Bidirectional over them) become one GRU / LSTM / RNN op each, with
  layout=1 (batch-major, as Keras holds sequences) and the gates reordered to ONNX's: Keras LSTM
  kernels are [i f c o], ONNX's [i o f c]; GRU gates are [z r h] in both, and Keras' reset_after
  (two biases, reset gate applied after the recurrent matmul) is ONNX's linear_before_reset=1.
- Batch norm becomes a per-channel Mul/Add and Dense a MatMul + bias; tensorflow.fold_affine
  merges them into the Conv/Gemm before them, as for SavedModels.
- Every unsupported layer class is collected and reported in one error with the layer names.
"""

import os

import numpy as np

from webflow.errors import ConversionError, UnsupportedError, WebflowError
from webflow.symbolic import is_sym

from .tensorflow import Builder, channel_affine, check_unsupported, fold_affine, input_dims

FORMAT = "keras"

# Keras activation name -> the unary op ({"op": ..., attrs}) applying it; None: identity
ACTIVATIONS = {
    "linear": None, "relu": {"op": "Relu"}, "relu6": {"op": "Clip", "min": 0.0, "max": 6.0}, "sigmoid": {"op": "Sigmoid"},
    "tanh": {"op": "Tanh"}, "elu": {"op": "Elu", "alpha": 1.0}, "selu": {"op": "Selu"}, "softplus": {"op": "Softplus"},
    "softsign": {"op": "Softsign"}, "exponential": {"op": "Exp"}, "gelu": {"op": "Gelu"}, "mish": {"op": "Mish"},
    "leaky_relu": {"op": "LeakyRelu", "alpha": 0.2}, "silu": {"op": "Silu"}, "swish": {"op": "Silu"},
    # Keras 3: hard_sigmoid(x) = relu6(x + 3) / 6
    "hard_sigmoid": {"op": "HardSigmoid", "alpha": 1 / 6, "beta": 0.5}, "hard_silu": {"op": "HardSwish"},
    "hard_swish": {"op": "HardSwish"}, "softmax": {"op": "Softmax", "axis": -1}, "log_softmax": {"op": "LogSoftmax", "axis": -1},
}
# the ones an ONNX recurrent op can apply itself (its `activations` attribute)
RNN_ACTIVATIONS = {"sigmoid": ("Sigmoid", None, None), "tanh": ("Tanh", None, None), "relu": ("Relu", None, None),
                   "hard_sigmoid": ("HardSigmoid", 1 / 6, 0.5), "linear": ("Affine", 1.0, 0.0), "softsign": ("Softsign", None, None),
                   "softplus": ("Softplus", None, None), "elu": ("Elu", 1.0, None)}
UNKNOWN = object()


def _act_name(act):
    if isinstance(act, dict):  # a serialized function: {"class_name": "function", "config": "relu", ...}
        act = act.get("config") if isinstance(act.get("config"), str) else act.get("class_name")
    return act or "linear"


def _weight(v):
    if hasattr(v, "numpy"):
        return np.array(v.numpy())
    import keras

    return np.array(keras.ops.convert_to_numpy(v))


def _pair(v, n=2):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def _activation(b, x, act):
    name = _act_name(act)
    if name not in ACTIVATIONS:
        raise UnsupportedError(f"activation {name!r}")
    return b.activation(x, ACTIVATIONS[name])


class KerasImporter:
    def __init__(self, source):
        self.b = Builder(source)
        self.source = source
        self.unsupported = {}

    # --- the layer graph
    def run_model(self, model, inputs):
        """Lower `model` (Functional or Sequential) applied to tensors `inputs`; its output tensors."""
        import keras

        if isinstance(model, keras.Sequential):
            x = inputs[0]
            for layer in model.layers:
                x = self.call(layer, [x], {})[0]
            return [x]
        cfg = model.get_config()
        values = {}
        for ref, x in zip(_refs(cfg["input_layers"]), inputs):
            values[ref] = x
        pending = [lc for lc in cfg["layers"] if lc["class_name"] != "InputLayer"]
        while pending:  # config order is topological; the retry only guards against one that is not
            left = []
            for lc in pending:
                nodes = lc.get("inbound_nodes") or []
                done = 0
                for ni, node in enumerate(nodes):
                    if (lc["name"], ni, 0) in values:
                        done += 1
                        continue
                    try:
                        args, kwargs = self.resolve(node.get("args", []), values), self.resolve(node.get("kwargs", {}), values)
                    except KeyError:
                        break
                    outs = self.call(_operation(model, lc["name"]), list(args), kwargs)
                    for ti, o in enumerate(outs):
                        values[(lc["name"], ni, ti)] = o
                    done += 1
                if done < len(nodes):
                    left.append(lc)
            if len(left) == len(pending):
                raise ConversionError(f"{self.source}: layers {[lc['name'] for lc in left]} read tensors no layer makes")
            pending = left
        return [values[r] for r in _refs(cfg["output_layers"])]

    def resolve(self, v, values):
        """Config call arguments with Keras tensors replaced by webflow tensor names (shapes checked)."""
        if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
            c = v["config"]
            name = values[tuple(c["keras_history"])]
            self.check_shape(name, c.get("shape"), c["keras_history"][0])
            return name
        if isinstance(v, dict):
            return {k: self.resolve(x, values) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [self.resolve(x, values) for x in v]
        return v

    def check_shape(self, name, want, layer):
        if name is UNKNOWN or want is None or name not in self.b.metas:
            return
        got = self.b.shape(name)
        ok = len(got) == len(want) and all(w is None or (not is_sym(g) and g == w) for g, w in zip(got, want))
        if not ok:
            raise ConversionError(f"{self.source}: internal error: the output of layer {layer!r} has shape {list(got)} "
                                  f"here but {list(want)} in Keras")

    def call(self, layer, args, kwargs):
        import keras

        flat = _flatten(args)
        if isinstance(layer, keras.Model):
            return self.run_model(layer, flat)
        is_layer = isinstance(layer, keras.layers.Layer)
        # keras.ops calls in a functional model are operations, not layers (and share class names with layers)
        kind = type(layer).__name__ if is_layer else f"keras.ops.{type(layer).__name__.lower()}"
        handler = LAYERS.get(kind) if is_layer else OPS.get(type(layer).__name__)
        if any(x is UNKNOWN for x in flat):  # after an unsupported layer: only look for more of them
            if handler is None:
                self.unsupported.setdefault(kind, []).append(layer.name)
            return [UNKNOWN] * 4
        try:
            if handler is None:
                self.unsupported.setdefault(kind, []).append(layer.name)
                return [UNKNOWN] * 4
            if not is_layer:
                out = handler(self.b, layer, list(args), kwargs)
                return out if isinstance(out, list) else [out]
            if kwargs.get("mask") is not None:
                raise UnsupportedError("masking")
            extra = sorted(k for k, v in kwargs.items() if k not in ("mask", "training", *KWARGS.get(kind, ())) and v is not None)
            if extra:
                raise UnsupportedError(f"call argument(s) {', '.join(extra)}")
            x = args[0] if len(args) == 1 else args
            out = handler(self.b, layer, layer.get_config(), x, kwargs)
        except WebflowError as e:
            self.unsupported.setdefault(f"{kind} ({e})", []).append(layer.name)
            return [UNKNOWN] * 4
        return out if isinstance(out, list) else [out]


def _operation(model, name):
    """A layer of the model by name, or a keras.ops operation of its graph."""
    try:
        return model.get_layer(name)
    except ValueError:
        for op in getattr(model, "operations", []):
            if op.name == name:
                return op
        raise ConversionError(f"the model has no layer or operation {name!r}") from None


def _refs(spec):
    """input_layers / output_layers: one [name, node, tensor] or a list of them."""
    if spec and isinstance(spec[0], str):
        spec = [spec]
    return [tuple(s) for s in spec]


def _flatten(v):
    if isinstance(v, (list, tuple)):
        return [y for x in v for y in _flatten(x)]
    if isinstance(v, dict):
        return [y for x in v.values() for y in _flatten(x)]
    return [v]


# --- layers ----------------------------------------------------------------------------------

LAYERS = {}
KWARGS = {}  # layer class -> call arguments (beyond mask and training) its handler reads


def layer(*names):
    def wrap(fn):
        for n in names:
            LAYERS[n] = fn
        return fn
    return wrap


def _ints(b, values):
    return b.const(np.array(values, np.int64), "ints")


def _padding(pad):
    if pad == "same":
        return {"auto_pad": "SAME_UPPER"}  # TF's SAME: the odd pixel at the end
    if pad == "valid":
        return {"auto_pad": "VALID"}
    raise UnsupportedError(f"padding {pad!r}")


def _layout(c):
    return "NCHW" if c.get("data_format") == "channels_first" else "NHWC"


@layer("InputLayer", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
       "AlphaDropout", "ActivityRegularization", "Identity", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
       "RandomContrast", "RandomBrightness", "RandomCrop")
def _identity(b, lay, c, x, kw):
    """Inference-time identities (RandomCrop only when it would not crop: checked by the shape check)."""
    return x


@layer("Conv1D", "Conv2D", "Conv3D")
def _conv(b, lay, c, x, kw):
    k = _weight(lay.kernel)  # [k..., I/groups, O]
    n = k.ndim - 2
    w = k.transpose([n + 1, n] + list(range(n)))
    if c.get("padding") == "causal":
        raise UnsupportedError("causal padding")
    ins = [x, b.const(np.ascontiguousarray(w), f"{lay.name}.kernel")]
    if c.get("use_bias", True):
        ins.append(b.const(_weight(lay.bias), f"{lay.name}.bias"))
    y = b.op("Conv", ins, {"strides": _pair(c["strides"], n), "dilations": _pair(c["dilation_rate"], n),
                           "group": c.get("groups", 1), "layout": _layout(c), **_padding(c["padding"])}, lay.name)
    return _activation(b, y, c.get("activation"))


def _depthwise_weight(k):
    """[kh, kw, C, M] -> [C*M, 1, kh, kw]: output channel c*M + m, as TF orders them."""
    kh, kw, ch, m = k.shape
    return np.ascontiguousarray(k.transpose(2, 3, 0, 1).reshape(ch * m, 1, kh, kw))


@layer("DepthwiseConv2D")
def _depthwise(b, lay, c, x, kw):
    k = _weight(lay.kernel)
    ins = [x, b.const(_depthwise_weight(k), f"{lay.name}.kernel")]
    if c.get("use_bias", True):
        ins.append(b.const(_weight(lay.bias), f"{lay.name}.bias"))
    y = b.op("Conv", ins, {"strides": _pair(c["strides"]), "dilations": _pair(c["dilation_rate"]), "group": k.shape[2],
                           "layout": _layout(c), **_padding(c["padding"])}, lay.name)
    return _activation(b, y, c.get("activation"))


@layer("SeparableConv2D")
def _separable(b, lay, c, x, kw):
    k = _weight(lay.depthwise_kernel)
    y = b.op("Conv", [x, b.const(_depthwise_weight(k), f"{lay.name}.depthwise")],
             {"strides": _pair(c["strides"]), "dilations": _pair(c["dilation_rate"]), "group": k.shape[2], "layout": _layout(c),
              **_padding(c["padding"])}, f"{lay.name}_depthwise")
    p = _weight(lay.pointwise_kernel)  # [1, 1, C*M, O]
    ins = [y, b.const(np.ascontiguousarray(p.transpose(3, 2, 0, 1)), f"{lay.name}.pointwise")]
    if c.get("use_bias", True):
        ins.append(b.const(_weight(lay.bias), f"{lay.name}.bias"))
    return _activation(b, b.op("Conv", ins, {"layout": _layout(c)}, lay.name), c.get("activation"))


@layer("Dense")
def _dense(b, lay, c, x, kw):
    if getattr(lay, "quantization_mode", None):
        raise UnsupportedError(f"quantized ({lay.quantization_mode})")
    y = b.op("MatMul", [x, b.const(_weight(lay.kernel), f"{lay.name}.kernel")], name=lay.name)
    if c.get("use_bias", True):
        y = b.op("Add", [y, b.const(_weight(lay.bias), f"{lay.name}.bias")], name=lay.name)
    return _activation(b, y, c.get("activation"))


@layer("BatchNormalization")
def _batchnorm(b, lay, c, x, kw):
    mean, var = _weight(lay.moving_mean), _weight(lay.moving_variance)
    gamma = _weight(lay.gamma) if c.get("scale", True) else np.ones_like(mean)
    beta = _weight(lay.beta) if c.get("center", True) else np.zeros_like(mean)
    s = gamma / np.sqrt(var + np.float32(c["epsilon"]))
    axis = c["axis"]
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise UnsupportedError(f"axis={axis}")
        axis = axis[0]
    return channel_affine(b, x, b.const(s.astype(np.float32), f"{lay.name}.scale"),
                          b.const((beta - mean * s).astype(np.float32), f"{lay.name}.shift"), axis, lay.name)


@layer("LayerNormalization")
def _layernorm(b, lay, c, x, kw):
    axis = c["axis"]
    axes = sorted(a % b.rank(x) for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    if axes != list(range(axes[0], b.rank(x))) or c.get("rms_scaling"):
        raise UnsupportedError(f"axis={axis}" if not c.get("rms_scaling") else "rms_scaling")
    width = [b.shape(x)[a] for a in axes]
    gamma = _weight(lay.gamma) if c.get("scale", True) else np.ones(width, np.float32)
    beta = _weight(lay.beta) if c.get("center", True) else np.zeros(width, np.float32)
    return b.op("LayerNormalization", [x, b.const(gamma.reshape(width), f"{lay.name}.gamma"), b.const(beta.reshape(width), f"{lay.name}.beta")],
                {"axis": axes[0], "epsilon": float(c["epsilon"])}, lay.name)


@layer("Activation")
def _activation_layer(b, lay, c, x, kw):
    return _activation(b, x, c["activation"])


@layer("ReLU")
def _relu(b, lay, c, x, kw):
    if c.get("negative_slope") or c.get("threshold"):
        raise UnsupportedError("negative_slope / threshold")
    m = c.get("max_value")
    return b.activation(x, {"op": "Relu"} if m is None else {"op": "Clip", "min": 0.0, "max": float(m)})


@layer("LeakyReLU")
def _leaky(b, lay, c, x, kw):
    return b.op("LeakyRelu", [x], {"alpha": float(c.get("negative_slope", 0.3))}, lay.name)


@layer("ELU")
def _elu(b, lay, c, x, kw):
    return b.op("Elu", [x], {"alpha": float(c.get("alpha", 1.0))}, lay.name)


@layer("Softmax")
def _softmax(b, lay, c, x, kw):
    axis = c.get("axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise UnsupportedError(f"axis={axis}")
        axis = axis[0]
    return b.op("Softmax", [x], {"axis": axis}, lay.name)


@layer("PReLU")
def _prelu(b, lay, c, x, kw):
    return b.op("PRelu", [x, b.const(_weight(lay.alpha), f"{lay.name}.alpha")], name=lay.name)


@layer("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
def _pool(b, lay, c, x, kw):
    n = b.rank(x) - 2
    size = _pair(c["pool_size"], n)
    strides = _pair(c.get("strides") or c["pool_size"], n)
    op = "MaxPool" if type(lay).__name__.startswith("Max") else "AveragePool"
    return b.op(op, [x], {"kernel_shape": size, "strides": strides, "layout": _layout(c), **_padding(c["padding"])}, lay.name)


@layer("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling1D",
       "GlobalMaxPooling2D", "GlobalMaxPooling3D")
def _global_pool(b, lay, c, x, kw):
    rank = b.rank(x)
    nhwc = _layout(c) == "NHWC"
    op = "GlobalAveragePool" if "Average" in type(lay).__name__ else "GlobalMaxPool"
    y = b.op(op, [x], {"layout": "NHWC" if nhwc else "NCHW"}, lay.name)  # spatial dims kept as 1s
    if c.get("keepdims"):
        return y
    axes = list(range(1, rank - 1)) if nhwc else list(range(2, rank))
    return b.op("Squeeze", [y, _ints(b, axes)], name=lay.name)


@layer("Flatten")
def _flatten_layer(b, lay, c, x, kw):
    if b.rank(x) == 2:
        return x
    if _layout(c) == "NCHW":  # Keras flattens channels_first tensors in channels-last order
        x = b.op("Transpose", [x], {"perm": [0] + list(range(2, b.rank(x))) + [1]}, lay.name)
    return b.op("Flatten", [x], {"axis": 1}, lay.name)


@layer("Reshape")
def _reshape(b, lay, c, x, kw):
    return b.op("Reshape", [x, _ints(b, [0] + list(c["target_shape"]))], name=lay.name)


@layer("Permute")
def _permute(b, lay, c, x, kw):
    return b.op("Transpose", [x], {"perm": [0] + list(c["dims"])}, lay.name)


@layer("RepeatVector")
def _repeat(b, lay, c, x, kw):
    y = b.op("Unsqueeze", [x, _ints(b, [1])], name=lay.name)
    return b.op("Tile", [y, _ints(b, [1, c["n"], 1])], name=lay.name)


def _merge(op):
    def handler(b, lay, c, xs, kw):
        y = xs[0]
        for x in xs[1:]:
            y = b.op(op, [y, x], name=lay.name)
        return y
    return handler


LAYERS.update({"Add": _merge("Add"), "Multiply": _merge("Mul"), "Maximum": _merge("Max"), "Minimum": _merge("Min")})


@layer("Subtract")
def _subtract(b, lay, c, xs, kw):
    return b.op("Sub", xs, name=lay.name)


@layer("Average")
def _average(b, lay, c, xs, kw):
    return b.op("Mul", [_merge("Add")(b, lay, c, xs, kw), b.const(np.array(1 / len(xs), np.float32), "scale")], name=lay.name)


@layer("Concatenate")
def _concat(b, lay, c, xs, kw):
    return b.concat(list(xs), c.get("axis", -1), lay.name)


@layer("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def _zero_pad(b, lay, c, x, kw):
    n = b.rank(x) - 2
    p = c["padding"]
    pairs = [_pair(p)] if n == 1 else [_pair(v) for v in p]
    zero = [0, 0]
    pairs = [zero] + pairs + [zero] if _layout(c) == "NHWC" else [zero, zero] + pairs
    return b.op("Pad", [x, _ints(b, [q[0] for q in pairs] + [q[1] for q in pairs])], name=lay.name)


@layer("Cropping1D", "Cropping2D")
def _crop(b, lay, c, x, kw):
    n = b.rank(x) - 2
    p = c["cropping"]
    pairs = [_pair(v) for v in (p if n > 1 else [p])]
    axes = list(range(1, 1 + n)) if _layout(c) == "NHWC" else list(range(2, 2 + n))
    shape = b.shape(x)
    ends = [shape[a] - q[1] if q[1] else 2**63 - 1 for a, q in zip(axes, pairs)]
    return b.op("Slice", [x, _ints(b, [q[0] for q in pairs]), _ints(b, ends), _ints(b, axes)], name=lay.name)


@layer("UpSampling2D")
def _upsample(b, lay, c, x, kw):
    if c.get("interpolation", "nearest") != "nearest":
        raise UnsupportedError(f"interpolation {c['interpolation']!r}")
    sh, sw = _pair(c["size"])
    scales = [1.0, float(sh), float(sw), 1.0] if _layout(c) == "NHWC" else [1.0, 1.0, float(sh), float(sw)]
    return b.op("Resize", [x, "", b.const(np.array(scales, np.float32), "scales")],
                {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, lay.name)


@layer("Rescaling")
def _rescaling(b, lay, c, x, kw):
    y = b.op("Mul", [x, b.const(np.asarray(c["scale"], np.float32), f"{lay.name}.scale")], name=lay.name)
    return b.op("Add", [y, b.const(np.asarray(c["offset"], np.float32), f"{lay.name}.offset")], name=lay.name)


@layer("Normalization")
def _normalization(b, lay, c, x, kw):
    if c.get("invert"):
        raise UnsupportedError("invert=True")
    mean, var = _weight(lay.mean), _weight(lay.variance)
    s = 1 / np.maximum(np.sqrt(var), 1e-7)  # as Keras: (x - mean) / max(sqrt(var), epsilon)
    y = b.op("Mul", [x, b.const(s.astype(np.float32), f"{lay.name}.scale")], name=lay.name)
    return b.op("Add", [y, b.const((-mean * s).astype(np.float32), f"{lay.name}.shift")], name=lay.name)


@layer("Embedding")
def _embedding(b, lay, c, x, kw):
    if c.get("mask_zero"):
        raise UnsupportedError("mask_zero=True")
    idx = x if b.dtype(x) in ("int32", "int64") else b.op("Cast", [x], {"to": "int64"})
    return b.op("Gather", [b.const(_weight(lay.embeddings), f"{lay.name}.embeddings"), idx], {"axis": 0}, lay.name)


# --- recurrent layers

def _rnn_weights(kind, cell, cfg):
    """(W [G*H, I], R [G*H, H], B [2*G*H]) in ONNX's gate order, and op attributes."""
    k, r = _weight(cell.kernel), _weight(cell.recurrent_kernel)
    h = r.shape[0]
    gates = k.shape[1] // h
    bias = _weight(cell.bias) if cfg.get("use_bias", True) else np.zeros(2 * gates * h if kind == "GRU" and cfg.get("reset_after", True) else gates * h, np.float32)
    attrs = {"hidden_size": h, "layout": 1}
    if kind == "LSTM":
        order = [0, 3, 1, 2]  # Keras [i f c o] -> ONNX [i o f c]
        acts = [cfg["recurrent_activation"], cfg["activation"], cfg["activation"]]
    elif kind == "GRU":
        order = [0, 1, 2]  # z r h in both
        acts = [cfg["recurrent_activation"], cfg["activation"]]
        attrs["linear_before_reset"] = int(bool(cfg.get("reset_after", True)))
    else:
        order, acts = [0], [cfg["activation"]]
    pick = lambda a: np.concatenate([a[..., g * h:(g + 1) * h] for g in order], axis=-1)  # noqa: E731
    w, rr = pick(k).T, pick(r).T
    if kind == "GRU" and attrs["linear_before_reset"]:
        bias = bias.reshape(2, -1)
        b = np.concatenate([pick(bias[0]), pick(bias[1])])  # input bias, recurrent bias
    else:
        b = np.concatenate([pick(bias.reshape(-1)), np.zeros(gates * h, np.float32)])
    names = [_act_name(a) for a in acts]
    if any(n not in RNN_ACTIVATIONS for n in names):
        raise UnsupportedError(f"activation {[n for n in names if n not in RNN_ACTIVATIONS][0]!r}")
    defaults = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"], "SimpleRNN": ["tanh"]}[kind]
    if names != defaults:
        spec = [RNN_ACTIVATIONS[n] for n in names]
        attrs["activations"] = [s[0] for s in spec]
        alphas, betas = [s[1] for s in spec if s[1] is not None], [s[2] for s in spec if s[2] is not None]
        if alphas:
            attrs["activation_alpha"] = alphas
        if betas:
            attrs["activation_beta"] = betas
    return w.astype(np.float32), rr.astype(np.float32), b.astype(np.float32), attrs


def _check_rnn(c):
    if c.get("stateful"):
        raise UnsupportedError("stateful=True")


def _recurrent(b, name, kind, cells, cfg, x, direction, initial=None):
    """One ONNX recurrent op over [N, T, I] (layout=1) for one or two cells (bidirectional)."""
    parts = [_rnn_weights(kind, cell, cfg) for cell in cells]
    attrs = dict(parts[0][3], direction=direction)
    w, r, bias = (b.const(np.stack([p[i] for p in parts]), f"{name}.{t}") for i, t in enumerate("WRB"))
    op = {"SimpleRNN": "RNN"}.get(kind, kind)
    n_out = 3 if op == "LSTM" else 2
    ins = [x, w, r, bias] + (["", *initial] if initial else [])
    return b.op(op, ins, attrs, name, n_out=n_out)


def _initial_states(b, kw):
    """Keras initial_state [N, H] tensors -> ONNX layout=1 states [N, 1, H]."""
    states = kw.get("initial_state")
    if states is None:
        return None
    states = states if isinstance(states, list) else [states]
    return [b.op("Unsqueeze", [s, _ints(b, [1])]) for s in states]


@layer("GRU", "LSTM", "SimpleRNN")
def _rnn(b, lay, c, x, kw):
    _check_rnn(c)
    kind = type(lay).__name__
    outs = _recurrent(b, lay.name, kind, [lay.cell], c, x, "reverse" if c.get("go_backwards") else "forward",
                      _initial_states(b, kw))
    y, states = outs[0], outs[1:]
    if c.get("return_sequences"):
        out = b.op("Squeeze", [y, _ints(b, [2])], name=lay.name)  # [N, T, 1, H] -> [N, T, H]
        if c.get("go_backwards"):  # Keras lists the outputs in the order it walked the steps
            out = b.op("Slice", [out, _ints(b, [-1]), _ints(b, [-(2**63)]), _ints(b, [1]), _ints(b, [-1])], name=lay.name)
    else:
        out = b.op("Squeeze", [states[0], _ints(b, [1])], name=lay.name)  # [N, 1, H] -> [N, H]
    if not c.get("return_state"):
        return out
    return [out] + [b.op("Squeeze", [s, _ints(b, [1])], name=f"{lay.name}_state") for s in states]


KWARGS.update({k: ("initial_state",) for k in ("GRU", "LSTM", "SimpleRNN")})


@layer("Bidirectional")
def _bidirectional(b, lay, c, x, kw):
    fw, bw = lay.forward_layer, lay.backward_layer
    fc, bc = fw.get_config(), bw.get_config()
    kind = type(fw).__name__
    if kind not in ("GRU", "LSTM", "SimpleRNN") or type(bw).__name__ != kind:
        raise UnsupportedError(f"Bidirectional over {kind}")
    _check_rnn(fc)
    if fc.get("go_backwards") or not bc.get("go_backwards") or fc.get("return_state"):
        raise UnsupportedError("go_backwards on the forward layer / return_state")
    for key in ("units", "activation", "recurrent_activation", "use_bias", "reset_after", "return_sequences"):
        if fc.get(key) != bc.get(key):
            raise UnsupportedError(f"forward and backward layers differ in {key}")
    y, yh = _recurrent(b, lay.name, kind, [fw.cell, bw.cell], fc, x, "bidirectional")[:2]
    mode = c.get("merge_mode", "concat")
    seq = fc.get("return_sequences")
    # Y [N, T, 2, H] (the backward outputs already aligned with time, as Keras aligns them); Y_h [N, 2, H]
    t = y if seq else yh
    axis = 2 if seq else 1
    if mode == "concat":
        shape = [0, 0, -1] if seq else [0, -1]
        return b.op("Reshape", [t, _ints(b, shape)], name=lay.name)
    if mode in ("sum", "ave", "mul"):
        op = {"sum": "ReduceSum", "ave": "ReduceMean", "mul": "ReduceProd"}[mode]
        return b.op(op, [t, _ints(b, [axis])], {"keepdims": 0}, lay.name)
    raise UnsupportedError(f"merge_mode={mode!r}")


# --- keras.ops operations in a functional graph: handler(b, op, args, kwargs), args with
# tensors as names and Python numbers as they are

OPS = {}
OPS_UNARY = {"Tanh": "Tanh", "Sigmoid": "Sigmoid", "Relu": "Relu", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Abs": "Abs",
             "Absolute": "Abs", "Negative": "Neg", "Sin": "Sin", "Cos": "Cos", "Erf": "Erf", "Floor": "Floor", "Ceil": "Ceil",
             "Sign": "Sign", "Softplus": "Softplus", "Softsign": "Softsign", "Reciprocal": "Reciprocal"}
OPS_BINARY = {"Add": "Add", "Subtract": "Sub", "Multiply": "Mul", "Divide": "Div", "TrueDivide": "Div", "Maximum": "Max",
              "Minimum": "Min", "Power": "Pow", "Matmul": "MatMul"}
OPS_REDUCE = {"Mean": "ReduceMean", "Sum": "ReduceSum", "Max": "ReduceMax", "Min": "ReduceMin", "Prod": "ReduceProd"}


def _operand(b, v, like):
    """A call argument as a tensor: a Python number becomes a constant of `like`'s dtype."""
    return v if isinstance(v, str) else b.const(np.asarray(v, b.dtype(like)), "scalar")


def _op_unary(name):
    return lambda b, op, args, kw: b.op(name, [args[0]], name=op.name)


def _op_binary(name):
    def handler(b, op, args, kw):
        like = next(a for a in args[:2] if isinstance(a, str))
        return b.op(name, [_operand(b, a, like) for a in args[:2]], name=op.name)
    return handler


def _op_reduce(name):
    def handler(b, op, args, kw):
        axis = getattr(op, "axis", None)
        axes = list(range(b.rank(args[0]))) if axis is None else list(axis) if isinstance(axis, (list, tuple)) else [axis]
        return b.op(name, [args[0], _ints(b, axes)], {"keepdims": int(bool(getattr(op, "keepdims", False)))}, op.name)
    return handler


OPS.update({k: _op_unary(v) for k, v in OPS_UNARY.items()})
OPS.update({k: _op_binary(v) for k, v in OPS_BINARY.items()})
OPS.update({k: _op_reduce(v) for k, v in OPS_REDUCE.items()})
OPS.update({
    "Square": lambda b, op, args, kw: b.op("Mul", [args[0], args[0]], name=op.name),
    "Silu": lambda b, op, args, kw: b.activation(args[0], {"op": "Silu"}),
    "Gelu": lambda b, op, args, kw: b.op("Gelu", [args[0]], {"approximate": "tanh" if getattr(op, "approximate", True) else "none"}, op.name),
    "Softmax": lambda b, op, args, kw: b.op("Softmax", [args[0]], {"axis": getattr(op, "axis", -1)}, op.name),
    "Reshape": lambda b, op, args, kw: b.op("Reshape", [args[0], _ints(b, [-1 if d is None else d for d in op.newshape])], name=op.name),
    "Transpose": lambda b, op, args, kw: b.op("Transpose", [args[0]], {"perm": None if op.axes is None else list(op.axes)}, op.name),
    "Concatenate": lambda b, op, args, kw: b.concat(list(args[0]), getattr(op, "axis", 0), op.name),
    "ExpandDims": lambda b, op, args, kw: b.op("Unsqueeze", [args[0], _ints(b, [op.axis])], name=op.name),
    "Squeeze": lambda b, op, args, kw: b.op("Squeeze", [args[0]] + ([] if op.axis is None else [_ints(b, list(op.axis) if isinstance(op.axis, (list, tuple)) else [op.axis])]), name=op.name),
})


# --- the file ---------------------------------------------------------------------------------

def accepts(path):
    return str(path).endswith(".keras")


def load(path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError:
        raise ConversionError(f"{path}: converting a .keras model needs the keras package") from None
    try:
        return keras, keras.saving.load_model(str(path), compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - Keras raises many kinds
        raise ConversionError(f"{path}: Keras cannot load this model: {type(e).__name__}: {e}") from None


def output_names(model):
    import keras

    names = getattr(model, "output_names", None)
    n = len(model.outputs)
    if not names or len(names) != n:
        last = model.layers[-1].name if isinstance(model, keras.Sequential) else model.name
        names = [last] if n == 1 else [f"{last}_{i}" for i in range(n)]
    return list(names)


def import_file(path, log=print):
    keras, model = load(path)
    if not getattr(model, "inputs", None):
        raise ConversionError(f"{path}: the model has no known input shape (give it a keras.Input and save it again)")
    imp = KerasImporter(path)
    inputs = []
    for t in model.inputs:
        inputs.append(imp.b.add_input(t.name, str(t.dtype), input_dims(t.name, t.shape)))
    outs = imp.run_model(model, inputs)
    check_unsupported(path, imp.unsupported, "layer")
    result = list(zip(output_names(model), outs))
    for (name, t), kt in zip(result, model.outputs):
        imp.check_shape(t, list(kt.shape), name)
    fold_affine(imp.b, keep={t for _, t in result})
    graph = imp.b.finish(result)
    log(f"  keras {keras.__version__}: {len(model.layers)} layers")
    return graph, {"source_format": FORMAT, "source_producer": f"keras {keras.__version__}"}
