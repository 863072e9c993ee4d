"""The teach-your-gestures demo in headless Chromium, with a fake camera playing a drawn hand
(written as a y4m by the test: an open hand, or the same hand with its thumb folded; the hand
landmark model finds both, presence > 0.5). The page runs with ?follow=0: its hand box stays in
the middle, so a still video gives the same crop, and the same landmarks, every frame (a
following box moves a little from frame to frame, and a drawn hand's landmarks move with it).

1. Camera A (open hand): at least 30 frames processed; the hand model's outputs on the page's
   last input, read back from the GPU, equal webflow's numpy backend on that input (atol/rtol
   1e-3, the browser tolerance); two gestures named through the page, 5 examples of "open"
   recorded; the examples saved (a download) hold exactly that.
2. Camera B (thumb folded): the file loaded (an upload), 5 examples of "four" recorded,
   trained, "four" predicted live; a Simon-says round asking for "four" (?seed= picked by the
   game's own rules) is won; a bad file is refused with what is wrong and the examples stay.
   Saves docs/screenshots/teach.png.
3. Camera denied: the page says so.
"""

import json
import os
import sys

import numpy as np
import pytest

import webflow
from tests.browser.demo_pages import build_site, demo_browser, demo_models, open_demo, screenshot
from tests.browser.fake_media import write_y4m
from tests.browser.harness import ROOT, decode

sys.path.insert(0, os.path.join(ROOT, "demo_site", "py"))
from teach import SimonSays  # noqa: E402  (the page's own Python)

ATOL = RTOL = 1e-3
HEIGHT, WIDTH = 240, 320
STATE = "window.__demo"


def capsule(img, a, b, r, colour):
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    (ax, ay), (bx, by) = a, b
    vx, vy = bx - ax, by - ay
    t = np.clip(((xx - ax) * vx + (yy - ay) * vy) / (vx * vx + vy * vy), 0, 1)
    img[np.hypot(xx - ax - t * vx, yy - ay - t * vy) < r] = colour


def drawn_hand(thumb_folded):
    """A flat, skin-coloured right hand (palm, five fingers, wrist) on a dark background, palm
    facing the camera, filling the middle of the frame (where hands.js looks first)."""
    img = np.zeros((HEIGHT, WIDTH, 3))
    img[:] = (40, 60, 90)
    skin = (225, 175, 140)
    s, cx, cy = 0.75, WIDTH / 2, HEIGHT / 2 + 20  # drawn on a 224 grid, scaled into the frame
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    img[((xx - cx) / (38 * s)) ** 2 + ((yy - cy) / (42 * s)) ** 2 < 1] = skin
    fingers = [((-34, 10), (-0.8, -0.6), 14 if thumb_folded else 45), ((-24, -35), (-0.15, -1), 60),
               ((-4, -40), (0, -1), 66), ((15, -38), (0.12, -1), 60), ((32, -30), (0.3, -1), 48)]
    for (bx, by), (dx, dy), length in fingers:
        capsule(img, (cx + s * bx, cy + s * by), (cx + s * (bx + dx * length), cy + s * (by + dy * length)), 8 * s, skin)
    capsule(img, (cx, cy + 30 * s), (cx, cy + 100 * s), 22 * s, skin)
    return img


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory, ["teach"])


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("teach-media")
    out = {}
    for name, folded in (("open", False), ("four", True)):
        out[name] = str(tmp / f"{name}.y4m")
        write_y4m(out[name], [drawn_hand(folded)] * 4)
    return out


def page_options(**options):
    """The page's URL options: follow=0 (the hand box stays put) and these."""
    return {"follow": 0, **options}


def state(page):
    return page.evaluate(STATE)


def wait(page, condition, timeout=120000):
    """window.__demo once `condition` (JS, on s = window.__demo) holds. Generous timeouts: on
    SwiftShader with a busy CPU the hand model takes 1-3 s a frame."""
    page.wait_for_function(f"(() => {{ const s = {STATE}; return !!s && ({condition}); }})()", timeout=timeout)
    return state(page)


def record(page, name, n):
    page.select_option("#per-record", str(n))
    page.select_option("#delay", "0")
    page.click(f"#classes li[data-name='{name}'] button.record")
    return wait(page, f"s.counts[{json.dumps(name)}] >= {n} && !s.recording")


@pytest.fixture(scope="module")
def saved(site, videos, playwright, tmp_path_factory):
    """Camera A: checks the model on the page's frames, teaches "open"; the saved examples file."""
    with demo_browser(playwright, video=videos["open"]) as browser, open_demo(browser, site, "teach", **page_options()) as page:
        s = wait(page, "s.hands && s.hands.frames >= 30 && s.hands.hand && s.hands.hand.present", timeout=240000)
        assert s["backend"] == "webgl" and s["error"] is None
        page.evaluate(f"{STATE}.record = true")
        s = wait(page, "s.hands.input !== undefined")
        model = webflow.load(demo_models("teach")["hand_landmark"])
        want = model.predict({model.inputs[0].name: decode(s["hands"]["input"])})
        for name, got in s["hands"]["outputs"].items():
            np.testing.assert_allclose(decode(got), want[name].reshape(got["shape"]), atol=ATOL, rtol=RTOL, err_msg=name)
        presence = s["hands"]["hand"]["presence"]
        print(f"camera A: {s['hands']['frames']} frames, presence {presence:.2f}, outputs equal numpy's")
        page.evaluate(f"{STATE}.record = false")

        for name in ("open", "four"):
            page.fill("#name", name)
            page.press("#name", "Enter")
        s = record(page, "open", 5)
        assert s["counts"] == {"open": 5, "four": 0}
        with page.expect_download() as download:
            page.click("#save")
        path = str(tmp_path_factory.mktemp("teach-file") / download.value.suggested_filename)
        download.value.save_as(path)
    doc = json.load(open(path))
    assert (doc["format"], doc["version"]) == ("webflow-teach-examples", 1)
    assert [(c["name"], len(c["examples"])) for c in doc["classes"]] == [("open", 5), ("four", 0)]
    assert all(len(v) == 63 for v in doc["classes"][0]["examples"])
    return path


def first_seed(target, classes):
    """A seed whose first round asks for `target` (the game's own rules pick it)."""
    for seed in range(100):
        g = SimonSays(classes, seed=seed)
        g.start(0.0)
        if g.target == target:
            return seed
    raise AssertionError(f"no seed asks for {target!r} first")


def test_teach_save_load_train_predict_play(site, videos, saved, playwright):
    seed = first_seed("four", ["open", "four"])
    with demo_browser(playwright, video=videos["four"]) as browser, open_demo(browser, site, "teach", **page_options(seed=seed)) as page:
        page.set_input_files("#load", saved)
        s = wait(page, "Object.keys(s.counts).length === 2")
        assert s["counts"] == {"open": 5, "four": 0}
        assert page.inner_text("#file-msg") == "gesture-examples.json: 5 examples of 2 gestures loaded."
        record(page, "four", 5)
        page.click("#train")
        s = wait(page, "s.training")
        assert s["training"] == {"classes": ["open", "four"], "examples": 10, "loo": 1.0}
        s = wait(page, "s.prediction && s.prediction.label === 'four'")
        p = s["prediction"]
        assert p["confidence"] == 1.0 and p["votes"] == {"open": 0, "four": 5}, p
        print(f"camera B: predicted {p['label']!r}, confidence {p['confidence']}, nearest example {p['distance']:.3g} away")

        page.select_option("#round-time", "10")  # a few frames per round even when the model takes seconds
        page.click("#play")
        s = wait(page, "s.game && s.game.phase === 'result'")
        g = s["game"]
        assert (g["round"], g["target"], g["simon"], g["outcome"]) == (1, "four", True, "hit")
        assert 50 < g["score"] <= 100
        assert page.inner_text("#outcome") == "Yes!"
        screenshot(page, "teach")

        page.set_input_files("#load", files=[{"name": "old.json", "mimeType": "application/json",
                                              "buffer": json.dumps({"format": "webflow-teach-examples", "version": 2}).encode()}])
        page.wait_for_function("document.getElementById('file-msg').classList.contains('bad')")
        assert page.inner_text("#file-msg") == "old.json: examples file version 2: this page reads version 1"
        assert state(page)["counts"] == {"open": 5, "four": 5}
        stats = page.inner_text("[data-wf=stats]")
        assert "fps" in stats and all(stage in stats for stage in ("capture", "preprocess", "model", "postprocess"))


def test_camera_denied(site, playwright):
    with demo_browser(playwright, grant=False) as browser, open_demo(browser, site, "teach", ready=False) as page:
        s = wait(page, "s.error")
        assert s["error"]["title"] == "Access to the camera was blocked", s["error"]
        assert page.locator(".wf-error").is_visible()
