"""Rock, paper, scissors or none, from how far each finger is bent.

A finger's bend is the sum of the angles between its successive bones, starting from the palm
(wrist -> knuckle, knuckle -> PIP, PIP -> DIP, DIP -> tip): about 0 degrees for a straight
finger, 200+ for one curled into a fist. Angles between 3-D bones do not change when the hand
moves, grows, turns or is mirrored, so neither does the gesture. The thumb is measured too
(bones from its CMC) but no gesture depends on it: people make a fist with the thumb in or out.
"""

import math
from collections import namedtuple

FINGERS = {  # landmark indices, from the joint the first bone starts at
    "thumb": (1, 2, 3, 4),
    "index": (0, 5, 6, 7, 8),
    "middle": (0, 9, 10, 11, 12),
    "ring": (0, 13, 14, 15, 16),
    "pinky": (0, 17, 18, 19, 20),
}
STRAIGHT, CURLED = 100.0, 140.0  # degrees of bend: below, the finger is out; above, it is in (a fist: 200+)

# Which of index, middle, ring, pinky are out, for each gesture.
PATTERNS = {
    "rock": (False, False, False, False),
    "paper": (True, True, True, True),
    "scissors": (True, True, False, False),
}
NAMES = ("rock", "paper", "scissors", "none")

Gesture = namedtuple("Gesture", "name fingers bends")  # fingers: {finger: "out" | "in" | "unsure"}
NO_HAND = Gesture("none", {}, {})


def _angle(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    if na == 0 or nb == 0:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, dot / (na * nb)))))


def bends(points):
    """{finger: bend in degrees} for 21 (x, y, z) points."""
    pts = [tuple(float(c) for c in p) for p in points]
    if len(pts) != 21:
        raise ValueError(f"gestures: expected 21 landmarks, got {len(pts)}")
    out = {}
    for name, chain in FINGERS.items():
        bones = [tuple(q - p for p, q in zip(pts[i], pts[j])) for i, j in zip(chain, chain[1:])]
        out[name] = sum(_angle(a, b) for a, b in zip(bones, bones[1:]))
    return out


def finger_states(bend):
    """{finger: degrees} -> {finger: "out" | "in" | "unsure"}."""
    return {f: "out" if d < STRAIGHT else "in" if d > CURLED else "unsure" for f, d in bend.items()}


def classify(points):
    """21 landmarks -> Gesture(name, fingers, bends): "rock", "paper", "scissors", or "none" when
    a finger is half bent or the fingers match no gesture."""
    bend = bends(points)
    states = finger_states(bend)
    four = tuple(states[f] for f in ("index", "middle", "ring", "pinky"))
    name = "none"
    if "unsure" not in four:
        out = tuple(s == "out" for s in four)
        name = next((g for g, p in PATTERNS.items() if p == out), "none")
    return Gesture(name, states, bend)
