"""Bounded admission: ``CHORUS["ADMISSION"]``, a per-worker door in front of Django.

An async worker takes every request its connections send and starts them all at
once. Past what one process can do, that does not queue work, it shares it out:
every request in flight gets a slice of one event loop (and of one GIL, with the
threads of their ORM calls), so a request's time inside the worker grows with the
number of requests in it. A fan-out's deadline and its upstreams' timeouts run
from the moment its view starts, so under a burst they expire while replies that
came back in time wait for the loop (bench/README.md, "Soak": a no-I/O
``/healthz`` took 374-541 ms at the median under the soak's load, and
dashboards answered 504 with their upstreams fine).

With ``MAX_IN_FLIGHT`` set, at most that many requests (or the door's current
limit, see below) are handled at once in a worker; the others wait at the
door, first come first served, before any middleware runs. A request admitted has
the loop it needs, so its deadlines measure its own work, not the queue. The
queue itself is bounded by the worker's connections (HTTP/1.1 handles one
request per connection at a time): cap those at the server (storefront's
``BoundedHttpProtocol`` answers 503 past ``STOREFRONT_MAX_CONNECTIONS``).

A streaming response (Server-Sent Events) gives its place back as soon as its
view has returned it: a stream open for hours must not hold the door shut.
Paths under ``EXEMPT`` (probes, say) never wait: a load balancer asking whether
the worker is alive must not queue behind the load.

How it adapts, and why that controller: ``chorus.server._admission_controller``.

    CHORUS = {
        "ADMISSION": {
            "MAX_IN_FLIGHT": 256,  # ceiling; None (the default): every request at once
            "MIN_IN_FLIGHT": 16,  # floor; the ceiling when absent (a fixed limit)
            "LOOP_TARGET": 0.005,  # s: the loop's lag may not stay over this for an interval
            "QUEUE_TARGET": 0.5,  # s: the door's queue stands when no wait is shorter
            "MAX_WAIT": 5.0,  # s: the longest wait while the queue stands (then a 503)
            "INTERVAL": 0.1,  # s: the window of each judgement
            "EXEMPT": ["/healthz", "/readyz"],
        }
    }
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass

from chorus.engine._loop_local import LoopLocal
from chorus.server._admission_controller import Controller
from chorus.server._admission_settings import Admission
from chorus.server._settings import get_server_settings

__all__ = ["AdmissionState", "Overloaded", "admission_state", "admit", "release_current"]

logger = logging.getLogger("chorus.server.admission")

# While a queue waits, the door's timer times the loop this many times an interval.
_PROBES_PER_INTERVAL = 10
# A WARNING line about refused waits at most this often (seconds), with their count.
_REFUSALS_LOGGED_EVERY = 10.0


@dataclass(frozen=True, slots=True)
class AdmissionState:
    """This worker's door now: its limit, requests being handled, and requests waiting."""

    limit: int | None
    in_flight: int
    waiting: int


class Overloaded(Exception):
    """The door's queue stands and this request waited ``MAX_WAIT``: answer 503."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"waited at the door past MAX_WAIT; retry after {retry_after} s")
        self.retry_after = retry_after


class _Place:
    __slots__ = ("future", "since")

    def __init__(self, future: asyncio.Future[float | None], since: float) -> None:
        self.future = future
        self.since = since


class _Door:
    """A first-come, first-served door whose limit can move (an asyncio.Semaphore's cannot).

    A waiter is handed its place by the request leaving before it: the future is
    resolved with the time then, and the waiter, once it runs, knows how long the
    loop took to get to it (the loop's lag, measured for free on every hand-over)
    and how long it waited. A request let straight in has one turn of the loop
    timed instead, by a callback (adaptive doors only; one turn at a time).
    While anyone waits, a timer every tenth of an interval times the loop too
    (how late it fires), ends the controller's intervals even if nobody leaves,
    and cuts the waits that the standing queue has made too long (the future
    resolved with ``None``).

    Why the timer's own lag: hand-overs happen when requests end, and requests
    that share one upstream request (a cache's singleflight) or whose upstreams
    answer together end together, in a burst that the loop runs in one long
    turn. Timed only there, a loop that is idle between those bursts (waiting
    on its upstreams, the knee not reached) showed no short turn in an interval
    and had its limit cut: storefront's dashboard at 256 connections ran at
    0.69x of its door-off throughput. The timer also fires between the bursts,
    when an idle loop runs it on time; a loop past its knee never is idle.
    """

    __slots__ = (
        "clock",
        "control",
        "in_flight",
        "queue",
        "refused",
        "refused_logged",
        "sampling",
        "timer",
    )

    def __init__(
        self, admission: Admission, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.clock = clock
        self.control = Controller(admission, clock())
        self.in_flight = 0
        self.queue: deque[_Place] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.sampling = False  # a turn of the loop is being timed
        self.refused = 0
        self.refused_logged = -math.inf

    @property
    def limit(self) -> int:
        return self.control.limit

    async def enter(self) -> None:
        control = self.control
        if self.in_flight < control.limit and not self.queue:
            self.in_flight += 1
            if control.adaptive and not self.sampling:
                # With nobody waiting there is no hand-over to time: one turn of the loop
                # instead (all that is ready runs first), timed by a callback, not by the
                # request (awaiting the turn cost each request one, 23 ms at p50 under
                # load). Without it, a limit above the worker's connections would never
                # see the lag, and never come down.
                self.sampling = True
                asyncio.get_running_loop().call_soon(self._turn_timed, self.clock())
            return
        control.reached()
        place = _Place(asyncio.get_running_loop().create_future(), self.clock())
        self.queue.append(place)
        if self.timer is None:
            self._start_timer()
        try:
            handed_at = await place.future
        except asyncio.CancelledError:
            if place.future.cancelled():
                with suppress(ValueError):  # a hand-over may have dropped it already
                    self.queue.remove(place)
            elif place.future.result() is not None:
                self.leave()  # handed a place as it was cancelled: pass it on
            raise
        if handed_at is None:
            raise Overloaded(max(1, math.ceil(control.max_wait)))
        now = self.clock()
        control.waited(handed_at - place.since)
        control.lag(now - handed_at)
        self._tick(now)

    def _turn_timed(self, since: float) -> None:
        self.sampling = False
        now = self.clock()
        self.control.lag(now - since)
        self._tick(now)

    def leave(self) -> None:
        self.in_flight -= 1
        self._hand_over()

    def _hand_over(self) -> None:
        queue = self.queue
        while queue and self.in_flight < self.control.limit:
            place = queue.popleft()
            if place.future.done():
                continue  # its waiter was cancelled and has not run yet to leave the queue
            place.future.set_result(self.clock())
            self.in_flight += 1

    def _tick(self, now: float) -> None:
        control = self.control
        if control.due(now):
            before = control.limit
            head = self._head()
            control.end_interval(now, None if head is None else now - head.since)
            if control.limit > before:
                self._hand_over()
        if control.standing:
            self._cut(now)

    def _head(self) -> _Place | None:
        queue = self.queue
        while queue and queue[0].future.done():
            queue.popleft()  # cancelled waiters not yet run
        return queue[0] if queue else None

    def _cut(self, now: float) -> None:
        """Answer the waits the standing queue made longer than ``MAX_WAIT`` (oldest first)."""
        oldest_allowed = now - self.control.max_wait
        cut = 0
        while (head := self._head()) is not None and head.since <= oldest_allowed:
            self.queue.popleft()
            head.future.set_result(None)
            cut += 1
        if cut:
            self._log_refused(cut, now)

    def _log_refused(self, count: int, now: float) -> None:
        self.refused += count
        if now - self.refused_logged >= _REFUSALS_LOGGED_EVERY:
            logger.warning(
                "admission: %d requests answered 503 after waiting %.1f s at a standing queue"
                " (limit %d, %d in flight, %d waiting)",
                self.refused,
                self.control.max_wait,
                self.control.limit,
                self.in_flight,
                len(self.queue),
            )
            self.refused, self.refused_logged = 0, now

    def _start_timer(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.control.interval / _PROBES_PER_INTERVAL
        self.timer = loop.call_at(due, self._on_timer, due)

    def _on_timer(self, due: float) -> None:
        self.timer = None
        if self.control.adaptive:
            self.control.lag(asyncio.get_running_loop().time() - due)
        self._tick(self.clock())
        if self.queue:
            self._start_timer()


# One door per event loop (its futures are bound to the loop), one per setting.
_doors: LoopLocal[dict[Admission, _Door]] = LoopLocal(dict)


class Slot:
    """One admitted request's place; ``release`` gives it back, once."""

    __slots__ = ("_door",)

    def __init__(self, door: _Door) -> None:
        self._door: _Door | None = door

    def release(self) -> None:
        door, self._door = self._door, None
        if door is not None:
            door.leave()


_current: ContextVar[Slot | None] = ContextVar("chorus_admission_slot", default=None)


async def admit(admission: Admission, path: str) -> Slot | None:
    """Wait for a place (first come, first served); ``None`` when the door does not apply.

    Raises ``Overloaded`` when the queue stands and the wait passed ``MAX_WAIT``.
    """
    if not admission.applies_to(path):
        return None
    door = _door(admission)
    await door.enter()
    slot = Slot(door)
    _current.set(slot)
    return slot


def release_current() -> None:
    """Give back the running request's place early (its response streams for long)."""
    slot = _current.get()
    if slot is not None:
        slot.release()


def admission_state() -> AdmissionState:
    """The running loop's door: its limit now, requests in flight and requests waiting."""
    admission = get_server_settings().admission
    if admission.max_in_flight is None:
        return AdmissionState(None, 0, 0)
    door = _door(admission)
    return AdmissionState(door.limit, door.in_flight, len(door.queue))


def _door(admission: Admission) -> _Door:
    doors = _doors.get()
    door = doors.get(admission)
    if door is None:
        door = doors[admission] = _Door(admission)
    return door
