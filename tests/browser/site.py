"""A built site (scripts/build_web.py) with converted models, served for browser tests."""

import contextlib
import importlib.util
import os
import shutil

from tests.browser.harness import ROOT

_spec = importlib.util.spec_from_file_location("build_web", os.path.join(ROOT, "scripts", "build_web.py"))
build_web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_web)


def make_site(site_dir, models=None, pages=("model.html",)):
    """Build the site into site_dir, add test pages and models {name: model_dir}."""
    build_web.build(site_dir, log=lambda *a: None)
    for page in pages:
        shutil.copy(os.path.join(ROOT, "tests", "browser", page), os.path.join(site_dir, page))
    for name, model_dir in (models or {}).items():
        build_web.copy_model(model_dir, site_dir, name)
    return site_dir


@contextlib.contextmanager
def served(site_dir, models=None, pages=("model.html",)):
    """Build the site with `models` and serve it on 127.0.0.1; yields the base URL."""
    from tests.browser.harness import serve

    server = serve(make_site(site_dir, models, pages))
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextlib.contextmanager
def model_page(browser, base_url, page="model.html"):
    """A fresh page of the site, ready (window.ready); no uncaught page error may happen in it."""
    p = browser.new_page()
    errors = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(f"{base_url}/{page}")
    p.wait_for_function("window.ready === true", timeout=30000)
    yield p
    p.close()
    assert not errors, errors
