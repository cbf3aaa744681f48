"""Server-Sent Events: ``EventStreamResponse`` streams ``Event``s from an async iterator.

A stream is an async iterator of ``Event``s (usually an async generator, the
*producer*). While the producer is idle for ``heartbeat`` seconds a comment
line is sent, so proxies and load balancers keep the connection open; the
producer's pending step is left running through heartbeats, never cancelled
and restarted, so nothing it was waiting for is lost. When the client goes
away, Django's ASGI handler cancels the response; the producer is then
cancelled or closed (``aclose()``), so its own ``finally`` blocks run and
nothing it started keeps running.

Only an ASGI server can stream. Under WSGI (``runserver`` included) Django
would collect the whole stream before sending a byte, so a client would wait
for ever on an endless stream; ``EventStreamResponse`` refuses such a request
with ``EventStreamUnavailableError`` instead, which Django turns into a 500
whose traceback says what to do.

    async def ticks(request):
        start = int(chorus.streams.last_event_id(request) or -1) + 1   # resume after a reconnect

        async def produce():
            for n in range(start, 10):
                yield chorus.streams.Event(id=str(n), event="tick", data={"n": n})
                await asyncio.sleep(1)

        return chorus.streams.EventStreamResponse(request, produce(), heartbeat=15)

When the server starts draining (``chorus.server.begin_draining()``, called by the
server's shutdown hook), the stream sends ``drain_event`` (by default
``event: shutdown`` with a ``retry:`` hint and no id, so the client's
``Last-Event-ID`` stays the last real event) and ends: the browser's
``EventSource`` reconnects, to a worker that is not going away, instead of
holding this one until the server's graceful timeout cuts it.

A stream may also be cut off from outside: pass ``cutoff``, a future, and
when it is given an ``Event`` the stream sends that event as its last frame
and ends (a credential revoked: ``Event(event="revoked", data={...})``). It
costs one done callback per stream, nothing per event; one task per worker can
hold the futures of all its streams and set those it must end. When a stream
ends for any other reason it cancels its ``cutoff``, so whoever holds the
future can forget it from a done callback of its own.

A producer may also yield ``bytes``: frames it has already encoded (one or
several, each ending with its blank line), sent as they are. A broadcaster
that sends the same event to thousands of streams encodes it once this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Final

import orjson
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from chorus.engine._draining import discard, on_drain
from chorus.engine._exceptions import EventStreamUnavailableError
from chorus.engine._metrics import route_label, track_stream

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DRAIN_EVENT",
    "Event",
    "EventStreamBase",
    "EventStreamResponse",
    "last_event_id",
]

logger = logging.getLogger("chorus")

DEFAULT_HEARTBEAT: Final = 15.0
HEARTBEAT_FRAME: Final = b": heartbeat\n\n"

_MAX_LAST_EVENT_ID = 256
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_END: Final = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One event. A ``str`` ``data`` is sent as is (each line its own ``data:`` field);
    anything else is serialized to JSON with orjson. ``retry`` is the client's
    reconnection delay in milliseconds.

        chorus.streams.Event(id="7", event="step", data={"step": 7})
    """

    data: Any = ""
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def __post_init__(self) -> None:
        for name in ("event", "id"):
            value = getattr(self, name)
            if value is not None and _LINE_BREAK.search(value):
                raise ValueError(f"an event's {name} cannot hold a line break: {value!r}")
        if self.id is not None and "\0" in self.id:
            raise ValueError("an event's id cannot hold a NUL character")
        if self.retry is not None and (isinstance(self.retry, bool) or self.retry < 0):
            raise ValueError(f"retry must be a whole number of milliseconds, not {self.retry!r}")

    def encode(self) -> bytes:
        """The event's wire form, ending with the blank line that dispatches it."""
        lines = []
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        text = self.data if isinstance(self.data, str) else orjson.dumps(self.data).decode()
        lines.extend(f"data: {line}" for line in _LINE_BREAK.split(text))
        return ("\n".join(lines) + "\n\n").encode()


DRAIN_EVENT: Final = Event(
    event="shutdown",
    data={"message": "This server is restarting; reconnect to resume from your last event id."},
    retry=1000,
)
"""The last frame of a stream when the server drains: reconnect (in about a second)."""


def last_event_id(request: HttpRequest) -> str | None:
    """The ``Last-Event-ID`` a reconnecting client sent, so a producer can resume after it.

    ``None`` when absent, empty or implausibly long (over 256 characters).
    """
    value = request.headers.get("Last-Event-ID", "").strip()
    if not value or len(value) > _MAX_LAST_EVENT_ID:
        return None
    return value


class EventStreamBase(StreamingHttpResponse):
    """What every ``text/event-stream`` response shares; a subclass writes ``_frames``.

    It is refused outside ASGI (``EventStreamUnavailableError``), says ``no-cache``
    and no proxy buffering, counts itself in ``chorus_streams_open`` while it runs,
    and closes its frames the moment the client goes. ``heartbeat`` is the idle
    time in seconds before a comment line (``None``: never). ``cutoff``: a future
    that, given an ``Event``, ends the stream with that event (cancelled by the
    stream when it ends otherwise; a cancelled or failed ``cutoff`` ends it with none).
    """

    def __init__(
        self,
        request: HttpRequest,
        *,
        heartbeat: float | None,
        status: int = 200,
        cutoff: asyncio.Future[Event] | None = None,
    ) -> None:
        if not isinstance(request, ASGIRequest):
            raise EventStreamUnavailableError(type(request).__name__)
        if heartbeat is not None and not heartbeat > 0:
            raise ValueError("heartbeat must be a positive number of seconds, or None for none")
        self.heartbeat = heartbeat
        self.cutoff = cutoff
        self._route = route_label(request)
        self._stream = self._frames()
        super().__init__(self._stream, status=status, content_type="text/event-stream")
        self["Cache-Control"] = "no-cache"
        # nginx (and proxies that follow it) would otherwise buffer the stream.
        self["X-Accel-Buffering"] = "no"

    async def __aiter__(self) -> AsyncGenerator[bytes]:
        # Django's own wrapper does not close the iterator it wraps; closing it
        # here is what lets the stream's cleanup run the moment the client goes.
        with track_stream(self._route, "sse"):
            try:
                async with aclosing(self._stream) as frames:
                    async for frame in frames:
                        yield frame
            finally:
                self._release_cutoff()

    def _frames(self) -> AsyncGenerator[bytes]:
        raise NotImplementedError

    def close(self) -> None:
        # A response never streamed (the client left first) still lets go of its cutoff.
        # Django may close it from another thread than the cutoff's loop.
        super().close()
        if self.cutoff is not None:
            _cancel_soon(self.cutoff)

    def _cut_event(self) -> Event | None:
        """The event ``cutoff`` ended the stream with; ``None`` while it has not (or never will)."""
        cutoff = self.cutoff
        if cutoff is None or not cutoff.done() or cutoff.cancelled():
            return None
        if cutoff.exception() is not None:
            return None
        event = cutoff.result()
        if not isinstance(event, Event):
            raise TypeError(f"a stream's cutoff is given a chorus.streams.Event, not {event!r}")
        return event

    def _release_cutoff(self) -> None:
        if self.cutoff is not None and not self.cutoff.done():
            self.cutoff.cancel()


class EventStreamResponse(EventStreamBase):
    """A ``text/event-stream`` response over an async iterator of ``Event``s.

        return chorus.streams.EventStreamResponse(request, produce(), heartbeat=15)

    ``heartbeat`` is the idle time in seconds before a comment line is sent
    (``None``: never). ``drain_event`` is the final frame sent when the server
    drains (``None``: end without one). ``cutoff``: a future that, given an
    ``Event``, ends the stream with it (see the module's docstring). Raises ``EventStreamUnavailableError`` unless ``request``
    came through an ASGI server.
    """

    def __init__(
        self,
        request: HttpRequest,
        events: AsyncIterable[Event | bytes],
        *,
        heartbeat: float | None = DEFAULT_HEARTBEAT,
        status: int = 200,
        drain_event: Event | None = DRAIN_EVENT,
        cutoff: asyncio.Future[Event] | None = None,
    ) -> None:
        self._events = events
        self.drain_event = drain_event
        # The producer runs later, while the handler sends the response, after the
        # middleware has returned: its steps run in the view's context, so what the
        # request set there (its request id, say) is still seen, upstream calls included.
        self._context = contextvars.copy_context()
        super().__init__(request, heartbeat=heartbeat, status=status, cutoff=cutoff)

    async def _frames(self) -> AsyncGenerator[bytes]:
        events = aiter(self._events)
        pending: asyncio.Task[object] | None = None
        drain = _DrainSignal()
        on_drain(drain)
        if self.cutoff is not None:
            self.cutoff.add_done_callback(drain.cut)
        try:
            while True:
                if pending is None and not drain.draining:
                    pending = asyncio.create_task(_next_or_end(events), context=self._context)
                    drain.pending = pending
                if pending is not None:
                    done, _ = await asyncio.wait({pending}, timeout=self.heartbeat)
                if drain.draining:  # the producer's step was cancelled: end with the last word
                    last = self._cut_event() if drain.cutoff else self.drain_event
                    if last is not None:
                        yield last.encode()
                    return
                assert pending is not None
                if not done:
                    yield HEARTBEAT_FRAME
                    continue
                item, pending = pending.result(), None
                drain.pending = None
                if item is _END:
                    return
                if isinstance(item, bytes):
                    yield item
                    continue
                if not isinstance(item, Event):
                    raise TypeError(
                        f"an event stream yields chorus.streams.Event, not {type(item)!r}"
                    )
                yield item.encode()
        finally:
            discard(drain)
            if self.cutoff is not None:
                self.cutoff.remove_done_callback(drain.cut)
            if pending is not None:
                pending.cancel()
                await asyncio.wait({pending})
                if not pending.cancelled() and (error := pending.exception()) is not None:
                    logger.warning("an event producer failed as its stream closed", exc_info=error)
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()


def _cancel_soon(future: asyncio.Future[Any]) -> None:
    if not future.done():
        with contextlib.suppress(RuntimeError):  # its loop has closed: nothing waits on it
            future.get_loop().call_soon_threadsafe(future.cancel)


class _DrainSignal:
    """Told by ``chorus.engine._draining`` that the server drains, or by the stream's
    ``cutoff`` that it must end: cancels the producer's pending step, which wakes the
    stream at once. Registered once per stream, so a stream pays nothing per event for it."""

    __slots__ = ("cutoff", "draining", "pending")

    def __init__(self) -> None:
        self.draining = False
        self.cutoff = False
        self.pending: asyncio.Task[object] | None = None

    def __call__(self) -> None:
        self.draining = True
        if self.pending is not None:
            self.pending.cancel()

    def cut(self, _: object) -> None:
        if not self.draining:
            self.cutoff = True
            self()


async def _next_or_end(events: AsyncIterator[Event | bytes]) -> object:
    # StopAsyncIteration cannot cross a task boundary cleanly: turn it into a sentinel.
    try:
        return await anext(events)
    except StopAsyncIteration:
        return _END
