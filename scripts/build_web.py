"""Build the static site that any static host can serve (default build/web/):

    webflow_js/                         the JS side, as is (ES modules, no build step)
    pyodide/                            the Pyodide core from node_modules/pyodide, self-hosted
    wheels/webflow-<v>-py3-none-any.whl the Python runtime only (package `webflow`, no converter)
    manifest.json                       every file above with its bytes and sha256
    models/<name>/                      converted models, placed by copy_model()

    python scripts/build_web.py [SITE_DIR]

Fast and idempotent: unchanged files are not copied again, stale ones are removed, and the
wheel is byte-for-byte reproducible (fixed timestamps, sorted entries), so a rebuild of the
same sources gives the same manifest. Nothing here touches the network.
"""

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tomllib
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SITE = os.path.join(ROOT, "build", "web")
PYODIDE_SRC = os.path.join(ROOT, "node_modules", "pyodide")
# What loadPyodide({indexURL}) fetches (pyodide.mjs/.js load pyodide.asm.mjs, which loads the
# wasm, the stdlib and the lock file); source maps, typings and demo pages stay behind.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: reproducible wheels
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def runtime_version():
    with open(os.path.join(ROOT, "webflow_py", "__init__.py"), encoding="utf-8") as f:
        m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', f.read(), re.M)
    if not m:
        raise SystemExit("webflow_py/__init__.py has no __version__")
    return m.group(1)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _tree(src):
    """{relative path: absolute path} of the files under `src`, without caches or dotfiles."""
    out = {}
    for d, dirs, files in os.walk(src):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__" and not x.startswith("."))
        for f in files:
            if not f.startswith(".") and not f.endswith(".pyc"):
                p = os.path.join(d, f)
                out[os.path.relpath(p, src).replace(os.sep, "/")] = p
    return out


def _sync(files, dest):
    """Make folder `dest` hold exactly `files` ({relative path: source}): copy what is new or
    changed (size or mtime; copy2 keeps the mtime), delete what is no longer there."""
    for rel, src in files.items():
        out = os.path.join(dest, rel)
        s = os.stat(src)
        try:
            d = os.stat(out)
            if d.st_size == s.st_size and d.st_mtime_ns == s.st_mtime_ns:
                continue
        except FileNotFoundError:
            os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copy2(src, out)
    for d, dirs, names in os.walk(dest, topdown=False):
        for n in names:
            p = os.path.join(d, n)
            if os.path.relpath(p, dest).replace(os.sep, "/") not in files:
                os.remove(p)
        if d != dest and not os.listdir(d):
            os.rmdir(d)


def wheel_bytes(version=None):
    """The runtime wheel: webflow_py/ as package `webflow` (webflow.converter lives in converter/
    and is not shipped: the browser runs models, it does not convert them)."""
    version = version or runtime_version()
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    dist = f"webflow-{version}.dist-info"
    entries = [(f"webflow/{rel}", open(p, "rb").read()) for rel, p in sorted(_tree(os.path.join(ROOT, "webflow_py")).items())]
    entries.append((f"{dist}/METADATA", (
        "Metadata-Version: 2.1\nName: webflow\n"
        f"Version: {version}\nSummary: {project.get('description', '')}\n"
        f"Requires-Python: {project.get('requires-python', '>=3.11')}\nLicense: {project.get('license', '')}\n"
    ).encode()))
    entries.append((f"{dist}/WHEEL", b"Wheel-Version: 1.0\nGenerator: webflow scripts/build_web.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    entries.append((f"{dist}/top_level.txt", b"webflow\n"))
    record = io.StringIO()
    w = csv.writer(record, lineterminator="\n")
    for name, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        w.writerow([name, f"sha256={digest}", len(data)])
    w.writerow([f"{dist}/RECORD", "", ""])
    entries.append((f"{dist}/RECORD", record.getvalue().encode()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def _write_if_changed(path, data):
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def build(site=DEFAULT_SITE, log=print):
    """Build (or bring up to date) the site in `site`; returns the manifest."""
    site = os.path.abspath(site)
    if not os.path.isdir(PYODIDE_SRC):
        raise SystemExit(f"{PYODIDE_SRC} is missing: run `npm install` (scripts/setup.sh does)")
    missing = [f for f in PYODIDE_FILES if not os.path.isfile(os.path.join(PYODIDE_SRC, f))]
    if missing:
        raise SystemExit(f"node_modules/pyodide lacks {', '.join(missing)}: this Pyodide release is laid out differently")
    version = runtime_version()
    wheel = f"webflow-{version}-py3-none-any.whl"
    _sync(_tree(os.path.join(ROOT, "webflow_js")), os.path.join(site, "webflow_js"))
    _sync({f: os.path.join(PYODIDE_SRC, f) for f in PYODIDE_FILES}, os.path.join(site, "pyodide"))
    wheels = os.path.join(site, "wheels")
    _write_if_changed(os.path.join(wheels, wheel), wheel_bytes(version))
    for f in os.listdir(wheels):  # wheels of other versions
        if f != wheel:
            os.remove(os.path.join(wheels, f))
    with open(os.path.join(PYODIDE_SRC, "package.json"), encoding="utf-8") as f:
        pyodide_version = json.load(f)["version"]
    files = {}
    for folder in ("webflow_js", "pyodide", "wheels"):
        for rel, p in _tree(os.path.join(site, folder)).items():
            files[f"{folder}/{rel}"] = {"bytes": os.path.getsize(p), "sha256": _sha256(p)}
    manifest = {"webflow": version, "pyodide": pyodide_version, "wheel": f"wheels/{wheel}", "files": dict(sorted(files.items()))}
    _write_if_changed(os.path.join(site, "manifest.json"), (json.dumps(manifest, indent=1) + "\n").encode())
    log(f"built {site}: {len(files)} files, {sum(f['bytes'] for f in files.values()) / 1e6:.1f} MB (wheel {wheel})")
    return manifest


def copy_model(model_dir, site_dir, name):
    """Place a converted model at <site_dir>/models/<name>/ (model.json, its shards, report.json
    when there), after checking it as the loader will: a model that fails here would fail in
    every visitor's browser. Files of an earlier model under that name are removed."""
    if ROOT not in sys.path:  # run as a script: the repo's own webflow
        sys.path.insert(0, ROOT)
    from webflow.loader import DirLoader
    from webflow.model import read_spec
    from webflow.weights import read_shards

    if not isinstance(name, str) or not _PLAIN_NAME.match(name):
        raise ValueError(f"model name {name!r}: use letters, digits, '_', '-', '.' (it becomes a URL path)")
    loader = DirLoader(model_dir)
    spec = read_spec(loader)
    read_shards(spec, loader)  # every shard there, of its size and sha256
    files = {"model.json": os.path.join(model_dir, "model.json")}
    files.update({s.file: os.path.join(model_dir, s.file) for s in spec.shards})
    if os.path.isfile(os.path.join(model_dir, "report.json")):
        files["report.json"] = os.path.join(model_dir, "report.json")
    dest = os.path.join(os.path.abspath(site_dir), "models", name)
    _sync(files, dest)
    return dest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", nargs="?", default=DEFAULT_SITE, help="output folder (default: build/web)")
    args = ap.parse_args(argv)
    build(args.site)


if __name__ == "__main__":
    main()
