"""One reader per worker, fanning every event out to all the worker's viewers.

A ``Hub`` belongs to one event loop (one worker). While it has viewers it runs
one task that reads the backend (one blocking ``XREAD`` connection, or one
database poller) and hands each event to every viewer's bounded queue: 10,000
viewers cost 10,000 small queues, not 10,000 connections or pollers. When the
last viewer leaves, the reader stops and its connection closes.

A viewer that resumes after an id first registers (so nothing published from
then on escapes it), then replays the backlog after its id, then drains its
queue, skipping what the replay already gave: every event once, in order.

A viewer whose queue is full (it reads slower than events arrive) is cut off
with ``Overflow`` instead of letting its queue grow: it can reconnect with its
last id and catch up from the backlog.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from storefront.live.backends import Backend, LiveEvent, Reader, get_backend
from storefront.live.conf import live_settings

__all__ = ["Hub", "Overflow", "Ready", "Reset", "aclose_hubs", "get_hub"]

logger = logging.getLogger("storefront.live")

_READ_BATCH = 500
_READ_WAIT = 5.0
_RETRY_AFTER_ERROR = 1.0


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


class _Viewer:
    __slots__ = ("_arrived", "limit", "overflowed", "queue")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.queue: deque[LiveEvent] = deque()
        self.overflowed = False
        self._arrived = asyncio.Event()

    def deliver(self, events: list[LiveEvent]) -> None:
        if self.overflowed:
            return
        if len(self.queue) + len(events) > self.limit:
            self.overflowed = True
            self.queue.clear()  # its memory goes now, not when the viewer gets round to it
        else:
            self.queue.extend(events)
        self._arrived.set()

    async def wait(self) -> None:
        if not self.queue and not self.overflowed:
            self._arrived.clear()
            await self._arrived.wait()


class Hub:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._viewers: set[_Viewer] = set()
        self._reader: Reader | None = None
        self._task: asyncio.Task[None] | None = None
        self._started: asyncio.Future[str] | None = None
        self._cursor = ""

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    @property
    def running(self) -> bool:
        return self._task is not None

    async def subscribe(
        self, after: str | None = None, *, limit: int | None = None
    ) -> AsyncIterator[LiveEvent | Ready | Reset | Overflow]:
        """Events after ``after`` (``None``: from now), starting with ``Ready``.

        ``after`` must be an id of this backend (check with ``backend.sort_key``).
        """
        async with aclosing(self.subscribe_batches(after, limit=limit)) as items:
            async for item in items:
                if isinstance(item, list):
                    for event in item:
                        yield event
                else:
                    yield item

    async def subscribe_batches(
        self, after: str | None = None, *, limit: int | None = None
    ) -> AsyncIterator[list[LiveEvent] | Ready | Reset | Overflow]:
        """As ``subscribe``, but the events that arrived together come as one list.

        A stream writes each list at once: one wake-up and one write per batch, not per event.
        """
        viewer = _Viewer(limit or live_settings().viewer_queue)
        self._viewers.add(viewer)
        try:
            reader = await self._ensure_running()
            position = self._cursor
            if after is not None:
                if await reader.can_resume(after):
                    position = after
                else:
                    yield Reset(after)
            yield Ready(position)
            key = self.backend.sort_key(position)
            # Replay what the backlog holds after the viewer's id, page by page.
            while after is not None:
                page = await reader.read_after(position, limit=_READ_BATCH, wait=0)
                if page:
                    yield page
                    position, key = page[-1].id, page[-1].key
                if len(page) < _READ_BATCH:
                    break
            while True:
                await viewer.wait()
                if viewer.overflowed:
                    yield Overflow(viewer.limit)
                    return
                # The replay may have run ahead of the reader: skip what it gave already.
                batch = [event for event in viewer.queue if event.key > key]
                viewer.queue.clear()
                if batch:
                    key = batch[-1].key
                    yield batch
        finally:
            self._viewers.discard(viewer)
            if not self._viewers:
                await self._stop()

    async def _ensure_running(self) -> Reader:
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            self._reader = self.backend.reader()
            # A fresh context: the reader outlives the request that happened to start it.
            self._task = asyncio.create_task(
                self._read(self._reader, self._started), context=contextvars.Context()
            )
        await asyncio.shield(self._started)
        assert self._reader is not None
        return self._reader

    async def _read(self, reader: Reader, started: asyncio.Future[str]) -> None:
        while not started.done():
            try:
                self._cursor = await reader.latest_id()
                started.set_result(self._cursor)
            except Exception:
                logger.exception("live events: cannot reach the backend; retrying")
                await asyncio.sleep(_RETRY_AFTER_ERROR)
        while True:
            try:
                events = await reader.read_after(self._cursor, limit=_READ_BATCH, wait=_READ_WAIT)
            except Exception:
                logger.exception("live events: reading failed; retrying")
                await asyncio.sleep(_RETRY_AFTER_ERROR)
                continue
            if events:
                self._cursor = events[-1].id
                for viewer in list(self._viewers):
                    viewer.deliver(events)

    async def _stop(self) -> None:
        task, reader, started = self._task, self._reader, self._started
        self._task = self._reader = self._started = None
        if task is None:
            return
        task.cancel()
        try:
            await asyncio.wait({task})
        finally:
            if started is not None and not started.done():
                started.cancel()
            if reader is not None:
                await reader.aclose()

    async def aclose(self) -> None:
        self._viewers.clear()
        await self._stop()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The running loop's hub for the configured backend."""
    loop = asyncio.get_running_loop()
    backend = get_backend()
    hub = _hubs.get(loop)
    if hub is None or hub.backend is not backend:
        hub = _hubs[loop] = Hub(backend)
    return hub


async def aclose_hubs() -> None:
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.aclose()
