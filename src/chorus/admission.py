"""Bounded admission: ``CHORUS["ADMISSION"]``, a per-worker door in front of Django.

An async worker takes every request its connections send and starts them all at
once. Past what one process can do, that does not queue work, it shares it out:
every request in flight gets a slice of one event loop (and of one GIL, with the
threads of their ORM calls), so a request's time inside the worker grows with the
number of requests in it. A fan-out's deadline and its upstreams' timeouts run
from the moment its view starts, so under a burst they expire while replies that
came back in time wait for the loop (bench/README.md, "Soak": a no-I/O
``/healthz`` took 541 ms at the median under the soak's load, and a dashboard
answered 504 with its upstreams fine).

With ``MAX_IN_FLIGHT`` set, at most that many requests are handled at once in a
worker; the others wait at the door, in arrival order (``asyncio.Semaphore`` is
first come, first served), before any middleware runs. A request admitted has
the loop it was sized for, so its deadlines measure its own work, not the queue.
The queue itself is bounded by the worker's connections (HTTP/1.1 handles one
request per connection at a time): cap those at the server (storefront's
``BoundedHttpProtocol`` answers 503 past ``STOREFRONT_MAX_CONNECTIONS``).

A streaming response (Server-Sent Events) gives its place back as soon as its
view has returned it: a stream open for hours must not hold the door shut.
Paths under ``EXEMPT`` (probes, say) never wait: a load balancer asking whether
the worker is alive must not queue behind the load.

    CHORUS = {"ADMISSION": {"MAX_IN_FLIGHT": 32, "EXEMPT": ["/healthz", "/readyz"]}}

``MAX_IN_FLIGHT`` ``None`` (the default) admits everything at once, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from chorus.loop_local import LoopLocal

__all__ = ["Admission", "AdmissionState", "admission_problems", "admission_state", "read_admission"]

_KEYS = frozenset({"MAX_IN_FLIGHT", "EXEMPT"})


@dataclass(frozen=True, slots=True)
class Admission:
    """The door's settings: ``max_in_flight`` requests at once (``None``: no limit)."""

    max_in_flight: int | None = None
    exempt: tuple[str, ...] = ()

    def applies_to(self, path: str) -> bool:
        return self.max_in_flight is not None and not path.startswith(self.exempt)


@dataclass(frozen=True, slots=True)
class AdmissionState:
    """This worker's door now: requests being handled, and requests waiting to be."""

    limit: int | None
    in_flight: int
    waiting: int


def admission_problems(raw: object) -> list[str]:
    if not isinstance(raw, Mapping):
        return [f"must be a dict; got {type(raw).__name__}"]
    found = []
    unknown = sorted(map(str, set(raw) - _KEYS))
    if unknown:
        found.append(f"unknown keys: {', '.join(unknown)} (known: MAX_IN_FLIGHT, EXEMPT)")
    limit = raw.get("MAX_IN_FLIGHT")
    if limit is not None and not (isinstance(limit, int) and not isinstance(limit, bool) and limit > 0):  # fmt: skip
        found.append(f"MAX_IN_FLIGHT must be a positive integer or None; got {limit!r}")
    exempt = raw.get("EXEMPT", ())
    if isinstance(exempt, str) or not isinstance(exempt, list | tuple):
        found.append("EXEMPT must be a list of path prefixes")
    elif bad := [p for p in exempt if not (isinstance(p, str) and p.startswith("/"))]:
        found.append(f"EXEMPT path prefixes must start with '/'; got {bad!r}")
    return found


def read_admission(raw: Mapping[str, Any] | None) -> Admission:
    """Settings already checked by ``admission_problems``."""
    if not raw:
        return Admission()
    return Admission(raw.get("MAX_IN_FLIGHT"), tuple(raw.get("EXEMPT", ())))


class _Door:
    __slots__ = ("in_flight", "limit", "semaphore", "waiting")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.semaphore = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.waiting = 0


# One door per event loop (a semaphore is bound to its loop), remade if the limit changes.
_doors: LoopLocal[dict[int, _Door]] = LoopLocal(dict)


class Slot:
    """One admitted request's place; ``release`` gives it back, once."""

    __slots__ = ("_door",)

    def __init__(self, door: _Door) -> None:
        self._door: _Door | None = door

    def release(self) -> None:
        door, self._door = self._door, None
        if door is not None:
            door.in_flight -= 1
            door.semaphore.release()


_current: ContextVar[Slot | None] = ContextVar("chorus_admission_slot", default=None)


async def admit(admission: Admission, path: str) -> Slot | None:
    """Wait for a place (first come, first served); ``None`` when the door does not apply."""
    if not admission.applies_to(path):
        return None
    assert admission.max_in_flight is not None
    door = _door(admission.max_in_flight)
    door.waiting += 1
    try:
        await door.semaphore.acquire()  # cancelled while waiting: no place is taken
    finally:
        door.waiting -= 1
    door.in_flight += 1
    slot = Slot(door)
    _current.set(slot)
    return slot


def release_current() -> None:
    """Give back the running request's place early (its response streams for long)."""
    slot = _current.get()
    if slot is not None:
        slot.release()


def admission_state() -> AdmissionState:
    """The running loop's door: its limit, requests in flight and requests waiting."""
    from chorus.conf import get_settings  # conf reads this module's settings: import late

    limit = get_settings().admission.max_in_flight
    if limit is None:
        return AdmissionState(None, 0, 0)
    door = _door(limit)
    return AdmissionState(limit, door.in_flight, door.waiting)


def _door(limit: int) -> _Door:
    doors = _doors.get()
    door = doors.get(limit)
    if door is None:
        door = doors[limit] = _Door(limit)
    return door
