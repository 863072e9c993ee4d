"""How the digits demo's model is made (read by demo_site/build.py; not copied to the site).

examples/digits/train.py trains the CNN on scikit-learn's 8x8 digits and exports ONNX (about a
minute on two cores, so it is cached on the script's hash); webflow converts it and checks it
against onnxruntime. The page's Python (demo_site/py/digits/) turns a drawing into the same 8x8
input the data has.
"""

import os
import sys

TITLE = "Handwritten digits"
PYTHON = ["digits"]  # demo_site/py/digits/, imported by the page
TRAIN = "examples/digits/train.py"


def models(kit):
    trained = kit.step("digits-train", lambda out: kit.run(sys.executable, "-W", "ignore::DeprecationWarning", TRAIN, out, label="training"), inputs=[TRAIN])
    return {"digits": kit.convert(os.path.join(trained, "digits.onnx"), name="digits-model")}
