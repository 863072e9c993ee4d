"""The hand demos' Python (gestures game, teach-your-gestures): it runs in the page under Pyodide
(no numpy there) and in the CPython tests, so both run the same code.

    landmarks.py   the landmark model's raw output -> 21 points in video pixels; normalisation
    gestures.py    rock / paper / scissors / none from finger extension (joint angles)
    game.py        the rock-paper-scissors match: rounds, countdown, seeded computer, score

analyze() is the page's one call per frame (one Python call, plain values back).
"""

from . import game, gestures, landmarks
from .gestures import classify
from .landmarks import from_model, normalize

PRESENT = 0.5  # the landmark model's hand-presence score above which a hand is there


def analyze(raw, presence, handedness, box, width, height, size=224, mirror=True):
    """One frame: the landmark model's outputs (raw: 63 floats, presence and handedness scores)
    for the input cut from `box` ([x, y, width, height] of the width x height video) ->
    {present, presence, handedness ("left"/"right"), points (21 [x, y, z] in video pixels),
    gesture, fingers, bends, follow (where to look next frame: a box of the same size around
    the hand, or None)}."""
    presence = float(presence)
    present = presence >= PRESENT
    points = from_model(raw, box, size, mirror)
    g = classify(points) if present else gestures.NO_HAND
    return {
        "present": present, "presence": presence, "handedness": landmarks.handedness(handedness),
        "points": [list(p) for p in points], "gesture": g.name, "fingers": dict(g.fingers), "bends": dict(g.bends),
        "follow": landmarks.box_around(points, float(box[2]), width, height) if present else None,
    }


__all__ = ["PRESENT", "analyze", "classify", "from_model", "game", "gestures", "landmarks", "normalize"]
