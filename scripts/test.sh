#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite. This is what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo
echo "== tests"
exec .venv/bin/python -m pytest "$@"
