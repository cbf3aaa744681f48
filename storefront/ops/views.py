"""Liveness and readiness probes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

import chorus.server
from storefront.http.responses import json_response
from storefront.ops.readiness import run_checks

__all__ = ["healthz", "readyz"]


@require_GET
async def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and its event loop answers (no I/O).

    ``door``: this worker's admission door now (``chorus.server.admission_state()``):
    its limit (``null`` with no door), requests in flight and requests waiting.
    """
    door = chorus.server.admission_state()
    state = {"limit": door.limit, "in_flight": door.in_flight, "waiting": door.waiting}
    return json_response({"status": "ok", "door": state})


@require_GET
async def readyz(request: HttpRequest) -> HttpResponse:
    """Every part in ``STOREFRONT_READINESS_CHECKS`` answers: the worker can take traffic.

    503 names the failing parts: ``{"status": "unavailable", "failing": ["redis"],
    "checks": {"database": "ok", "redis": "unavailable: ConnectionError"}}``.
    """
    verdicts = await run_checks()
    failing = [name for name, verdict in verdicts.items() if verdict != "ok"]
    if failing:
        return json_response({"status": "unavailable", "failing": failing, "checks": verdicts}, 503)
    return json_response({"status": "ok", "checks": verdicts})
