"""The benchmark models in the peers' formats, made with the peers' own converters.

    .venv/bin/python bench/peer_models.py onnx SRC.tflite OUT.onnx
    .venv/bin/python bench/peer_models.py tfjs SRC.tflite|SRC.onnx OUT_DIR

- ONNX for ONNX Runtime Web: an ONNX source is used as it is (run.py embeds its external
  weights); a TFLite one goes through tf2onnx 1.16.1 (`--tflite`), the standard converter.
- TF.js graph model: TensorFlow imports neither TFLite nor ONNX, so the source graph is rebuilt
  op for op as a TensorFlow function, NHWC (TF.js's layout; the same float weights, the same
  padding, activations as TF ops), saved as a SavedModel and converted by tensorflowjs 4.22's
  converter, as any TF model bound for TF.js is: its graph optimizer folds and fuses the usual
  way (conv + bias + relu6 -> _FusedConv2D / FusedDepthwiseConv2dNative, matmul + bias ->
  _FusedMatMul).
Every result is checked against the source's reference runtime (LiteRT for TFLite, onnxruntime
for ONNX) on the same input before use; the conversion fails otherwise.

The converters are not installed into the venv (their pins conflict with its numpy 2 and
TensorFlow): `ensure_tools()` installs them with `pip --no-deps --target` under
.cache/peer_tools/, and each conversion runs in its own process with that folder on sys.path,
plus two shims: numpy 2 has no `np.cast` (tf2onnx's constant folding uses it), and the
tensorflowjs converter imports modules it needs only for other model kinds (TF-DF, TF Hub, JAX).
"""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, ".cache", "peer_tools")
# folder -> pinned packages (the converters only; what they import is in the venv already)
PINS = {"tf2onnx": ["tf2onnx==1.16.1"], "tfjs": ["tensorflowjs==4.22.0", "tf_keras=={tf}"]}


def _version(*dists):
    for d in dists:
        try:
            return importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            pass
    raise SystemExit(f"none of {', '.join(dists)} is installed in this Python")


def ensure_tools(log=print):
    tf = _version("tensorflow_cpu", "tensorflow")
    for folder, pins in PINS.items():
        dest = os.path.join(TOOLS, folder)
        pins = [p.format(tf=tf) for p in pins]
        stamp = os.path.join(dest, ".pins")
        if os.path.exists(stamp) and open(stamp).read() == " ".join(pins):
            continue
        log(f"  installing {' '.join(pins)} into {os.path.relpath(dest, ROOT)}/ (--no-deps, not into the venv)")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--upgrade", "--target", dest, *pins],
                       check=True)
        with open(stamp, "w") as f:
            f.write(" ".join(pins))


def convert(kind, src, out, log=print):
    """Run one conversion ("onnx" or "tfjs") in a subprocess: TensorFlow and the shims stay out
    of the caller."""
    ensure_tools(log)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    p = subprocess.run([sys.executable, os.path.abspath(__file__), kind, src, out], env=env, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{kind} from {src} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    log("  " + p.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- sources and their references

class _Source:
    """A model file: its input, a test input, and the reference runtime's outputs."""

    def __init__(self, path):
        self.path = path
        self.tflite = path.endswith(".tflite")

    def input(self):
        """(name, test input in the source's layout)"""
        if self.tflite:
            from ai_edge_litert.interpreter import Interpreter

            d = Interpreter(self.path).get_input_details()[0]
            return d["name"], np.random.RandomState(0).rand(*d["shape"]).astype(np.float32)
        import onnx

        i = onnx.load(self.path, load_external_data=False).graph.input[0]
        shape = [d.dim_value or 1 for d in i.type.tensor_type.shape.dim]
        return i.name, np.random.RandomState(0).randn(*shape).astype(np.float32)

    def reference(self, x):
        if self.tflite:
            from ai_edge_litert.interpreter import Interpreter

            it = Interpreter(self.path)
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            return {o["name"]: it.get_tensor(o["index"]).copy() for o in it.get_output_details()}
        return _onnxruntime(self.path, x)


def _onnxruntime(path, x):
    import onnxruntime

    sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {sess.get_inputs()[0].name: x})))


def _check(what, got, ref):
    worst = 0.0
    for k, r in ref.items():
        worst = max(worst, float(np.abs(np.asarray(got[k], np.float32) - r).max()) / max(float(np.abs(r).max()), 1e-6))
    if worst > 1e-3:
        raise SystemExit(f"{what}: outputs differ from the reference's (relative error {worst:.2e})")
    return worst


# ---------------------------------------------------------------- source graphs as TF functions

def _tf_from_tflite(path):
    """The TFLite graph (first subgraph) as a function of TF ops, NHWC as TFLite holds it."""
    import tensorflow as tf
    import tflite

    buf = open(path, "rb").read()
    m = tflite.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)
    codes = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    ttypes = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16, tflite.TensorType.INT32: np.int32}
    names, shapes, c = {}, {}, {}
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        names[i], shapes[i] = t.Name().decode(), [int(d) for d in t.ShapeAsNumpy()]
        data = m.Buffers(t.Buffer()).DataAsNumpy()
        if not isinstance(data, int) and data.size:
            c[i] = np.frombuffer(data.tobytes(), ttypes[t.Type()]).reshape(shapes[i])
    ops = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        kind = codes[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins = [op.Inputs(j) for j in range(op.InputsLength())]
        outs = [op.Outputs(j) for j in range(op.OutputsLength())]
        if kind == "DEQUANTIZE" and ins[0] in c:  # float16 weights: float32 constants
            c[outs[0]] = c[ins[0]].astype(np.float32)
        else:
            ops.append((kind, ins, outs, op.BuiltinOptions()))

    def options(cls, table):
        o = getattr(tflite, cls)()
        o.Init(table.Bytes, table.Pos)
        return o

    pads = {0: "SAME", 1: "VALID"}
    acts = {0: lambda x: x, 1: tf.nn.relu, 3: tf.nn.relu6, 4: tf.tanh}
    inp, outputs = g.Inputs(0), [g.Outputs(j) for j in range(g.OutputsLength())]

    def run(x):
        env = {inp: x}
        val = lambda i: env[i] if i in env else tf.constant(c[i])  # noqa: E731
        bias = lambda y, ins: tf.nn.bias_add(y, c[ins[2]]) if len(ins) > 2 and ins[2] >= 0 else y  # noqa: E731
        for kind, ins, outs, opt in ops:
            if kind == "CONV_2D":
                o = options("Conv2DOptions", opt)
                y = tf.nn.conv2d(val(ins[0]), c[ins[1]].transpose(1, 2, 3, 0), [1, o.StrideH(), o.StrideW(), 1],
                                 pads[o.Padding()], dilations=[1, o.DilationHFactor(), o.DilationWFactor(), 1])
                y = acts[o.FusedActivationFunction()](bias(y, ins))
            elif kind == "DEPTHWISE_CONV_2D":
                o = options("DepthwiseConv2DOptions", opt)
                w, cin = c[ins[1]], shapes[ins[0]][3]  # [1, H, W, C*M] -> [H, W, C, M]
                w = w.reshape(w.shape[1], w.shape[2], cin, w.shape[3] // cin)
                y = tf.nn.depthwise_conv2d(val(ins[0]), w, [1, o.StrideH(), o.StrideW(), 1], pads[o.Padding()],
                                           dilations=[o.DilationHFactor(), o.DilationWFactor()])
                y = acts[o.FusedActivationFunction()](bias(y, ins))
            elif kind == "ADD":
                y = acts[options("AddOptions", opt).FusedActivationFunction()](tf.add(val(ins[0]), val(ins[1])))
            elif kind == "MAX_POOL_2D":
                o = options("Pool2DOptions", opt)
                y = tf.nn.max_pool2d(val(ins[0]), [o.FilterHeight(), o.FilterWidth()], [o.StrideH(), o.StrideW()], pads[o.Padding()])
                y = acts[o.FusedActivationFunction()](y)
            elif kind == "MEAN":
                y = tf.reduce_mean(val(ins[0]), axis=[int(a) for a in c[ins[1]].reshape(-1)],
                                   keepdims=bool(options("ReducerOptions", opt).KeepDims()))
            elif kind == "FULLY_CONNECTED":
                o = options("FullyConnectedOptions", opt)
                w = c[ins[1]]  # [out, in]
                y = tf.matmul(tf.reshape(val(ins[0]), [-1, w.shape[1]]), np.ascontiguousarray(w.T))
                y = acts[o.FusedActivationFunction()](bias(y, ins))
            elif kind == "LOGISTIC":
                y = tf.sigmoid(val(ins[0]))
            else:
                raise SystemExit(f"TFLite op {kind} has no TensorFlow mapping in bench/peer_models.py yet")
            env[outs[0]] = y
        return {names[i]: tf.identity(env[i], name=names[i]) for i in outputs}

    return run, names[inp], shapes[inp], lambda x: x  # the source's input layout is TF's


def _tf_from_onnx(path):
    """The ONNX graph as a function of TF ops, with 4-D tensors NHWC (the function's input is
    the source's NCHW input transposed once, by the caller: TF.js feeds NHWC)."""
    import onnx
    import tensorflow as tf
    from onnx import numpy_helper

    model = onnx.load(path)
    g = model.graph
    c = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            c[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    attrs = lambda n: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}  # noqa: E731
    nhwc_axis = {0: 0, 1: 3, 2: 1, 3: 2}
    inp = g.input[0]
    nchw = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]

    def run(x):
        env = {inp.name: x}
        val = lambda k: env[k] if k in env else tf.constant(c[k])  # noqa: E731
        for n in g.node:
            a, op = attrs(n), n.op_type
            if op == "Constant":
                continue
            if op == "Conv":
                x4, w = val(n.input[0]), c[n.input[1]]  # w: [O, I/group, kh, kw]
                group, (kh, kw) = a.get("group", 1), w.shape[2:]
                s = a.get("strides", [1, 1])
                d = a.get("dilations", [1, 1])
                p = a.get("pads", [0, 0, 0, 0])
                size = x4.shape[1:3]
                same = [max((-(-size[i] // s[i]) - 1) * s[i] + (k - 1) * d[i] + 1 - size[i], 0) for i, k in enumerate((kh, kw))]
                if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                    raise SystemExit("Conv auto_pad: not mapped in bench/peer_models.py yet")
                if not any(p):
                    pad = "VALID"
                elif [p[0], p[1], p[2], p[3]] == [same[0] // 2, same[1] // 2, same[0] - same[0] // 2, same[1] - same[1] // 2]:
                    pad = "SAME"
                else:
                    pad = [[0, 0], [p[0], p[2]], [p[1], p[3]], [0, 0]]
                cin = x4.shape[3]
                if group == 1:
                    y = tf.nn.conv2d(x4, w.transpose(2, 3, 1, 0), [1, *s, 1], pad, dilations=[1, *d, 1])
                elif group == cin and w.shape[1] == 1:  # depthwise, multiplier O / C
                    wt = w.reshape(cin, w.shape[0] // cin, kh, kw).transpose(2, 3, 0, 1)
                    if isinstance(pad, list):  # TF's depthwise has no explicit padding: pad, then VALID
                        x4, pad = tf.pad(x4, pad), "VALID"
                    y = tf.nn.depthwise_conv2d(x4, wt, [1, *s, 1], pad, dilations=d)
                else:
                    raise SystemExit(f"grouped Conv (group {group}) is not mapped in bench/peer_models.py yet")
                y = tf.nn.bias_add(y, c[n.input[2]]) if len(n.input) > 2 and n.input[2] else y
            elif op == "Clip":
                lo, hi = (float(c[k]) if len(n.input) > i and n.input[i] else None for i, k in ((1, n.input[1] if len(n.input) > 1 else ""),
                                                                                                 (2, n.input[2] if len(n.input) > 2 else "")))
                lo, hi = a.get("min", lo), a.get("max", hi)
                y = tf.nn.relu6(val(n.input[0])) if (lo, hi) == (0.0, 6.0) else tf.clip_by_value(val(n.input[0]), lo, hi)
            elif op == "Relu":
                y = tf.nn.relu(val(n.input[0]))
            elif op == "Sigmoid":
                y = tf.sigmoid(val(n.input[0]))
            elif op == "Add":
                y = tf.add(val(n.input[0]), val(n.input[1]))
            elif op in ("ReduceMean", "GlobalAveragePool"):
                t = val(n.input[0])
                axes = [2, 3] if op == "GlobalAveragePool" else (
                    list(c[n.input[1]]) if len(n.input) > 1 else a["axes"])
                if len(t.shape) == 4:
                    axes = [nhwc_axis[int(ax) % 4] for ax in axes]
                y = tf.reduce_mean(t, axis=axes, keepdims=bool(a.get("keepdims", 1)))
            elif op in ("Reshape", "Flatten"):
                t = val(n.input[0])
                if len(t.shape) == 4 and (t.shape[1], t.shape[2]) != (1, 1):
                    raise SystemExit(f"{op} of an NHWC tensor with spatial size {t.shape[1:3]} is not mapped yet")
                shape = [-1, int(np.prod(t.shape[1:]))] if op == "Flatten" else [int(v) for v in c[n.input[1]]]
                y = tf.reshape(t, [-1 if i == 0 else v for i, v in enumerate(shape)])
            elif op == "Gemm":
                if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                    raise SystemExit("Gemm with transA/alpha/beta is not mapped yet")
                w = c[n.input[1]]
                y = tf.matmul(val(n.input[0]), np.ascontiguousarray(w.T if a.get("transB", 0) else w))
                y = tf.nn.bias_add(y, c[n.input[2]]) if len(n.input) > 2 and n.input[2] else y
            else:
                raise SystemExit(f"ONNX op {op} has no TensorFlow mapping in bench/peer_models.py yet")
            env[n.output[0]] = y
        return {o.name: tf.identity(env[o.name], name=o.name) for o in g.output}

    return run, inp.name, [nchw[0], nchw[2], nchw[3], nchw[1]], lambda x: x.transpose(0, 2, 3, 1)


def tfjs(src, out_dir):
    import tensorflow as tf

    sys.path.insert(0, os.path.join(TOOLS, "tfjs"))
    for name in ("tensorflow_decision_forests", "tensorflow_hub", "tensorflowjs.converters.jax_conversion"):
        sys.modules[name] = types.ModuleType(name)  # imported by the converter for TF-DF, TF Hub and JAX models only
    sys.modules["tensorflowjs.converters.jax_conversion"].convert_jax = None
    from tensorflowjs.converters import tf_saved_model_conversion_v2 as converter

    source = _Source(src)
    run, name, shape, to_tf = (_tf_from_tflite if source.tflite else _tf_from_onnx)(src)
    fn = tf.function(run, input_signature=[tf.TensorSpec(shape, tf.float32, name=name)])
    _, x = source.input()
    err = _check("TensorFlow rebuild", {k: v.numpy() for k, v in fn(tf.constant(to_tf(x))).items()}, source.reference(x))
    module = tf.Module()
    module.run = fn
    saved = tempfile.mkdtemp(prefix="saved_model-")
    try:
        tf.saved_model.save(module, saved, signatures={"serving_default": fn})
        shutil.rmtree(out_dir, ignore_errors=True)
        converter.convert_tf_saved_model(saved, out_dir, signature_def="serving_default", saved_model_tags="serve")
    finally:
        shutil.rmtree(saved, ignore_errors=True)
    print(f"wrote {out_dir} (tensorflowjs {_version('tensorflowjs')} from a TF rebuild of {os.path.basename(src)}; "
          f"vs reference: rel. error {err:.1e})")


def onnx_from_tflite(src, out):
    class _Cast:  # numpy 2 removed np.cast, which tf2onnx's constant folding still uses
        def __getitem__(self, dtype):
            return lambda x: np.asarray(x, dtype=dtype)

    np.cast = _Cast()
    sys.path.insert(0, os.path.join(TOOLS, "tf2onnx"))
    from tf2onnx import convert as tf2onnx_convert

    sys.argv = ["tf2onnx", "--tflite", src, "--output", out, "--opset", "17"]
    tf2onnx_convert.main()
    source = _Source(src)
    _, x = source.input()
    err = _check("tf2onnx", _onnxruntime(out, x), source.reference(x))
    print(f"wrote {out} (tf2onnx {_version('tf2onnx')} --tflite; vs LiteRT: rel. error {err:.1e})")


if __name__ == "__main__":
    ensure_tools(lambda *a: None)  # run by hand: install the converters first
    sys.path.insert(0, os.path.join(TOOLS, "tfjs"))  # for _version("tensorflowjs") / ("tf2onnx")
    sys.path.insert(0, os.path.join(TOOLS, "tf2onnx"))
    kind, src, out = sys.argv[1:4]
    {"onnx": onnx_from_tflite, "tfjs": tfjs}[kind](src, out)
