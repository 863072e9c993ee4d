"""A demo page works offline after one visit: the service worker serves the site's shell (pages,
runtime, Pyodide) and webflow_js/fetch.js its Cache API copy of the model. The digits page is
opened once, the browser context is taken offline, and the reloaded page starts and classifies."""

import pytest

from tests.browser.demo_pages import build_site, demo_browser, open_demo
from tests.browser.test_demo_digits import draw, settle, seven


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory, ["digits"])


def test_digits_offline_after_one_visit(playwright, site):
    with demo_browser(playwright) as browser, open_demo(browser, site, "digits") as page:
        page.wait_for_function("window.__demo.offline", timeout=60000)  # the worker has cached the shell
        page.context.set_offline(True)
        # the network is really gone: a file outside the shell and the model cache cannot be fetched
        assert page.evaluate("fetch('demos.json?offline-check').then(() => 'fetched', (e) => e.name)") == "TypeError"
        page.reload()
        page.wait_for_function("window.__demo && (window.__demo.ready || window.__demo.error)", timeout=120000)
        state = page.evaluate("__demo")
        assert state["ready"], f"the page did not start offline: {state['error']}"
        assert page.evaluate("navigator.onLine") is False
        assert page.evaluate("navigator.serviceWorker.controller !== null"), "the page is served by the worker"
        draw(page, seven, steps=20, pause_ms=10)
        r = settle(page)
        assert r["top"][0][0] == 7, r["top"]
        assert page.locator("#guess").inner_text() == "7"
