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
the loop it was sized for, so its deadlines measure its own work, not the queue.
The queue itself is bounded by the worker's connections (HTTP/1.1 handles one
request per connection at a time): cap those at the server (storefront's
``BoundedHttpProtocol`` answers 503 past ``STOREFRONT_MAX_CONNECTIONS``).

A streaming response (Server-Sent Events) gives its place back as soon as its
view has returned it: a stream open for hours must not hold the door shut.
Paths under ``EXEMPT`` (probes, say) never wait: a load balancer asking whether
the worker is alive must not queue behind the load.

A fixed limit is a guess at the worker's throughput times the time a request
should spend inside; the right figure for a page that waits 100 ms on its
upstreams (hundreds) is wrong for one that burns CPU on ORM rows (a few dozen).
With ``MIN_IN_FLIGHT`` below ``MAX_IN_FLIGHT`` the door finds it: each time a
waiting request is handed its place (or a request let straight in yields once),
the time the loop took to run it again is the loop's lag; over ``TARGET_LAG`` the limit goes down by one (not under the
floor), under half of it up by one (not over the ceiling).

    CHORUS = {
        "ADMISSION": {
            "MAX_IN_FLIGHT": 256,  # ceiling; None (the default): every request at once
            "MIN_IN_FLIGHT": 16,  # floor; the ceiling when absent (a fixed limit)
            "TARGET_LAG": 0.01,  # seconds of loop lag the limit aims at
            "EXEMPT": ["/healthz", "/readyz"],
        }
    }
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass

from chorus.engine._loop_local import LoopLocal
from chorus.server._admission_settings import Admission
from chorus.server._settings import get_server_settings

__all__ = ["AdmissionState", "admission_state", "admit", "release_current"]


@dataclass(frozen=True, slots=True)
class AdmissionState:
    """This worker's door now: its limit, requests being handled, and requests waiting."""

    limit: int | None
    in_flight: int
    waiting: int


class _Door:
    """A first-come, first-served door whose limit can move (an asyncio.Semaphore's cannot).

    A waiter is handed its place by the request leaving before it: the future is
    resolved with the time then, and the waiter, once it runs, knows how long
    the loop took to get to it. That is the loop's lag, measured for free on
    every hand-over. A request let straight in measures one turn of the loop
    instead (adaptive doors only). Over the target, the limit goes down by one;
    under half of it, up by one.
    """

    __slots__ = ("ceiling", "floor", "in_flight", "limit", "queue", "target_lag")

    def __init__(self, admission: Admission) -> None:
        assert admission.max_in_flight is not None
        assert admission.min_in_flight is not None
        self.ceiling = admission.max_in_flight
        self.floor = admission.min_in_flight
        self.target_lag = admission.target_lag
        self.limit = self.ceiling
        self.in_flight = 0
        self.queue: deque[asyncio.Future[float]] = deque()

    async def enter(self) -> None:
        if self.in_flight < self.limit and not self.queue:
            self.in_flight += 1
            if self.floor < self.ceiling:
                await self._sample_lag()
            return
        place = asyncio.get_running_loop().create_future()
        self.queue.append(place)
        try:
            handed_at = await place
        except asyncio.CancelledError:
            if place.cancelled():
                with suppress(ValueError):  # a hand-over may have dropped it already
                    self.queue.remove(place)
            else:
                self.leave()  # handed a place as it was cancelled: pass it on
            raise
        self._adapt(time.perf_counter() - handed_at)

    async def _sample_lag(self) -> None:
        # With nobody waiting there is no hand-over to time: one turn of the loop instead
        # (all that is ready runs first). Without it, a limit above the worker's
        # connections would never see the lag, and never come down.
        since = time.perf_counter()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.leave()
            raise
        self._adapt(time.perf_counter() - since)

    def leave(self) -> None:
        self.in_flight -= 1
        self._hand_over()

    def _hand_over(self) -> None:
        while self.queue and self.in_flight < self.limit:
            place = self.queue.popleft()
            if place.done():
                continue  # its waiter was cancelled and has not run yet to leave the queue
            place.set_result(time.perf_counter())
            self.in_flight += 1

    def _adapt(self, lag: float) -> None:
        if lag > self.target_lag:
            self.limit = max(self.floor, self.limit - 1)
        elif lag < self.target_lag / 2 and self.limit < self.ceiling:
            self.limit += 1
            self._hand_over()


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
    """Wait for a place (first come, first served); ``None`` when the door does not apply."""
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
