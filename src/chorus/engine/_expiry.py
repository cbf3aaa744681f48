"""Deadlines, and the one place that tells a deadline's cancellation from any other.

``Expiries`` holds the time limits of one fan-out's tasks, on one timer;
``deadline_at`` is the same for one block of code (``chorus.fetch``). Both cancel
with ``task.cancel(msg=DEADLINE)``, and ``by_deadline(error)`` is the only test,
anywhere in chorus, of whether a ``CancelledError`` was the deadline's. The
cache answers stale, the breaker counts a failure, the metrics say ``timeout``
only when it says so; a fail-fast cancel (a required source failed), a hedge
that lost the race, a client that went away (the view's task cancelled) never
are, however close to the deadline they land. Nothing is inferred from the clock.

What this relies on, checked on CPython 3.12.1 and 3.13.0 with both the C and
the pure-Python ``Task``, on asyncio's loop and (3.13) uvloop's;
``tests/chorus/engine/test_expiry.py`` keeps checking it on the Python the project runs:

- ``Task.cancel(msg)`` cancels the future the task waits on with ``msg``, and
  the ``CancelledError`` thrown into the coroutine has ``args == (msg,)``. It is
  one exception object rising through every nested ``await`` of coroutines, so
  each link of the chain sees the same ``args``. Awaiting ``asyncio.shield(...)``,
  ``asyncio.wait(...)``, ``asyncio.sleep`` or a future inside an
  ``asyncio.timeout`` block that has not expired delivers it unchanged (only an
  *expired* ``asyncio.timeout`` turns it into ``TimeoutError``).
- When a task is cancelled twice before it wakes, the first cancel's message is
  the one delivered, and ``Task.cancelling()`` counts both. So the message alone
  would call a deadline that came first "the deadline" though a fail-fast cancel
  followed it: ``by_deadline`` also asks that this task have no cancel requested
  beyond the deadline's own (``cancelling() == 1``; a cancel that was caught and
  withdrawn with ``uncancel()`` no longer counts).
- A cancel requested after the first one was delivered arrives as a new
  ``CancelledError`` with its own message (or none) at the next ``await``.

A task the deadline cancelled must withdraw that request with ``uncancel()``
once it has handled it (``Fanout`` and ``deadline_at`` do), so that its own
later awaits are not cancelled again.

``Expiries``: each source of a fan-out has a time limit.

Each source of a fan-out runs in its own task under a time limit: the sooner of
its own timeout and the fan-out's deadline. ``asyncio.timeout`` would give each
task a context manager and a timer handle of its own. On uvloop a timer handle
is a libuv timer to allocate, start and close, and in the profile of a
dashboard request the per-source timers were about 6% of the CPU
(``bench/README.md``). Here the limits share one timer, set for the soonest.
When it fires it cancels every task whose limit has passed, then sets itself
for the next. Most fan-outs end before any limit, at the cost of one timer.

A task that was cancelled this way is in ``expired``, so that it can withdraw
the cancel request (``uncancel``) when it ends, also one that came too late to land.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Final

__all__ = ["DEADLINE", "Expiries", "by_deadline", "deadline_at"]

# The message of every cancellation a deadline makes (``Task.cancel(msg=DEADLINE)``).
DEADLINE: Final = "chorus: the deadline passed"

# A timer may fire a hair before its time (libuv counts in milliseconds): a limit this
# close is due, rather than set again for a fraction of a millisecond. This says when
# the deadline acts, not whether a cancellation was the deadline's (``by_deadline``).
_EARLY = 0.001


def by_deadline(error: asyncio.CancelledError) -> bool:
    """Whether ``error``, caught in the current task, is a deadline's cancellation alone.

    False for any other cancellation, and for a deadline's that another cancel
    (fail-fast, the caller's) joined before it landed: that one must go on. (A
    task that swallowed an earlier cancel without ``uncancel()`` would make every
    deadline look joined: the call then fails as a plain timeout, never stale.)
    """
    if error.args[:1] != (DEADLINE,):
        return False
    task = asyncio.current_task()
    return task is not None and task.cancelling() <= 1


class deadline_at:  # named and used as asyncio.timeout_at is
    """``async with deadline_at(when):`` cancels the block with ``DEADLINE`` at loop time
    ``when`` (``None``: never) and turns that cancellation into ``TimeoutError``.

    ``asyncio.timeout_at`` with a message: its cancellation carries none, so the
    links inside could not tell it from the caller's.
    """

    __slots__ = ("_cancelling", "_fired", "_handle", "_task", "_when")

    def __init__(self, when: float | None) -> None:
        self._when = when
        self._handle: asyncio.TimerHandle | None = None
        self._fired = False

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("deadline_at must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        if self._when is not None:
            self._handle = asyncio.get_running_loop().call_at(self._when, self._fire)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        # As asyncio.timeout does: withdraw our cancel; if nobody else's stands, the
        # cancellation that ends the block was ours, and is a timeout.
        if (
            self._fired
            and self._task.uncancel() <= self._cancelling
            and exc_type is not None
            and issubclass(exc_type, asyncio.CancelledError)
        ):
            raise TimeoutError from exc

    def _fire(self) -> None:
        self._handle = None
        self._fired = True
        self._task.cancel(msg=DEADLINE)


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

    def add_all(self, limits: Iterable[tuple[asyncio.Task[Any], float]]) -> None:
        """``add`` for each ``(task, when)``, the timer set once: a fan-out starts its sources
        together, and one added in order with a sooner limit would move the timer again."""
        for task, when in limits:
            heapq.heappush(self._limits, (when, id(task), task))
        if self._limits and self._limits[0][0] < self._timer_at:
            self._set_timer(self._limits[0][0])

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
                task.cancel(msg=DEADLINE)
        if limits:
            self._set_timer(limits[0][0])
