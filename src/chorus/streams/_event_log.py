"""The event log behind live events: one small interface, whatever keeps the events.

An ``EventLog`` keeps a bounded, ordered backlog of events, each with an id
that only grows. Publishing is synchronous (task workers, the shell, the admin
and ``transaction.on_commit`` callbacks are sync code); reading is async and
is done by one ``Hub`` per worker (the live reader) plus a short replay per
resuming viewer.

chorus ships ``RedisStreamLog`` (a Redis stream). A project may bring its own
log, such as storefront's event table in the database: anything with these
methods will do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from chorus.streams._sse import Event

__all__ = ["EventLog", "LiveEvent", "LogReader"]


@dataclass(frozen=True)  # not slots: ``sse`` is cached on the instance
class LiveEvent:
    """One published event: its backlog id, its kind (``order.created``...) and its JSON data.

    ``key`` is the id made comparable (``EventLog.sort_key``), computed once per event and worker.
    """

    id: str
    kind: str
    data: Mapping[str, Any]
    key: tuple[int, int]

    @cached_property
    def sse(self) -> bytes:
        """The event as one SSE frame, encoded once per worker however many viewers get it."""
        return Event(id=self.id, event=self.kind, data=self.data).encode()


class LogReader(Protocol):
    """The async side of a log, bound to one event loop (one per worker)."""

    async def latest_id(self) -> str:
        """The newest event's id (``"0"`` or ``"0-0"`` when there is none)."""

    async def read_after(self, after: str, *, limit: int, wait: float) -> list[LiveEvent]:
        """Up to ``limit`` events after ``after``, oldest first; waits up to ``wait`` s for one."""

    async def can_resume(self, after: str) -> bool:
        """False when events after ``after`` have left the backlog (or ``after`` is unknown)."""

    async def aclose(self) -> None: ...


class EventLog(Protocol):
    def publish(self, kind: str, data: Mapping[str, Any]) -> str:
        """Append an event; returns its id. Sync, callable from any process or thread."""

    def sort_key(self, event_id: str) -> tuple[int, int]:
        """The id as a comparable key; ``ValueError`` for an id this log never makes."""

    def reader(self) -> LogReader:
        """A new reader for the running event loop."""
