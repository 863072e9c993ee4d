"""Camera and microphone in headless Chromium, fed by fake devices that play files this test
writes with numpy (a y4m video, a wav of tones):

- camera frames become GPU tensors equal to numpy's preprocessing (webflow.media.preprocess_image)
  of the decoded video frame, within the video round trip's +-2/255;
- frames are dropped, not queued, when the consumer is slow;
- a converted model runs on frames through the handle path (no readback of the input) and gives
  the numpy backend's outputs on the same (read back) input; the same from Python in Pyodide;
- microphone features computed in the page equal numpy's on the samples the page computed them
  from (atol 1e-4), and the tones are where they should be; the JS front end equals numpy on a
  chirp plus noise, streamed in odd blocks at 44.1 and 48 kHz;
- a denied permission or a missing device gives the page a clear message (JS and Python).

How Chromium decodes the fake camera (checked here, Chromium 156): the y4m's 4:2:0 frames come
out tagged BT.709 limited range, chroma upsampled bilinearly (centre sited); the decode below
follows the colour space the page reports, and then matches the browser's pixels to +-0.5.
"""

import base64

import numpy as np
import pytest

from tests.browser.fake_media import read_y4m, write_wav, write_y4m
from tests.browser.harness import decode, launch, serve
from tests.browser.site import make_site
from webflow import audio_features as af
from webflow.media import image_params, preprocess_image

W, H, FPS, N_FRAMES = 320, 240, 30, 10
TONES = (440.0, 1000.0, 2000.0, 3000.0)
TONE_S, WAV_RATE = 0.5, 48000
PIXEL_TOL = 2 / 255 + 1e-5


# --- the files the fake devices play -------------------------------------------------------

def scene(k):
    """Frame k: coloured quadrants, a white square moving 28 px a frame, a horizontal ramp."""
    img = np.empty((H, W, 3))
    img[:] = (90, 90, 90)
    img[:120, :160] = (220, 40, 30)
    img[:120, 160:] = (30, 200, 60)
    img[120:, :160] = (40, 60, 210)
    img[120:, 160:] = (230, 220, 40)
    img[200:, :, 0] = np.linspace(20, 235, W)[None, :]
    x0 = 20 + 28 * k
    img[90:130, x0:x0 + 40] = (245, 245, 245)
    return img


def tones():
    """The tone sequence, 0.5 s each, amplitude 0.5."""
    t = np.arange(int(WAV_RATE * TONE_S)) / WAV_RATE
    return np.concatenate([0.5 * np.sin(2 * np.pi * f * t) for f in TONES])


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The files, a converted model and the built site (with media.html), served."""
    from tests.torch_models import export
    from webflow.converter import convert

    tmp = tmp_path_factory.mktemp("media")
    write_y4m(tmp / "camera.y4m", [scene(k) for k in range(N_FRAMES)], FPS)
    write_wav(tmp / "mic.wav", tones(), WAV_RATE)
    export("mobilenet_v2", str(tmp / "mobilenet_v2.onnx"))
    convert(str(tmp / "mobilenet_v2.onnx"), str(tmp / "mobilenet_v2"), log=lambda *a: None)
    root = make_site(str(tmp / "site"), {"mobilenet_v2": str(tmp / "mobilenet_v2")}, pages=("media.html",))
    server = serve(root)
    yield {"url": f"http://127.0.0.1:{server.server_port}", "tmp": tmp, "model": str(tmp / "mobilenet_v2")}
    server.shutdown()


FAKE = ["--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"]


def _page(browser, url):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/media.html")
    page.wait_for_function("window.ready === true", timeout=30000)
    return page, errors


@pytest.fixture(scope="module")
def page(playwright, media):
    tmp = media["tmp"]
    browser = launch(playwright, FAKE + ["--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={tmp / 'camera.y4m'}",
                                         f"--use-file-for-fake-audio-capture={tmp / 'mic.wav'}"])
    page, errors = _page(browser, media["url"])
    yield page
    assert not errors, errors
    browser.close()


@pytest.fixture(scope="module")
def decoded(page, media):
    info = page.evaluate("window.cameraInfo()")
    print("camera:", info)
    assert (info["width"], info["height"]) == (W, H)
    cs = info["colorSpace"]
    return read_y4m(media["tmp"] / "camera.y4m", cs.get("matrix") or "bt709", bool(cs.get("fullRange")))


def _pixels(tensor, params):
    """A preprocessed tensor back to pixel units (0..1), channels last: for a tolerance in pixels."""
    p = image_params(W, H, **params)
    x = tensor[0].transpose(1, 2, 0) if p["layout"] == "NCHW" else tensor[0]
    return (x - np.array(p["offset"])) / np.array(p["scale"])


# --- the numpy reference, without a browser ------------------------------------------------------

def test_preprocess_image_reference():
    rgb = np.random.default_rng(1).integers(0, 256, (H, W, 3)).astype(np.uint8)
    full = preprocess_image(rgb, crop="full", size=[H, W])
    np.testing.assert_allclose(full[0].transpose(1, 2, 0) * 255, rgb, atol=1e-4)  # identity
    np.testing.assert_array_equal(preprocess_image(rgb, crop="full", size=[H, W], mirror=True), full[..., ::-1])
    np.testing.assert_array_equal(preprocess_image(rgb, size=32, layout="NHWC"), preprocess_image(rgb, size=32).transpose(0, 2, 3, 1))
    np.testing.assert_allclose(preprocess_image(rgb, size=32, channels="bgr"), preprocess_image(rgb, size=32)[:, ::-1], atol=1e-7)
    gray = preprocess_image(rgb, size=32, channels="gray")
    np.testing.assert_allclose(gray[0, 0], np.tensordot([0.299, 0.587, 0.114], preprocess_image(rgb, size=32)[0], 1), atol=1e-6)
    # "center" is the largest centred box of the output's aspect; a 2x downscale averages 2x2 blocks
    assert image_params(W, H, size=[10, 20])["crop"] == (0.0, 40.0, 320.0, 160.0)
    assert image_params(W, H, size=32)["crop"] == (40.0, 0.0, 240.0, 240.0)
    half = preprocess_image(rgb, crop="full", size=[H // 2, W // 2])[0].transpose(1, 2, 0) * 255
    np.testing.assert_allclose(half, rgb.reshape(H // 2, 2, W // 2, 2, 3).mean(axis=(1, 3)), atol=1e-4)
    np.testing.assert_allclose(preprocess_image(rgb, size=8, mean=[0.5] * 3, std=[0.25] * 3), (preprocess_image(rgb, size=8) - 0.5) / 0.25, atol=1e-5)
    np.testing.assert_allclose(preprocess_image(rgb, size=8, range=[-1, 1]), preprocess_image(rgb, size=8) * 2 - 1, atol=1e-6)


# --- the preprocessing kernel on exact pixels --------------------------------------------------

PARAMS = [
    {},
    {"crop": "full", "size": [H, W]},
    {"crop": "center", "size": 64, "mirror": True, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    {"crop": {"x": 30.5, "y": 20.25, "width": 200, "height": 150.5}, "size": [45, 61], "layout": "NHWC", "range": [-1, 1]},
    {"crop": [-40, -30, 120, 100], "size": [37, 53], "mirror": True},  # partly outside the frame: edge pixels repeat
    {"crop": [300, 200, 60, 60], "size": [7, 7], "channels": "bgr"},
    {"crop": [100, 50, 9, 7], "size": [64, 80], "channels": "gray", "mean": 0.5, "std": 0.25},  # upscaling
    {"crop": "center", "size": [1, 1]},
    {"crop": "full", "size": {"width": 13, "height": 300}, "layout": "NHWC", "channels": "gray"},
]


def test_preprocessing_kernel_equals_numpy(page):
    """crop / resize / mirror / normalize / layout in one kernel = preprocess_image, on exact pixels."""
    rng = np.random.default_rng(0)
    rgb = (scene(3) + rng.normal(0, 20, (H, W, 3))).clip(0, 255).round().astype(np.uint8)
    rgba = np.concatenate([rgb, np.full((H, W, 1), 255, np.uint8)], -1)
    bad = [{"crop": [400, 10, 20, 20]}, {"layout": "NCWH"}, {"size": [0, 10]}, {"mean": [0.5, 0.5]}]
    got = page.evaluate("([b, w, h, ps]) => window.preprocessPixels(b, w, h, ps)",
                        [base64.b64encode(rgba.tobytes()).decode(), W, H, PARAMS + bad])
    for params, g in zip(PARAMS, got):
        assert "error" not in g, (params, g)
        want = preprocess_image(rgb, **params)
        assert list(want.shape) == g["shape"], params
        np.testing.assert_allclose(_pixels(decode(g), params), _pixels(want, params), atol=1e-4, rtol=0, err_msg=str(params))
    errors = [g["error"] for g in got[len(PARAMS):]]
    assert "does not overlap the 320x240 frame" in errors[0]
    assert 'layout must be "NCHW" or "NHWC"' in errors[1]
    assert "size must be whole numbers" in errors[2]
    assert "mean has 2 values, 3 channel(s) need 3" in errors[3]


# --- camera ----------------------------------------------------------------------------------

CAMERA_PARAMS = [
    {"crop": {"x": 30.5, "y": 20, "width": 200, "height": 150}, "size": [45, 60], "mirror": True,
     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    {"crop": "center", "size": 32, "layout": "NHWC", "range": [-1, 1]},
]


def test_camera_frames_equal_numpy_reference(page, decoded):
    """>= 30 frames through camera.js and the kernel, each equal to numpy's preprocessing of a
    decoded video frame (the one it matches best: the file loops at 30 fps)."""
    refs = [[preprocess_image(f, **params) for f in decoded] for params in CAMERA_PARAMS]
    matched = []
    for params, ref, n in zip(CAMERA_PARAMS, refs, (32, 8)):
        r = page.evaluate("([n, p]) => window.grabFrames(n, p)", [n, params])
        assert len(r["frames"]) == n
        for f in r["frames"]:
            g = _pixels(decode(f["tensor"]), params)
            errs = [np.abs(g - _pixels(x, params)).max() for x in ref]
            k = int(np.argmin(errs))
            assert errs[k] <= PIXEL_TOL, f"frame {f['index']}: off by {errs[k] * 255:.2f}/255 from the nearest video frame ({k})"
            matched.append(k)
        print(params, "stats:", r["stats"])
        assert r["memory"]["tensors"] == 0, "frames are disposed"
    assert len(set(matched)) >= 5, f"the frames change: matched video frames {matched}"


def test_slow_consumer_drops_frames_instead_of_queueing(page):
    """With a consumer taking 150 ms a frame, every frame it gets is the newest one (presented at
    most about a frame interval before it is taken), and the ~4 frames the camera made in
    between are counted as dropped, not queued."""
    r = page.evaluate("([s, d, p]) => window.slowConsumer(s, d, p)", [2.0, 150, {"size": 16}])
    seen = r["seen"]
    ages = [s["age_ms"] for s in seen]
    print(f"slow consumer: {len(seen)} frames handled, {r['dropped']} dropped, frame ages {np.round(ages, 1).tolist()} ms; stats {r['stats']}")
    assert 8 <= len(seen) <= 15, len(seen)  # ~2 s / 150 ms, not 60 frames
    gaps = np.diff([s["index"] for s in seen])
    assert gaps.min() >= 2 and np.median(gaps) >= 3, f"frame index gaps {gaps.tolist()}"
    assert r["dropped"] >= 3 * (len(seen) - 1)
    assert all(s["dropped"] == g - 1 for s, g in zip(seen[1:], gaps))
    # fresh, not queued: a queued frame would be ~150 ms old (a frame interval is 33 ms)
    assert np.median(ages) < 40 and max(ages) < 100, ages


def test_model_on_camera_frames(page, media):
    """A converted MobileNetV2 (64x64) on camera frames through the handle path; its outputs are
    the numpy backend's on the same input (read back for the test only)."""
    import webflow

    params = {"crop": "center", "size": 64, "mirror": True, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    r = page.evaluate("([u, n, p]) => window.modelOnCamera(u, n, p)", [f"{media['url']}/models/mobilenet_v2/", 40, params])
    model = webflow.load(media["model"])
    assert len(r["results"]) == 8
    for res in r["results"]:
        x = decode(res["input"])
        assert x.shape == (1, 3, 64, 64)
        want = model.predict({"image": x})["logits"]
        np.testing.assert_allclose(decode(res["outputs"]["logits"]), want, atol=1e-3, rtol=1e-3)
    s = r["steady"]
    print(f"camera + MobileNetV2-64 (SwiftShader): {s['fps']:.1f} fps; wait {s['wait_ms']:.2f} ms, age {s['age_ms']:.1f} ms, capture {s['capture_ms']:.2f} ms, "
          f"preprocess {s['preprocess_ms']:.2f} ms, model {s['model_ms']:.2f} ms, postprocess {s['postprocess_ms']:.3f} ms; "
          f"{s['dropped']} dropped of {s['frames'] + s['dropped']}; last predict {r['modelTiming']}")
    assert s["fps"] > 0 and s["model_ms"] > 0
    # nothing is left behind per frame: ~3 s more of frames allocate nothing
    for key in ("tensors", "liveTextures", "liveBytes", "programs"):
        assert r["memAfter"][key] == r["memWarm"][key], (key, r["memWarm"], r["memAfter"])


PYTHON_CAMERA = """
import webflow
model = await webflow.load_async("{url}")
inputs, outputs, timings = [], [], []
cam = webflow.camera(width=320, height=240, size=64, crop="center", mirror=True, mean=0.5, std=0.25, frames=6)
async for frame in cam:
    out = await model.predict_async({{"image": frame}})
    x = await frame.read()
    inputs.append(x.tolist()); outputs.append(out["logits"].tolist()); timings.append(frame.timing)
    last = frame
try:
    await model.predict_async({{"image": last}})
    disposed = "no error"
except webflow.WebflowError as e:
    disposed = str(e)
{{"inputs": inputs, "outputs": outputs, "timings": timings, "stats": cam.stats(), "shape": list(last.shape), "disposed": disposed}}
"""


def test_python_camera_iterator(page, media):
    """`async for frame in webflow.camera(...)` in Pyodide: frames feed predict_async directly."""
    import webflow

    r = page.evaluate("code => window.runPython(code)", PYTHON_CAMERA.format(url=f"{media['url']}/models/mobilenet_v2/"))
    model = webflow.load(media["model"])
    assert len(r["inputs"]) == 6 and r["shape"] == [1, 3, 64, 64]
    for x, y in zip(r["inputs"], r["outputs"]):
        np.testing.assert_allclose(np.array(y, np.float32), model.predict({"image": np.array(x, np.float32)})["logits"], atol=1e-3, rtol=1e-3)
    assert set(r["timings"][0]) >= {"capture_ms", "preprocess_ms", "wait_ms", "age_ms"}
    assert r["stats"]["frames"] >= 6 and r["stats"]["loop_ms"] > 0
    assert "this frame was disposed" in r["disposed"]
    print("python camera stats:", r["stats"])


# --- microphone --------------------------------------------------------------------------------

def _dominant(x, rate, n=1600, hop=800):
    """Dominant frequency (Hz, 1 Hz resolution) of each window of x."""
    out = []
    for i in range(0, len(x) - n, hop):
        spec = np.abs(np.fft.rfft(x[i:i + n] * np.hanning(n), n=rate))
        out.append(float(np.argmax(spec)))
    return np.array(out)


def test_microphone_features_equal_numpy(page):
    """2.5 s of the fake microphone through the worklet: the page's log-mel frames equal numpy's on
    the 16 kHz samples they were computed from, and every tone is at its frequency."""
    r = page.evaluate("window.micRecord(2.5)")
    print("microphone:", r["stats"], "rate", r["sampleRate"])
    samples, feats = decode(r["samples"]), decode(r["features"])
    assert r["state"] == "running" and r["stats"]["gaps"] == 0
    assert len(samples) >= 2.4 * 16000 and feats.shape == (af.n_frames(len(samples)), 40)
    want = af.log_mel(samples)
    print(f"log-mel max abs difference {np.abs(feats - want).max():.3g}")
    np.testing.assert_allclose(feats, want, atol=1e-4, rtol=0)
    # the tones: every 0.1 s window peaks at one of them, and all of them occur
    dom = _dominant(samples, 16000)
    near = np.abs(dom[:, None] - np.array(TONES)[None, :]).min(axis=1)
    assert near.max() <= 15, dom
    assert {TONES[int(np.argmin(np.abs(np.array(TONES) - f)))] for f in dom} == set(TONES)
    raw_dom = _dominant(decode(r["raw"]), r["sampleRate"], n=r["sampleRate"] // 10, hop=r["sampleRate"] // 20)
    assert np.abs(raw_dom[:, None] - np.array(TONES)[None, :]).min(axis=1).max() <= 15
    # and the loudest mel band of each frame is the one around its tone
    corners = np.array(af.mel_corners())
    frame_tone = _dominant(samples, 16000, n=400, hop=160)
    band = feats[:len(frame_tone)].argmax(axis=1)
    inside = (corners[band] <= frame_tone + 30) & (frame_tone - 30 <= corners[band + 2])
    assert inside.mean() > 0.97, inside.mean()
    live = decode(r["live"])
    assert live.shape == (1, 98, 40) and np.isfinite(live).all()


@pytest.mark.parametrize("rate", [44100, 48000])
def test_js_front_end_equals_numpy_on_chirp(page, rate):
    """Resampler + log-mel in JS (streamed in odd block sizes) = numpy, on a chirp plus noise."""
    rng = np.random.default_rng(rate)
    t = np.arange(int(rate * 1.5)) / rate
    x = (0.4 * np.sin(2 * np.pi * (60 * t + 0.5 * (7800 - 60) / 1.5 * t * t)) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    r = page.evaluate("([b, r, blocks]) => window.frontEnd(b, r, blocks)",
                      [base64.b64encode(x.tobytes()).decode(), rate, [128, 1, 777, 4096, 300]])
    y, f = decode(r["samples"]), decode(r["features"])
    want_y = af.resample(x, rate)
    assert y.shape == want_y.shape
    np.testing.assert_allclose(y, want_y, atol=1e-6, rtol=0)
    want_f = af.log_mel(want_y)
    print(f"{rate} Hz: resample max diff {np.abs(y - want_y).max():.3g}, log-mel max diff {np.abs(f - want_f).max():.3g}, "
          f"JS front end {r['ms']:.0f} ms for 1.5 s")
    np.testing.assert_allclose(f, want_f, atol=1e-4, rtol=0)


def test_js_spec_is_python_spec(page):
    assert page.evaluate("window.jsSpec()") == af.SPEC


PYTHON_MIC = """
import webflow
mic = await webflow.microphone(keep=1)
r = await mic.record(0.5)
x = mic.features(98, shape=(1, 98, 40))
{"rate": mic.sample_rate, "samples": r["samples"].length, "shape": list(x.shape), "frames": mic.stats()["frames"]}
"""


def test_python_microphone(page):
    r = page.evaluate("code => window.runPython(code)", PYTHON_MIC)
    assert r["rate"] in (44100, 48000) and r["samples"] == (af.n_frames(8000) - 1) * 160 + 400
    assert r["shape"] == [1, 98, 40] and r["frames"] >= af.n_frames(8000)


# --- errors --------------------------------------------------------------------------------------

PYTHON_DENIED = """
import webflow
from webflow.media import MediaError
out = {}
try:
    async for frame in webflow.camera():
        pass
except MediaError as e:
    out["camera"] = [e.code, str(e)]
try:
    await webflow.microphone()
except MediaError as e:
    out["microphone"] = [e.code, str(e)]
out
"""


def test_permission_denied_is_a_clear_error(playwright, media):
    """No fake-UI flag: the permission request is refused; the page gets a sentence to show."""
    browser = launch(playwright, FAKE)
    try:
        page, errors = _page(browser, media["url"])
        for what in ("camera", "microphone"):
            e = page.evaluate("w => window.openError(w)", what)
            assert e == {"name": "MediaError", "code": "permission-denied", "isMediaError": True,
                         "message": f"Permission to use the {what} was denied. Allow it for this site (the icon beside the address bar) and reload the page."}
        r = page.evaluate("code => window.runPython(code)", PYTHON_DENIED)
        assert r["camera"][0] == "permission-denied" and r["camera"][1].startswith("Permission to use the camera was denied.")
        assert r["microphone"][0] == "permission-denied"
        assert not errors, errors
    finally:
        browser.close()


def test_no_device_is_a_clear_error(playwright, media):
    """Permission granted but no device (no fake device, and this machine has none)."""
    browser = launch(playwright, ["--use-fake-ui-for-media-stream"])
    try:
        page, errors = _page(browser, media["url"])
        for what in ("camera", "microphone"):
            e = page.evaluate("w => window.openError(w)", what)
            assert e["code"] == "no-device", e
            assert e["message"] == f"No {what} was found. Connect one and reload the page."
    finally:
        browser.close()
