"""One reader per worker, fanning every event out to all the worker's viewers.

A ``Hub`` belongs to one event loop (one worker) and one ``EventLog``. While
it has viewers it runs one task that reads the log (one blocking ``XREAD``
connection, or one database poller) and hands each batch of events to every
viewer: 10,000 viewers cost 10,000 small queues, not 10,000 connections or
pollers. When the last viewer leaves, the reader stops and its connection
closes.

Delivery is built for thousands of viewers per worker, since each batch costs
the worker one step per viewer:

- a batch (the events one read returned) is encoded to SSE once, for all
  viewers (``Batch.sse``);
- a viewer waits on a bare future, woken once however many batches arrive
  before it runs: a busy worker sends fewer, larger writes instead of falling
  further behind;
- nothing else runs per viewer and batch: no task, no timer (heartbeats are
  one timer per viewer, re-armed only when it fires; see ``Subscription.poke``).

A viewer that resumes after an id first registers (so nothing published from
then on escapes it), then replays the backlog after its id, then drains its
queue, skipping what the replay already gave: every event once, in order.

A viewer whose queue is full (it reads slower than events arrive) is cut off
with ``Overflow`` instead of letting its queue grow: it can reconnect with its
last id and catch up from the backlog.

Written here rather than taken from Channels' layers or broadcaster libraries:
those deliver per message and per consumer, with no backlog to resume from
and no bound on a slow consumer, which is the part that matters here.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing

from chorus.engine._loop_local import LoopLocal
from chorus.streams._event_log import EventLog, LiveEvent, LogReader
from chorus.streams._subscription import (
    IDLE,
    Batch,
    Idle,
    Overflow,
    Ready,
    Reset,
    Subscription,
    joined,
)

__all__ = ["DEFAULT_VIEWER_QUEUE", "Hub", "aclose_hubs", "get_hub"]

logger = logging.getLogger("chorus.streams")

DEFAULT_VIEWER_QUEUE = 1_000
_READ_BATCH = 500
_SLICE = 256  # viewers delivered to between two yields to the loop
_READ_WAIT = 5.0
_RETRY_AFTER_ERROR = 1.0


class Hub:
    def __init__(self, log: EventLog, *, viewer_queue: int = DEFAULT_VIEWER_QUEUE) -> None:
        self.log = log
        self.viewer_queue = viewer_queue
        self._viewers: set[Subscription] = set()
        self._reader: LogReader | None = None
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._started: asyncio.Future[str] | None = None
        self._cursor = ""
        # Batches read and not yet delivered to every viewer, oldest first.
        self._recent: list[Batch] = []
        self._arrived = asyncio.Event()

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    @property
    def running(self) -> bool:
        return self._task is not None

    async def subscribe(
        self, after: str | None = None, *, limit: int | None = None
    ) -> AsyncGenerator[LiveEvent | Ready | Reset | Overflow]:
        """Events after ``after`` (``None``: from now), one at a time, starting with ``Ready``.

        ``after`` must be an id of this log (check with ``log.sort_key``).
        """
        async with aclosing(self.subscribe_batches(after, limit=limit)) as items:
            async for item in items:
                if isinstance(item, Batch):
                    for event in item.events:
                        yield event
                elif not isinstance(item, Idle):
                    yield item

    async def subscribe_batches(
        self,
        after: str | None = None,
        *,
        limit: int | None = None,
        subscription: Subscription | None = None,
    ) -> AsyncGenerator[Batch | Ready | Reset | Overflow | Idle]:
        """As ``subscribe``, but the events that arrived together come as one ``Batch``.

        Pass your own ``subscription`` to ``poke`` it (``Idle`` is yielded) or
        ``close`` it (the iteration ends) from outside.
        """
        viewer = subscription or Subscription(limit or self.viewer_queue)
        try:
            async with aclosing(self.attach(viewer, after)) as opening:
                async for item in opening:
                    yield item
            while not viewer.closed:
                await viewer.wait()
                if viewer.overflowed:
                    yield Overflow(viewer.limit)
                    return
                poked = viewer.poked
                batch = viewer.take_new()
                if batch is not None:
                    yield batch
                elif poked and not viewer.closed:
                    yield IDLE
        finally:
            await self.detach(viewer)

    async def attach(
        self, viewer: Subscription, after: str | None
    ) -> AsyncGenerator[Batch | Ready | Reset]:
        """Register ``viewer``, then yield ``Reset`` (if its id left the backlog), ``Ready`` and
        the backlog after ``after``. From registration on the hub delivers to it; what it
        delivers during the replay is skipped by ``take_new`` where the replay gave it already.
        Pair with ``detach``.
        """
        self._viewers.add(viewer)
        reader = await self._ensure_running()
        position = self._cursor
        # The writer gives it what the reader reads from here on; the replay, what came before.
        viewer.sent_key = max(viewer.sent_key, self.log.sort_key(position))
        if after is not None:
            if await reader.can_resume(after):
                position = after
            else:
                yield Reset(after)
        viewer.key = self.log.sort_key(position)
        yield Ready(position)
        # Replay what the backlog holds after the viewer's id, page by page.
        while after is not None:
            page = await reader.read_after(position, limit=_READ_BATCH, wait=0)
            if page:
                yield Batch(page)
                position, viewer.key = page[-1].id, page[-1].key
            if len(page) < _READ_BATCH:
                break

    async def detach(self, viewer: Subscription) -> None:
        viewer.detached = True
        self._viewers.discard(viewer)
        if not self._viewers:
            await self._stop()

    async def _ensure_running(self) -> LogReader:
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            self._reader = self.log.reader()
            # A fresh context: the reader outlives the request that happened to start it.
            self._task = asyncio.create_task(
                self._read(self._reader, self._started), context=contextvars.Context()
            )
            self._writer = asyncio.create_task(self._deliver(), context=contextvars.Context())
        await asyncio.shield(self._started)
        assert self._reader is not None
        return self._reader

    async def _read(self, reader: LogReader, started: asyncio.Future[str]) -> None:
        while not started.done():
            try:
                self._cursor = await reader.latest_id()
                started.set_result(self._cursor)
            except Exception:
                logger.exception("live events: cannot reach the event log; retrying")
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
                self._recent.append(Batch(events))
                self._arrived.set()

    async def _deliver(self) -> None:
        """Give every viewer what it has not had yet, cycling over them, as long as events come.

        The cycle yields to the loop every ``_SLICE`` viewers: other requests
        on the worker are not held up by a cycle over thousands of viewers,
        the reader keeps reading, and the viewers later in the cycle already
        get what arrived meanwhile. An event thus waits at most one cycle for
        a viewer, not the rest of the current one and then its own.
        """
        recent = self._recent
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            # Batches made for a suffix of ``recent``, by its start; valid while nothing is added.
            made: dict[int, Batch] = {}
            size = len(recent)
            for count, viewer in enumerate(list(self._viewers), 1):
                if count % _SLICE == 0:
                    await asyncio.sleep(0)
                    if len(recent) != size:
                        made.clear()
                        size = len(recent)
                if viewer.detached:
                    continue
                start = size
                while start and recent[start - 1].events[-1].key > viewer.sent_key:
                    start -= 1
                if start == size:
                    continue  # it has everything
                if recent[start].events[0].key <= viewer.sent_key:  # it has part of the first
                    viewer.deliver(
                        joined([recent[start].after(viewer.sent_key), *recent[start + 1 : size]])
                    )
                    continue
                batch = made.get(start)
                if batch is None:
                    batch = made[start] = (
                        recent[start] if start == size - 1 else joined(recent[start:size])
                    )
                viewer.deliver(batch)
            # Forget what every viewer has had.
            if self._viewers:
                oldest = min(viewer.sent_key for viewer in self._viewers)
                keep = 0
                while keep < len(recent) and recent[keep].events[-1].key <= oldest:
                    keep += 1
                del recent[:keep]

    async def _stop(self) -> None:
        task, writer, reader, started = self._task, self._writer, self._reader, self._started
        self._task = self._writer = self._reader = self._started = None
        self._recent.clear()
        if task is None or writer is None:
            return
        task.cancel()
        writer.cancel()
        try:
            await asyncio.wait({task, writer})
        finally:
            if started is not None and not started.done():
                started.cancel()
            if reader is not None:
                await reader.aclose()

    async def aclose(self) -> None:
        for viewer in self._viewers:
            viewer.close()
        self._viewers.clear()
        await self._stop()


_hubs: LoopLocal[dict[int, Hub]] = LoopLocal(dict)


def get_hub(log: EventLog, *, viewer_queue: int = DEFAULT_VIEWER_QUEUE) -> Hub:
    """The running loop's hub for ``log`` (one per log object, made on first use)."""
    hubs = _hubs.get()
    hub = hubs.get(id(log))
    if hub is None or hub.log is not log:
        hub = hubs[id(log)] = Hub(log, viewer_queue=viewer_queue)
    hub.viewer_queue = viewer_queue
    return hub


async def aclose_hubs() -> None:
    """Close the running loop's hubs: their viewers' streams end and their readers stop."""
    for hub in (_hubs.pop() or {}).values():
        await hub.aclose()
