"""MediaPipe's 21 hand landmarks: from the landmark model's output to video pixels, and a
normal form that no longer depends on where the hand is, how big, how turned, or which hand.

Landmark order (MediaPipe): 0 wrist; thumb 1-4 (CMC, MCP, IP, tip); index 5-8, middle 9-12,
ring 13-16, pinky 17-20 (MCP, PIP, DIP, tip). The model's x, y are pixels of its 224x224 input;
z is depth relative to the wrist, in the same pixel scale (smaller: nearer the camera).
"""

import math

WRIST, MIDDLE_MCP, INDEX_MCP, PINKY_MCP = 0, 9, 5, 17
BONES = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16),
    (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
)


def from_model(raw, box, size=224, mirror=True):
    """63 floats (x, y, z per landmark, in pixels of the size x size model input) -> 21 (x, y, z)
    in video pixels, for an input cut from `box` = [x, y, width, height] of the video, mirrored
    left-right when `mirror` (as webflow's preprocessing does: tensor column j shows video column
    box.x + (size - j) * width / size)."""
    raw = [float(v) for v in raw]
    if len(raw) != 63:
        raise ValueError(f"hand landmarks: expected 63 values (21 x, y, z), got {len(raw)}")
    bx, by, bw, bh = (float(v) for v in box)
    sx, sy = bw / size, bh / size
    out = []
    for i in range(21):
        x, y, z = raw[3 * i:3 * i + 3]
        out.append((bx + ((size - x) if mirror else x) * sx, by + y * sy, z * sx))
    return out


def handedness(score):
    """The model's handedness score -> "right" or "left". MediaPipe's convention: the score is
    the probability of a right hand in a mirrored (selfie) image, which is what the demos feed."""
    return "right" if float(score) >= 0.5 else "left"


def _sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _unit(a):
    n = math.sqrt(_dot(a, a))
    if n == 0:
        raise ValueError("hand landmarks: degenerate hand (wrist and knuckles coincide)")
    return (a[0] / n, a[1] / n, a[2] / n)


def normalize(points, hand="right"):
    """21 (x, y, z) -> 21 (x, y, z) in the hand's own frame: the wrist at the origin, the palm
    length (wrist to middle-finger knuckle) 1, y along the palm towards the fingers, x across
    the knuckles from the pinky side to the index side, z = x cross y. Position, size and
    rotation drop out. A left hand is a mirror image of a right one, and a mirror image comes
    out with z negated (nothing in the points alone tells a left hand from a mirrored right
    one), so hand="left" (landmarks.handedness) negates z back: both hands give the same form."""
    pts = [tuple(float(c) for c in p) for p in points]
    if len(pts) != 21:
        raise ValueError(f"hand landmarks: expected 21 points, got {len(pts)}")
    if hand not in ("left", "right"):
        raise ValueError(f'hand landmarks: hand must be "left" or "right", got {hand!r}')
    w = pts[WRIST]
    up = _sub(pts[MIDDLE_MCP], w)
    length = math.sqrt(_dot(up, up))
    y = _unit(up)
    across = _sub(pts[INDEX_MCP], pts[PINKY_MCP])
    x = _unit(_sub(across, tuple(_dot(across, y) * c for c in y)))  # across, made orthogonal to y
    z = _cross(x, y)
    if hand == "left":
        z = (-z[0], -z[1], -z[2])
    return [tuple(_dot(_sub(p, w), axis) / length for axis in (x, y, z)) for p in pts]


def box_around(points, side, width, height):
    """The square crop (of `side` pixels) to look in next frame, following the hand: centred 0.9
    of the way from the wrist to the middle finger's knuckle, which is about the middle of the
    hand whether its fingers are out or in, and moved inside the width x height video as far as
    it fits. The size stays: one sized from the landmarks feeds back on itself (the model's
    landmarks in a looser crop make a looser crop), and without palm detection nothing else
    can tell how big the hand is."""
    (wx, wy), (mx, my) = points[WRIST][:2], points[MIDDLE_MCP][:2]
    cx, cy = wx + 0.9 * (mx - wx), wy + 0.9 * (my - wy)
    x = min(max(cx - side / 2, 0.0), width - side)
    y = min(max(cy - side / 2, 0.0), height - side)
    return [x, y, side, side]
