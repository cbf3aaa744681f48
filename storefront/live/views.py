"""``GET /api/live/``: every live event as Server-Sent Events, resumable.

Each event is sent as ``id:`` (its backlog id), ``event:`` (its kind) and a
JSON ``data:`` line. The stream opens with ``ready`` (``{"last_event_id": ...}``,
the position the viewer starts after). ``Last-Event-ID`` (the header
``EventSource`` sends when it reconnects, or ``?last_event_id=``) replays what
was missed; an id older than the backlog gets ``reset`` first (reload your
state: events were lost). A viewer that falls too far behind gets a final
``overflow`` and the connection ends; it resumes from its last id. When the
worker stops, chorus ends the stream with ``shutdown`` (``retry:``, no id).
When the credential it was opened with lapses (a key revoked, a logout, a user
deactivated), on whichever process, it ends within a second or two with
``revoked`` (``{"reason": "api_key_revoked", "message": ...}``, no id):
``storefront/live/revocation.py``.

Query: ``heartbeat`` (0.05-60 s; default ``STOREFRONT_LIVE["HEARTBEAT"]``).
Access: an API key or a staff session (storefront/access/).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.http import require_GET

import chorus
from chorus.streams import LiveStreamResponse
from storefront.http.contract import EVENT_STREAM, Param, operation
from storefront.http.errors import json_error
from storefront.live.backends import get_hub
from storefront.live.conf import live_settings
from storefront.live.revocation import agrant_for_request, revocation_message, watch

__all__ = ["live_events"]


@operation(
    "get",
    "Every shop event as it happens (Server-Sent Events), resumable with Last-Event-ID",
    tag="live",
    answers={200: EVENT_STREAM},
    params=[
        Param("last_event_id", "resume after this event id (as the header does)"),
        Param(
            "heartbeat",
            "seconds between heartbeats",
            {"type": "number", "minimum": 0.05, "maximum": 60},
        ),
        Param("Last-Event-ID", "resume after this event id", where="header"),
    ],
)
@require_GET
async def live_events(request: HttpRequest) -> HttpResponseBase:
    hub = get_hub()
    after = chorus.streams.last_event_id(request) or request.GET.get("last_event_id") or None
    if after is not None:
        try:
            hub.log.sort_key(after)
        except ValueError:
            return json_error(
                400, "bad_last_event_id", "Last-Event-ID is not an event id of this stream."
            )
    heartbeat = live_settings().heartbeat
    if "heartbeat" in request.GET:
        try:
            heartbeat = float(request.GET["heartbeat"])
        except ValueError:
            heartbeat = -1.0
        if not 0.05 <= heartbeat <= 60:
            return json_error(
                400, "bad_parameter", "heartbeat must be a number between 0.05 and 60"
            )

    grant = await agrant_for_request(request)
    cutoff = None if grant is None else await watch(grant)
    if cutoff is not None and cutoff.done():  # revoked elsewhere, still in this worker's key cache
        return json_error(401, "unauthorized", revocation_message(cutoff))
    return LiveStreamResponse(request, hub, after=after, heartbeat=heartbeat, cutoff=cutoff)
