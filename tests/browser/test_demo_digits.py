"""The digits demo in headless Chromium: digits drawn with the mouse are classified while they are
drawn; the page's last input is what demo_site/py/digits makes of the canvas in CPython, the
model's logits on it equal webflow's numpy backend (atol 1e-4), and clear drawings are read right.
Saves docs/screenshots/digits.png."""

import base64
import math
import os
import sys

import numpy as np
import pytest

import webflow
from tests.browser.demo_pages import build_site, demo_browser, demo_models, open_demo, screenshot
from tests.browser.harness import ROOT

sys.path.insert(0, os.path.join(ROOT, "demo_site", "py"))
import digits  # noqa: E402  (the page's own Python)

ATOL = 1e-4


def seven(t):
    """The pen at t in [0, 1]: a top bar, then the long diagonal stroke (canvas fractions)."""
    if t < 0.35:
        return 0.28 + t / 0.35 * 0.44, 0.2
    u = (t - 0.35) / 0.65
    return 0.72 - u * 0.3, 0.2 + u * 0.62


def zero(t):
    a = 2 * math.pi * t * 1.05  # a little past the start, as people close a 0
    return 0.5 + 0.2 * math.sin(a), 0.5 - 0.3 * math.cos(a)


def draw(page, path, steps=60, pause_ms=40):
    """One stroke along path(t), pressed all the way, slow enough for the page to classify mid-stroke."""
    box = page.locator("#pad").bounding_box()
    at = lambda t: (box["x"] + path(t)[0] * box["width"], box["y"] + path(t)[1] * box["height"])  # noqa: E731
    page.mouse.move(*at(0))
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(*at(i / steps), steps=2)
        page.wait_for_timeout(pause_ms)
    page.mouse.up()


def settle(page, runs=0):
    """Wait until no classification is due or running (and more than `runs` have run): the page's
    result is then the final drawing's."""
    page.wait_for_function(f"!window.__demo.pending && window.__demo.runs > {runs}", timeout=30000)
    return page.evaluate("({input: __demo.input, logits: __demo.logits, probs: __demo.probs, top: __demo.top, runs: __demo.runs, timing: __demo.timing})")


def canvas_pixels(page):
    """The pad's RGBA bytes as the page reads them."""
    b64 = page.evaluate("""() => {
        const c = document.getElementById("pad"), d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let s = "";
        for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode(...d.subarray(i, i + 0x8000));
        return [btoa(s), c.width, c.height];
    }""")
    return base64.b64decode(b64[0]), b64[1], b64[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory, ["digits"])


def test_draw_and_classify(playwright, site):
    model = webflow.load(demo_models("digits")["digits"])
    with demo_browser(playwright) as browser, open_demo(browser, site, "digits") as page:
        assert page.evaluate("__demo.backend") == "webgl"
        assert page.locator("#guess").inner_text() == "?"
        results = {}
        for label, path in (("0", zero), ("7", seven)):
            page.click("#clear")
            page.wait_for_function("!window.__demo.pending")
            before = page.evaluate("__demo.runs")
            draw(page, path)
            mid = page.evaluate("__demo.runs") - before  # runs while the stroke was drawn
            r = settle(page, before)
            assert mid >= 10, f"{label}: only {mid} classifications while drawing"
            pixels, w, h = canvas_pixels(page)
            want_input = digits.to_8x8(pixels, w, h)
            assert r["input"] == want_input, "the page's preprocessing differs from demo_site/py/digits in CPython"
            want = model.predict({"image": np.array(want_input, np.float32).reshape(1, 1, 8, 8)})["logits"][0]
            got = np.array(r["logits"], np.float32)
            err = np.abs(got - want).max()
            print(f"drew {label}: read {r['top'][0][0]} ({100 * r['top'][0][1]:.1f}%), {r['runs'] - before} runs, "
                  f"{mid} while drawing; logits max abs error vs numpy {err:.2g}; stages {r['timing']}")
            np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
            probs, top = digits.top_classes(want, 3)
            assert [d for d, _ in r["top"]] == [d for d, _ in top]
            assert str(r["top"][0][0]) == label, f"drew a {label}, the page read {r['top']}"
            assert page.locator("#guess").inner_text() == label
            results[label] = r["runs"] - before
        assert sum(results.values()) >= 30, f"{results}: fewer than 30 inputs classified"
        panel = page.locator("[data-wf=stats]").inner_text()  # fps and the per-stage latency
        assert "fps" in panel and all(s in panel for s in ("capture", "preprocess", "model", "postprocess")), panel
        screenshot(page, "digits")

