"""webflow against its peers on the same models, in the same headless Chromium (issue 6).

    .venv/bin/python bench/run.py [--models mobilenet_v2,hand_landmark_lite] [--runtimes webflow-webgl,tfjs-webgl,...]
                                  [--runs 50] [--out bench/results/run.json]
    .venv/bin/python bench/run.py --site-only DIR [--models ...] [--runtimes ...] [--runs 50]
    .venv/bin/python bench/run.py --collect r1.jsonl [r2.jsonl ...] [--out bench/results/gpu.json]

Builds one static site (webflow's runtime from scripts/build_web.py, the converted models, the
peers' models from bench/peer_models.py and the peers' JS/wasm files from node_modules, nothing
from a CDN), opens every (runtime, model) page in turn, each in a fresh page of one Chromium
session, and prints load, first inference (shader compilation included), warm median and p90, the
backend and GPU each runtime really used, webflow's Python share, and webflow's ratio to each peer.

--site-only builds a site holding just the chosen runtimes and models, prints its size and the
page list (also written to DIR/pages.txt) for ../shared/gpu/page_runner.py on the device machine;
--collect turns the runner's JSON lines into the same table and JSON (bench/device.md).
"""

import argparse
import datetime
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)  # peer_models
OUT = os.path.join(BENCH, "out")
NODE = os.path.join(ROOT, "node_modules")


def _mobilenet_v2():
    src = os.path.join(OUT, "mobilenet_v2.onnx")
    if not os.path.exists(src):
        from tests.torch_models import export

        os.makedirs(OUT, exist_ok=True)
        export("mobilenet_v2_full", src)
    return src


def _hand_landmark_lite():
    src = os.path.join(ROOT, ".cache", "models", "mediapipe", "hand_landmark_lite.tflite")
    if not os.path.exists(src):
        raise SystemExit(f"{src} is missing: the MediaPipe models come from the mediapipe wheel (see tests/ for the fetch)")
    return src


# name -> the source file (webflow converts it directly; the peers get it through peer_models.py)
MODELS = {"mobilenet_v2": _mobilenet_v2, "hand_landmark_lite": _hand_landmark_lite}

# runtime -> its page, and the files it needs from node_modules (site path under vendor/ -> package path)
_TFJS = {"tfjs/tf.min.js": "@tensorflow/tfjs/dist/tf.min.js"}
_TFJS_WASM = {f"tfjs/{f}": f"@tensorflow/tfjs-backend-wasm/dist/{f}"
              for f in ("tf-backend-wasm.min.js", "tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm",
                        "tfjs-backend-wasm-threaded-simd.wasm")}
_ORT = "onnxruntime-web/dist/"
RUNTIMES = {
    "webflow-webgl": ("/webflow_js/runner.html?model=../models/{model}/&runs={runs}", {}),
    "tfjs-webgl": ("/bench/tfjs.html?backend=webgl&model={model}&runs={runs}", _TFJS),
    "tfjs-webgpu": ("/bench/tfjs.html?backend=webgpu&model={model}&runs={runs}",
                    {**_TFJS, "tfjs/tf-backend-webgpu.min.js": "@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js"}),
    "tfjs-wasm": ("/bench/tfjs.html?backend=wasm&model={model}&runs={runs}", {**_TFJS, **_TFJS_WASM}),
    # ort.webgl is JavaScript only; ort.webgpu loads the asyncify build (the smallest wasm with the
    # WebGPU EP), ort.wasm the plain one: each page gets only its own.
    "ort-webgl": ("/bench/ort.html?ep=webgl&model={model}&runs={runs}", {"ort/ort.webgl.min.mjs": _ORT + "ort.webgl.min.mjs"}),
    "ort-webgpu": ("/bench/ort.html?ep=webgpu&model={model}&runs={runs}",
                   {f"ort/{f}": _ORT + f for f in ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                                                   "ort-wasm-simd-threaded.asyncify.wasm")}),
    "ort-wasm": ("/bench/ort.html?ep=wasm&model={model}&runs={runs}",
                 {f"ort/{f}": _ORT + f for f in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")}),
}
BASELINE = "tfjs-webgl"  # the targets are stated against it


def page_url(runtime, model, runs):
    return RUNTIMES[runtime][0].format(model=model, runs=runs)


def identify(url):
    """(runtime, model) of a page URL made by page_url."""
    path, _, query = url.partition("?")
    q = dict(urllib.parse.parse_qsl(query))
    if path.endswith("runner.html"):
        return "webflow-webgl", q["model"].strip("/").split("/")[-1]
    return f"{'tfjs' if path.endswith('tfjs.html') else 'ort'}-{q.get('backend') or q.get('ep')}", q["model"]


# ---------------------------------------------------------------- the models, cached under bench/out

def _stamp(*paths):
    h = hashlib.sha256()
    for p in paths:
        s = os.stat(p)
        h.update(f"{p}:{s.st_size}:{s.st_mtime_ns};".encode())
    return h.hexdigest()


def _cached(out, key, make):
    """make(out) unless `out` was made from the same inputs (key) already."""
    stamp = out.rstrip("/") + ".stamp"
    if os.path.exists(out) and os.path.exists(stamp) and open(stamp).read() == key:
        return out
    make(out)
    with open(stamp, "w") as f:
        f.write(key)
    return out


def webflow_model(name, log):
    from webflow.converter import convert

    out = os.path.join(OUT, "webflow", name)
    convert(MODELS[name](), out, log=lambda *a: None)  # always: the model follows the converter's passes
    log(f"  webflow: converted {name}")
    return out


def onnx_model(name, log):
    """One self-contained .onnx (ORT-Web's webgl EP reads no external data)."""
    import peer_models

    src = MODELS[name]()

    def make(out):
        if src.endswith(".onnx"):
            import onnx

            model = onnx.load(src)  # external weights embedded
            for t in [*model.graph.input, *model.graph.output]:  # batch 1: the webgl EP takes no symbolic dims
                for d in t.type.tensor_type.shape.dim:
                    if d.dim_param:
                        d.dim_value = 1
            del model.graph.value_info[:]
            _opset17(model)
            onnx.save(model, out)
            log(f"  onnx: {name} from {os.path.basename(src)}: weights embedded, batch 1, opset 17")
        else:
            peer_models.convert("onnx", src, out, log)

    os.makedirs(os.path.join(OUT, "peers", "onnx"), exist_ok=True)
    return _cached(os.path.join(OUT, "peers", "onnx", name + ".onnx"), _stamp(src, peer_models.__file__, __file__), make)


def _opset17(model):
    """Opset 18 -> 17 for the ops these models use: the webgl EP knows no ReduceMean with axes as
    an input (onnx's version converter has no adapter for it)."""
    import onnx
    from onnx import numpy_helper

    init = {i.name: i for i in model.graph.initializer}
    consts = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    for n in model.graph.node:
        if n.op_type == "ReduceMean" and len(n.input) > 1:
            src = init.get(n.input[1])
            axes = numpy_helper.to_array(src) if src is not None else numpy_helper.to_array(consts[n.input[1]].attribute[0].t)
            del n.input[1:]
            keep = [a for a in n.attribute if a.name != "noop_with_empty_axes"]  # opset 18 only
            del n.attribute[:]
            n.attribute.extend(keep)
            n.attribute.append(onnx.helper.make_attribute("axes", [int(a) for a in axes]))
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = min(o.version, 17)


def onnx_inputs(path):
    """{input name: shape}, symbolic dims (the batch) as 1."""
    import onnx

    g = onnx.load(path, load_external_data=False).graph
    init = {i.name for i in g.initializer}
    return {i.name: [d.dim_value or 1 for d in i.type.tensor_type.shape.dim] for i in g.input if i.name not in init}


def tfjs_model(name, log):
    import peer_models

    src = MODELS[name]()
    os.makedirs(os.path.join(OUT, "peers", "tfjs"), exist_ok=True)
    return _cached(os.path.join(OUT, "peers", "tfjs", name), _stamp(src, peer_models.__file__),
                   lambda out: peer_models.convert("tfjs", src, out, log))


# ---------------------------------------------------------------- the site

def build_site(site, models, runtimes, log=print):
    """A fresh site holding just these runtimes and models; returns its size in bytes."""
    from tests.browser.site import build_web

    shutil.rmtree(site, ignore_errors=True)
    os.makedirs(site)
    if "webflow-webgl" in runtimes:
        build_web.build(site, log=lambda *a: None)
        for m in models:
            build_web.copy_model(webflow_model(m, log), site, m)
    peers = [r for r in runtimes if r != "webflow-webgl"]
    if peers:
        shutil.copytree(os.path.join(BENCH, "pages"), os.path.join(site, "bench"))
    for r in peers:
        for dest, src in RUNTIMES[r][1].items():
            os.makedirs(os.path.dirname(os.path.join(site, "vendor", dest)), exist_ok=True)
            shutil.copy(os.path.join(NODE, src), os.path.join(site, "vendor", dest))
    for m in models:
        if any(r.startswith("ort-") for r in runtimes):
            os.makedirs(os.path.join(site, "peers", "onnx"), exist_ok=True)
            src = onnx_model(m, log)
            shutil.copy(src, os.path.join(site, "peers", "onnx", m + ".onnx"))
            with open(os.path.join(site, "peers", "onnx", m + ".inputs.json"), "w") as f:
                json.dump(onnx_inputs(src), f)
        if any(r.startswith("tfjs-") for r in runtimes):
            shutil.copytree(tfjs_model(m, log), os.path.join(site, "peers", "tfjs", m))
    return sizes(site, log)


def sizes(site, log=print):
    parts = {}
    for d, _, files in os.walk(site):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), site).split(os.sep)
            key = "/".join(rel[:2] if rel[0] in ("vendor", "peers", "models") else rel[:1])
            parts[key] = parts.get(key, 0) + os.path.getsize(os.path.join(d, f))
    total = sum(parts.values())
    log(f"site {site}: {total / 2**20:.1f} MiB (" + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in sorted(parts.items()) if v > 2**19) + ")")
    return total


# ---------------------------------------------------------------- running here

class _Handler(http.server.SimpleHTTPRequestHandler):
    """What page_runner.py serves: cross-origin isolation (wasm threads), no caching, POST /__result."""
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_POST(self):  # the result: Playwright reads window.__result
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def run_pages(site, urls, timeout_s, log=print):
    """Open each URL in a fresh page of one Chromium; returns (results, browser version)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.harness import launch

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    results = []
    with sync_playwright() as p:
        browser = launch(p, ["--enable-unsafe-webgpu"])
        version = browser.version
        for url in urls:
            page = browser.new_page()
            t = time.time()
            try:
                page.goto(base + url)
                page.wait_for_function("window.__result !== undefined", timeout=timeout_s * 1000, polling=500)
                r = page.evaluate("window.__result")
            except Exception as e:  # a page that hangs or dies: recorded, the others still run
                r = {"status": "error", "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
            page.close()
            r.update(page=url, wall_s=round(time.time() - t, 1))
            results.append(r)
            log(_row(*identify(url), r))
        browser.close()
    server.shutdown()
    return results, version


# ---------------------------------------------------------------- tables, ratios, targets

def _ms(v):
    return "-" if v is None else f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _row(runtime, model, r):
    if r.get("status") != "ok":
        return f"{model:<19} {runtime:<14} {r.get('status')}: {str(r.get('error')).splitlines()[0][:150]}"
    py = f"{100 * r['python_ms'] / r['median_ms']:.2f}%" if "python_ms" in r else ""
    return (f"{model:<19} {runtime:<14} {_ms(r.get('load_ms')):>8} {_ms(r.get('first_ms')):>8} {_ms(r.get('median_ms')):>8} "
            f"{_ms(r.get('p90_ms')):>8} {py:>7}  {r.get('backend', '')}")


HEADER = f"{'model':<19} {'runtime':<14} {'load ms':>8} {'first ms':>8} {'warm ms':>8} {'p90 ms':>8} {'python':>7}  backend"


def summarize(rows, log=print):
    """rows: [{runtime, model, result}] -> (ratios, targets), printed."""
    by = {(x["model"], x["runtime"]): x["result"] for x in rows if x["result"].get("status") == "ok"}
    ratios, targets = {}, []
    swiftshader = any("SwiftShader" in str(x["result"].get("renderer") or x["result"].get("capabilities", {}).get("renderer"))
                      for x in rows)
    for model in dict.fromkeys(x["model"] for x in rows):
        w = by.get((model, "webflow-webgl"))
        if not w:
            continue
        ratios[model] = {}
        for (m, runtime), r in by.items():
            if m == model and runtime != "webflow-webgl":
                ratios[model][runtime] = {"warm": w["median_ms"] / r["median_ms"], "first": w["first_ms"] / r["first_ms"]}
        line = ", ".join(f"{k} {v['warm']:.2f}x / {v['first']:.2f}x" for k, v in ratios[model].items())
        log(f"{model}: webflow / peer, warm / first: {line}")
        if swiftshader and BASELINE in ratios[model]:
            targets += [(model, f"warm <= 0.7x {BASELINE}", ratios[model][BASELINE]["warm"], 0.7),
                        (model, f"first <= 0.5x {BASELINE}", ratios[model][BASELINE]["first"], 0.5)]
        elif not swiftshader:
            limits = {"mobilenet_v2": (4.0, 1000.0), "hand_landmark_lite": (3.0, None)}.get(model, (None, None))
            if limits[0]:
                targets.append((model, f"warm <= {limits[0]:g} ms", w["median_ms"], limits[0]))
            if limits[1]:
                targets.append((model, f"first <= {limits[1]:g} ms", w["first_ms"], limits[1]))
        if "python_ms" in w:
            targets.append((model, "Python <= 3% of warm", w["python_ms"] / w["median_ms"], 0.03))
    out = [{"model": m, "target": t, "value": v, "limit": lim, "met": v <= lim} for m, t, v, lim in targets]
    for t in out:
        log(f"{t['model']:<19} {t['target']:<24} {t['value']:.3g} -> {'met' if t['met'] else 'NOT met'}")
    return ratios, out


def markdown(rows, ratios):
    """The table as docs/PERFORMANCE.md shows it."""
    lines = ["| model | runtime | backend | load ms | first ms | warm median ms | p90 ms | webflow/peer warm | webflow/peer first |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for x in rows:
        r, m, rt = x["result"], x["model"], x["runtime"]
        if r.get("status") != "ok":
            lines.append(f"| {m} | {rt} | {r.get('status')}: {str(r.get('error')).splitlines()[0][:80]} | | | | | | |")
            continue
        q = ratios.get(f"round {x['round']}" if "round" in x else m, {}).get(m if "round" in x else rt)
        q = q.get(rt) if q and "round" in x else q
        warm, first = (f"{q['warm']:.2f}", f"{q['first']:.2f}") if q else ("", "")
        py = f" (Python {100 * r['python_ms'] / r['median_ms']:.2f}%)" if "python_ms" in r else ""
        lines.append(f"| {m} | {rt} | {r.get('backend', '')} | {_ms(r.get('load_ms'))} | {_ms(r.get('first_ms'))} | "
                     f"{_ms(r.get('median_ms'))}{py} | {_ms(r.get('p90_ms'))} | {warm} | {first} |")
    return "\n".join(lines)


def report(rows, meta, out, log=print):
    log(HEADER)
    for x in rows:
        log(_row(x["runtime"], x["model"], x["result"]))
    rounds = sorted({x.get("round", 0) for x in rows})
    if len(rounds) == 1:
        ratios, targets = summarize(rows, log)
    else:  # each round compared within itself
        ratios, targets = {}, []
        for i in rounds:
            log(f"round {i}:")
            ratios[f"round {i}"], t = summarize([x for x in rows if x.get("round") == i], log)
            targets += [{"round": i, **x} for x in t]
    for x in rows:
        x["result"].pop("times_ms", None)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({**meta, "results": rows, "ratios": ratios, "targets": targets}, f, indent=1)
    log(f"wrote {out}")


def _renderers(rows):
    r = [x["result"] for x in rows if x["result"].get("status") == "ok"]
    webgl = next((x.get("capabilities", {}).get("renderer") or x.get("renderer") for x in r
                  if x.get("backend") in ("webgl", "webgl2") or x.get("capabilities")), None)
    webgpu = next((x.get("renderer") for x in r if x.get("backend") == "webgpu"), None)
    agent = next((x["user_agent"] for x in r if "user_agent" in x), "")
    return {"browser_agent": agent, "webgl_renderer": webgl, "webgpu_adapter": webgpu}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1, help="open the whole page list this many times (ratios per round)")
    ap.add_argument("--runs-per", default="", metavar="RUNTIME=N,...",
                    help="fewer runs for runtimes that are slow here (WebGPU on SwiftShader: seconds per inference)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "run.json"))
    ap.add_argument("--site", default=os.path.join(OUT, "site"), help="where the site is built for a run here")
    ap.add_argument("--site-only", metavar="DIR", help="build the site into DIR, print its pages, and stop")
    ap.add_argument("--collect", metavar="JSONL", nargs="+", help="page_runner.py's result files (device machine) -> one table and JSON")
    ap.add_argument("--markdown", metavar="JSON", help="print a results file (this script's --out) as docs/PERFORMANCE.md's table")
    ap.add_argument("--timeout", type=int, default=900, help="seconds a page may take")
    a = ap.parse_args()
    models, runtimes = a.models.split(","), a.runtimes.split(",")
    for x, known in ((models, MODELS), (runtimes, RUNTIMES)):
        bad = [v for v in x if v not in known]
        if bad:
            raise SystemExit(f"unknown: {', '.join(bad)} (known: {', '.join(known)})")
    if a.markdown:
        d = json.load(open(a.markdown))
        print(f"{d['date']}, {d.get('browser') or d.get('browser_agent', '')}, WebGL: {d.get('webgl_renderer')}, WebGPU: {d.get('webgpu_adapter')}\n")
        print(markdown(d["results"], d["ratios"]))
        for t in d["targets"]:
            print(f"- {'round %d, ' % t['round'] if 'round' in t else ''}{t['model']}: {t['target']}: {t['value']:.3g} -> {'met' if t['met'] else 'NOT met'}")
        return
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    if a.collect:
        rows = []
        for line in (x for path in a.collect for x in open(path)):
            if line.strip():
                r = json.loads(line)
                runtime, model = identify(r["page"])
                rows.append({"runtime": runtime, "model": model, "result": r})
        report(rows, {"date": stamp, "machine": "device (page_runner.py)", **_renderers(rows)}, a.out)
        return
    per = {k: int(v) for k, v in (x.split("=") for x in a.runs_per.split(",") if x)}
    urls = [page_url(r, m, per.get(r, a.runs)) for m in models for r in runtimes]
    if a.site_only:
        size = build_site(a.site_only, models, runtimes)
        with open(os.path.join(a.site_only, "pages.txt"), "w") as f:
            f.write("\n".join(urls) + "\n")
        print(f"{size / 2**20:.1f} MiB; pages ({os.path.join(a.site_only, 'pages.txt')}):")
        print("\n".join(urls))
        return
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    build_site(a.site, models, runtimes)
    print(HEADER)
    results, version = run_pages(a.site, urls * a.rounds, a.timeout)
    rows = [{"runtime": r, "model": m, "result": res, **({"round": i // len(urls)} if a.rounds > 1 else {})}
            for i, ((r, m), res) in enumerate(zip([identify(u) for u in urls * a.rounds], results))]
    report(rows, {"date": stamp, "machine": "here (headless Chromium, SwiftShader)", "browser": f"Chromium {version}",
                  "runs": a.runs, "commit": commit, **_renderers(rows)}, a.out)


if __name__ == "__main__":
    main()
