"""How the teach demo's model is made (read by demo_site/build.py; not copied to the site).

The same model as the gestures demo: MediaPipe's hand_landmark_lite.tflite converted by the
same cached step ("hand-landmark"), under the same name, so a site with both demos holds it
once (build.py lets demos share a model made by one step). What the page learns is not a
converted model: the k-NN of demo_site/py/teach/ is trained in the page, in Python.
"""

TITLE = "Teach your gestures"
PYTHON = ["hands", "teach"]  # demo_site/py/: the shared hand analysis, this demo's classifier and game
SOURCE = ".cache/models/mediapipe/hand_landmark_lite.tflite"


def models(kit):
    src = kit.require(SOURCE, hint="run scripts/setup.sh, which fetches the MediaPipe models")
    return {"hand_landmark": kit.convert(src, name="hand-landmark")}
