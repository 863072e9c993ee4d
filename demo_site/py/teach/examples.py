"""The taught examples: class names in the order they were added, and per class the feature
vectors recorded for it (session.features: 21 landmarks x (x, y, z) in the hand's own frame);
saved to and loaded from a JSON file:

    {"format": "webflow-teach-examples", "version": 1, "landmarks": 63,
     "classes": [{"name": "thumbs up", "examples": [[63 numbers], ...]}, ...]}
"""

import json
import math

FORMAT = "webflow-teach-examples"
VERSION = 1
LANDMARKS = 63  # 21 hand landmarks x (x, y, z)
MAX_NAME = 40


class ExamplesFileError(ValueError):
    """A file that is not a readable examples file; the message names what is wrong."""


class Examples:
    def __init__(self, size=LANDMARKS):
        self.size = size
        self._classes = {}  # name -> list of vectors; dicts keep insertion order

    @property
    def classes(self):
        return list(self._classes)

    def add_class(self, name):
        """Add a class (a stripped, non-empty, unique name); returns the name as stored."""
        name = _check_name(name, ValueError)
        if name in self._classes:
            raise ValueError(f"there is already a class called {name!r}")
        self._classes[name] = []
        return name

    def remove_class(self, name):
        self._get(name)
        del self._classes[name]

    def add(self, name, vector):
        """One example of class `name`: `size` finite numbers."""
        self._get(name).append(_check_vector(vector, self.size, f"an example for {name!r}", ValueError))

    def clear(self, name):
        self._get(name).clear()

    def counts(self):
        return {name: len(v) for name, v in self._classes.items()}

    def by_class(self):
        """{class: [vector]}: what KNN.fit takes."""
        return {name: list(vectors) for name, vectors in self._classes.items()}

    def _get(self, name):
        if name not in self._classes:
            raise KeyError(f"no class called {name!r} (classes: {', '.join(map(repr, self._classes)) or 'none'})")
        return self._classes[name]

    # --- the file ---------------------------------------------------------------------------

    def to_json(self):
        doc = {"format": FORMAT, "version": VERSION, "landmarks": self.size,
               "classes": [{"name": n, "examples": [[round(x, 6) for x in v] for v in vs]} for n, vs in self._classes.items()]}
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, text):
        """Parse an examples file; ExamplesFileError says what is wrong with a bad one."""
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise ExamplesFileError(f"not a JSON file ({e})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ExamplesFileError(f'not a webflow examples file: "format" should be {FORMAT!r}')
        if doc.get("version") != VERSION:
            raise ExamplesFileError(f"examples file version {doc.get('version')!r}: this page reads version {VERSION}")
        size = doc.get("landmarks")
        if size != LANDMARKS:
            raise ExamplesFileError(f'"landmarks" is {size!r}: this page records {LANDMARKS} numbers per example')
        classes = doc.get("classes")
        if not isinstance(classes, list):
            raise ExamplesFileError('"classes" should be a list of {"name", "examples"}')
        out = cls(size)
        for i, c in enumerate(classes):
            if not isinstance(c, dict):
                raise ExamplesFileError(f"class {i + 1} is not an object with a name and examples")
            name = _check_name(c.get("name"), ExamplesFileError, f"class {i + 1}")
            if name in out._classes:
                raise ExamplesFileError(f"class {name!r} appears twice")
            vectors = c.get("examples")
            if not isinstance(vectors, list):
                raise ExamplesFileError(f'class {name!r}: "examples" should be a list of lists of numbers')
            out._classes[name] = [_check_vector(v, size, f"class {name!r}, example {j + 1}", ExamplesFileError)
                                  for j, v in enumerate(vectors)]
        return out


def _check_name(name, error, where="a class name"):
    if not isinstance(name, str) or not name.strip():
        raise error(f"{where}: the name must be a non-empty text, not {name!r}")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise error(f"{where}: the name {name[:MAX_NAME]!r}... is longer than {MAX_NAME} characters")
    return name


def _check_vector(v, size, where, error):
    if hasattr(v, "to_py"):  # a JS array under Pyodide
        v = v.to_py()
    if not isinstance(v, (list, tuple)) or len(v) != size:
        got = f"{len(v)} numbers" if isinstance(v, (list, tuple)) else type(v).__name__
        raise error(f"{where}: {got}, expected {size}")
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise error(f"{where}: {x!r} is not a finite number")
        out.append(float(x))
    return out
