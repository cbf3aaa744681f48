"""``LiveStreamResponse``: a hub's events to one viewer as Server-Sent Events, at broadcast cost.

    async def live(request):
        log = RedisStreamLog(settings.REDIS_URL, stream="shop:live", backlog=10_000)
        after = chorus.streams.last_event_id(request)
        return chorus.streams.LiveStreamResponse(request, get_hub(log), after=after, heartbeat=15)

Each event is sent as ``id:`` (its log id), ``event:`` (its kind) and a JSON
``data:`` line. The stream opens with ``ready`` (``{"last_event_id": ...}``:
where the viewer starts) carrying a ``retry:`` hint; a viewer resuming after
an id older than the backlog gets ``reset`` first; one that falls further
behind than its queue is cut off with ``overflow``. When the server drains the
stream ends with ``chorus.DRAIN_EVENT`` (``shutdown``, no id), so the browser
reconnects elsewhere and resumes from its last id. When its ``cutoff`` future
is given an ``Event`` (the viewer's credential was revoked, say) the stream
ends with that event.

``chorus.streams.EventStreamResponse`` streams any async iterator, which costs a task
and a timer per event so that a heartbeat never interrupts the producer. Here
the producer is the hub, which never blocks: the response waits on its
subscription's future directly, heartbeats come from one timer per viewer
that fires only when the viewer has been idle, and draining closes the
subscription. Per batch of events a viewer costs one wake-up and one write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping
from contextlib import aclosing
from typing import Any

from django.http import HttpRequest

from chorus.engine._draining import discard, on_drain
from chorus.engine._metrics import track_stream
from chorus.streams._event_log import LiveEvent
from chorus.streams._hub import Hub
from chorus.streams._sse import (
    DEFAULT_HEARTBEAT,
    DRAIN_EVENT,
    HEARTBEAT_FRAME,
    Event,
    EventStreamBase,
)
from chorus.streams._subscription import Batch, Idle, Overflow, Ready, Reset, Subscription

__all__ = ["RETRY_MS", "LiveStreamResponse", "to_frame"]

Send = Callable[[Mapping[str, Any]], Awaitable[None]]

RETRY_MS = 1000


def to_frame(
    item: LiveEvent | Ready | Reset | Overflow,
) -> tuple[str | None, str, dict[str, object]]:
    """An item of a hub's stream as (id, event name, data): what SSE and a WebSocket both send."""
    if isinstance(item, LiveEvent):
        return item.id, item.kind, dict(item.data)
    if isinstance(item, Ready):
        return None, "ready", {"last_event_id": item.last_event_id}
    if isinstance(item, Reset):
        return (
            None,
            "reset",
            {
                "last_event_id": item.last_event_id,
                "message": "Events after this id have left the backlog; reload the current state.",
            },
        )
    return (
        None,
        "overflow",
        {
            "limit": item.limit,
            "message": "This viewer fell too far behind and was disconnected; resume from its last id.",
        },
    )


class LiveStreamResponse(EventStreamBase):
    """A ``text/event-stream`` of ``hub``'s events after ``after`` (``None``: from now).

    ``heartbeat``: idle seconds before a comment line (``None``: never). ``limit``:
    events the viewer may fall behind before ``overflow`` (default: the hub's).
    ``cutoff``: a future that, given an ``Event``, ends the stream with it (see
    ``chorus.streams.EventStreamBase``). Raises ``EventStreamUnavailableError`` unless ``request`` came through an ASGI server.

    Under ``chorus.server._asgi``'s handler the stream is written by ``stream_to_asgi``;
    any other ASGI handler iterates it as a ``StreamingHttpResponse``.
    """

    def __init__(
        self,
        request: HttpRequest,
        hub: Hub,
        *,
        after: str | None = None,
        heartbeat: float | None = DEFAULT_HEARTBEAT,
        limit: int | None = None,
        cutoff: asyncio.Future[Event] | None = None,
    ) -> None:
        self.hub = hub
        self.after = after
        self.limit = limit or hub.viewer_queue
        super().__init__(request, heartbeat=heartbeat, cutoff=cutoff)

    def _end_when_cut(self, subscription: Subscription) -> Callable[[object], None]:
        def cut(_: object) -> None:
            subscription.close()

        if self.cutoff is not None:
            self.cutoff.add_done_callback(cut)
        return cut

    def _last_word(self) -> bytes:
        """What a closed stream ends with: its cutoff's event, or the drain's."""
        if self.cutoff is not None and self.cutoff.done():
            event = self._cut_event()
            return b"" if event is None else event.encode()
        return DRAIN_EVENT.encode()

    async def _frames(self) -> AsyncGenerator[bytes]:
        subscription = Subscription(self.limit)
        heartbeat = _Heartbeat(subscription, self.heartbeat)
        on_drain(subscription.close)
        cut = self._end_when_cut(subscription)
        try:
            items = self.hub.subscribe_batches(self.after, subscription=subscription)
            async with aclosing(items):
                async for item in items:
                    subscription.active_at = heartbeat.now()
                    if isinstance(item, Batch):
                        yield item.sse
                    elif isinstance(item, Idle):
                        yield HEARTBEAT_FRAME
                    else:
                        yield _control_frame(item)
                        if isinstance(item, Overflow):
                            return
            # Drained or cut off: the last word says why.
            if subscription.closed and (last := self._last_word()):
                yield last
        finally:
            discard(subscription.close)
            if self.cutoff is not None:
                self.cutoff.remove_done_callback(cut)
            heartbeat.cancel()

    async def stream_to_asgi(self, send: Send) -> None:
        """Write the stream with ``send`` (after the response's start), until it ends.

        The opening (``ready``, the replay) is awaited frame by frame. Then the
        hub's writer task writes each batch itself as it delivers it
        (``_DirectSubscription``), and this coroutine only waits for the end:
        the client leaving (Django cancels it), draining, an overflow, or a
        failed write.
        """
        viewer = _DirectSubscription(self.limit, send)
        heartbeat = _Heartbeat(viewer, self.heartbeat)
        on_drain(viewer.close)
        cut = self._end_when_cut(viewer)
        try:
            with track_stream(self._route, "sse"):
                async with aclosing(self.hub.attach(viewer, self.after)) as opening:
                    async for item in opening:
                        body = item.sse if isinstance(item, Batch) else _control_frame(item)
                        await viewer.write(body)
                # What arrived during the replay, then the hub takes over (no await between).
                while (batch := viewer.take_new()) is not None:
                    await viewer.write(batch.sse)
                await viewer.go_direct()
                if viewer.overflowed:
                    await viewer.write(_control_frame(Overflow(viewer.limit)))
                elif viewer.closed and viewer.failed is None and (last := self._last_word()):
                    await viewer.write(last)
        finally:
            discard(viewer.close)
            if self.cutoff is not None:
                self.cutoff.remove_done_callback(cut)
            self._release_cutoff()
            heartbeat.cancel()
            try:
                await viewer.stop_writing()
            finally:
                await self.hub.detach(viewer)


class _DirectSubscription(Subscription):
    """A subscription whose batches are written to the client as the hub delivers them.

    Each write is an eager task (``asyncio.eager_task_factory``): it runs at
    once, inside ``deliver``, and when the transport takes the bytes (the
    usual case) it is over before ``deliver`` returns, with nothing scheduled.
    Only a write held up by the client's flow control stays pending; batches
    then queue (bounded by ``limit``, as for any viewer) and go out together
    when it completes. One write at a time, in order.
    """

    __slots__ = ("_direct", "_ended", "_loop", "_send", "_writing", "failed")

    def __init__(self, limit: int, send: Send) -> None:
        super().__init__(limit)
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._direct = False
        self._writing: asyncio.Task[None] | None = None
        self._ended: asyncio.Future[None] = self._loop.create_future()
        self.failed: BaseException | None = None

    async def write(self, body: bytes) -> None:
        await self._send({"type": "http.response.body", "body": body, "more_body": True})

    async def go_direct(self) -> None:
        """From now on the hub writes; returns when the stream must end."""
        self._direct = True
        if not (self.overflowed or self.closed):
            await self._ended
        await self.stop_writing(cancel=self.overflowed)

    def deliver(self, batch: Batch) -> None:
        if not self._direct:
            super().deliver(batch)
        elif not (self.overflowed or self.closed):
            if self._writing is None:
                self.key = self.sent_key = batch.events[-1].key
                self._write_now(batch.sse)
            else:
                super().deliver(batch)  # queued (or overflowed) behind the pending write

    def poke(self) -> None:
        if not self._direct:
            super().poke()
        elif self._writing is None and not (self.overflowed or self.closed):
            self._write_now(HEARTBEAT_FRAME)

    def _wake(self) -> None:
        super()._wake()
        if (self.overflowed or self.closed) and not self._ended.done():
            self._ended.set_result(None)

    def _write_now(self, body: bytes) -> None:
        self.active_at = self._loop.time()
        message = {"type": "http.response.body", "body": body, "more_body": True}
        task = asyncio.eager_task_factory(self._loop, _as_coroutine(self._send(message)))
        if task.done():
            self._written(task)
        else:
            self._writing = task
            task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writing = None
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.failed = error
            self.close()
        elif (
            # What queued while this write waited on the client goes out together.
            self.batches
            and not (self.overflowed or self.closed)
            and (batch := self.take_new()) is not None
        ):
            self._write_now(batch.sse)

    async def stop_writing(self, *, cancel: bool = True) -> None:
        """Wait for the pending write (cancel it first if ``cancel``)."""
        while (task := self._writing) is not None:
            if cancel:
                task.cancel()
            await asyncio.wait({task})


def _as_coroutine(awaitable: Awaitable[None]) -> Coroutine[Any, Any, None]:
    # An eager task needs a coroutine; ASGI only promises an awaitable.
    return awaitable if asyncio.iscoroutine(awaitable) else _awaiting(awaitable)


async def _awaiting(awaitable: Awaitable[None]) -> None:
    await awaitable


def _control_frame(item: Ready | Reset | Overflow) -> bytes:
    event_id, name, data = to_frame(item)
    retry = RETRY_MS if isinstance(item, Ready) else None
    return Event(id=event_id, event=name, data=data, retry=retry).encode()


class _Heartbeat:
    """Pokes the subscription once it has been idle (``active_at``) for ``interval`` seconds.

    One timer per viewer, re-armed when it fires (not on every write): a
    viewer that keeps receiving events costs a timestamp per batch.
    """

    __slots__ = ("_handle", "_interval", "_loop", "_subscription")

    def __init__(self, subscription: Subscription, interval: float | None) -> None:
        self._subscription = subscription
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        subscription.active_at = self._loop.time()
        self._handle: asyncio.TimerHandle | None = None
        if interval is not None:
            self._handle = self._loop.call_at(subscription.active_at + interval, self._fire)

    def now(self) -> float:
        return self._loop.time()

    def _fire(self) -> None:
        assert self._interval is not None
        due = self._subscription.active_at + self._interval
        if self._loop.time() >= due:
            self._subscription.poke()
            due = self._loop.time() + self._interval
        self._handle = self._loop.call_at(due, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
