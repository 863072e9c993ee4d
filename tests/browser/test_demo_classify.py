"""The image classifier demo in headless Chromium with a fake camera filming a photo (scikit-image's
cat, written as a y4m by the test): at least 30 frames classified; the logits of the
page's last input, read back from the GPU, equal webflow's numpy backend on that input (atol
1e-3); the top-5 shown is the softmax top-5 of those logits; a picked image file is preprocessed
as webflow.media.preprocess_image does with demo_site/py/classify's parameters and gets numpy's
top-1; with the camera denied the page says so and picked images still work.
Saves docs/screenshots/classify.png."""

import base64
import os
import sys

import numpy as np
import pytest

import webflow
from examples.efficientnet.images import photos
from tests.browser.demo_pages import build_site, demo_browser, demo_models, open_demo, screenshot
from tests.browser.fake_media import read_y4m, write_y4m
from tests.browser.harness import ROOT
from webflow.media import preprocess_image

sys.path.insert(0, os.path.join(ROOT, "demo_site", "py"))
import classify  # noqa: E402  (the page's own Python)

ATOL = 1e-3
CAMERA = (240, 320)  # small and slow (10 fps): decoding the fake video competes for the 2 CPU cores
# One photo: a frame's top-5 then matches the picture on screen (a frame takes ~1 s on SwiftShader)
FILMED, PICKED = "chelsea", "coffee"

# Ask for the next classified input of a source (read back), with its logits and top-5; COLLECT
# waits for it (bytes as base64, for transfer).
PROBE = "source => { window.__probe = window.__demoKit.probe(source); }"
COLLECT = """async () => {
    const r = await window.__probe;
    const b64 = (a) => { const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength); let s = "";
        for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000)); return btoa(s); };
    return {source: r.source, top: r.top, shown: r.shown, shape: r.shape, input: b64(r.input), logits: b64(r.logits)};
}"""


def _floats(b64, shape=None):
    x = np.frombuffer(base64.b64decode(b64), "<f4")
    return x.reshape(shape) if shape else x


def _cover(img, size):
    """Centre crop to the aspect of `size` (h, w), then resize: a camera's view of the photo."""
    from skimage.transform import resize

    h, w = img.shape[:2]
    th, tw = size
    ch, cw = (h, round(h * tw / th)) if w * th > h * tw else (round(w * th / tw), w)
    top, left = (h - ch) // 2, (w - cw) // 2
    return resize(img[top:top + ch, left:left + cw], size, anti_aliasing=True, preserve_range=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("classify-media")
    named = dict(photos())
    video = str(tmp / "camera.y4m")
    write_y4m(video, [_cover(named[FILMED], CAMERA)] * 4, fps=10)
    from skimage.io import imsave

    image = str(tmp / f"{PICKED}.png")
    imsave(image, named[PICKED], check_contrast=False)
    return {"video": video, "image": image, "rgb": named[PICKED]}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory, ["classify"])


@pytest.fixture(scope="module")
def model():
    m = webflow.load(demo_models("classify")["efficientnet"])
    return m, classify.labels(m)


def _softmax_top5(logits, labels):
    e = np.exp(logits.astype(np.float64) - logits.max())
    p = e / e.sum()
    return [(int(i), labels[i], float(p[i])) for i in np.argsort(-p)[:5]]


def _check_image(page, media, model):
    """Pick the image file; the page's input is the numpy preprocessing, its top-1 numpy's."""
    net, labels = model
    page.evaluate(PROBE, "image")
    page.set_input_files("#file", media["image"])
    r = page.evaluate(COLLECT)
    assert r["source"] == "image"
    h, w = media["rgb"].shape[:2]
    want_input = preprocess_image(media["rgb"], **classify.params(w, h))
    got_input = _floats(r["input"], r["shape"])
    assert np.abs(got_input - want_input).max() < 1e-4
    want = net.predict({"image": want_input})["logits"][0]
    assert r["top"][0][0] == int(want.argmax()), (r["top"], _softmax_top5(want, labels))
    np.testing.assert_allclose(_floats(r["logits"]), want, atol=ATOL, rtol=0)
    print(f"picked image: {r['top'][0][1]} ({100 * r['top'][0][2]:.1f}%)")
    return r


def test_camera_and_image(playwright, site, media, model):
    net, labels = model
    frames = read_y4m(media["video"])
    with demo_browser(playwright, video=media["video"]) as browser, open_demo(browser, site, "classify") as page:
        assert page.evaluate("__demo.backend") == "webgl"
        page.wait_for_function("__demo.frames >= 30", timeout=300000)  # ~1 s a frame on SwiftShader, more on a busy machine
        page.evaluate(PROBE, "camera")
        r = page.evaluate(COLLECT)
        assert r["source"] == "camera" and r["shape"] == [1, 3, 224, 224]
        x = _floats(r["input"], r["shape"])
        # the input is the preprocessing of the camera's picture (as the browser decodes it): 8-bit
        # video decoding differs by a few levels, (pixel - 127) / 128 makes that < 0.05
        diff = np.abs(x - preprocess_image(frames[0], **classify.params(CAMERA[1], CAMERA[0]))).max()
        assert diff < 0.05, f"the page's input differs from the camera's picture by {diff:.3f}"
        got = _floats(r["logits"])
        want = net.predict({"image": x})["logits"][0]
        err = np.abs(got - want).max()
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
        top = _softmax_top5(got, labels)
        assert [t[0] for t in r["top"]] == [t[0] for t in top]
        np.testing.assert_allclose([t[2] for t in r["top"]], [t[2] for t in top], atol=1e-6)
        assert [n for n, _ in r["shown"]] == [t[1] for t in top], "the names on the page"
        assert [p for _, p in r["shown"]] == [f"{100 * t[2]:.1f}%" for t in r["top"]], "the probabilities on the page"
        stats = page.evaluate("window.__demo.frames")
        panel = page.locator("[data-wf=stats]").inner_text()
        assert "fps" in panel and all(s in panel for s in ("capture", "preprocess", "model", "postprocess")), panel
        print(f"camera: {stats} frames; top-1 {r['top'][0][1]} ({100 * r['top'][0][2]:.1f}%); logits max abs error vs numpy {err:.2g}\n{panel}")
        screenshot(page, "classify")
        _check_image(page, media, model)
        assert not page.locator("#camera").is_hidden(), "picking an image pauses the camera, which can be resumed"


def test_camera_denied(playwright, site, media, model):
    with demo_browser(playwright, video=media["video"], grant=False) as browser, open_demo(browser, site, "classify") as page:
        page.wait_for_function("window.__demo.error")
        error = page.evaluate("__demo.error")
        assert error["code"] == "permission-denied", error
        box = page.locator(".wf-error")
        assert box.is_visible() and "Access to the camera was blocked" in box.inner_text()
        assert "pick or drop an image" in page.locator("#view").inner_text()
        _check_image(page, media, model)
        assert page.evaluate("__demo.frames") == 1 and page.locator("#top5 li").count() == 5
