"""``Expiries``: the time limits of one fan-out's tasks, on one timer.

Each source of a fan-out runs in its own task under a time limit: the sooner of
its own timeout and the fan-out's deadline. ``asyncio.timeout`` would give each
task a context manager and a timer handle of its own. On uvloop a timer handle
is a libuv timer to allocate, start and close, and in the profile of a
dashboard request the per-source timers were about 6% of the CPU
(``bench/README.md``). Here the limits share one timer, set for the soonest.
When it fires it cancels every task whose limit has passed, then sets itself
for the next. Most fan-outs end before any limit, at the cost of one timer.

A task that was cancelled this way is in ``expired``; the task reads that to
tell its time limit from any other cancellation.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from typing import Any

__all__ = ["Expiries"]

# A timer may fire a hair before its time (libuv counts in milliseconds); a limit
# this close is due.
_EARLY = 0.001


class Expiries:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._limits: list[tuple[float, int, asyncio.Task[Any]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self.expired: set[asyncio.Task[Any]] = set()

    def add(self, task: asyncio.Task[Any], when: float) -> None:
        """Cancel ``task`` at loop time ``when`` unless it is done by then."""
        heapq.heappush(self._limits, (when, id(task), task))
        if when < self._timer_at:
            self._set_timer(when)

    def close(self) -> None:
        """Stop the timer; no task expires after this."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = math.inf
        self._limits.clear()

    def _set_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._fire)
        self._timer_at = when

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        due = self._loop.time() + _EARLY
        limits = self._limits
        while limits and (limits[0][0] <= due or limits[0][2].done()):
            _, _, task = heapq.heappop(limits)
            if not task.done():
                self.expired.add(task)
                task.cancel()
        if limits:
            self._set_timer(limits[0][0])
