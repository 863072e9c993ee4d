"""The "teach your own gestures" demo's Python (demo_site/py/teach/), as the page runs it: the
k-NN classifier checked against scikit-learn on generated hands, its "unknown" answer, the
examples file (round trip and every kind of bad file), the Simon-says game on made-up clocks,
and the page's per-frame session from recording to playing.

The hands are generated: a skeleton whose five fingers are each bent by some amount (a pose is
five bends), jittered, turned in 3-D, scaled, moved, and mirrored for left hands, then put into
the hand's own frame by the hands package, exactly as camera landmarks are.
"""

import json
import math
import os
import sys

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo_site", "py"))
import teach  # noqa: E402  (demo_site/py/teach: the page's own Python)
from teach import KNN, Examples, ExamplesFileError, SimonSays, Teacher  # noqa: E402
from teach.game import CAUGHT, DODGED, HIT, MISS  # noqa: E402

# --- generated hands ------------------------------------------------------------------------------

# bends of (thumb, index, middle, ring, pinky): 0 straight, 1 curled into the palm
POSES = {
    "open": (0, 0, 0, 0, 0), "fist": (1, 1, 1, 1, 1), "point": (1, 0, 1, 1, 1),
    "peace": (1, 0, 0, 1, 1), "thumb": (0, 1, 1, 1, 1),
}
UNTAUGHT = (1, 0, 1, 1, 0)  # "horns": index and pinky
KNUCKLES = [(0.35, 0.3), (0.32, 0.95), (0.0, 1.0), (-0.3, 0.93), (-0.55, 0.8)]  # thumb CMC, then the MCPs
SEGMENTS = [(0.4, 0.35, 0.3), (0.45, 0.28, 0.22), (0.5, 0.32, 0.24), (0.46, 0.3, 0.22), (0.36, 0.24, 0.2)]
SPREAD = [0.9, 0.15, 0.0, -0.15, -0.3]  # each finger's direction, radians from the palm's axis


def hand_points(bends, rng, jitter=0.06):
    """21 (x, y, z) pixel landmarks of a right hand in the pose `bends`, randomly placed."""
    pts = [np.zeros(3)]
    for (kx, ky), lengths, spread, bend in zip(KNUCKLES, SEGMENTS, SPREAD, bends):
        bend = np.clip(bend + rng.normal(0, jitter), 0, 1)
        p = np.array([kx, ky, 0.0]) + rng.normal(0, 0.02, 3)
        pts.append(p)
        angle = 0.0
        for length in lengths:
            angle += bend * 1.4  # each joint folds the finger further towards the palm (-z)
            d = np.array([math.sin(spread) * math.cos(angle), math.cos(spread) * math.cos(angle), -math.sin(angle)])
            p = p + length * d
            pts.append(p)
    pts = np.array(pts)  # wrist, then 4 points per finger: MediaPipe's order
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    pts = pts @ rot.T * rng.uniform(40, 160) + np.array([*rng.uniform(100, 500, 2), 0])
    return pts + rng.normal(0, 0.01, pts.shape) * 60


def hand(bends, rng, left=False):
    """A hands.analyze()-style result for a generated hand (a left hand: the mirror image)."""
    pts = hand_points(bends, rng)
    if left:
        pts[:, 0] = 1000 - pts[:, 0]
    return {"present": True, "points": pts.tolist(), "handedness": "left" if left else "right"}


def dataset(n, rng, poses=POSES):
    """n feature vectors per pose, half of them from left hands."""
    xs, ys = [], []
    for name, bends in poses.items():
        for i in range(n):
            h = hand(bends, rng, left=i % 2 == 1)
            xs.append(teach.features(h["points"], h["handedness"]))
            ys.append(name)
    return xs, ys


def by_class(xs, ys):
    out = {}
    for x, y in zip(xs, ys):
        out.setdefault(y, []).append(x)
    return out


# --- k-NN -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric,k", [("euclidean", 5), ("manhattan", 3), ("cosine", 7)])
def test_knn_neighbours_and_votes_equal_sklearn(metric, k):
    """The k nearest examples (so the votes and the distance to the nearest) are scikit-learn's,
    and the taught poses are recognised on fresh hands."""
    rng = np.random.default_rng(0)
    xs, ys = dataset(12, rng)
    tx, ty = dataset(30, rng)
    knn = KNN(k=k, metric=metric, min_confidence=0.0).fit(by_class(xs, ys))
    ref = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(np.array(xs))
    dist, idx = ref.kneighbors(np.array(tx))
    right = 0
    for x, y, d, i in zip(tx, ty, dist, idx):
        p = knn.predict(x)
        want = {name: 0 for name in POSES}
        for j in i:
            want[ys[j]] += 1
        assert p.votes == want
        assert math.isclose(p.distance, min(dd for dd, j in zip(d, i) if ys[j] == p.best), rel_tol=1e-9, abs_tol=1e-12)
        assert p.confidence == max(want.values()) / k
        right += p.label == y
    acc = right / len(tx)
    print(f"{metric}, k={k}: {acc:.3f} of {len(tx)} fresh hands right (12 examples per pose)")
    assert acc >= 0.95


def test_unknown_threshold():
    rng = np.random.default_rng(1)
    xs, ys = dataset(15, rng)
    knn = KNN().fit(by_class(xs, ys))
    assert knn.max_distance is None
    strict = KNN(max_distance=Teacher.MAX_DISTANCE).fit(by_class(xs, ys))
    taught, _ = dataset(20, rng)
    untaught, _ = dataset(40, rng, {"horns": UNTAUGHT})
    known = np.mean([strict.predict(x).label is not None for x in taught])
    rejected = [strict.predict(x) for x in untaught]
    refused = np.mean([p.label is None for p in rejected])
    print(f"max_distance {Teacher.MAX_DISTANCE}: {known:.2f} of taught poses known, {refused:.2f} of an untaught pose unknown; "
          f"without it {np.mean([knn.predict(x).label is None for x in untaught]):.2f} unknown")
    assert known >= 0.95 and refused >= 0.9
    assert all("away" in p.why for p in rejected if p.label is None and p.confidence >= 0.6)
    # too few votes: a point between two classes of 2 examples each, k=4 -> 2 of 4 agree
    two = KNN(k=4, min_confidence=0.6).fit({"a": [[0.0, 0.0], [0.0, 0.2]], "b": [[1.0, 0.0], [1.0, 0.2]]})
    p = two.predict([0.45, 0.1])
    assert p.label is None and p.best == "a" and p.confidence == 0.5 and p.why == "only 2 of 4 nearest examples agree"
    assert two.predict([0.1, 0.1]).label is None  # still 2 of 4 with k=4: k larger than a class
    assert KNN(k=1).fit(two_classes := {"a": [[0.0, 0.0]], "b": [[1.0, 0.0]]}).predict([0.2, 0]).label == "a"
    assert KNN(k=3).fit(two_classes).predict([0.2, 0]).votes == {"a": 1, "b": 1}  # k capped at the examples


def test_leave_one_out_equals_a_numpy_reference():
    rng = np.random.default_rng(2)
    xs, ys = dataset(8, rng)
    knn = KNN(k=3, min_confidence=0.0).fit(by_class(xs, ys))
    x = np.array(xs)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    right = 0
    for i in range(len(xs)):
        near = np.argsort(d[i], kind="stable")[:3]
        names = [ys[j] for j in near]
        best = min(set(names), key=lambda n: (-names.count(n), min(d[i, j] for j in near if ys[j] == n)))
        right += best == ys[i]
    assert knn.leave_one_out() == right / len(xs)
    assert knn.leave_one_out() > 0.95
    assert KNN().fit({"a": [[1.0]]}).leave_one_out() is None


def test_knn_errors_name_the_problem():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        KNN(k=0)
    with pytest.raises(ValueError, match="unknown distance 'cheb'"):
        KNN(metric="cheb")
    with pytest.raises(ValueError, match="min_confidence"):
        KNN(min_confidence=2)
    with pytest.raises(ValueError, match="no examples to learn from"):
        KNN().fit({"a": [], "b": []})
    with pytest.raises(ValueError, match="different lengths"):
        KNN().fit({"a": [[1.0, 2.0]], "b": [[1.0]]})
    with pytest.raises(ValueError, match="fit\\(\\) it first"):
        KNN().predict([1.0])
    with pytest.raises(ValueError, match="3 numbers; the examples have 2"):
        KNN().fit({"a": [[1.0, 2.0]]}).predict([1, 2, 3])
    assert KNN().fit({"a": [[1.0]], "empty": []}).classes == ["a"]


# --- the examples and their file ------------------------------------------------------------------

def _examples(rng, n=3):
    ex = Examples()
    for name in ("thumbs up", "fist"):
        ex.add_class(name)
        for _ in range(n):
            ex.add(name, rng.normal(size=63).tolist())
    return ex


def test_examples_file_round_trip():
    rng = np.random.default_rng(3)
    ex = _examples(rng)
    text = ex.to_json()
    doc = json.loads(text)
    assert (doc["format"], doc["version"], doc["landmarks"]) == ("webflow-teach-examples", 1, 63)
    back = Examples.from_json(text)
    assert back.classes == ["thumbs up", "fist"] and back.counts() == {"thumbs up": 3, "fist": 3}
    for name in back.classes:
        np.testing.assert_allclose(back.by_class()[name], ex.by_class()[name], atol=5e-7, rtol=0)  # 6 decimals
    assert Examples.from_json(back.to_json()).by_class() == back.by_class()  # stable after one trip
    empty = Examples()
    empty.add_class("nothing yet")
    assert Examples.from_json(empty.to_json()).counts() == {"nothing yet": 0}


def _bad(doc_or_text):
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
    with pytest.raises(ExamplesFileError) as e:
        Examples.from_json(text)
    return str(e.value)


def test_bad_examples_files_say_what_is_wrong():
    good = json.loads(_examples(np.random.default_rng(4), n=2).to_json())

    def changed(**kw):
        return {**good, **kw}

    def with_class(c):
        return changed(classes=[good["classes"][0], c])

    row = [0.0] * 63
    assert _bad("{nope").startswith("not a JSON file (")
    assert _bad([1, 2]) == _bad(changed(format="other")) == 'not a webflow examples file: "format" should be \'webflow-teach-examples\''
    assert _bad(changed(version=2)) == "examples file version 2: this page reads version 1"
    assert _bad(changed(landmarks=42)) == '"landmarks" is 42: this page records 63 numbers per example'
    assert _bad(changed(classes={"a": []})) == '"classes" should be a list of {"name", "examples"}'
    assert _bad(changed(classes=["fist"])) == "class 1 is not an object with a name and examples"
    assert _bad(with_class({"name": " ", "examples": []})) == "class 2: the name must be a non-empty text, not ' '"
    assert _bad(with_class({"name": "x" * 41, "examples": []})).endswith("is longer than 40 characters")
    assert _bad(with_class({"name": "thumbs up", "examples": []})) == "class 'thumbs up' appears twice"
    assert _bad(with_class({"name": "b", "examples": 5})) == "class 'b': \"examples\" should be a list of lists of numbers"
    assert _bad(with_class({"name": "b", "examples": [row, row[:60]]})) == "class 'b', example 2: 60 numbers, expected 63"
    assert _bad(with_class({"name": "b", "examples": ["row"]})) == "class 'b', example 1: str, expected 63"
    assert _bad(with_class({"name": "b", "examples": [row[:5] + ["1"] + row[6:]]})) == "class 'b', example 1: '1' is not a finite number"
    assert _bad(with_class({"name": "b", "examples": [row[:5] + [True] + row[6:]]})) == "class 'b', example 1: True is not a finite number"
    assert "example 1: nan is not a finite number" in _bad(json.dumps(with_class({"name": "b", "examples": [[math.nan] * 63]})))


def test_examples_editing():
    ex = Examples()
    assert ex.add_class("  wave ") == "wave"
    with pytest.raises(ValueError, match="already a class called 'wave'"):
        ex.add_class("wave")
    with pytest.raises(ValueError, match="non-empty text"):
        ex.add_class("")
    with pytest.raises(KeyError, match="no class called 'fist' \\(classes: 'wave'\\)"):
        ex.add("fist", [0.0] * 63)
    with pytest.raises(ValueError, match="an example for 'wave': 3 numbers, expected 63"):
        ex.add("wave", [1, 2, 3])
    ex.add("wave", [1] * 63)
    assert ex.counts() == {"wave": 1}
    ex.clear("wave")
    assert ex.counts() == {"wave": 0}
    ex.remove_class("wave")
    assert ex.classes == []


# --- the game ---------------------------------------------------------------------------------------

def play(game, player, dt=0.125, until=200.0):
    """Run `game` on a made-up clock (ticks exact in binary); player(game) is the label shown at
    each tick, chosen from the game as it was before the tick."""
    t = 0.0
    game.start(t)
    state = game.state(t)
    while state["phase"] != "over" and t < until:
        t += dt
        state = game.update(t, player(game))
    return state


def test_game_is_replayed_by_its_seed_and_never_repeats_a_target():
    runs = []
    for _ in range(2):
        g = SimonSays(["a", "b", "c"], rounds=30, seed=7)
        play(g, lambda g: None)
        runs.append(g.history)
    assert runs[0] == runs[1] and len(runs[0]) == 30
    targets = [h[0] for h in runs[0]]
    assert all(x != y for x, y in zip(targets, targets[1:]))
    assert set(targets) == {"a", "b", "c"} and runs[0][0][1] is True  # the first round is never a trap
    traps = sum(not h[1] for h in runs[0])
    assert 3 <= traps <= 14  # trap_rate 0.25 of 29 rounds
    other = SimonSays(["a", "b", "c"], rounds=30, seed=8)
    play(other, lambda g: None)
    assert other.history != runs[0]


def test_game_scores():
    # a perfect player: shows the target at once on Simon rounds, another class on traps
    g = SimonSays(["a", "b"], rounds=12, time_limit=4.0, hold=0.5, gap=1.0, seed=3)
    end = play(g, lambda g: g.target if g.simon else [c for c in g.classes if c != g.target][0])
    hits = [h for h in g.history if h[1]]
    traps = [h for h in g.history if not h[1]]
    # the hold starts at the first tick after the round starts: 0.125 + 0.5 s used of 4
    assert traps and all(h[2:] == (HIT, 50 + round(50 * 3.375 / 4)) for h in hits)
    assert all(h[2:] == (DODGED, 25) for h in traps)
    assert end["phase"] == "over" and end["score"] == sum(h[3] for h in g.history) == 92 * len(hits) + 25 * len(traps)
    assert end["prompt"] == f"Game over: {end['score']} points"
    # a player who always shows the target: caught by every trap
    g = SimonSays(["a", "b"], rounds=12, seed=3)
    play(g, lambda g: g.target)
    assert {h[2] for h in g.history if not h[1]} == {CAUGHT} and all(h[3] == 0 for h in g.history if not h[1])
    # no hand at all: every Simon round missed
    g = SimonSays(["a", "b"], rounds=12, seed=3)
    play(g, lambda g: None)
    assert {h[2] for h in g.history if h[1]} == {MISS} and g.score == 25 * len(traps)


def test_game_hold_must_be_unbroken():
    g = SimonSays(["a", "b"], rounds=1, time_limit=2.0, hold=0.5, gap=0.5, seed=0)
    g.start(10.0)
    target = g.target
    assert g.state(10.0)["prompt"] == f"Simon says: {target}"
    s = g.update(10.3, target)
    assert s["held"] == 0.0 and s["time_left"] == pytest.approx(1.7)
    s = g.update(10.6, target)
    assert s["held"] == pytest.approx(0.6) and s["phase"] == "ask"
    g.update(10.7, None)  # the hand dropped: the hold starts again
    g.update(10.8, target)
    assert g.update(11.2, target)["phase"] == "ask"
    s = g.update(11.3, target)
    assert (s["phase"], s["outcome"], s["score"]) == ("result", HIT, 50 + round(50 * (2.0 - (11.3 - 10.0)) / 2.0))
    assert g.update(11.7, None)["phase"] == "result"
    assert g.update(11.8, None)["phase"] == "over"


def test_game_settings_are_checked():
    with pytest.raises(ValueError, match="at least two taught classes, not 1"):
        SimonSays(["a", "a"])
    with pytest.raises(ValueError, match="bad game settings"):
        SimonSays(["a", "b"], time_limit=0.5, hold=1.0)


# --- the page's session ---------------------------------------------------------------------------

def test_teacher_from_recording_to_playing():
    rng = np.random.default_rng(5)
    t = Teacher()
    for name in ("peace", "fist"):
        t.examples.add_class(name)
    assert t.frame({"present": False, "points": [], "handedness": "right"}, 0.0, record="fist") == {"recorded": None, "prediction": None, "game": None}
    for i in range(10):
        for name in ("peace", "fist"):
            assert t.frame(hand(POSES[name], rng, left=i % 3 == 0), 0.1 * i, record=name)["recorded"] == name
    assert t.examples.counts() == {"peace": 10, "fist": 10}
    assert t.frame(hand(POSES["fist"], rng), 1.0)["prediction"] is None  # not trained yet
    summary = t.train(k=3)
    assert summary == {"classes": ["peace", "fist"], "examples": 20, "loo": 1.0}
    assert not t.stale
    for name in ("peace", "fist"):
        p = t.frame(hand(POSES[name], rng, left=True), 2.0)["prediction"]
        assert p["label"] == name and p["confidence"] == 1.0 and p["distance"] < Teacher.MAX_DISTANCE
    assert t.frame(hand(POSES["open"], rng), 2.0)["prediction"]["label"] is None  # never taught
    # the game, played by generated hands
    state = t.start_game(3.0, seed=1, rounds=2, trap_rate=0.0, hold=0.5)
    assert state["phase"] == "ask" and state["target"] in ("peace", "fist")
    now = 3.0
    while state["phase"] != "over":
        now += 0.125
        state = t.frame(hand(POSES[t.game.target], rng), now)["game"]
    assert t.game.history == [(target, True, HIT, 92) for target, *_ in t.game.history]
    # more examples: the classifier is stale until trained again
    t.frame(hand(POSES["fist"], rng), now, record="fist")
    assert t.stale
    # save and load: same examples, same predictions after training
    text = t.save()
    query = [hand(POSES[n], rng) for n in ("peace", "fist", "open")]
    before = [t.frame(q, now)["prediction"] for q in query]
    u = Teacher()
    assert u.load(text) == {"peace": 10, "fist": 11}
    t.train(k=3)
    u.train(k=3)
    for q in query:
        a, b = t.frame(q, now)["prediction"], u.frame(q, now)["prediction"]
        assert a["label"] == b["label"] and a["votes"] == b["votes"] and a["distance"] == pytest.approx(b["distance"], abs=1e-5)
    assert [p["label"] for p in before] == ["peace", "fist", None]
    # a bad file leaves the session as it was
    with pytest.raises(ExamplesFileError, match="version 9"):
        u.load(text.replace('"version":1', '"version":9'))
    assert u.examples.counts() == {"peace": 10, "fist": 11} and u.knn is not None
    with pytest.raises(ValueError, match="train the classifier before playing"):
        Teacher().start_game(0.0)
