"""Where live events are kept between their publisher and their viewers: one small interface.

A backend keeps a bounded, ordered backlog of events, each with an id that
only grows. Publishing is synchronous (a task worker, the shell, the admin and
``transaction.on_commit`` callbacks are sync code); reading is async and is
done by one ``Hub`` per worker (the live reader) plus a short replay per
resuming viewer.

- ``DatabaseBackend``: a table, polled; the embedded default (SQLite too).
- ``RedisStreamBackend``: a Redis stream (``XADD`` with ``MAXLEN``), read with
  blocking ``XREAD``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import chorus

__all__ = ["Backend", "LiveEvent", "Reader", "get_backend"]


@dataclass(frozen=True)  # not slots: ``sse`` is cached on the instance
class LiveEvent:
    """One published event: its backlog id, its kind (``order.created``...) and its JSON data.

    ``key`` is the id made comparable (``Backend.sort_key``), computed once per event and worker.
    """

    id: str
    kind: str
    data: Mapping[str, Any]
    key: tuple[int, int]

    @cached_property
    def sse(self) -> bytes:
        """The event as one SSE frame, encoded once per worker however many viewers get it."""
        return chorus.Event(id=self.id, event=self.kind, data=self.data).encode()


class Reader(Protocol):
    """The async side of a backend, bound to one event loop (one per worker)."""

    async def latest_id(self) -> str:
        """The newest event's id (``"0"`` or ``"0-0"`` when there is none)."""

    async def read_after(self, after: str, *, limit: int, wait: float) -> list[LiveEvent]:
        """Up to ``limit`` events after ``after``, oldest first; waits up to ``wait`` s for one."""

    async def can_resume(self, after: str) -> bool:
        """False when events after ``after`` have left the backlog (or ``after`` is unknown)."""

    async def aclose(self) -> None: ...


class Backend(Protocol):
    def publish(self, kind: str, data: Mapping[str, Any]) -> str:
        """Append an event; returns its id. Sync, callable from any process or thread."""

    def sort_key(self, event_id: str) -> tuple[int, int]:
        """The id as a comparable key; ``ValueError`` for an id this backend never makes."""

    def reader(self) -> Reader:
        """A new reader for the running event loop."""


_backends: dict[tuple[object, ...], Backend] = {}


def get_backend() -> Backend:
    """The configured backend (``STOREFRONT_LIVE["BACKEND"]``), one per process and setting."""
    from storefront.live.conf import live_settings

    conf = live_settings()
    key = (conf.backend, conf.redis_url, conf.stream, conf.backlog, conf.poll_interval)
    backend = _backends.get(key)
    if backend is None:
        if conf.backend == "redis":
            from storefront.live.backends.redis import RedisStreamBackend

            assert conf.redis_url is not None
            backend = RedisStreamBackend(conf.redis_url, stream=conf.stream, backlog=conf.backlog)
        else:
            from storefront.live.backends.database import DatabaseBackend

            backend = DatabaseBackend(backlog=conf.backlog, poll_interval=conf.poll_interval)
        _backends[key] = backend
    return backend
