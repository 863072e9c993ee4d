"""MobileNetV2 1.0 at 224x224, batch 1: webflow's WebGL2 backend against TF.js 4.22's WebGL
backend running the same network, in the same headless Chromium.

    .venv/bin/python bench/mobilenet.py [--runs 50] [--rounds 2] [--out bench/results/mobilenet.json]

Prints each runtime's load, first-inference (shader compilation included) and warm median/p90
latency, webflow's Python share, and the ratios against TF.js; writes them as JSON.
The same site runs on the device machine's GPU (../shared/gpu/page_runner.py): --site-only.
"""

import argparse
import datetime
import json
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.browser.harness import launch, serve  # noqa: E402
from tests.browser.site import build_web  # noqa: E402

OUT = os.path.join(ROOT, "bench", "out")


def build_site():
    """The site: webflow runtime, the converted model, the peer pages and TF.js."""
    from webflow.converter import convert
    from tests.torch_models import export

    model_dir = os.path.join(OUT, "mobilenet_v2")
    os.makedirs(OUT, exist_ok=True)
    src = os.path.join(OUT, "mobilenet_v2.onnx")
    if not os.path.exists(src):
        export("mobilenet_v2_full", src)
    convert(src, model_dir, log=lambda *a: None)  # always: the model follows the converter's passes
    site = os.path.join(OUT, "site")
    build_web.build(site, log=lambda *a: None)
    build_web.copy_model(model_dir, site, "mobilenet_v2")
    shutil.copytree(os.path.join(ROOT, "bench", "pages"), os.path.join(site, "bench"), dirs_exist_ok=True)
    vendor = os.path.join(site, "vendor", "tfjs")
    os.makedirs(vendor, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "node_modules", "@tensorflow", "tfjs", "dist", "tf.min.js"), vendor)
    return site


PAGES = {
    "webflow-webgl": "/webflow_js/runner.html?model=../models/mobilenet_v2/&runs={runs}",
    "tfjs-webgl": "/bench/tfjs_mobilenet.html?backend=webgl&runs={runs}",
}


def run(page, url, timeout_s=900):
    page.goto(url)
    page.wait_for_function("window.__result !== undefined", timeout=timeout_s * 1000)
    result = page.evaluate("window.__result")
    if result.get("status") != "ok":
        raise SystemExit(f"{url}: {result.get('error')}")
    result.pop("times_ms", None)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2, help="each runtime is measured this many times, alternating")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "mobilenet.json"))
    ap.add_argument("--site-only", action="store_true", help="build the site and stop (for the device machine)")
    a = ap.parse_args()
    site = build_site()
    if a.site_only:
        print(site)
        return
    from playwright.sync_api import sync_playwright

    server = serve(site)
    base = f"http://127.0.0.1:{server.server_port}"
    rows = []
    with sync_playwright() as p:
        browser = launch(p)
        for r in range(a.rounds):
            for name, path in PAGES.items():
                page = browser.new_page()  # a fresh page each time: cold shader caches for "first"
                t = time.time()
                res = run(page, base + path.format(runs=a.runs))
                page.close()
                res.update(name=name, round=r, wall_s=round(time.time() - t, 1))
                rows.append(res)
                print(f"{name:<14} round {r}: first {res['first_ms']:8.0f} ms  warm median {res['median_ms']:7.1f} ms"
                      f"  p90 {res['p90_ms']:7.1f} ms" + (f"  python {res['python_ms']:.2f} ms" if "python_ms" in res else ""))
        browser.close()
    server.shutdown()
    summary = []
    for r in range(a.rounds):
        w = next(x for x in rows if x["name"] == "webflow-webgl" and x["round"] == r)
        t = next(x for x in rows if x["name"] == "tfjs-webgl" and x["round"] == r)
        s = {"round": r, "warm_ratio": w["median_ms"] / t["median_ms"], "first_ratio": w["first_ms"] / t["first_ms"],
             "python_share": w["python_ms"] / w["median_ms"]}
        summary.append(s)
        print(f"round {r}: warm {s['warm_ratio']:.2f}x TF.js (target <= 1.25), first inference {s['first_ratio']:.2f}x TF.js "
              f"(target <= 1.5), Python {100 * s['python_share']:.1f}% of warm latency (target <= 5%)")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"), "renderer": rows[0].get("capabilities", {}).get("renderer"),
                   "runs": a.runs, "results": rows, "ratios": summary}, f, indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
