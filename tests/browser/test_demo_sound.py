"""The sound demo in headless Chromium, listening to a fake microphone that plays a recording this
test synthesizes (examples/sound/generate.py: a rising whistle, claps, a falling whistle, a hum
and a steady whistle, 1 s apart, at 48 kHz; the file loops):

- after at least 2 s of audio (and enough to hear every sound once), the model's outputs on the page's
  last input equal webflow's numpy backend on the same features (atol 1e-4);
- the actions the page fired follow the recording's sounds in order (starting wherever the fake
  microphone happened to be when listening began), and the ball, light and colour moved;
- stage timings and fps are shown; a screenshot goes to docs/screenshots/sound.png;
- offline, the page loads again and listens (service worker and model cache);
- with the microphone permission denied, the page says so clearly and can try again.
"""

import os
import sys

import numpy as np
import pytest

import webflow
from demo_site import build as demo_build
from tests.browser.demo_pages import build_site, demo_browser, open_demo, screenshot
from tests.browser.fake_media import write_wav

sys.path.insert(0, os.path.join(demo_build.ROOT, "examples", "sound"))
sys.path.insert(0, os.path.join(demo_build.ROOT, "demo_site", "py"))
import generate  # noqa: E402  (examples/sound/generate.py)
import sound  # noqa: E402  (demo_site/py/sound: the page's own Python)

WAV_RATE = 48000
PLAYED = ["rising", "clap", "falling", "hum", "whistle"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory, ["sound"])


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    x, spans = generate.sequence(PLAYED, np.random.default_rng(3), rate=WAV_RATE)
    path = tmp_path_factory.mktemp("sound") / "mic.wav"
    write_wav(path, x, WAV_RATE)
    return {"path": str(path), "seconds": len(x) / WAV_RATE, "spans": spans}


def cyclic_offset(events, played):
    """The offset o with events[i] == played[(o + i) % len(played)] for every i, or None."""
    for o in range(len(played)):
        if all(e == played[(o + i) % len(played)] for i, e in enumerate(events)):
            return o
    return None


def test_sound_demo_follows_the_microphone(playwright, site, recording):
    with demo_browser(playwright, audio=recording["path"]) as browser, open_demo(browser, site, "sound") as page:
        assert page.evaluate("window.__demo.backend") == "webgl"
        page.click("#listen")
        # until an action per sound played (wherever in the file listening began), or two passes of it
        limit = int(100 * 2 * recording["seconds"])
        page.wait_for_function(f"window.__demo.events.length >= {len(PLAYED)} && window.__demo.frames >= 200 || window.__demo.frames >= {limit}",
                               timeout=int(1000 * (2 * recording["seconds"] + 60)))
        state = page.evaluate("window.__demo")
        stats = page.inner_text(".wf-stats")
        page.wait_for_function("window.__demo.decision !== 'background'", timeout=20000)  # a picture with a sound in it
        screenshot(page, "sound")

        # offline after the first visit: the shell from the service worker, the model from fetch.js's cache
        page.wait_for_function("window.__demo.offline", timeout=30000)
        page.context.set_offline(True)
        page.reload()
        page.wait_for_function("window.__demo && (window.__demo.ready || window.__demo.error)", timeout=60000)
        assert page.evaluate("window.__demo.ready"), page.evaluate("window.__demo.error")
        page.click("#listen")
        page.wait_for_function("window.__demo.runs >= 3", timeout=30000)
        page.context.set_offline(False)

    assert state["listening"] and not state["error"]
    assert state["runs"] >= 20, state["runs"]
    for k in ("capture_ms", "preprocess_ms", "model_ms", "postprocess_ms"):
        assert state["timing"][k] >= 0, state["timing"]
    assert state["fps"] > 1 and "fps" in stats, (state["fps"], stats)
    print(f"{state['runs']} runs on {state['frames'] / 100:.1f} s of audio, {state['fps']:.1f} fps, timing {state['timing']}")

    # the page's model outputs = the numpy backend's on the page's own last input
    folder = dict(demo_build.discover())["sound"].models(demo_build.Kit("sound", log=lambda m: None))["sound"]
    model = webflow.load(folder)
    x = np.asarray(state["input"], np.float32).reshape(1, *model.inputs[0].shape[1:])
    assert x.max() > np.log(1e-6) + 1, "the last window is silence: no audio reached the page"
    want = model.predict({"logmel": x})["logits"][0]
    np.testing.assert_allclose(np.asarray(state["logits"], np.float32), want, atol=1e-4, rtol=0)

    # the actions follow the recording, in order
    fired = [label for _, label, _ in state["events"]]
    print(f"fired: {fired}; top class per run: {[h[0] for h in state['history']]}")
    assert len(fired) >= len(PLAYED), fired
    assert cyclic_offset(fired, PLAYED) is not None, fired
    board = sound.Board()  # the controls moved by exactly those actions
    for _, _, action in state["events"]:
        board.apply(action)
    assert state["board"] == board.state() and board.colour > 0, (state["board"], fired)


def test_denied_microphone_is_a_clear_message(playwright, site):
    with demo_browser(playwright, grant=False) as browser, open_demo(browser, site, "sound") as page:
        page.click("#listen")
        page.wait_for_function("window.__demo.error !== null", timeout=30000)
        state = page.evaluate("window.__demo")
        shown = page.inner_text(".wf-error")
        assert state["error"]["code"] == "permission-denied"
        assert "Access to the microphone was blocked" in shown and "Permission to use the microphone was denied" in shown, shown
        assert not state["listening"] and page.is_enabled("#listen")  # the visitor can allow it and try again
