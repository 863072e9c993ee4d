"""The hand demos' Python (demo_site/py/hands/, the same files the page runs in Pyodide):

- the gesture classifier on landmark sets from a kinematic hand (fingers straight or curled at
  their joints), turned any way in 3-D, scaled, moved, mirrored and jittered;
- landmark normalisation (the same normal form for every pose, and for a left hand);
- the mapping from the model's input pixels back to video pixels, checked against numpy's
  version of the page's crop/resize/mirror kernel (webflow.media.preprocess_image);
- the whole pipeline on real pixels: a drawn hand, cut and mirrored as the page does, through
  MediaPipe's hand_landmark_lite converted by webflow (numpy backend): the hand is found, its
  landmarks land on the drawn joints and its gesture is read right;
- the game: outcomes, scoring, ties, replayed rounds, the match's end, a seeded computer.

The kinematic hand and its drawing are also the browser test's fake camera
(tests/browser/test_demo_gestures.py).
"""

import math
import os
import random
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "demo_site", "py"))
import hands  # noqa: E402  (demo_site/py/hands: the page's own Python)
from hands import game, gestures, landmarks  # noqa: E402

# --- a kinematic hand ----------------------------------------------------------------------------
# A right hand, palm towards the viewer: x to the thumb's side, y from the wrist to the fingers,
# z towards the viewer; lengths in palm lengths. Each finger is a chain of 3 bones from its
# knuckle (MCP), each joint bending the finger towards the palm's front by its angle.

KNUCKLES = {"index": (0.32, 0.95), "middle": (0.07, 1.0), "ring": (-0.16, 0.94), "pinky": (-0.36, 0.84)}
SPLAY = {"index": 8, "middle": 0, "ring": -8, "pinky": -16}  # degrees from the palm's axis
BONES = {"index": (0.42, 0.25, 0.2), "middle": (0.47, 0.29, 0.21), "ring": (0.44, 0.27, 0.2), "pinky": (0.34, 0.2, 0.18)}
FLEX_OUT, FLEX_IN = (5, 5, 5), (80, 100, 60)  # flexion at MCP, PIP, DIP, degrees: straight, curled
GESTURES = {  # (thumb, index, middle, ring, pinky) out?
    "rock": (False, False, False, False, False),
    "paper": (True, True, True, True, True),
    "scissors": (False, True, True, False, False),
}


def rotation(axis, degrees):
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    t = math.radians(degrees)
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * k @ k


def chain(start, direction, lengths, flexion, axis):
    pts, d = [np.asarray(start, float)], np.asarray(direction, float)
    for length, angle in zip(lengths, flexion):
        d = rotation(axis, angle) @ d
        pts.append(pts[-1] + length * d)
    return pts[1:]


def kinematic_hand(out, flexion=None):
    """21 landmarks [21, 3] of the hand with fingers `out` = (thumb, index, middle, ring, pinky)
    straight (True) or curled; flexion={finger: (mcp, pip, dip)} overrides a finger's angles."""
    p = np.zeros((21, 3))
    p[1] = (0.22, 0.22, 0.0)
    d = np.array([math.sin(math.radians(40)), math.cos(math.radians(40)), 0.2])
    d /= np.linalg.norm(d)
    if out[0]:
        p[2:5] = chain(p[1], d, (0.32, 0.27, 0.22), (0, 10, 10), (0, 0, 1))
    else:  # folded across the palm
        p[2:5] = chain(p[1], d, (0.32, 0.27, 0.22), (40, 50, 40), (0.3, -0.4, 1.0))
    for k, f in enumerate(("index", "middle", "ring", "pinky")):
        s = math.radians(SPLAY[f])
        base = 5 + 4 * k
        p[base] = (*KNUCKLES[f], 0.0)
        angles = (flexion or {}).get(f, FLEX_OUT if out[k + 1] else FLEX_IN)
        p[base + 1:base + 4] = chain(p[base], (math.sin(s), math.cos(s), 0), BONES[f], angles, (-math.cos(s), math.sin(s), 0))
    return p


def random_rotation(rng):
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def posed(p, rng, noise=0.0, mirror=False):
    """p turned any way, scaled 1e-2..1e3, moved, optionally mirrored, with Gaussian noise of
    `noise` palm lengths on every coordinate."""
    scale = 10 ** rng.uniform(-2, 3)
    q = p + noise * rng.standard_normal(p.shape)
    q = q @ random_rotation(rng).T * scale + rng.uniform(-1000, 1000, 3)
    return q * (-1, 1, 1) if mirror else q


# --- drawing the hand, for the real model --------------------------------------------------------

SKIN, SKIN_EDGE, BACKGROUND = (226, 176, 140), (170, 120, 95), (70, 90, 110)


def draw_hand(p, width, height, center, scale):
    """[height, width, 3] RGB (0..255): the hand's landmarks `p` (palm lengths, y up) seen from
    the front, the wrist at `center` (pixels) and a palm `scale` pixels long: a flat palm and
    round-capped fingers in skin colour on a plain background. Returns (image, landmarks in
    image pixels [21, 2])."""
    from PIL import Image, ImageDraw, ImageFilter

    img = Image.new("RGB", (width, height), BACKGROUND)
    g = ImageDraw.Draw(img)
    px = np.stack([center[0] + scale * p[:, 0], center[1] - scale * p[:, 1]], 1)
    q = [tuple(v) for v in px]
    side = lambda x, y: (center[0] + scale * x, center[1] - scale * y)  # noqa: E731
    g.polygon([q[0], side(0.3, 0.05), q[1], q[2], q[5], q[9], q[13], q[17], side(-0.35, 0.1)], fill=SKIN, outline=SKIN_EDGE)
    fingers = [(1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20)]
    for c in sorted(fingers, key=lambda c: p[c[-1], 2]):  # farthest first
        w = int(scale * (0.22 if c[0] == 1 else 0.2))
        for a, b in zip(c, c[1:]):
            g.line([q[a], q[b]], fill=SKIN_EDGE, width=w + 3)
        for a, b in zip(c, c[1:]):
            g.line([q[a], q[b]], fill=SKIN, width=w)
        for j in c:
            g.ellipse([q[j][0] - w / 2, q[j][1] - w / 2, q[j][0] + w / 2, q[j][1] + w / 2], fill=SKIN)
    return np.asarray(img.filter(ImageFilter.GaussianBlur(1)), np.float64), px


# --- the classifier --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GESTURES))
def test_gestures_of_the_kinematic_hand(name):
    g = hands.classify(kinematic_hand(GESTURES[name]))
    assert g.name == name
    four = [g.fingers[f] for f in ("index", "middle", "ring", "pinky")]
    assert four == ["out" if o else "in" for o in GESTURES[name][1:]]


@pytest.mark.parametrize("name", sorted(GESTURES))
@pytest.mark.parametrize("mirror", [False, True])
def test_gestures_do_not_depend_on_pose_size_place_or_mirroring(name, mirror):
    """200 random poses each, with noise of 1.5% of the palm's length (about 1.4 mm) on every coordinate."""
    rng = np.random.default_rng(7 + mirror)
    p = kinematic_hand(GESTURES[name])
    got = [hands.classify(posed(p, rng, noise=0.015, mirror=mirror)).name for _ in range(200)]
    assert got.count(name) == 200, {g: got.count(g) for g in set(got)}


def test_bends_are_angles_of_the_joints():
    """A finger bent 30 + 40 + 50 degrees at its joints, its first bone in line with the palm's
    (the middle finger, not splayed, with the wrist moved onto its axis), bends 120 degrees."""
    for flexion, want in [((30, 40, 50), 120), ((5, 5, 5), 15), ((0, 0, 0), 0)]:
        p = kinematic_hand(GESTURES["paper"], flexion={"middle": flexion})
        p[0] = p[9] - (0, 1, 0)
        assert gestures.bends(p)["middle"] == pytest.approx(want, abs=1e-6)


def test_thumb_does_not_matter_for_rock():
    out = (True, False, False, False, False)
    assert hands.classify(kinematic_hand(out)).name == "rock"


@pytest.mark.parametrize("out,flexion", [
    ((True, True, False, False, False), None),  # pointing
    ((True, True, True, True, False), None),  # four fingers
    ((False, False, True, True, True), None),  # ok-ish
    ((True, True, True, True, True), {"ring": (45, 50, 25)}),  # a finger half bent: 120 degrees
])
def test_other_hands_are_none(out, flexion):
    g = hands.classify(kinematic_hand(out, flexion))
    assert g.name == "none", (g.fingers, g.bends)


def test_classifier_refuses_a_wrong_count():
    with pytest.raises(ValueError, match="expected 21 landmarks, got 20"):
        hands.classify([(0, 0, 0)] * 20)


# --- normalisation -----------------------------------------------------------------------------------

def test_normal_form_is_the_same_for_every_pose_and_both_hands():
    rng = np.random.default_rng(3)
    p = kinematic_hand(GESTURES["scissors"])
    want = np.array(landmarks.normalize(p))
    assert want[0] == pytest.approx([0, 0, 0]) and want[landmarks.MIDDLE_MCP] == pytest.approx([0, 1, 0], abs=1e-12)
    for _ in range(50):
        np.testing.assert_allclose(landmarks.normalize(posed(p, rng)), want, atol=1e-6)
        np.testing.assert_allclose(landmarks.normalize(posed(p, rng, mirror=True), hand="left"), want, atol=1e-6)
    mirrored = np.array(landmarks.normalize(posed(p, rng, mirror=True)))  # not told: z comes out negated
    np.testing.assert_allclose(mirrored * (1, 1, -1), want, atol=1e-6)


def test_normal_form_errors():
    with pytest.raises(ValueError, match="degenerate"):
        landmarks.normalize([(1, 1, 1)] * 21)
    with pytest.raises(ValueError, match='hand must be "left" or "right"'):
        landmarks.normalize(kinematic_hand(GESTURES["rock"]), hand="both")


# --- from the model's pixels to the video's ----------------------------------------------------------

@pytest.mark.parametrize("mirror", [False, True])
def test_model_pixels_map_back_to_the_video(mirror):
    """A bright dot in the video, cut from a box and resized to 224x224 (mirrored or not) by
    numpy's copy of the page's kernel, lands where from_model maps it back from."""
    from webflow.media import preprocess_image

    w, h, box = 320, 240, [70.0, 30.0, 180.0, 180.0]
    for x, y in [(100, 60), (220, 190), (160.5, 120.5)]:
        img = np.zeros((h, w, 3))
        yy, xx = np.mgrid[:h, :w]
        img[..., 0] = 255 * np.exp(-((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2) / 8)  # centre of pixel i is i + 0.5
        t = preprocess_image(img, crop=box, size=224, layout="NHWC", mirror=mirror)[0, :, :, 0]
        ty, tx = np.unravel_index(np.argmax(t), t.shape)
        raw = [0.0] * 63
        raw[0:3] = (tx + 0.5, ty + 0.5, 10.0)
        gx, gy, gz = landmarks.from_model(raw, box, 224, mirror)[0]
        assert abs(gx - x) <= box[2] / 224 and abs(gy - y) <= box[3] / 224, ((gx, gy), (x, y))
        assert gz == pytest.approx(10.0 * box[2] / 224)
    with pytest.raises(ValueError, match="expected 63 values"):
        landmarks.from_model([0.0] * 42, box)


def test_box_around_follows_the_hand_inside_the_video():
    p = [(0.0, 0.0, 0.0)] * 21
    p[landmarks.WRIST], p[landmarks.MIDDLE_MCP] = (300, 400, 0), (320, 300, 0)
    # centred 0.9 of the way from the wrist to the knuckle: (318, 310)
    assert landmarks.box_around(p, 200, 640, 480) == pytest.approx([218, 210, 200, 200])
    assert landmarks.box_around(p, 300, 640, 480) == pytest.approx([168, 160, 300, 300])
    p[landmarks.WRIST], p[landmarks.MIDDLE_MCP] = (630, 470, 0), (635, 478, 0)  # past the corner: moved inside
    assert landmarks.box_around(p, 336, 640, 480) == pytest.approx([640 - 336, 480 - 336, 336, 336])


# --- the real model on a drawn hand ------------------------------------------------------------------

W, H = 640, 480


def camera_frame(name, center=(320, 330), scale=110):
    """A 640x480 video frame with the hand making `name` in the middle; also its 21 joints in
    video pixels."""
    return draw_hand(kinematic_hand(GESTURES[name]), W, H, center, scale)


@pytest.fixture(scope="module")
def landmark_model(tmp_path_factory):
    import webflow
    from webflow.converter import convert

    src = os.path.join(ROOT, ".cache", "models", "mediapipe", "hand_landmark_lite.tflite")
    assert os.path.exists(src), f"{src} is missing (scripts/setup.sh fetches it)"
    out = str(tmp_path_factory.mktemp("hand_landmark") / "model")
    convert(src, out, log=lambda *a: None)
    return webflow.load(out)


def run_pipeline(model, frame, box):
    """The page's pipeline on numpy: crop + resize + mirror, the model, hands.analyze."""
    from webflow.media import preprocess_image

    x = preprocess_image(frame, crop=box, size=224, layout="NHWC", mirror=True)
    y = model.predict({"input_1": x})
    lm, presence, handedness = (y[o.name] for o in model.outputs[:3])
    return hands.analyze(lm[0].tolist(), presence[0, 0], handedness[0, 0], box, W, H, 224, True)


@pytest.mark.parametrize("name", sorted(GESTURES))
def test_real_model_reads_a_drawn_hand(landmark_model, name):
    frame, joints = camera_frame(name)
    side = 0.7 * H  # the page's home box (demo_site/common/hands.js)
    hand = run_pipeline(landmark_model, frame, [(W - side) / 2, (H - side) / 2, side, side])
    assert hand["present"] and hand["presence"] > 0.6, hand["presence"]
    assert hand["gesture"] == name, (hand["fingers"], hand["bends"])
    pts = np.array(hand["points"])[:, :2]
    # The drawing's joints are where the kinematic model puts them, not where a real hand's
    # are (the model learned real hands; a drawn fist hides its knuckles): within a third of
    # the palm's length (110 px) on average, the wrist within a quarter.
    err = np.linalg.norm(pts - joints, axis=1)
    print(f"{name}: presence {hand['presence']:.2f}, joint error mean {err.mean():.1f} px, max {err.max():.1f} px (palm 110 px)")
    assert err.mean() < 110 / 3 and err[0] < 110 / 4
    fx, fy, fs, _ = hand["follow"]  # the next box holds the whole hand
    assert fs == side and fx <= joints[:, 0].min() and fx + fs >= joints[:, 0].max() and fy <= joints[:, 1].min() and fy + fs >= joints[:, 1].max()


def test_following_the_hand_keeps_reading_it(landmark_model):
    """The page's loop: each frame's crop is the box the last frame's hand gave (the home box
    when there was none). Through paper, rock and scissors, three frames each, twice over, the
    box stays on the hand and the gestures are read (one frame in six may be missed, as a
    gesture changes under a box placed for the last one)."""
    side = 0.7 * H
    home = [(W - side) / 2, (H - side) / 2, side, side]
    frames = {name: camera_frame(name)[0] for name in GESTURES}
    box, right = home, 0
    for name in ["paper"] * 3 + ["rock"] * 3 + ["scissors"] * 3 + ["paper"] * 3 + ["rock"] * 3 + ["scissors"] * 3:
        hand = run_pipeline(landmark_model, frames[name], box)
        right += hand["gesture"] == name
        box = hand["follow"] or home
        assert abs(box[0] - home[0]) < 0.2 * side and abs(box[1] - home[1]) < 0.2 * side, box
    assert right >= 15, right


def test_real_model_finds_no_hand_in_an_empty_frame(landmark_model):
    frame = np.empty((H, W, 3))
    frame[:] = BACKGROUND
    side = 0.7 * H
    hand = run_pipeline(landmark_model, frame, [(W - side) / 2, (H - side) / 2, side, side])
    assert not hand["present"] and hand["gesture"] == "none" and hand["follow"] is None


# --- the game --------------------------------------------------------------------------------------

def test_outcomes():
    table = {(p, c): game.outcome(p, c) for p in game.MOVES for c in game.MOVES}
    assert table[("rock", "scissors")] == table[("scissors", "paper")] == table[("paper", "rock")] == "win"
    assert table[("scissors", "rock")] == table[("paper", "scissors")] == table[("rock", "paper")] == "lose"
    assert all(table[(m, m)] == "tie" for m in game.MOVES)
    with pytest.raises(ValueError, match="moves are"):
        game.outcome("lizard", "rock")


def play(match, moves, step=0.05):
    """Drive `match` with a fake clock from 0 s, showing moves[i] through round i, to the end
    of the moves or of the match."""
    t = 0.0
    match.start(t)
    for move in moves:
        for phase in ("countdown", "result"):
            while match.phase == phase:
                t += step
                match.update(t, move)
        if match.phase == "over":
            break


def computer_moves(seed, n):
    rng = random.Random(seed)
    return [rng.choice(game.MOVES) for _ in range(n)]


def test_a_match_with_a_seeded_computer():
    seed = 11
    expected = computer_moves(seed, 20)
    match = game.Match(seed=seed, wins=3, countdown=1.0, reveal=0.5, window=0.2)
    mine = ["rock", "paper", "scissors"] * 7
    play(match, mine)
    assert match.phase == "over"
    assert [r["computer"] for r in match.rounds] == expected[:len(match.rounds)]
    assert [r["player"] for r in match.rounds] == mine[:len(match.rounds)]
    outcomes = [game.outcome(p, c) for p, c in zip(mine, expected)][:len(match.rounds)]
    assert [r["outcome"] for r in match.rounds] == outcomes
    score = {"player": outcomes.count("win"), "computer": outcomes.count("lose"), "ties": outcomes.count("tie")}
    assert match.score == score and max(score["player"], score["computer"]) == 3
    assert match.winner == ("player" if score["player"] == 3 else "computer")
    # the match ended on the round that reached three wins, not later
    assert max(outcomes[:-1].count("win"), outcomes[:-1].count("lose")) == 2
    assert match.update(1e6, "rock")["phase"] == "over"  # stays over until started again


def test_same_seed_same_match():
    a, b = (game.Match(seed=5, countdown=1.0, reveal=0.5) for _ in range(2))
    moves = ["paper", "rock", "rock", "scissors"] * 5
    play(a, moves)
    play(b, moves)
    assert a.rounds == b.rounds and a.score == b.score and a.winner == b.winner


def test_round_timing_and_the_gesture_that_counts():
    """The countdown runs `countdown` seconds; the move is the gesture seen most in its last
    `window` seconds (earlier gestures and "none" do not count); the result shows for `reveal`."""
    m = game.Match(seed=1, countdown=3.0, reveal=2.0, window=0.5)
    s = m.start(10.0)
    assert s["phase"] == "countdown" and s["seconds_left"] == 3.0 and s["round"] == 1
    for t, g in [(11.0, "paper"), (12.4, "paper"), (12.6, "rock"), (12.7, "none"), (12.8, "rock"), (12.9, "scissors")]:
        assert m.update(t, g)["phase"] == "countdown"
    s = m.update(13.0, "none")
    assert s["phase"] == "result" and s["last"]["player"] == "rock" and s["seconds_left"] == 2.0
    assert s["last"]["computer"] == computer_moves(1, 1)[0]
    assert m.update(14.9, "paper")["phase"] == "result"
    s = m.update(15.0, "paper")
    assert s["phase"] == "countdown" and s["round"] == 2 and s["seconds_left"] == 3.0


def test_a_round_without_a_gesture_is_replayed():
    m = game.Match(seed=2, countdown=1.0, reveal=0.5, window=0.3)
    m.start(0.0)
    for t in np.arange(0.1, 1.05, 0.1):
        s = m.update(float(t), "none")
    assert s["phase"] == "result" and s["last"] == {"player": None, "computer": None, "outcome": "missed"}
    assert m.rounds == [] and m.score == {"player": 0, "computer": 0, "ties": 0}
    s = m.update(1.6, "rock")
    assert s["phase"] == "countdown" and s["round"] == 1
    # no draw was spent on the missed round: the first scored round gets the generator's first move
    for t in np.arange(1.7, 2.65, 0.1):
        s = m.update(float(t), "rock")
    assert s["last"]["computer"] == computer_moves(2, 1)[0]


def test_ties_do_not_end_a_match():
    m = game.Match(seed=0, wins=1, countdown=0.5, reveal=0.1, window=0.1)
    play(m, ["rock"] * 50)
    outcomes = [r["outcome"] for r in m.rounds]
    assert m.phase == "over" and outcomes[-1] != "tie" and outcomes[:-1] == ["tie"] * (len(outcomes) - 1)
    assert m.score["ties"] == len(outcomes) - 1 == computer_moves(0, 50).index(next(c for c in computer_moves(0, 50) if c != "rock"))


def test_restart_and_bad_settings():
    m = game.Match(seed=3, wins=1, countdown=0.2, reveal=0.0, window=0.1)
    play(m, ["paper"] * 10)
    assert m.phase == "over"
    s = m.start(100.0)
    assert s["phase"] == "countdown" and s["score"] == {"player": 0, "computer": 0, "ties": 0} and s["last"] is None
    with pytest.raises(ValueError, match="wins >= 1"):
        game.Match(wins=0)
