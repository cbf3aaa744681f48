"""``LiveStreamResponse``: a hub's events to one viewer as Server-Sent Events, at broadcast cost.

    async def live(request):
        log = RedisStreamLog(settings.REDIS_URL, stream="shop:live", backlog=10_000)
        after = chorus.last_event_id(request)
        return chorus.LiveStreamResponse(request, get_hub(log), after=after, heartbeat=15)

Each event is sent as ``id:`` (its log id), ``event:`` (its kind) and a JSON
``data:`` line. The stream opens with ``ready`` (``{"last_event_id": ...}``:
where the viewer starts) carrying a ``retry:`` hint; a viewer resuming after
an id older than the backlog gets ``reset`` first; one that falls further
behind than its queue is cut off with ``overflow``. When the server drains the
stream ends with ``chorus.DRAIN_EVENT`` (``shutdown``, no id), so the browser
reconnects elsewhere and resumes from its last id.

``chorus.EventStreamResponse`` streams any async iterator, which costs a task
and a timer per event so that a heartbeat never interrupts the producer. Here
the producer is the hub, which never blocks: the response waits on its
subscription's future directly, heartbeats come from one timer per viewer
that fires only when the viewer has been idle, and draining closes the
subscription. Per batch of events a viewer costs one wake-up and one write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from chorus.draining import discard, on_drain
from chorus.exceptions import EventStreamUnavailableError
from chorus.live.hub import Batch, Hub, Idle, Overflow, Ready, Reset, Subscription
from chorus.live.log import LiveEvent
from chorus.metrics import route_label, track_stream
from chorus.sse import DEFAULT_HEARTBEAT, DRAIN_EVENT, HEARTBEAT_FRAME, Event

__all__ = ["RETRY_MS", "LiveStreamResponse", "to_frame"]

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


class LiveStreamResponse(StreamingHttpResponse):
    """A ``text/event-stream`` of ``hub``'s events after ``after`` (``None``: from now).

    ``heartbeat``: idle seconds before a comment line (``None``: never). ``limit``:
    events the viewer may fall behind before ``overflow`` (default: the hub's).
    Raises ``EventStreamUnavailableError`` unless ``request`` came through an ASGI server.
    """

    def __init__(
        self,
        request: HttpRequest,
        hub: Hub,
        *,
        after: str | None = None,
        heartbeat: float | None = DEFAULT_HEARTBEAT,
        limit: int | None = None,
    ) -> None:
        if not isinstance(request, ASGIRequest):
            raise EventStreamUnavailableError(type(request).__name__)
        if heartbeat is not None and not heartbeat > 0:
            raise ValueError("heartbeat must be a positive number of seconds, or None for none")
        self.hub = hub
        self.after = after
        self.heartbeat = heartbeat
        self.subscription = Subscription(limit or hub.viewer_queue)
        self._route = route_label(request)
        self._stream = self._frames()
        super().__init__(self._stream, content_type="text/event-stream")
        self["Cache-Control"] = "no-cache"
        # nginx (and proxies that follow it) would otherwise buffer the stream.
        self["X-Accel-Buffering"] = "no"

    async def __aiter__(self) -> AsyncGenerator[bytes]:
        # Django's own wrapper does not close the iterator it wraps; closing it
        # here is what ends the subscription the moment the client goes.
        with track_stream(self._route, "sse"):
            async with aclosing(self._stream) as frames:
                async for frame in frames:
                    yield frame

    async def _frames(self) -> AsyncGenerator[bytes]:
        subscription = self.subscription
        heartbeat = _Heartbeat(subscription, self.heartbeat)
        on_drain(subscription.close)
        try:
            items = self.hub.subscribe_batches(self.after, subscription=subscription)
            async with aclosing(items):
                async for item in items:
                    heartbeat.sent()
                    if isinstance(item, Batch):
                        yield item.sse
                    elif isinstance(item, Idle):
                        yield HEARTBEAT_FRAME
                    else:
                        yield _control_frame(item)
                        if isinstance(item, Overflow):
                            return
            if subscription.closed:  # drained: the last word tells the client to come back
                yield DRAIN_EVENT.encode()
        finally:
            discard(subscription.close)
            heartbeat.cancel()


def _control_frame(item: Ready | Reset | Overflow) -> bytes:
    event_id, name, data = to_frame(item)
    retry = RETRY_MS if isinstance(item, Ready) else None
    return Event(id=event_id, event=name, data=data, retry=retry).encode()


class _Heartbeat:
    """Pokes the subscription once it has been idle for ``interval`` seconds.

    One timer per viewer, re-armed when it fires (not on every write): a
    viewer that keeps receiving events costs a timestamp per batch.
    """

    __slots__ = ("_handle", "_interval", "_last", "_loop", "_subscription")

    def __init__(self, subscription: Subscription, interval: float | None) -> None:
        self._subscription = subscription
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._handle: asyncio.TimerHandle | None = None
        if interval is not None:
            self._handle = self._loop.call_at(self._last + interval, self._fire)

    def sent(self) -> None:
        self._last = self._loop.time()

    def _fire(self) -> None:
        assert self._interval is not None
        due = self._last + self._interval
        if self._loop.time() >= due:
            self._subscription.poke()
            due = self._loop.time() + self._interval
        self._handle = self._loop.call_at(due, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
