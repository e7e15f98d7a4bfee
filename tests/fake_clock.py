"""A sleep that takes no time, and the clock it moves: hand both to code that waits (backoff, polling)."""

from __future__ import annotations


class Sleeps(list):
    """Each sleep is recorded and moves the clock on; no time passes."""

    now = 0.0

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now
