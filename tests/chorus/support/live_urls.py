"""A live stream over whichever event log a test installs (``use_log``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.urls import path

import chorus
from chorus.streams import EventLog, LiveStreamResponse, get_hub

_log: list[EventLog] = []


def use_log(log: EventLog) -> None:
    _log[:] = [log]


async def live(request: HttpRequest) -> HttpResponseBase:
    return LiveStreamResponse(
        request,
        get_hub(_log[0]),
        after=chorus.streams.last_event_id(request),
        heartbeat=float(request.GET.get("heartbeat", 15)),
        limit=int(request.GET.get("limit", 1000)),
    )


urlpatterns = [path("live/", live)]
