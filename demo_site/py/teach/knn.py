"""k-nearest-neighbours over the taught examples, in plain Python (the page has no numpy).

A few dozen examples per class and 63 numbers each: a prediction is a few thousand
multiply-adds, well under a millisecond in Pyodide, so a brute-force scan is the right tool and
"training" is just keeping the feature vectors.
"""

import math

METRICS = ("euclidean", "manhattan", "cosine")


def _euclidean(a, b):
    return math.sqrt(sum((x - y) * (x - y) for x, y in zip(a, b)))


def _manhattan(a, b):
    return sum(abs(x - y) for x, y in zip(a, b))


def _cosine(a, b):
    # 1 - cos(angle): 0 for the same direction, 2 for opposite; a zero vector is "far" (1)
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    if na == 0 or nb == 0:
        return 1.0
    return 1.0 - sum(x * y for x, y in zip(a, b)) / (na * nb)


_DISTANCES = {"euclidean": _euclidean, "manhattan": _manhattan, "cosine": _cosine}


class Prediction:
    """label: the class, or None for "unknown"; best: the likeliest class even when unknown;
    confidence: its share of the k votes; votes: {class: votes} over every class; distance: to
    the nearest example of `best`; why: the reason for "unknown" ("" when known)."""

    __slots__ = ("label", "best", "confidence", "votes", "distance", "why")

    def __init__(self, label, best, confidence, votes, distance, why=""):
        self.label, self.best, self.confidence, self.votes, self.distance, self.why = label, best, confidence, votes, distance, why

    def as_dict(self):
        return {s: getattr(self, s) for s in self.__slots__}

    def __repr__(self):
        return f"Prediction({self.label!r}, confidence={self.confidence:.2f}, distance={self.distance:.3g})"


class KNN:
    """k-NN with an "unknown" answer: a pose is unknown when its winning class has less than
    `min_confidence` of the k votes, or (with max_distance) when even the nearest example of
    that class is farther than `max_distance`: a pose unlike anything taught is not forced
    into a class."""

    def __init__(self, k=5, metric="euclidean", min_confidence=0.6, max_distance=None):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, not {k!r}")
        if metric not in _DISTANCES:
            raise ValueError(f"unknown distance {metric!r}: one of {', '.join(METRICS)}")
        if not 0 <= min_confidence <= 1:
            raise ValueError(f"min_confidence must be in [0, 1], not {min_confidence!r}")
        self.k, self.metric, self.min_confidence, self.max_distance = k, metric, min_confidence, max_distance
        self._distance = _DISTANCES[metric]
        self.classes, self._points = [], []  # _points: (vector, class)

    def fit(self, examples):
        """examples: {class: [vector, ...]} (a class without examples is left out). Returns self."""
        points = [(list(map(float, v)), name) for name, vectors in examples.items() for v in vectors]
        if not points:
            raise ValueError("no examples to learn from: record a few for at least one class")
        dims = {len(v) for v, _ in points}
        if len(dims) != 1:
            raise ValueError(f"the examples have different lengths {sorted(dims)}: they must all be one kind of feature")
        self.classes = [name for name, vectors in examples.items() if vectors]
        self._points = points
        return self

    @property
    def size(self):
        return len(self._points)

    def predict(self, vector, exclude=None):
        """The Prediction for one feature vector; `exclude`: an index into the examples to leave
        out (leave-one-out scoring)."""
        if not self._points:
            raise ValueError("the classifier has no examples yet: fit() it first")
        vector = [float(x) for x in vector]
        if len(vector) != len(self._points[0][0]):
            raise ValueError(f"a feature vector of {len(vector)} numbers; the examples have {len(self._points[0][0])}")
        scored = sorted((self._distance(vector, p), i, name) for i, (p, name) in enumerate(self._points) if i != exclude)
        near = scored[:self.k]
        votes = {name: 0 for name in self.classes}
        closest = {}
        for d, _, name in near:
            votes[name] += 1
            closest.setdefault(name, d)
        # a tie in votes goes to the class whose nearest example is closer
        best = min(closest, key=lambda name: (-votes[name], closest[name]))
        confidence = votes[best] / len(near)
        why = ""
        if confidence < self.min_confidence:
            why = f"only {votes[best]} of {len(near)} nearest examples agree"
        elif self.max_distance is not None and closest[best] > self.max_distance:
            why = f"nearest example is {closest[best]:.3g} away (more than {self.max_distance:.3g})"
        return Prediction(None if why else best, best, confidence, votes, closest[best], why)

    def leave_one_out(self):
        """Accuracy when each example is classified by all the others (unknown counts as wrong);
        None with fewer than two examples."""
        if len(self._points) < 2:
            return None
        right = sum(self.predict(v, exclude=i).label == name for i, (v, name) in enumerate(self._points))
        return right / len(self._points)
