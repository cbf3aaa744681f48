"""``LatencyTracker``: an upstream's recent answer times, for the hedge's delay and the retry's guess.

Keeps the last ``size`` successful request durations and answers quantiles
from a sorted copy that is refreshed every ``refresh`` samples, so that a
call asking for the p95 pays a list index, not a sort.
"""

from __future__ import annotations

from collections import deque

__all__ = ["LatencyTracker"]


class LatencyTracker:
    __slots__ = ("_fresh", "_refresh", "_samples", "_sorted", "minimum")

    def __init__(self, *, size: int = 256, refresh: int = 16, minimum: int = 20) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._sorted: list[float] = []
        self._fresh = 0
        self._refresh = refresh
        # Fewer samples than this say nothing about a tail: quantile() answers None.
        self.minimum = minimum

    def record(self, seconds: float) -> None:
        self._samples.append(seconds)
        self._fresh += 1
        if self._fresh >= self._refresh or len(self._sorted) < self.minimum:
            self._sorted = sorted(self._samples)
            self._fresh = 0

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0 to 1) of recent durations in seconds, or ``None`` if unknown."""
        ordered = self._sorted
        if len(ordered) < self.minimum:
            return None
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def __len__(self) -> int:
        return len(self._samples)
