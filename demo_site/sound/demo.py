"""How the sound demo's model is made (read by demo_site/build.py; not copied to the site).

examples/sound/train.py synthesizes its data (examples/sound/generate.py: whistles rising,
falling and steady, claps, hums and background noise) and trains a small CNN on log-mel
windows from webflow.audio_features, the front end the page computes from the microphone
(about a minute on two cores; cached on both scripts' hash). webflow converts it and checks it
against onnxruntime; the last step writes the class names and window length (labels.json) into
the model's metadata, where the page reads them.
"""

import json
import os
import shutil
import sys

TITLE = "Sound control"
PYTHON = ["sound"]  # demo_site/py/sound/, imported by the page
TRAIN = "examples/sound/train.py"
SOURCES = [TRAIN, "examples/sound/generate.py", "webflow_py/audio_features.py"]


def models(kit):
    train = lambda out: kit.run(sys.executable, "-W", "ignore::DeprecationWarning", TRAIN, out, label="training")  # noqa: E731
    trained = kit.step("sound-train", train, inputs=SOURCES)
    converted = kit.convert(os.path.join(trained, "sound.onnx"), name="sound-convert")
    labels = os.path.join(trained, "labels.json")
    return {"sound": kit.step("sound-model", lambda out: with_metadata(converted, labels, out), inputs=[converted, labels])}


def with_metadata(model_dir, labels_json, out):
    """A copy of the converted model whose model.json metadata holds labels.json."""
    shutil.copytree(model_dir, out, dirs_exist_ok=True)
    with open(labels_json) as f:
        info = json.load(f)
    path = os.path.join(out, "model.json")
    with open(path) as f:
        doc = json.load(f)
    doc["metadata"] = {**doc.get("metadata", {}), **info}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
