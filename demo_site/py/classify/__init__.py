"""The image classifier's Python: the page runs it in Pyodide (no numpy there), the tests in
CPython, so the preprocessing parameters and the top-5 are defined once.

EfficientNet-Lite0's weights were trained (TensorFlow's reference pipeline) on RGB pixels in
0..255 mapped to (pixel - 127) / 128, evaluated on a centre crop of 224/256 of the image's short
side resized to 224 x 224 (examples/efficientnet/model.py). The page does that on the GPU in one
kernel (webflow_js/media/preprocess.js; its numpy twin is webflow.media.preprocess_image), from
a camera frame or a picked image alike, with the parameters params() gives.
"""

import math

SIZE = 224
CROP_FRACTION = 224 / 256
MEAN, STD = 127.0, 128.0  # on 0..255 pixels


def params(width, height):
    """The preprocessing parameters for a width x height image: the centred square crop, the
    output size, and mean/std on the kernel's [0, 1] pixel values."""
    side = min(width, height) * CROP_FRACTION
    return {"crop": [(width - side) / 2, (height - side) / 2, side, side], "size": SIZE, "mean": MEAN / 255, "std": STD / 255}


def top_k(logits, labels, k=5):
    """Softmax of the logits -> [(class index, label, probability)] of the k likeliest, likeliest first.
    `logits`: a sequence of floats, or a JS Float32Array in the page."""
    if hasattr(logits, "to_py"):  # a JS typed array under Pyodide: one copy
        logits = logits.to_py().tolist()
    logits = [float(v) for v in logits]
    if len(logits) != len(labels):
        raise ValueError(f"{len(logits)} logits for {len(labels)} labels")
    m = max(logits)
    e = [math.exp(v - m) for v in logits]
    s = sum(e)
    order = sorted(range(len(e)), key=lambda i: -e[i])[:k]
    return [(i, labels[i], e[i] / s) for i in order]


def labels(model):
    """The class names the build stored in the model's metadata (demo_site/classify/demo.py)."""
    names = model.spec.metadata.get("labels")
    if not names:
        raise ValueError("the model has no class names in its metadata (rebuild the site: demo_site/build.py)")
    return list(names)
