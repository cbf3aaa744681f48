"""Views for the event-stream tests, mounted with ``override_settings(ROOT_URLCONF=...)``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from django.http import HttpRequest
from django.urls import path

import chorus

# What the producers saw, for the tests to inspect: cleared by each test.
journal: list[str] = []


def _heartbeat(request: HttpRequest) -> float | None:
    value = request.GET.get("heartbeat")
    return float(value) if value else None


async def steps(request: HttpRequest) -> chorus.streams.EventStreamResponse:
    """Ten numbered steps; a reconnecting client resumes after its Last-Event-ID."""
    resume = chorus.streams.last_event_id(request)
    first = int(resume) + 1 if resume is not None else 0

    async def produce() -> AsyncIterator[chorus.streams.Event]:
        for n in range(first, 10):
            yield chorus.streams.Event(id=str(n), event="step", data={"step": n})

    return chorus.streams.EventStreamResponse(request, produce(), heartbeat=None)


async def pause(request: HttpRequest) -> chorus.streams.EventStreamResponse:
    """One event, a pause longer than the heartbeat interval, then another."""
    seconds = float(request.GET["pause"])

    async def produce() -> AsyncIterator[chorus.streams.Event]:
        yield chorus.streams.Event(event="before", data="one")
        await asyncio.sleep(seconds)
        yield chorus.streams.Event(event="after", data="two")

    return chorus.streams.EventStreamResponse(request, produce(), heartbeat=_heartbeat(request))


async def endless(request: HttpRequest) -> chorus.streams.EventStreamResponse:
    """A tick, then waits for ever; records how its generator ended."""

    async def produce() -> AsyncIterator[chorus.streams.Event]:
        journal.append("started")
        try:
            yield chorus.streams.Event(event="tick", data="0")
            await asyncio.Event().wait()
            yield chorus.streams.Event(event="never", data="")
        except asyncio.CancelledError:
            journal.append("cancelled")
            raise
        except GeneratorExit:
            journal.append("closed")
            raise
        finally:
            journal.append("finally")

    return chorus.streams.EventStreamResponse(request, produce(), heartbeat=_heartbeat(request))


async def chatty(request: HttpRequest) -> chorus.streams.EventStreamResponse:
    """Events as fast as the client takes them, for ever: disconnects land between yields."""

    async def produce() -> AsyncIterator[chorus.streams.Event]:
        try:
            n = 0
            while True:
                yield chorus.streams.Event(id=str(n), data="x" * 512)
                n += 1
                await asyncio.sleep(0)
        finally:
            journal.append("finally")

    return chorus.streams.EventStreamResponse(request, produce(), heartbeat=_heartbeat(request))


async def not_events(request: HttpRequest) -> chorus.streams.EventStreamResponse:
    async def produce() -> AsyncIterator[Any]:
        yield {"not": "an Event"}

    return chorus.streams.EventStreamResponse(request, produce(), heartbeat=None)


async def encoded(request: HttpRequest) -> chorus.streams.EventStreamResponse:
    frames = (
        chorus.streams.Event(id="1", data="one").encode()
        + chorus.streams.Event(id="2", data="two").encode()
    )

    async def produce() -> AsyncIterator[chorus.streams.Event | bytes]:
        yield frames  # two frames encoded once, as a broadcaster would
        yield chorus.streams.Event(id="3", data="three")

    return chorus.streams.EventStreamResponse(request, produce(), heartbeat=None)


class Board(chorus.Composite):
    deadline = 2.0
    sources: ClassVar = {
        "inventory": chorus.call("inventory", "/stock"),
        "notifications": chorus.call("notifications", "/recent"),
        "analytics": chorus.call("analytics", "/summary", required=False),
    }


urlpatterns = [
    path("steps/", steps),
    path("pause/", pause),
    path("endless/", endless),
    path("chatty/", chatty),
    path("not-events/", not_events),
    path("encoded/", encoded),
    path("board/", Board.as_view()),
    path("board/stream/", Board.as_stream_view()),
]
