"""The "teach your own gestures" demo's Python: the page runs it in Pyodide (no numpy there),
tests/test_teach.py in CPython.

    examples.Examples   the taught examples per class; the .json file they are saved to
    knn.KNN             k-nearest neighbours on landmark features, with an "unknown" answer
    game.SimonSays      the game played with the taught classes
    session.Teacher     the page's state (examples, classifier, game): one call per frame
"""

from .examples import Examples, ExamplesFileError
from .game import SimonSays
from .knn import KNN, METRICS, Prediction
from .session import Teacher, features

__all__ = ["Examples", "ExamplesFileError", "KNN", "METRICS", "Prediction", "SimonSays", "Teacher", "features"]
