"""Rock-paper-scissors against the computer: a match of rounds, each a countdown ("rock,
paper, scissors, shoot!") after which the player's gesture is locked, the computer's is drawn
from a seeded random generator, and the round's result shows for a while.

The page calls update(now, gesture) every 100 ms with the newest frame's gesture (now: seconds,
any clock) and draws what it returns; everything time-dependent happens in update, so tests
drive a whole match with a fake clock. A round where no gesture was seen at "shoot" is replayed, not scored.
"""

import random

MOVES = ("rock", "paper", "scissors")
BEATS = {"rock": "scissors", "paper": "rock", "scissors": "paper"}  # each move beats this one


def outcome(player, computer):
    """"win", "lose" or "tie", for the player."""
    if player not in BEATS or computer not in BEATS:
        raise ValueError(f"rock-paper-scissors: moves are {MOVES}, got {player!r} and {computer!r}")
    return "tie" if player == computer else "win" if BEATS[player] == computer else "lose"


class Match:
    """First to `wins` round wins takes the match. Phases: "ready" (until start), "countdown"
    (`countdown` seconds), "result" (`reveal` seconds; then the next countdown), "over". The
    player's move is the gesture given most often in the last `window` seconds of the countdown
    (one misread frame at the end does not decide a round)."""

    def __init__(self, seed=None, wins=3, countdown=3.0, reveal=2.0, window=0.5):
        if wins < 1 or countdown <= 0 or reveal < 0 or window < 0:
            raise ValueError("rock-paper-scissors: wins >= 1, countdown > 0, reveal >= 0, window >= 0")
        self.rng = random.Random(seed)
        self.wins, self.countdown, self.reveal, self.window = wins, float(countdown), float(reveal), float(window)
        self.phase = "ready"
        self.score = {"player": 0, "computer": 0, "ties": 0}
        self.rounds = []  # {player, computer, outcome} of every scored round
        self.last = None  # the last round shown: a scored one, or one with outcome "missed"
        self.until = None  # when the current phase ends
        self.seen = []  # the gestures given in the countdown's last `window` seconds

    def start(self, now):
        """(Re)start a match at time `now` (the computer's moves go on from the same generator)."""
        self.phase, self.rounds, self.last = "countdown", [], None
        self.score = {"player": 0, "computer": 0, "ties": 0}
        self.until, self.seen = now + self.countdown, []
        return self.state(now)

    def update(self, now, gesture):
        """Advance to time `now` with the gesture seen now ("rock", "paper", "scissors", "none");
        returns state(now)."""
        if self.phase == "countdown":
            if now >= self.until - self.window:
                self.seen.append(gesture)
            if now >= self.until:
                self._shoot(now)
        elif self.phase == "result" and now >= self.until:
            if max(self.score["player"], self.score["computer"]) >= self.wins:
                self.phase = "over"
            else:
                self.phase, self.until, self.seen = "countdown", now + self.countdown, []
        return self.state(now)

    def _shoot(self, now):
        moves = [g for g in self.seen if g in BEATS]
        if moves:
            counts = {m: moves.count(m) for m in moves}
            player = next(m for m in reversed(moves) if counts[m] == max(counts.values()))  # ties: the latest
            computer = self.rng.choice(MOVES)
            result = outcome(player, computer)
            self.score[{"win": "player", "lose": "computer", "tie": "ties"}[result]] += 1
            self.last = {"player": player, "computer": computer, "outcome": result}
            self.rounds.append(self.last)
        else:
            self.last = {"player": None, "computer": None, "outcome": "missed"}
        self.phase, self.until = "result", now + self.reveal

    @property
    def winner(self):
        """"player" or "computer" once the match is over, else None."""
        if self.phase != "over":
            return None
        return "player" if self.score["player"] >= self.wins else "computer"

    def state(self, now):
        """What the page shows: plain values (a dict of str, numbers, None, lists, dicts)."""
        left = max(0.0, self.until - now) if self.until is not None and self.phase in ("countdown", "result") else 0.0
        return {
            "phase": self.phase, "seconds_left": left, "round": len(self.rounds) + (1 if self.phase == "countdown" else 0),
            "score": dict(self.score), "last": dict(self.last) if self.last else None, "winner": self.winner, "wins": self.wins,
            "rounds": [dict(r) for r in self.rounds],
        }
