"""The dashboard's fault controls: ``/api/simulator/faults/`` forwards to the simulator's ``/_faults``.

Present only while storefront runs against the upstream simulator
(``settings.STOREFRONT_SIMULATOR_URL``; empty means it is not in use and every
route here answers 404). The simulator's address comes from settings alone,
the service must be one of the five it plays, and the body is checked here
before it is forwarded, so the browser can steer nothing but fault settings.

- ``GET /api/simulator/faults/``: every service's current settings;
- ``PUT /api/simulator/faults/<service>``: change some of them (JSON body);
- ``DELETE /api/simulator/faults/<service>``: restore its defaults.

Like all of ``/api/``, these need a staff session (the page's, which must also
send the CSRF token to change anything) or an API key (storefront.access).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_http_methods

from storefront.dashboard.schemas import FaultSettings
from storefront.dashboard.upstreams import UPSTREAM_NAMES
from storefront.http.contract import operation, path_parameter
from storefront.http.errors import json_error
from storefront.http.responses import json_response
from upstreams.faults import FAULTS

__all__ = ["fault", "faults", "simulator_url"]

_MAX_BODY_BYTES = 4096
_TIMEOUT = 3.0
# What the page may set, each with the bounds the simulator itself enforces
# (and an upper bound of our own, so nobody sets a latency of a week).
_NUMBERS = {
    "latency_ms": (0, 60_000),
    "jitter_ms": (0, 60_000),
    "status": (200, 599),
    "rate": (0, 1),
}


def simulator_url() -> str | None:
    """The simulator's base URL from settings, or ``None`` when it is not in use."""
    url = (getattr(settings, "STOREFRONT_SIMULATOR_URL", "") or "").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _validated(body: bytes) -> dict[str, Any]:
    if len(body) > _MAX_BODY_BYTES:
        raise ValueError(f"the body must be under {_MAX_BODY_BYTES} bytes")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(data, dict) or not data:
        raise ValueError("the body must be a JSON object with at least one setting")
    checked: dict[str, Any] = {}
    for key, value in data.items():
        if key == "fault":
            if value is not None and value not in FAULTS:
                raise ValueError(f"fault must be null or one of {', '.join(FAULTS)}")
            checked[key] = value
            continue
        if key not in _NUMBERS:
            known = ", ".join(["fault", *_NUMBERS])
            raise ValueError(f"unknown setting {key!r}; known: {known}")
        low, high = _NUMBERS[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number")
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{key} must be between {low} and {high}")
        if key == "status" and value != int(value):
            raise ValueError("status must be a whole number")
        checked[key] = int(value) if key == "status" else value
    return checked


async def _forward(method: str, path: str, body: dict[str, Any] | None = None) -> HttpResponse:
    base = simulator_url()
    if base is None:
        return json_error(404, "simulator_not_in_use", "Storefront is not using the simulator")
    try:
        async with httpx.AsyncClient(
            base_url=base, timeout=_TIMEOUT, trust_env=False, follow_redirects=False
        ) as client:
            answer = await client.request(method, path, json=body)
    except httpx.HTTPError:
        return json_error(502, "simulator_unreachable", "The simulator did not answer")
    if answer.status_code != 200:
        # The simulator's own message is not relayed: the body was checked here already.
        return json_error(502, "simulator_refused", f"The simulator answered {answer.status_code}")
    try:
        settings_now = answer.json()
    except ValueError:
        return json_error(502, "simulator_bad_answer", "The simulator's answer was not JSON")
    return json_response(settings_now)


@operation(
    "get",
    "The simulator's fault settings, per service",
    tag="simulator",
    answers={200: dict[str, Any]},
    errors=(404, 502),
)
@require_GET
async def faults(request: HttpRequest) -> HttpResponse:
    return await _forward("GET", "/_faults")


@path_parameter("service", {"type": "string", "enum": list(UPSTREAM_NAMES)})
@operation(
    "put",
    "Set a fault on one simulated service",
    tag="simulator",
    body=FaultSettings,
    answers={200: dict[str, Any]},
    errors=(404, 502),
    write=True,
)
@operation(
    "delete",
    "Clear one simulated service's fault",
    tag="simulator",
    answers={200: dict[str, Any]},
    errors=(404, 502),
    write=True,
)
@require_http_methods(["PUT", "DELETE"])
async def fault(request: HttpRequest, service: str) -> HttpResponse:
    if service not in UPSTREAM_NAMES:
        return json_error(
            404, "unknown_service", f"Unknown service; known: {', '.join(UPSTREAM_NAMES)}"
        )
    if request.method == "DELETE":
        return await _forward("DELETE", f"/_faults/{service}")
    try:
        body = _validated(request.body)
    except ValueError as exc:
        return json_error(400, "bad_fault", str(exc))
    return await _forward("PUT", f"/_faults/{service}", body)
