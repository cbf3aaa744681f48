"""Streams that end when a test sets their ``cutoff``: a live one and a producer's one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponseBase
from django.urls import path

import chorus
from chorus.streams import EventLog, LiveStreamResponse, get_hub

# The futures handed to the streams, in the order they opened.
cutoffs: list[asyncio.Future[chorus.streams.Event]] = []
journal: list[str] = []
_log: list[EventLog] = []


def use_log(log: EventLog) -> None:
    _log[:] = [log]
    cutoffs.clear()
    journal.clear()


def _cutoff() -> asyncio.Future[chorus.streams.Event]:
    future: asyncio.Future[chorus.streams.Event] = asyncio.get_running_loop().create_future()
    cutoffs.append(future)
    return future


async def live(request: HttpRequest) -> HttpResponseBase:
    return LiveStreamResponse(request, get_hub(_log[0]), cutoff=_cutoff())


async def endless(request: HttpRequest) -> HttpResponseBase:
    async def produce() -> AsyncIterator[chorus.streams.Event]:
        try:
            yield chorus.streams.Event(event="ready", data="0")
            await asyncio.Event().wait()
        finally:
            journal.append("finally")

    return chorus.streams.EventStreamResponse(request, produce(), cutoff=_cutoff())


urlpatterns = [path("live/", live), path("endless/", endless)]
