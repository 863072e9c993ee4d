"""The gestures demo's whole pipeline in headless Chromium: frames per second, and where a
frame's time goes (capture, preprocess, model, postprocess).

    .venv/bin/python bench/gestures.py [--seconds 20] [--out bench/results/gestures.json]

Builds the site with the gestures demo, feeds Chromium's fake camera the browser test's video
(a drawn hand making paper, rock and scissors, 640x480 at 30 fps) and runs the page twice:

- "pipelined": the page as visitors get it. fps is frames processed per second. The GPU runs
  asynchronously, so the capture and preprocess stages only issue their GPU work, which then
  finishes inside the model stage (the model's outputs are read back, which waits for it).
- "exact" (?exact=1): the page waits for the GPU after every stage, so each stage's time is
  its own: this is the split the share outside the model is taken from.

share_outside_model = 1 - model_ms / frame_ms, where frame_ms is the sum of a frame's stages
(waiting for a new camera frame included), averaged over the same frames: all of a frame's time
that is not the landmark model (capture, preprocess, Python analysis and game, overlay, wait).
Target: at most 0.2. 1000 / fps is a little more than frame_ms (the loop's own bookkeeping and
the spread of frame times). Frames are averaged after a warm-up of WARMUP frames (shader
compilation). Timings depend on the machine's load: the load average is recorded with them.
"""

import argparse
import datetime
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
OUT = os.path.join(ROOT, "bench", "out")
WARMUP = 5
STAGES = ("capture_ms", "preprocess_ms", "model_ms", "postprocess_ms", "wait_ms")


def measure(browser, url, seconds):
    """Open `url`, skip WARMUP frames, then collect every frame's timing for `seconds`."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(f"(window.__demo && window.__demo.error) || (window.__demo.hands && window.__demo.hands.frames >= {WARMUP})", timeout=300000)
    if page.evaluate("__demo.error"):
        raise SystemExit(f"the page failed: {page.evaluate('__demo.error')}")
    # the camera keeps its last 30 frames' timings (webflow_js/media/camera.js): poll them often
    # enough, each frame keyed by its time stamp (the newest copy: it gets model_ms when done)
    frames, t_end = {}, time.monotonic() + seconds
    start = page.evaluate("performance.now()")
    while time.monotonic() < t_end:
        for r in page.evaluate("__demoKit.hands.camera.recent"):
            frames[r["t"]] = r
        time.sleep(0.5)
    for r in page.evaluate("__demoKit.hands.camera.recent"):
        frames[r["t"]] = r
    gestures = page.evaluate("__demo.hands.hand.gesture")
    page.close()
    if errors:
        raise SystemExit(f"page errors: {errors}")
    done = sorted((r for r in frames.values() if "model_ms" in r and r["t"] >= start), key=lambda r: r["t"])
    span = (done[-1]["t"] - done[0]["t"]) / 1000 if len(done) > 1 else 0
    fps = (len(done) - 1) / span if span else 0.0
    if len(done) < 3:
        raise SystemExit(f"only {len(done)} frames in {seconds} s: give it more --seconds")
    mean = {k: sum(r[k] for r in done) / len(done) for k in STAGES}
    frame_ms = sum(mean.values())
    return {
        "frames": len(done), "seconds": round(span, 2), "fps": round(fps, 2), "frame_ms": round(frame_ms, 2),
        **{k: round(v, 2) for k, v in mean.items()},
        "share_outside_model": round(1 - mean["model_ms"] / frame_ms, 4),
        "last_gesture": gestures,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "gestures.json"))
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from demo_site import build as demo_build
    from tests.browser.demo_pages import demo_browser
    from tests.browser.harness import serve
    from tests.browser.test_demo_gestures import gesture_video

    os.makedirs(OUT, exist_ok=True)
    site = os.path.join(OUT, "gestures-site")
    demo_build.build(site, demos=["gestures"], log=lambda m: None)
    video = gesture_video(os.path.join(OUT, "gestures.y4m"))
    url = f"http://127.0.0.1:{serve(site).server_port}/gestures/"
    runs = {}
    with sync_playwright() as p, demo_browser(p, video=video) as browser:
        version = browser.version
        for name, query in (("pipelined", ""), ("exact", "?exact=1")):
            print(f"{name}: {args.seconds:.0f} s of frames...", flush=True)
            runs[name] = measure(browser, url + query, args.seconds)
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "browser": f"Chromium {version}, headless, WebGL2 on SwiftShader (CPU)",
        "load_average": [round(v, 2) for v in os.getloadavg()], "cpus": os.cpu_count(),
        "model": "hand_landmark_lite (MediaPipe), 224x224, webflow webgl", "camera": "fake, 640x480 at 30 fps",
        "target_share_outside_model": 0.2, "runs": runs,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"{'run':10} {'fps':>6} {'frame':>8} {'capture':>8} {'preproc':>8} {'model':>8} {'postproc':>9} {'wait':>7}  outside model")
    for name, r in runs.items():
        print(f"{name:10} {r['fps']:6.2f} {r['frame_ms']:8.1f} {r['capture_ms']:8.1f} {r['preprocess_ms']:8.1f} {r['model_ms']:8.1f} "
              f"{r['postprocess_ms']:9.1f} {r['wait_ms']:7.1f}  {100 * r['share_outside_model']:.1f}% (target <= 20%)")
    print(f"load average {result['load_average']} on {result['cpus']} CPUs; wrote {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
