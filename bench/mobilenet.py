"""MobileNetV2 against TF.js WebGL only: an alias of bench/run.py, which holds the logic.

    .venv/bin/python bench/mobilenet.py [--runs 50] [any other bench/run.py option]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run  # noqa: E402

if __name__ == "__main__":
    sys.argv[1:1] = ["--models", "mobilenet_v2", "--runtimes", "webflow-webgl,tfjs-webgl",
                     "--out", os.path.join(run.BENCH, "results", "mobilenet.json")]
    run.main()
