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


async def steps(request: HttpRequest) -> chorus.EventStreamResponse:
    """Ten numbered steps; a reconnecting client resumes after its Last-Event-ID."""
    resume = chorus.last_event_id(request)
    first = int(resume) + 1 if resume is not None else 0

    async def produce() -> AsyncIterator[chorus.Event]:
        for n in range(first, 10):
            yield chorus.Event(id=str(n), event="step", data={"step": n})

    return chorus.EventStreamResponse(request, produce(), heartbeat=None)


async def pause(request: HttpRequest) -> chorus.EventStreamResponse:
    """One event, a pause longer than the heartbeat interval, then another."""
    seconds = float(request.GET["pause"])

    async def produce() -> AsyncIterator[chorus.Event]:
        yield chorus.Event(event="before", data="one")
        await asyncio.sleep(seconds)
        yield chorus.Event(event="after", data="two")

    return chorus.EventStreamResponse(request, produce(), heartbeat=_heartbeat(request))


async def endless(request: HttpRequest) -> chorus.EventStreamResponse:
    """A tick, then waits for ever; records how its generator ended."""

    async def produce() -> AsyncIterator[chorus.Event]:
        journal.append("started")
        try:
            yield chorus.Event(event="tick", data="0")
            await asyncio.Event().wait()
            yield chorus.Event(event="never", data="")
        except asyncio.CancelledError:
            journal.append("cancelled")
            raise
        except GeneratorExit:
            journal.append("closed")
            raise
        finally:
            journal.append("finally")

    return chorus.EventStreamResponse(request, produce(), heartbeat=_heartbeat(request))


async def chatty(request: HttpRequest) -> chorus.EventStreamResponse:
    """Events as fast as the client takes them, for ever: disconnects land between yields."""

    async def produce() -> AsyncIterator[chorus.Event]:
        try:
            n = 0
            while True:
                yield chorus.Event(id=str(n), data="x" * 512)
                n += 1
                await asyncio.sleep(0)
        finally:
            journal.append("finally")

    return chorus.EventStreamResponse(request, produce(), heartbeat=_heartbeat(request))


async def not_events(request: HttpRequest) -> chorus.EventStreamResponse:
    async def produce() -> AsyncIterator[Any]:
        yield {"not": "an Event"}

    return chorus.EventStreamResponse(request, produce(), heartbeat=None)


async def encoded(request: HttpRequest) -> chorus.EventStreamResponse:
    frames = chorus.Event(id="1", data="one").encode() + chorus.Event(id="2", data="two").encode()

    async def produce() -> AsyncIterator[chorus.Event | bytes]:
        yield frames  # two frames encoded once, as a broadcaster would
        yield chorus.Event(id="3", data="three")

    return chorus.EventStreamResponse(request, produce(), heartbeat=None)


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
