"""The page's state, in Python: the taught examples, the classifier trained on them and the
game. The page makes one call per camera frame (Teacher.frame) and gets plain values back, so
everything but drawing is here, where the CPython tests reach it.

Features: the 21 landmarks in the hand's own frame (hands.landmarks.normalize: wrist at the
origin, palm length 1, rotation and left/right removed), 63 numbers. Landmarks rather than
EfficientNet-Lite0 embeddings: a pose is what the landmarks are, so a few examples suffice and
the lighting, background and sleeve do not matter; the hand model runs anyway for the overlay.
"""

import hands

from .examples import Examples
from .game import SimonSays
from .knn import KNN


def features(points, hand):
    """21 (x, y, z) video-pixel landmarks of a `hand` ("left"/"right") -> 63 floats."""
    return [c for p in hands.normalize(points, hand) for c in p]


def _py(value):
    return value.to_py() if hasattr(value, "to_py") else value  # a JS object under Pyodide


class Teacher:
    # A pose is "unknown" when its nearest example of the winning class is farther than this, in
    # palm lengths over the 63 coordinates: same-pose jitter is ~0.2-0.4, a finger bent or
    # straightened moves the features by ~1.2 or more.
    MAX_DISTANCE = 1.0

    def __init__(self):
        self.examples = Examples()
        self.knn = None  # trained by train()
        self.trained_on = None  # the counts the classifier was trained on
        self.game = None

    def frame(self, hand, now, record=None):
        """One camera frame: `hand` is hands.analyze()'s result; `now` in seconds; `record`: the
        class to add this frame's pose to. Returns {recorded, prediction, game}."""
        hand = _py(hand)
        vector = features(hand["points"], hand["handedness"]) if hand and hand["present"] else None
        recorded = None
        if record is not None and vector is not None:
            self.examples.add(record, vector)
            recorded = record
        prediction = self.knn.predict(vector).as_dict() if self.knn and vector is not None else None
        game = self.game.update(now, prediction["label"] if prediction else None) if self.game else None
        return {"recorded": recorded, "prediction": prediction, "game": game}

    def train(self, k=5, metric="euclidean", min_confidence=0.6, max_distance=MAX_DISTANCE):
        """Fit the k-NN on the examples; returns {classes, examples, loo} (loo: leave-one-out
        accuracy, None with fewer than two examples)."""
        self.knn = KNN(k, metric, min_confidence, max_distance).fit(self.examples.by_class())
        self.trained_on = self.examples.counts()
        return {"classes": self.knn.classes, "examples": self.knn.size, "loo": self.knn.leave_one_out()}

    @property
    def stale(self):
        """True when the examples changed since the last training."""
        return self.knn is not None and self.trained_on != self.examples.counts()

    def start_game(self, now, seed=None, **settings):
        if self.knn is None:
            raise ValueError("train the classifier before playing")
        self.game = SimonSays(self.knn.classes, seed=seed, **settings)
        self.game.start(now)
        return self.game.state(now)

    def stop_game(self):
        self.game = None

    def save(self):
        return self.examples.to_json()

    def load(self, text):
        """Replace the examples with a file's (ExamplesFileError names what is wrong; the current
        examples stay then); the classifier is dropped until trained again."""
        self.examples = Examples.from_json(text)
        self.knn = self.trained_on = self.game = None
        return self.examples.counts()
