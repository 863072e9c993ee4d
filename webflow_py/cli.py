"""The `webflow` command: convert, run, verify, bench, info, serve."""

import argparse
import os
import re
import sys
import tempfile

from .errors import InputError, WebflowError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?i?B?)?\s*$", re.I)


def parse_size(text):
    """'4MB', '512KiB', '1048576' -> bytes (KB/MB are 1024-based, as shard sizes usually are)."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 4MB, 512KB, 1048576)")
    unit = (m.group(2) or "").upper().rstrip("B").rstrip("I")
    return int(float(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[unit])


def _load_inputs(specs, model_inputs):
    """--input NAME=FILE.npy (or a bare FILE.npy for a one-input model) -> {name: array}."""
    import numpy as np

    feeds = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep:
            if len(model_inputs) != 1:
                raise InputError(f"--input {spec}: the model has {len(model_inputs)} inputs "
                                 f"({', '.join(t.name for t in model_inputs)}); write --input NAME=FILE.npy")
            name, path = model_inputs[0].name, spec
        try:
            feeds[name] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise InputError(f"--input {spec}: cannot read {path}: {e}") from None
    return feeds


def _parse_dims(specs):
    dims = {}
    for spec in specs or []:
        name, sep, size = spec.partition("=")
        if not sep or not size.isdigit():
            raise InputError(f"--dim {spec}: expected NAME=SIZE, e.g. batch=4")
        dims[name] = int(size)
    return dims


def cmd_convert(args):
    from webflow.converter import convert

    convert(args.src, args.out_dir, quantize=args.quantize, shard_size=args.shard_size, layout=args.layout)


def _predict(model_dir, feeds, backend):
    """Run on the numpy backend here, or on the webgl backend in headless Chromium."""
    import webflow

    if backend == "webgl":
        from . import headless

        return headless.predict(model_dir, feeds)
    return webflow.load(model_dir, backend=backend).predict(feeds)


def cmd_run(args):
    import numpy as np
    from .loader import as_loader
    from .model import read_spec, check_inputs

    spec = read_spec(as_loader(args.model_dir))
    feeds = _load_inputs(args.input, spec.graph.inputs)
    if args.backend == "webgl":  # checked here so a wrong input fails before a browser starts
        check_inputs(spec.graph.inputs, {n: (x.shape, "bool" if x.dtype == np.bool_ else x.dtype.name, None) for n, x in feeds.items()})
    outputs = _predict(args.model_dir, feeds, args.backend)
    np.savez(args.output, **outputs)
    for name, y in outputs.items():
        print(f"{name}: {y.dtype} {list(y.shape)}")
    print(f"wrote {args.output}")


def cmd_verify(args):
    import webflow
    from webflow.converter import convert
    from webflow.converter.verify import compare, random_inputs, source_runtime

    with tempfile.TemporaryDirectory() as tmp:
        convert(args.src, tmp, quantize=args.quantize, log=lambda *a: None)
        model = webflow.load(tmp)
        feeds = _load_inputs(args.input, model.inputs)
        missing = [t for t in model.inputs if t.name not in feeds]
        feeds.update(random_inputs(missing, _parse_dims(args.dim)))
        want = source_runtime(args.src)(feeds)
        got = _predict(tmp, feeds, args.backend)
    rows = compare(got, want, args.atol, args.rtol)
    print(f"{'output':<24} {'max abs err':>12} {'max rel err':>12}  result")
    for name, a, r, ok, note in rows:
        print(f"{name:<24} {a:12.3g} {r:12.3g}  {'ok' if ok else 'FAIL'} {note}")
    bad = [r for r in rows if not r[3]]
    if bad:
        print(f"{len(bad)} output(s) beyond atol={args.atol} rtol={args.rtol}")
        return 1
    print(f"all {len(rows)} output(s) within atol={args.atol} rtol={args.rtol}")
    return 0


def bench_numpy(model_dir, runs, dims):
    import time

    import webflow
    from webflow.converter.verify import random_inputs

    t0 = time.perf_counter()
    model = webflow.load(model_dir)
    load_ms = (time.perf_counter() - t0) * 1e3
    feeds = random_inputs(model.inputs, dims)
    t1 = time.perf_counter()
    model.predict(feeds)
    first_ms = (time.perf_counter() - t1) * 1e3
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        model.predict(feeds)
        times.append((time.perf_counter() - t) * 1e3)
    s = sorted(times)
    return {"runtime": "webflow-numpy", "load_ms": load_ms, "first_ms": first_ms, "runs": runs, "median_ms": s[len(s) // 2],
            "p90_ms": s[min(len(s) - 1, int(0.9 * len(s)))], "min_ms": s[0], "python_ms": s[len(s) // 2], "times_ms": times}


def write_trace(profile, path):
    """Per-op GPU times as a Chrome trace (chrome://tracing, Perfetto), and the hot ops printed."""
    import json
    from collections import defaultdict

    events, ts = [], 0.0
    for s in profile["steps"]:
        events.append({"name": s["name"], "cat": s["op"], "ph": "X", "ts": ts, "dur": s["ms"] * 1e3, "pid": 1, "tid": 1,
                       "args": {"op": s["op"]}})
        ts += s["ms"] * 1e3
    with open(path, "w") as f:
        json.dump({"traceEvents": events, "displayTimeUnit": "ms", "otherData": {"timing": profile["source"]}}, f)
    by_op = defaultdict(float)
    for s in profile["steps"]:
        by_op[s["op"]] += s["ms"]
    total = sum(by_op.values())
    print(f"per-op GPU time ({profile['source']}), {len(profile['steps'])} steps, {total:.1f} ms:")
    for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {op:<24} {ms:9.2f} ms  {100 * ms / max(total, 1e-9):5.1f}%")
    print(f"wrote {path}")


def cmd_bench(args):
    import json

    dims = _parse_dims(args.dim)
    if args.backend == "webgl":
        from . import headless

        query = {"runs": args.runs, "dims": ",".join(f"{k}:{v}" for k, v in dims.items())}
        if args.profile:
            query["profile"] = 1
        result = headless.run_page(args.model_dir, query)
        result.pop("status", None)
        if args.profile:
            write_trace(result["profile"], args.profile)
    else:
        result = bench_numpy(args.model_dir, args.runs, dims)
    result["model"] = args.model_dir
    print(f"{result['runtime']}: load {result['load_ms']:.0f} ms, first inference {result['first_ms']:.1f} ms, "
          f"warm median {result['median_ms']:.2f} ms, p90 {result['p90_ms']:.2f} ms over {result['runs']} runs, "
          f"Python {result['python_ms']:.3f} ms per inference ({100 * result['python_ms'] / result['median_ms']:.1f}%)")
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {args.output}")


def cmd_info(args):
    from collections import Counter

    from .format import FORMAT_NAME, FORMAT_VERSION, summarize_weights
    from .loader import as_loader
    from .model import read_spec

    spec = read_spec(as_loader(args.model_dir))
    g = spec.graph
    src = spec.producer.get("source_format", "?")
    print(f"model: {args.model_dir}  (format {FORMAT_NAME} v{FORMAT_VERSION}, converted from {src})")
    print("inputs:")
    for t in g.inputs:
        print(f"  {t.describe()}")
    print("outputs:")
    for t in g.outputs:
        print(f"  {t.describe()}")
    print(f"ops ({len(g.nodes)} nodes):")
    for op, n in sorted(Counter(n.op for n in g.nodes).items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {op:<24} {n}")
    params, by = summarize_weights(spec)
    print(f"parameters: {params:,}")
    print("weight bytes by stored dtype: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by.items())))
    print(f"shards ({len(spec.shards)}):")
    for s in spec.shards:
        print(f"  {s.file}  {s.nbytes:,} bytes  sha256 {s.sha256[:16]}...")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def make_server(directory, host="127.0.0.1", port=8000):
    """A static server for a built site (demo_site/build.py, scripts/build_web.py): the MIME types
    module scripts and WebAssembly need, and `Cache-Control: no-cache`, so the browser checks
    every file again (a 304 when unchanged) and a rebuilt site, its service worker included, is
    picked up at the next load. Port 0 picks a free port (server.server_address has it)."""
    import functools
    import http.server
    import socket

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript",
                          ".wasm": "application/wasm", ".json": "application/json", ".css": "text/css", ".whl": "application/zip"}

        def end_headers(self):
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def log_request(self, code="-", size="-"):  # errors only: a page load is a hundred requests
            if isinstance(code, int) and code >= 400:
                super().log_request(code, size)

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    return Server((host, port), functools.partial(Handler, directory=os.path.abspath(directory)))


def cmd_serve(args):
    if not os.path.isfile(os.path.join(args.dir, "index.html")):
        raise InputError(f"{args.dir}: no index.html there; build a site first (python demo_site/build.py {args.dir})")
    try:
        server = make_server(args.dir, args.host, args.port)
    except OSError as e:
        raise InputError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}; pick another port with --port") from None
    port = server.server_address[1]
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "") else "[::1]" if args.host == "::" else f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/"
    print(f"serving {os.path.abspath(args.dir)}\nopen {url} in a web browser (Ctrl+C stops the server)", flush=True)
    if args.host not in LOOPBACK:
        print("note: camera, microphone and offline use need a secure page: open it as http://localhost or "
              "http://127.0.0.1 on this machine, or serve it over https for other machines", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="webflow", description="Trained models → the web browser.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert a model (.onnx) into model.json + weight shards")
    c.add_argument("src")
    c.add_argument("out_dir")
    c.add_argument("--quantize", choices=["float16", "int8"])
    c.add_argument("--shard-size", type=parse_size, default="4MB", help="bytes per weight shard (default 4MB)")
    c.add_argument("--layout", choices=["auto", "nchw"], default="auto",
                   help="auto (default): convolutions run channels-last (NHWC); nchw: keep the source layout")
    c.set_defaults(fn=cmd_convert)

    r = sub.add_parser("run", help="run a converted model on .npy inputs, save outputs as .npz")
    r.add_argument("model_dir")
    r.add_argument("--input", action="append", metavar="NAME=FILE.npy")
    r.add_argument("--backend", default="numpy", choices=["numpy", "webgl"], help="webgl: in headless Chromium")
    r.add_argument("--output", required=True, metavar="OUT.npz")
    r.set_defaults(fn=cmd_run)

    v = sub.add_parser("verify", help="convert, run webflow and the source runtime, compare outputs")
    v.add_argument("src")
    v.add_argument("--input", action="append", metavar="NAME=FILE.npy")
    v.add_argument("--dim", action="append", metavar="NAME=SIZE", help="size of a symbolic dim for random inputs (default 2)")
    v.add_argument("--atol", type=float, default=1e-4)
    v.add_argument("--rtol", type=float, default=1e-3)
    v.add_argument("--quantize", choices=["float16", "int8"])
    v.add_argument("--backend", default="numpy", choices=["numpy", "webgl"], help="webgl: in headless Chromium")
    v.set_defaults(fn=cmd_verify)

    b = sub.add_parser("bench", help="load time, first and warm inference latency, Python's share; writes JSON")
    b.add_argument("model_dir")
    b.add_argument("--backend", default="webgl", choices=["numpy", "webgl"], help="webgl: in headless Chromium")
    b.add_argument("--runs", type=int, default=50, help="warm runs (at least 30)")
    b.add_argument("--dim", action="append", metavar="NAME=SIZE", help="size of a symbolic dim (default 1)")
    b.add_argument("--output", default="bench.json", metavar="OUT.json")
    b.add_argument("--profile", metavar="TRACE.json", help="webgl: also time every op on the GPU, write a Chrome trace")
    b.set_defaults(fn=cmd_bench)

    i = sub.add_parser("info", help="inputs, outputs, ops, parameters and shards of a converted model")
    i.add_argument("model_dir")
    i.set_defaults(fn=cmd_info)

    s = sub.add_parser("serve", help="serve a built site (demo_site/build.py's build/demo) on this machine")
    s.add_argument("dir", help="the site's folder, e.g. build/demo")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    s.set_defaults(fn=cmd_serve)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except WebflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
