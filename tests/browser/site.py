"""A built site (scripts/build_web.py) with converted models, served for browser tests."""

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
