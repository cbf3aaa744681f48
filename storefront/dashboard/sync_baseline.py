"""The seeds' baseline: the dashboard's three calls, one after another, in a sync view.

This is what the async fan-out is measured against (``bench/``): under a WSGI
server each request holds a worker for the sum of the three latencies. It uses
the same upstream settings as chorus (base URL and timeout) and one blocking
``httpx.Client`` per process, so the comparison is about waiting, not about
connection set-up.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import Any

import httpx
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

import chorus
from storefront.dashboard.schemas import Envelope
from storefront.http.contract import operation
from storefront.http.responses import json_response

__all__ = ["sync_dashboard"]

_CALLS = (("inventory", "/stock"), ("notifications", "/recent"), ("analytics", "/summary"))
_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _get_client() -> httpx.Client:
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(limits=httpx.Limits(max_connections=64), follow_redirects=False)
            atexit.register(_client.close)
        return _client


def _fetch(name: str, path: str) -> tuple[Any, dict[str, Any]]:
    upstream = chorus.get_settings().upstream(name)
    started = time.perf_counter()
    try:
        response = _get_client().get(upstream.base_url + path, timeout=upstream.timeout)
        response.raise_for_status()
        data, status = response.json(), "ok"
    except httpx.TimeoutException:
        data, status = None, "timeout"
    except httpx.HTTPStatusError:
        data, status = None, "bad_status"
    except (httpx.HTTPError, ValueError):
        data, status = None, "error"
    return data, {"status": status, "ms": round((time.perf_counter() - started) * 1000, 1)}


@operation(
    "get",
    "The dashboard's three calls one after another, in a sync view (the WSGI baseline)",
    tag="dashboard",
    answers={200: Envelope},
)
@require_GET
def sync_dashboard(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    data: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    for name, path in _CALLS:
        data[name], sources[name] = _fetch(name, path)
    body = {
        "data": data,
        "sources": sources,
        "complete": all(s["status"] == "ok" for s in sources.values()),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return json_response(body)
