"""Build the demo site: one folder of static files that any static host can serve.

    .venv/bin/python demo_site/build.py [OUT] [--demo NAME ...]     (default OUT: build/demo)

    OUT/index.html, common/, <demo>/      the pages (demo_site/, minus the build-side .py files)
    OUT/py/<package>/, py/index.json      the demos' Python, which the pages import into Pyodide
    OUT/models/<name>/                    every demo's models, converted with webflow
    OUT/webflow_js/ pyodide/ wheels/ manifest.json   the runtime (scripts/build_web.py)
    OUT/demos.json                        which demos were built (or skipped, and why)
    OUT/sw.js                             the service worker: the site shell, cached for offline use

A demo is a folder demo_site/<name>/ with its page (index.html, main.js, ...) and a demo.py that
says how its models are made (demo_site/README.md). Models come from cached steps under
.cache/demo/, keyed by the hash of what they are made from, so a rebuild trains nothing unless
its training script changed. A demo whose inputs are missing (kit.Skip) is left out, with the
reason printed; the rest of the site still builds.
"""

import argparse
import hashlib
import html
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(ROOT, "build", "demo")
CACHE = os.path.join(ROOT, ".cache", "demo")
RUNTIME = ("webflow_js", "pyodide", "wheels", "manifest.json")  # written by scripts/build_web.py
# Conversion output depends on these sources: a change reconverts (cheap), it never retrains.
CONVERTER_SOURCES = ("converter", "webflow_py")

if ROOT not in sys.path:  # run as a script: the repository's own webflow and scripts/
    sys.path.insert(0, ROOT)
from scripts import build_web  # noqa: E402


class Skip(Exception):
    """Raised by a demo's models(kit) when something it needs is not there: the demo is left out."""


# --- hashing ----------------------------------------------------------------------------------

def fingerprint(inputs, extra=()):
    """sha256 over files and folders (relative path and content of every file) and extra strings."""
    h = hashlib.sha256()
    for item in inputs:
        path = os.path.join(ROOT, item) if not os.path.isabs(item) else item
        if os.path.isdir(path):
            files = sorted(build_web._tree(path).items())
        elif os.path.isfile(path):
            files = [("", path)]
        else:
            raise FileNotFoundError(f"{path}: a step's input is missing")
        for rel, p in files:
            h.update(f"{os.path.relpath(path, ROOT)}/{rel}\0{build_web._sha256(p)}\0".encode())
    for s in extra:
        h.update(f"{s}\0".encode())
    return h.hexdigest()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        pass
    return True


# --- what a demo's models(kit) gets -----------------------------------------------------------

class Kit:
    """The build's helpers for one demo. A demo's models(kit) returns {model name: converted
    model folder}; each folder lands at <site>/models/<name>/."""

    Skip = Skip
    root = ROOT
    cache = CACHE

    def __init__(self, demo, log):
        self.demo = demo
        self._log = log

    def log(self, message):
        self._log(f"  {self.demo}: {message}")

    def path(self, *parts):
        """A path in the repository."""
        return os.path.join(ROOT, *parts)

    def require(self, path, hint):
        """`path` (repository-relative or absolute) if it exists; else Skip with `hint` (how to get it)."""
        full = path if os.path.isabs(path) else self.path(path)
        if not os.path.exists(full):
            raise Skip(f"{os.path.relpath(full, ROOT)} is missing ({hint})")
        return full

    def step(self, name, make, inputs=(), extra=()):
        """A cached folder: make(out_dir) runs only when no folder exists for this key, the hash of
        `inputs` (files or folders, repository-relative or absolute) and `extra` (strings, e.g.
        options). Returns .cache/demo/<name>-<key>/; older folders of the same step are removed."""
        key = fingerprint(inputs, [name, *extra])[:16]
        out = os.path.join(CACHE, f"{name}-{key}")
        if os.path.isdir(out):
            self.log(f"{name}: cached ({os.path.relpath(out, ROOT)})")
            return out
        os.makedirs(CACHE, exist_ok=True)
        for old in os.listdir(CACHE):  # left by a build that was killed mid-step
            pid = old.rsplit("-", 1)[-1]
            if old.startswith(f".tmp-{name}-") and pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(os.path.join(CACHE, old), ignore_errors=True)
        tmp = os.path.join(CACHE, f".tmp-{name}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        self.log(f"{name}: making (not cached yet)")
        t0 = time.monotonic()
        try:
            make(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for old in os.listdir(CACHE):
            if old.startswith(f"{name}-") and len(old) == len(name) + 17:
                shutil.rmtree(os.path.join(CACHE, old), ignore_errors=True)
        try:
            os.replace(tmp, out)
        except OSError:  # another build made it meanwhile: same key, same content
            if not os.path.isdir(out):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        self.log(f"{name}: done in {time.monotonic() - t0:.1f} s ({os.path.relpath(out, ROOT)})")
        return out

    def run(self, *cmd, label=None):
        """Run a command (e.g. a training script with this Python), its output shown indented; on
        a terminal a ticking clock shows it is alive. Fails the build if the command fails."""
        label = label or "working"
        proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        t0, done = time.monotonic(), threading.Event()
        tty = sys.stdout.isatty()
        lock = threading.Lock()

        def tick():
            while tty and not done.wait(1.0):
                with lock:
                    sys.stdout.write(f"\r    {label}: {time.monotonic() - t0:.0f} s")
                    sys.stdout.flush()
        threading.Thread(target=tick, daemon=True).start()
        for line in proc.stdout:
            with lock:
                sys.stdout.write(("\r\033[K" if tty else "") + f"    | {line.rstrip()}\n")
                sys.stdout.flush()
        done.set()
        if tty:
            sys.stdout.write("\r\033[K")
        if proc.wait():
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed (exit {proc.returncode})")

    def convert(self, src, name=None, verify=True, metadata=None, **options):
        """Convert `src` (.onnx, .tflite, .keras, a SavedModel) with webflow; cached on the source's
        content, the converter's sources, `metadata` and the options. With verify, the converted
        model runs on numpy against the source's own runtime on random inputs (atol 1e-4, rtol
        1e-3) and a mismatch fails the build: a wrong model never reaches the site. `metadata`
        (e.g. {"labels": [...]}) goes into model.json's free-form metadata, for the page."""
        name = name or f"{self.demo}-convert"
        make = lambda out: self._convert(src, out, verify, metadata, options)  # noqa: E731
        extra = [json.dumps(options, sort_keys=True), json.dumps(metadata, sort_keys=True), f"verify={verify}"]
        return self.step(name, make, inputs=[src, *CONVERTER_SOURCES], extra=extra)

    def _convert(self, src, out, verify, metadata, options):
        from webflow.converter import convert

        convert(src, out, log=lambda m: self.log(f"  {m}"), **options)
        if metadata:
            path = os.path.join(out, "model.json")
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            doc["metadata"] = {**doc.get("metadata", {}), **metadata}
            with open(path, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1)
        if not verify:
            return
        import webflow
        from webflow.converter.verify import compare, random_inputs, source_runtime

        model = webflow.load(out)
        feeds = random_inputs(model.inputs)
        rows = compare(model.predict(feeds), source_runtime(src)(feeds), 1e-4, 1e-3)
        worst = max((r[1] for r in rows), default=0.0)
        if not all(r[3] for r in rows):
            raise RuntimeError(f"{src}: webflow's outputs differ from the source runtime's: {rows}")
        self.log(f"  verified against the source runtime: max abs error {worst:.2g}")


# --- the site -----------------------------------------------------------------------------------

def discover():
    """The demos: demo_site/<name>/demo.py, as (name, module), in name order."""
    found = []
    for name in sorted(os.listdir(HERE)):
        path = os.path.join(HERE, name, "demo.py")
        if os.path.isfile(path):
            spec = importlib.util.spec_from_file_location(f"demo_site_{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            found.append((name, module))
    return found


def _pages(folder):
    """A page folder's files for the site: everything but the build side (.py, caches, dotfiles)."""
    return {rel: p for rel, p in build_web._tree(folder).items() if not rel.endswith(".py")}


def build(out=DEFAULT_OUT, demos=None, log=print):
    """Build (or bring up to date) the site in `out`; `demos`: names to build (default: all).
    Returns demos.json's content."""
    t0 = time.monotonic()
    out = os.path.abspath(out)
    log(f"webflow demo site -> {out}")

    log("[1/4] runtime: webflow_js, Pyodide, the webflow wheel")
    build_web.build(out, log=lambda m: log(f"  {m}"))

    log("[2/4] models (cached under .cache/demo/)")
    found = discover()
    if demos is not None:
        unknown = set(demos) - {n for n, _ in found}
        if unknown:
            raise SystemExit(f"no such demo(s): {', '.join(sorted(unknown))} (demos: {', '.join(n for n, _ in found)})")
        found = [(n, m) for n, m in found if n in demos]
    status, models = {}, {}
    for name, module in found:
        entry = {"title": getattr(module, "TITLE", name), "python": list(getattr(module, "PYTHON", [])), "models": []}
        try:
            made = module.models(Kit(name, log)) if hasattr(module, "models") else {}
        except Skip as e:
            log(f"  {name}: SKIPPED: {e}")
            status[name] = {**entry, "built": False, "reason": str(e)}
            continue
        for model_name, folder in made.items():
            if models.get(model_name, folder) != folder:  # demos may share a model made by the same step
                raise SystemExit(f"model name {model_name!r} is used by two demos for different models")
            models[model_name] = folder
            entry["models"].append(model_name)
        status[name] = {**entry, "built": True}
        log(f"  {name}: ready ({', '.join(entry['models']) or 'no models'})")
    for model_name, folder in models.items():
        build_web.copy_model(folder, out, model_name)
    _prune(os.path.join(out, "models"), set(models))

    log("[3/4] pages and the demos' Python")
    built = [n for n, s in status.items() if s["built"]]
    common = _pages(os.path.join(HERE, "common"))
    common.pop("sw.js")  # the service worker's body: it becomes <site>/sw.js below
    build_web._sync(common, os.path.join(out, "common"))
    for name in built:
        build_web._sync(_pages(os.path.join(HERE, name)), os.path.join(out, name))
    for name in (n for n, s in status.items() if not s["built"]):  # a link to it still says why
        build_web._sync({}, os.path.join(out, name))
        page = NOT_BUILT.format(title=html.escape(status[name]["title"]), reason=html.escape(status[name]["reason"]))
        build_web._write_if_changed(os.path.join(out, name, "index.html"), page.encode())
    shutil.copy2(os.path.join(HERE, "index.html"), os.path.join(out, "index.html"))
    py_src = os.path.join(HERE, "py")
    packages = sorted(d for d in os.listdir(py_src) if os.path.isfile(os.path.join(py_src, d, "__init__.py")))
    py_files = {f"{pkg}/{rel}": p for pkg in packages for rel, p in build_web._tree(os.path.join(py_src, pkg)).items() if rel.endswith(".py")}
    build_web._sync(py_files, os.path.join(out, "py"))
    index = {pkg: sorted(rel.split("/", 1)[1] for rel in py_files if rel.startswith(pkg + "/")) for pkg in packages}
    build_web._write_if_changed(os.path.join(out, "py", "index.json"), (json.dumps(index, indent=1) + "\n").encode())
    build_web._write_if_changed(os.path.join(out, "demos.json"), (json.dumps(status, indent=1) + "\n").encode())
    log(f"  index.html, common/, {', '.join(n + '/' for n in built) or 'no demos'}; py/: {', '.join(packages)}")
    _prune(out, {*RUNTIME, "index.html", "common", "py", "models", "demos.json", "sw.js", *status})

    log("[4/4] service worker (the shell every page needs offline)")
    shell, version = write_service_worker(out)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in shell)
    log(f"  sw.js: {len(shell)} files, {size / 1e6:.1f} MB, version {version}")
    skipped = [n for n, s in status.items() if not s["built"]]
    log(f"done in {time.monotonic() - t0:.1f} s: {len(built)} demo(s) built" + (f", skipped: {', '.join(skipped)}" if skipped else ""))
    return status


NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} (not built) · webflow demos</title><link rel="icon" href="data:,"><link rel="stylesheet" href="../common/style.css"></head>
<body><header class="wf-header"><a href="../">webflow demos</a><h1>{title}</h1></header>
<main><div class="wf-error" role="alert"><strong>This demo was not built</strong>{reason}.
Run <code>bash scripts/demo.sh</code> (or <code>python demo_site/build.py</code>) where that is fixed.</div></main></body></html>
"""


def write_service_worker(out):
    """sw.js at the site root (its scope: every page) = the shell's file list and a version (the
    hash of every shell file) + common/sw.js. Any change to the shell changes sw.js, so browsers
    install the new worker, which caches the new shell and drops the old one."""
    files = build_web._tree(out)
    shell = sorted(rel for rel in files if rel != "sw.js" and not rel.startswith("models/"))
    version = fingerprint([], [f"{rel}:{build_web._sha256(files[rel])}" for rel in shell])[:16]
    with open(os.path.join(HERE, "common", "sw.js"), encoding="utf-8") as f:
        body = f.read()
    head = f"// Generated by demo_site/build.py.\nconst VERSION = {json.dumps(version)};\nconst SHELL = {json.dumps(shell, indent=0)};\n\n"
    build_web._write_if_changed(os.path.join(out, "sw.js"), (head + body).encode())
    return shell, version


def _prune(folder, keep):
    """Remove the entries of `folder` that this build did not make (demos removed or skipped)."""
    if not os.path.isdir(folder):
        return
    for entry in os.listdir(folder):
        if entry not in keep:
            path = os.path.join(folder, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=DEFAULT_OUT, help="output folder (default: build/demo)")
    ap.add_argument("--demo", action="append", metavar="NAME", help="build only this demo (repeatable)")
    args = ap.parse_args(argv)
    build(args.out, args.demo, log=lambda m: print(m, flush=True))
    out = os.path.abspath(args.out)
    shown = os.path.relpath(out) if out.startswith(os.getcwd() + os.sep) else out
    print(f"serve it: .venv/bin/webflow serve {shown}")


if __name__ == "__main__":
    main()
