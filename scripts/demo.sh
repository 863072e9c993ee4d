#!/usr/bin/env bash
# The main job: set up, train the example model, convert it, verify it against onnxruntime,
# and run it through the webflow CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/digits/main.py "$@"
