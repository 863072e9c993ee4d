"""The demo site in headless Chromium, for the demo tests (tests/browser/test_demo_*.py).

    site = build_site(tmp_path_factory, ["gestures"])          # demo_site/build.py, served
    with demo_browser(playwright, video=y4m, audio=wav) as browser:   # fake camera / microphone
        with open_demo(browser, site, "gestures") as page:   # window.__demo.ready, no page errors
            ...
            screenshot(page, "gestures")                     # docs/screenshots/gestures.png

Models come from demo_site/build.py's cached steps (.cache/demo/), so a warm cache trains nothing.
"""

import contextlib
import os

from tests.browser.harness import ROOT, launch, serve

SCREENSHOTS = os.path.join(ROOT, "docs", "screenshots")
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"]


def build_site(tmp_path_factory, demos):
    """Build the site with `demos` into a temporary folder and serve it; returns the base URL
    (the server lives as long as the test process)."""
    from demo_site import build as demo_build

    out = str(tmp_path_factory.mktemp("demo-site") / "site")
    status = demo_build.build(out, demos=list(demos), log=lambda m: None)
    for name in demos:
        assert status[name]["built"], f"{name}: {status[name].get('reason')}"
    return f"http://127.0.0.1:{serve(out).server_port}"


def demo_models(name):
    """{model name: converted model folder} of demo `name`: the cached steps build_site copied to
    the site, for the numpy backend to compare the page's outputs with."""
    from demo_site import build as demo_build

    module = dict(demo_build.discover())[name]
    return module.models(demo_build.Kit(name, log=lambda m: None))


@contextlib.contextmanager
def demo_browser(playwright, video=None, audio=None, grant=True):
    """Chromium with fake media devices playing `video` (.y4m) and `audio` (.wav); grant=False
    leaves out the flag that accepts the permission prompt, so camera and microphone are denied."""
    args = list(FAKE_MEDIA)
    if grant:
        args.append("--use-fake-ui-for-media-stream")
    if video:
        args.append(f"--use-file-for-fake-video-capture={video}")
    if audio:
        args.append(f"--use-file-for-fake-audio-capture={audio}")
    browser = launch(playwright, args)
    try:
        yield browser
    finally:
        browser.close()


@contextlib.contextmanager
def open_demo(browser, base_url, name, timeout=180000, ready=True, **query):
    """The demo's page (keyword arguments become its URL query), once window.__demo.ready (or, with ready=False, once it has started);
    a start-up error on the page fails with the page's own message, and no uncaught page error
    may happen while the page is open."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    from urllib.parse import urlencode

    page.goto(f"{base_url}/{name}/" + (f"?{urlencode(query)}" if query else ""))
    if ready:
        page.wait_for_function("window.__demo && (window.__demo.ready || window.__demo.error)", timeout=timeout)
        state = page.evaluate("window.__demo")
        assert state["ready"], f"{name}: the page failed to start: {state['error']}"
    try:
        yield page
    finally:
        page.close()
    assert not errors, errors


def screenshot(page, name):
    """docs/screenshots/<name>.png: the README shows these."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, f"{name}.png")
    page.screenshot(path=path, full_page=True)
    return path
