""""Simon says" with your own gestures: the game's rules, free of time sources and drawing, so
the page drives it with performance.now() and the tests with made-up clocks.

Each round names one of your classes. "Simon says: X" -- show X (hold it for `hold` seconds)
before the time runs out: 50 points plus up to 50 for speed. Just "X!" (a trap, `trap_rate` of
the rounds after the first) -- do NOT show X: lasting the round without holding it is worth
25, holding it is caught (0). Targets come from a seeded random.Random, so a seed replays a game.
"""

import random

HIT, MISS, DODGED, CAUGHT = "hit", "miss", "dodged", "caught"


class SimonSays:
    def __init__(self, classes, rounds=8, time_limit=4.0, hold=0.6, gap=1.2, trap_rate=0.25, seed=None):
        classes = list(dict.fromkeys(classes))
        if len(classes) < 2:
            raise ValueError(f"the game needs at least two taught classes, not {len(classes)}")
        if rounds < 1 or time_limit <= hold or hold < 0 or gap < 0 or not 0 <= trap_rate <= 1:
            raise ValueError(f"bad game settings: rounds={rounds}, time_limit={time_limit}, hold={hold}, gap={gap}, trap_rate={trap_rate}")
        self.classes, self.rounds, self.time_limit, self.hold, self.gap, self.trap_rate = classes, rounds, time_limit, hold, gap, trap_rate
        self.rng = random.Random(seed)
        self._reset()

    def _reset(self):
        self.phase = "ready"  # ready -> ask -> result -> ask ... -> over
        self.round = 0
        self.score = 0
        self.history = []  # (target, simon, outcome, points) per finished round
        self.target, self.simon, self.outcome = None, True, None
        self._t0 = self._held_since = self._next_at = None

    def start(self, now):
        """A new game from the first round (the random sequence goes on: a new game differs)."""
        self._reset()
        self._next_round(now)

    def _next_round(self, now):
        self.round += 1
        self.target = self.rng.choice([c for c in self.classes if c != self.target])  # never twice in a row
        self.simon = self.round == 1 or self.rng.random() >= self.trap_rate
        self.phase, self.outcome, self._t0, self._held_since = "ask", None, now, None

    def update(self, now, label):
        """Advance the clock to `now` (seconds) with `label` (the class shown, None for unknown or
        no hand); returns state()."""
        if self.phase == "ask":
            if label == self.target:
                self._held_since = now if self._held_since is None else self._held_since
            else:
                self._held_since = None
            held = self._held_since is not None and now - self._held_since >= self.hold
            if held:
                self._finish(now, HIT if self.simon else CAUGHT)
            elif now - self._t0 >= self.time_limit:
                self._finish(now, MISS if self.simon else DODGED)
        elif self.phase == "result" and now >= self._next_at:
            if self.round >= self.rounds:
                self.phase = "over"
            else:
                self._next_round(now)
        return self.state(now)

    def _finish(self, now, outcome):
        left = max(0.0, self.time_limit - (now - self._t0))
        points = {HIT: 50 + round(50 * left / self.time_limit), MISS: 0, DODGED: 25, CAUGHT: 0}[outcome]
        self.score += points
        self.history.append((self.target, self.simon, outcome, points))
        self.phase, self.outcome, self._next_at = "result", outcome, now + self.gap

    def state(self, now=None):
        """What the page shows: phase, round/rounds, target, simon, the prompt, time_left and
        time_limit (s), held (0..1 of the hold), score, outcome of the last round."""
        asking = self.phase == "ask" and now is not None
        prompt = {"ready": "Press start", "over": f"Game over: {self.score} points"}.get(self.phase)
        if prompt is None:
            prompt = f"Simon says: {self.target}" if self.simon else f"{self.target}!"
        return {
            "phase": self.phase, "round": self.round, "rounds": self.rounds, "target": self.target, "simon": self.simon,
            "prompt": prompt, "score": self.score, "outcome": self.outcome,
            "time_left": max(0.0, self.time_limit - (now - self._t0)) if asking else None, "time_limit": self.time_limit,
            "held": min(1.0, (now - self._held_since) / self.hold) if asking and self._held_since is not None and self.hold else 0.0,
        }
