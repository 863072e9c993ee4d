"""How the gestures demo's model is made (read by demo_site/build.py; not copied to the site).

MediaPipe's hand_landmark_lite.tflite (scripts/fetch_models.py takes it from the mediapipe wheel
on PyPI) converted by webflow and checked against LiteRT. The step name is shared with the other
hand demos, so they use one cached conversion. No palm detector: demo_site/common/hands.js says why.
"""

TITLE = "Rock, paper, scissors"
PYTHON = ["hands"]  # demo_site/py/hands/, imported by the page
SOURCE = ".cache/models/mediapipe/hand_landmark_lite.tflite"


def models(kit):
    src = kit.require(SOURCE, hint="run scripts/setup.sh, which fetches the MediaPipe models")
    return {"hand_landmark": kit.convert(src, name="hand-landmark")}
