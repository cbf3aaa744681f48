"""Views for the route-metrics tests: a route with a parameter, a failing view, a stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse
from django.urls import path

import chorus


async def item(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(str(pk).encode(), status=200 if pk < 1000 else 404)


async def ticks(request: HttpRequest) -> chorus.streams.EventStreamResponse:
    """One tick, then open until the client goes."""

    async def produce() -> AsyncIterator[chorus.streams.Event]:
        yield chorus.streams.Event(event="tick", data="0")
        await asyncio.Event().wait()

    return chorus.streams.EventStreamResponse(request, produce(), heartbeat=None)


urlpatterns = [
    path("items/<int:pk>/", item, name="item"),
    path("ticks/", ticks, name="ticks"),
]
