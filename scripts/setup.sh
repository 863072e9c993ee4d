#!/usr/bin/env bash
# Sets up everything the project needs on a fresh Debian machine with Python 3.11+ and Node 20.
# Idempotent: a second run only checks. Used by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
step() { printf '\n== %s\n' "$*"; }

step "system packages"
# Debian's Chromium runs the browser tests and the demo pages (Playwright drives it; it cannot
# download its own browsers here). WEBFLOW_CHROMIUM points elsewhere on other machines.
if [ -z "${WEBFLOW_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
"${WEBFLOW_CHROMIUM:-chromium}" --version

step "javascript packages (node_modules: pyodide, and the peers the benchmarks compare with)"
if [ ! -d node_modules/pyodide ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

step "python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.webflow-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch==2.13.0 is pinned: its CPU wheel is what the project's machines have (no CUDA download).
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
.venv/bin/python -c "import webflow, onnx, onnxruntime, torch; print('webflow', webflow.__version__, '| onnx', onnx.__version__, '| onnxruntime', onnxruntime.__version__, '| torch', torch.__version__)"

step "MediaPipe TFLite models (.cache/models/mediapipe, unpacked from the mediapipe wheel on PyPI)"
# The tests and the TFLite examples use real models; the wheel is downloaded, never installed.
.venv/bin/python scripts/fetch_models.py
