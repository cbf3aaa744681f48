"""``Bulkhead``: at most N calls in flight to one upstream, the rest waiting in turn.

This is what ``asyncio.Semaphore`` does, written out because of what the
semaphore costs on the hot path: each ``async with`` makes a coroutine, and
each ``acquire`` asks ``locked()``, which builds a generator over the waiters
even when there are none. A fan-out takes a place for every call it makes.
In the profile of a dashboard request, the semaphore and its lookup were about
6% of the CPU (``bench/README.md``). Here a call that finds a free place takes
it with one plain method call (``try_enter``); only a call that must wait
awaits anything (``enter``).

Semantics are the semaphore's: first come, first served. A place that is freed
while others wait passes straight to the next waiter. A waiter that is
cancelled gives back a place it was handed in the meantime.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

__all__ = ["Bulkhead"]


class Bulkhead:
    __slots__ = ("_waiters", "in_flight", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a bulkhead needs at least one place")
        self.limit = limit
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def try_enter(self) -> bool:
        """Take a place if one is free and nobody is queued before us."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return True
        return False

    async def enter(self) -> None:
        """Take a place, waiting in turn for one to be freed."""
        if self.try_enter():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # handed a place just as we were cancelled: pass it on
            else:
                # leave() may have dropped it already, finding it cancelled.
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def leave(self) -> None:
        """Give the place back, to the next waiter if there is one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place passes on; in_flight is unchanged
                return
        self.in_flight -= 1
