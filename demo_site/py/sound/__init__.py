"""The sound demo's Python: from the model's logits to what happens on the page. The page runs
it in Pyodide (no numpy there), the tests in CPython: pure Python, one implementation.

The model runs about ten times a second on the newest second of audio, so one whistle is seen
by many runs in a row, and a run whose window holds only the edge of a sound can be unsure.
Listener.step turns that stream into one action per sound:

1. probabilities: softmax of the logits;
2. smoothing: their mean over the last SMOOTH runs;
3. decision: the likeliest class when its smoothed probability is at least THRESHOLD for HOLD
   runs in a row, else "background" (nothing);
4. debounce: an action fires when the decision becomes a class, once; the same class fires
   again only after the decision has left it (background or another class);
5. the action moves the controls (Board): the ball up or down a step, back to the middle, the
   light on or off, the next colour.
"""

import math

BACKGROUND = "background"
ACTIONS = {  # class -> (action, what the page says it does)
    "rising": ("up", "ball up"),
    "falling": ("down", "ball down"),
    "whistle": ("centre", "ball to the middle"),
    "clap": ("light", "light on / off"),
    "hum": ("colour", "next colour"),
}
COLOURS = ("#2f6fed", "#1f9d55", "#e0802b", "#b03adf", "#c2352b")
SMOOTH, THRESHOLD, HOLD = 3, 0.6, 2
STEP = 0.2  # of the ball's track, per rising or falling whistle


def softmax(logits):
    top = max(logits)
    e = [math.exp(v - top) for v in logits]
    s = sum(e)
    return [v / s for v in e]


class Board:
    """The controls: a ball's height on its track (0 bottom .. 1 top), a light, a colour."""

    def __init__(self):
        self.height, self.light, self.colour = 0.5, False, 0

    def apply(self, action):
        if action == "up":
            self.height = min(1.0, round(self.height + STEP, 6))
        elif action == "down":
            self.height = max(0.0, round(self.height - STEP, 6))
        elif action == "centre":
            self.height = 0.5
        elif action == "light":
            self.light = not self.light
        elif action == "colour":
            self.colour = (self.colour + 1) % len(COLOURS)
        else:
            raise ValueError(f"unknown action {action!r} (known: {', '.join(a for a, _ in ACTIONS.values())})")

    def state(self):
        return {"height": self.height, "light": self.light, "colour": COLOURS[self.colour]}


class Listener:
    """Logits in, decisions and actions out (the module's doc says how)."""

    def __init__(self, labels, smooth=SMOOTH, threshold=THRESHOLD, hold=HOLD):
        labels = list(labels)
        unknown = set(labels) - set(ACTIONS) - {BACKGROUND}
        if BACKGROUND not in labels or unknown:
            raise ValueError(f"model labels {labels}: expected {BACKGROUND!r} and classes among {sorted(ACTIONS)}")
        self.labels, self.smooth, self.threshold, self.hold = labels, smooth, threshold, hold
        self.recent = []  # the last `smooth` probability vectors
        self.candidate, self.count = BACKGROUND, 0
        self.decision = BACKGROUND
        self.board = Board()
        self.events = []  # (run, class, action) of every action fired

    def step(self, logits, run=None):
        """One model run: returns {probs, smoothed, top, decision, event, board}; `event` is the
        class whose action fired on this run, or None."""
        probs = softmax(list(logits))
        if len(probs) != len(self.labels):
            raise ValueError(f"{len(probs)} logits for {len(self.labels)} labels")
        self.recent = (self.recent + [probs])[-self.smooth:]
        smoothed = [sum(p[k] for p in self.recent) / len(self.recent) for k in range(len(probs))]
        best = max(range(len(smoothed)), key=smoothed.__getitem__)
        candidate = self.labels[best] if smoothed[best] >= self.threshold else BACKGROUND
        self.count = self.count + 1 if candidate == self.candidate else 1
        self.candidate = candidate
        event = None
        if self.count >= self.hold and candidate != self.decision:
            self.decision = candidate
            if candidate != BACKGROUND:
                event = candidate
                self.board.apply(ACTIONS[candidate][0])
                self.events.append((run, candidate, ACTIONS[candidate][0]))
        return {"probs": probs, "smoothed": smoothed, "top": self.labels[probs.index(max(probs))], "decision": self.decision,
                "event": event, "board": self.board.state()}
