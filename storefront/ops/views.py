"""Liveness and readiness probes."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from storefront.http.responses import json_response

__all__ = ["healthz", "readyz"]


@require_GET
async def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and its event loop answers."""
    return json_response({"status": "ok"})


def _database_answers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@require_GET
async def readyz(request: HttpRequest) -> HttpResponse:
    """The database and the cache answer: the worker can take traffic."""
    checks: dict[str, str] = {}
    try:
        await sync_to_async(_database_answers)()
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports every failure; it never raises
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        await cache.aset("storefront:readyz", "1", timeout=5)
        checks["cache"] = "ok" if await cache.aget("storefront:readyz") == "1" else "unavailable"
    except Exception as exc:
        checks["cache"] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return json_response(
        {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
    )
