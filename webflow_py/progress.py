"""A terminal progress bar for long work (conversion, downloads). Quiet when not on a terminal
unless asked, so logs stay readable."""

import sys
import time


class Progress:
    def __init__(self, total, label, unit="B", stream=None, enabled=None):
        self.total = max(total, 1)
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self._last = 0.0

    def _fmt(self, n):
        return f"{n / 1e6:.1f} MB" if self.unit == "B" else f"{n}"

    def update(self, n):
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            self.stream.write(f"\r  {self.label} [{bar:<30}] {frac * 100:5.1f}% {self._fmt(self.done)} / {self._fmt(self.total)}")
            self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
