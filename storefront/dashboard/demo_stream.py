"""The seeds' demo stream: ``GET /api/events/``, ten ``step`` events half a second apart.

A client that reconnects (``EventSource`` does so by itself) sends the last id
it saw and the stream resumes after it. Query parameters, each bounded, shape
the stream for tests, the dashboard and the SSE benchmark:

- ``count`` (1-1000, default 10) and ``interval`` (0.01-60 s, default 0.5);
- ``heartbeat`` (0.05-60 s, default 15): idle time before a comment line;
- ``per_connection`` (1-1000): end the connection after that many events, as a
  proxy cutting long connections would, so a client's resume can be exercised.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.http import require_GET

import chorus
from storefront.http.contract import EVENT_STREAM, Param, operation
from storefront.http.errors import json_error

__all__ = ["events"]

# The client's reconnection delay, sent with the first event of each connection.
RETRY_MS = 500
_BOUNDS: dict[str, tuple[Any, Any, Any]] = {
    "count": (1, 1000, 10),
    "interval": (0.01, 60.0, 0.5),
    "heartbeat": (0.05, 60.0, 15.0),
    "per_connection": (1, 1000, None),
}


class _BadParameter(ValueError):
    pass


def _parameter(request: HttpRequest, name: str) -> Any:
    low, high, default = _BOUNDS[name]
    text = request.GET.get(name)
    if text is None:
        return default
    try:
        value = int(text) if isinstance(low, int) else float(text)
    except ValueError:
        raise _BadParameter(f"{name} must be a number between {low} and {high}") from None
    if not low <= value <= high:  # also refuses nan
        raise _BadParameter(f"{name} must be a number between {low} and {high}")
    return value


def _resume_from(request: HttpRequest) -> int:
    last = chorus.streams.last_event_id(request)
    return int(last) + 1 if last is not None and last.isascii() and last.isdigit() else 0


@operation(
    "get",
    "The seeds' demo stream: numbered `step` events, resumable with Last-Event-ID",
    tag="dashboard",
    answers={200: EVENT_STREAM},
    params=[
        Param(
            name,
            f"from {low} to {high}",
            {
                "type": "integer" if isinstance(low, int) else "number",
                "minimum": low,
                "maximum": high,
            },
        )
        for name, (low, high, _) in _BOUNDS.items()
    ]
    + [Param("Last-Event-ID", "resume after this step", {"type": "string"}, where="header")],
)
@require_GET
async def events(request: HttpRequest) -> HttpResponseBase:
    try:
        count: int = _parameter(request, "count")
        interval: float = _parameter(request, "interval")
        heartbeat: float = _parameter(request, "heartbeat")
        per_connection: int | None = _parameter(request, "per_connection")
    except _BadParameter as exc:
        return json_error(400, "bad_parameter", str(exc))

    async def steps() -> AsyncIterator[chorus.streams.Event]:
        first = _resume_from(request)
        last = count if per_connection is None else min(count, first + per_connection)
        for step in range(first, last):
            if step > first:
                await asyncio.sleep(interval)
            yield chorus.streams.Event(
                id=str(step),
                event="step",
                data={"step": step, "of": count},
                retry=RETRY_MS if step == first else None,
            )

    return chorus.streams.EventStreamResponse(request, steps(), heartbeat=heartbeat)
