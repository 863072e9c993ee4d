"""The gestures demo (rock, paper, scissors) in headless Chromium, its camera a fake device
playing a video this test draws: the kinematic hand of tests/test_hands.py making paper, rock
and scissors in turn (2 s a loop), in the page's box.

- the page processes 30+ frames; the model input it kept is numpy's crop/resize/mirror of a
  frame of the video (within the video round trip's +-2/255), and the landmark model's outputs on
  that input equal webflow's numpy backend on it (atol 1e-3, rtol 1e-3: the landmarks are input
  pixels up to 224, so rtol bounds them; as tests/browser/test_tflite_models.py);
- the page's hand (points, gesture) is CPython's hands.analyze of the page's outputs, exactly;
- the gestures it reads are the video's; a match played in the page (Python game in Pyodide)
  has the seeded computer's moves, the right outcomes and score, shown on the page;
- the stats panel shows fps and the four stages; the backend is the GPU;
- with the camera permission denied the page says so clearly, online and offline (after the
  first visit the page starts without the network);
- docs/screenshots/gestures.png.
"""

import os
import random
import sys
import time

import numpy as np
import pytest

from tests.browser.demo_pages import build_site, demo_browser, open_demo, screenshot
from tests.browser.fake_media import read_y4m, write_y4m
from tests.browser.harness import decode
from tests.test_hands import H, W, camera_frame

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "demo_site", "py"))
import hands  # noqa: E402

ORDER = ("paper", "rock", "scissors")
HOLD = 20  # frames per gesture, at 30 fps
SEED = 4
ATOL, RTOL = 1e-3, 1e-3
PIXEL_TOL = 2 / 255 + 1e-5


def gesture_video(path):
    """The fake camera's video (also bench/gestures.py's): 640x480, 30 fps, paper, rock and
    scissors held HOLD frames each; the camera loops it."""
    write_y4m(path, [camera_frame(name)[0] for name in ORDER for _ in range(HOLD)], fps=30)
    return path


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    return gesture_video(tmp_path_factory.mktemp("gestures") / "camera.y4m")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory, ["gestures"])


@pytest.fixture(scope="module")
def numpy_model():
    """The very model folder the site serves (demo_site/gestures/demo.py's cached conversion)."""
    import webflow
    from demo_site import build as demo_build

    (module,) = [m for name, m in demo_build.discover() if name == "gestures"]
    return webflow.load(module.models(demo_build.Kit("gestures", lambda m: None))["hand_landmark"])


def test_gestures_page(playwright, site, camera, numpy_model):
    # open_demo adds a "/" to the name: the page reads "?seed=4/" as 4 (parseInt)
    with demo_browser(playwright, video=str(camera)) as browser, open_demo(browser, site, "gestures", seed=SEED) as page:
        assert page.evaluate("__demo.backend") == "webgl"
        page.wait_for_function("__demo.hands && __demo.hands.frames >= 1", timeout=60000)
        page.click("#start")  # a match runs while the frames are counted
        t0, seen, last = time.monotonic(), [], 0
        while last < 30:  # 30 frames, noting the gesture of each
            s = page.evaluate("({frames: __demo.hands.frames, gesture: __demo.hands.hand.gesture})")
            if s["frames"] != last:
                seen.append(s["gesture"])
                last = s["frames"]
            if last == 29:
                page.evaluate("__demo.record = true")  # keep the next frame's input and outputs
            assert time.monotonic() - t0 < 120, f"only {last} frames in 120 s"
            time.sleep(0.05)
        snap = page.evaluate("(({input, outputs, hand, box}) => ({input, outputs, hand, box}))(__demo.hands)")
        page.evaluate("__demo.record = false")
        print(f"frames: {last} in {time.monotonic() - t0:.1f} s; gestures seen: {', '.join(seen)}")
        assert len(set(seen) & set(ORDER)) >= 2, seen  # the video's gestures, as they change
        check_model_input_and_outputs(snap, camera, numpy_model)

        # the match: Python in the page, the computer's moves from the seed
        page.wait_for_function("__demo.game && __demo.game.rounds.length >= 1", timeout=60000)
        game = page.evaluate("__demo.game")
        print(f"match: {game['rounds']}, {game['phase']}")
        rng = random.Random(SEED)
        for r in game["rounds"]:
            assert r["player"] in ORDER and r["computer"] == rng.choice(hands.game.MOVES)
            assert r["outcome"] == hands.game.outcome(r["player"], r["computer"])
        outcomes = [r["outcome"] for r in game["rounds"]]
        score = {"player": outcomes.count("win"), "computer": outcomes.count("lose"), "ties": outcomes.count("tie")}
        decided = max(score["player"], score["computer"]) == 3  # then over, once the last result has shown
        assert game["score"] == score and (game["phase"] in ("result", "over") if decided else game["phase"] != "over")
        shown = {k: page.inner_text(f"#score-{k}") for k in score}
        assert shown == {k: str(v) for k, v in page.evaluate("__demo.game.score").items()}

        stats = page.inner_text(".wf-stats")
        assert "fps" in stats and all(stage in stats for stage in ("capture", "preprocess", "model", "postprocess")), stats
        assert page.inner_text(".wf-badge") == "webgl (GPU)"
        # the screenshot: the video paused, once the frame on screen is the one analysed (the
        # loop then waits for a new frame), so the landmarks drawn are that frame's
        page.evaluate("__demoKit.hands.camera.video.pause()")
        page.wait_for_function("(c => c.taken === c.latest.index && c.waiters.length > 0)(__demoKit.hands.camera)", timeout=30000)
        screenshot(page, "gestures")


def check_model_input_and_outputs(snap, camera, model):
    from webflow.media import preprocess_image

    x = decode(snap["input"])
    assert x.shape == (1, 224, 224, 3)
    # the input is one of the video's frames (a gesture is held for HOLD identical frames),
    # cut from the page's box and mirrored
    frames = read_y4m(str(camera))[::HOLD]
    diffs = [np.abs(preprocess_image(f, crop=snap["box"], size=224, layout="NHWC", mirror=True) - x).max() for f in frames]
    assert min(diffs) <= PIXEL_TOL, diffs

    want = model.predict({"input_1": x})
    got = {k: decode(v) for k, v in snap["outputs"].items()}
    assert list(got) == list(want)
    for name, w in want.items():
        err = float(np.max(np.abs(got[name] - w)))
        print(f"{name}{list(w.shape)}: max abs error {err:.3g} (magnitude {np.max(np.abs(w)):.3g})")
        np.testing.assert_allclose(got[name], w, atol=ATOL, rtol=RTOL, err_msg=name)

    # the page's Python and CPython's agree on the page's outputs
    lm, presence, handedness = (got[o.name] for o in model.outputs[:3])
    here = hands.analyze(lm[0].tolist(), presence[0, 0], handedness[0, 0], snap["box"], W, H, 224, True)
    page = snap["hand"]
    assert page["gesture"] == here["gesture"] and page["present"] == here["present"] and page["handedness"] == here["handedness"]
    np.testing.assert_allclose(page["points"], here["points"], rtol=1e-12, atol=1e-9)
    assert page["present"] and page["gesture"] in ORDER, page


def test_camera_denied_and_offline(playwright, site, camera):
    """Denied: a clear message, nothing runs. Then offline (the service worker's shell, fetch.js's
    cached model): the reloaded page starts again, Python and model loaded, and says the same."""
    with demo_browser(playwright, video=str(camera), grant=False) as browser, open_demo(browser, site, "gestures") as page:
        for visit in ("online", "offline"):
            page.wait_for_function("__demo.error", timeout=60000)
            error = page.evaluate("__demo.error")
            assert error["code"] == "permission-denied" and error["title"] == "Access to the camera was blocked", (visit, error)
            assert page.is_visible(".wf-error") and "Access to the camera was blocked" in page.inner_text(".wf-error")
            assert page.evaluate("__demo.hands") is None and page.is_disabled("#start")
            if visit == "online":
                page.wait_for_function("__demo.offline", timeout=60000)  # the worker has cached the shell
                page.context.set_offline(True)
                page.reload()
                page.wait_for_function("window.__demo && (window.__demo.ready || window.__demo.error)", timeout=120000)
                assert page.evaluate("__demo.ready") and page.evaluate("navigator.onLine") is False
        page.context.set_offline(False)
