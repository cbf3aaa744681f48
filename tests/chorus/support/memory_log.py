"""``MemoryLog``: an ``EventLog`` kept in this process's memory, for the streams' tests.

Ids count up from 1 (``"0"`` before the first event); the backlog keeps the
last ``backlog`` events exactly. ``publish`` is sync and may be called from
any thread, as with a real log; each reader waits on its own loop and is woken
from the publishing thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson

from chorus.streams import LiveEvent, dump_event_data

__all__ = ["MemoryLog"]


class MemoryLog:
    def __init__(self, *, backlog: int = 10_000) -> None:
        self.backlog = backlog
        self._events: deque[LiveEvent] = deque(maxlen=backlog)
        self._last = 0
        self._lock = threading.Lock()
        self._readers: set[MemoryReader] = set()

    def publish(self, kind: str, data: Mapping[str, Any]) -> str:
        encoded = dump_event_data(data)  # what a real log stores: JSON text
        with self._lock:
            self._last += 1
            event_id = str(self._last)
            event = LiveEvent(event_id, kind, orjson.loads(encoded), self.sort_key(event_id))
            self._events.append(event)
            readers = list(self._readers)
        for reader in readers:
            reader.wake()
        return event_id

    def sort_key(self, event_id: str) -> tuple[int, int]:
        if not (event_id.isascii() and event_id.isdigit()) or len(event_id) > 20:
            raise ValueError(f"not an event id: {event_id!r}")
        return (int(event_id), 0)

    def reader(self) -> MemoryReader:
        return MemoryReader(self)

    # -- for the reader, under the lock ---------------------------------------------------

    def _after(self, after: str, limit: int) -> list[LiveEvent]:
        key = self.sort_key(after)
        with self._lock:
            return [event for event in self._events if event.key > key][:limit]

    def _first_kept(self) -> int:
        with self._lock:
            return int(self._events[0].id) if self._events else self._last + 1


class MemoryReader:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        with log._lock:
            log._readers.add(self)

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # its loop has closed
            self._loop.call_soon_threadsafe(self._arrived.set)

    async def latest_id(self) -> str:
        return str(self._log._last)

    async def read_after(self, after: str, *, limit: int, wait: float) -> list[LiveEvent]:
        self._arrived.clear()
        events = self._log._after(after, limit)
        if events or wait <= 0:
            return events
        try:
            async with asyncio.timeout(wait):
                await self._arrived.wait()
        except TimeoutError:
            return []
        return self._log._after(after, limit)

    async def can_resume(self, after: str) -> bool:
        key = int(self._log.sort_key(after)[0])
        if key > self._log._last:
            return False  # an id from the future
        return key + 1 >= self._log._first_kept()  # nothing after it has left the backlog

    async def aclose(self) -> None:
        with self._log._lock:
            self._log._readers.discard(self)
