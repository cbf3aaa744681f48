"""What a hub hands its viewers: ``Batch``es of events, the stream's markers, and each
viewer's ``Subscription`` (its bounded queue, its waiter, its place in the log).

A ``Subscription`` is woken once however many batches arrive before it runs,
by a bare future: no task or timer per event. A viewer that falls more than
``limit`` events behind is marked ``overflowed`` and its queue dropped at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from chorus.streams._event_log import LiveEvent

__all__ = ["IDLE", "Batch", "Idle", "Overflow", "Ready", "Reset", "Subscription", "joined"]


@dataclass(frozen=True, slots=True)
class Ready:
    """The viewer is registered: every event after ``last_event_id`` will reach it."""

    last_event_id: str


@dataclass(frozen=True, slots=True)
class Reset:
    """Events after the viewer's id have left the backlog: it must reload its state."""

    last_event_id: str


@dataclass(frozen=True, slots=True)
class Overflow:
    """The viewer fell ``limit`` events behind and is disconnected."""

    limit: int


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing arrived for a while: the stream's owner asked (``poke``) and may send a heartbeat."""


IDLE = Idle()


class Batch:
    """Events that arrived together, oldest first; their SSE frames joined once for every viewer."""

    __slots__ = ("__dict__", "events")

    def __init__(self, events: Sequence[LiveEvent]) -> None:
        self.events = events

    @cached_property
    def sse(self) -> bytes:
        return b"".join(event.sse for event in self.events)

    def after(self, key: tuple[int, int]) -> Batch:
        """This batch without the events at or before ``key`` (what a replay already gave)."""
        if self.events[0].key > key:
            return self
        return Batch([event for event in self.events if event.key > key])


class Subscription:
    """One viewer's place in the hub: a bounded queue of batches and one waiter."""

    __slots__ = (
        "_closed",
        "_poked",
        "_waiter",
        "active_at",
        "batches",
        "detached",
        "key",
        "limit",
        "overflowed",
        "pending",
        "sent_key",
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.key = (0, 0)  # the newest event it has taken (or been written)
        self.sent_key = (0, 0)  # the newest event the hub has delivered to it
        self.detached = False
        self.active_at = 0.0  # loop time of its last write, for heartbeats
        self.batches: list[Batch] = []
        self.pending = 0
        self.overflowed = False
        self._poked = False
        self._closed = False
        self._waiter: asyncio.Future[None] | None = None

    def deliver(self, batch: Batch) -> None:
        if self.overflowed:
            return
        self.sent_key = batch.events[-1].key
        self.pending += len(batch.events)
        if self.pending > self.limit:
            self.overflowed = True
            self.batches.clear()  # its memory goes now, not when the viewer gets round to it
        else:
            self.batches.append(batch)
        self._wake()

    def poke(self) -> None:
        """Wake the viewer even with nothing to deliver: it yields ``Idle`` (heartbeats)."""
        self._poked = True
        self._wake()

    def close(self) -> None:
        """End the viewer's stream after what it has already been given (draining)."""
        self._closed = True
        self._wake()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def poked(self) -> bool:
        return self._poked

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        if self.batches or self.overflowed or self._poked or self._closed:
            return
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def take(self) -> list[Batch]:
        batches, self.batches, self.pending = self.batches, [], 0
        self._poked = False
        return batches

    def take_new(self) -> Batch | None:
        """What was delivered since the last call, as one batch, without what it had already."""
        batches = self.take()
        if batches and batches[0].events[0].key <= self.key:
            # The replay may have run ahead of the reader: skip what it gave already.
            batches = [batch.after(self.key) for batch in batches]
            batches = [batch for batch in batches if batch.events]
        if not batches:
            return None
        self.key = batches[-1].events[-1].key
        return batches[0] if len(batches) == 1 else joined(batches)


def joined(batches: list[Batch]) -> Batch:
    joined = Batch([event for batch in batches for event in batch.events])
    # The parts' frames are cached already (or are about to be, for the other viewers).
    joined.__dict__["sse"] = b"".join(batch.sse for batch in batches)
    return joined
