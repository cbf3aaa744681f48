"""``GET /metrics``: chorus's Prometheus metrics, for scrapers on the private network.

Who may read them (they name upstreams, routes and failure rates, which an
outsider has no business seeing):

- a client on a loopback or private address (``REMOTE_ADDR``: behind a proxy,
  the client's address as gunicorn takes it from ``X-Forwarded-For`` sent by
  a proxy in ``FORWARDED_ALLOW_IPS``);
- anyone presenting ``Authorization: Bearer <STOREFRONT_METRICS_TOKEN>``
  (compared in constant time), when that token is set.

Anyone else gets the same JSON 404 as any unknown path: the endpoint does not
admit to existing. A wrong token gets 403 instead: whoever sends one already
knows the endpoint, and an operator whose scraper is misconfigured learns
which thing is wrong.
"""

from __future__ import annotations

import hmac
import ipaddress

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

import chorus
from storefront.http.errors import json_error, not_found
from storefront.images.metrics import TaskQueueCollector

__all__ = ["metrics"]


def _from_private_network(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private


def _presented_token(request: HttpRequest) -> str | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _render(accept: str) -> tuple[bytes, str]:
    # The task queue's collector queries the database: this runs on the request's own
    # thread (thread-sensitive), whose connection is closed when the request ends.
    # A scraper asking for OpenMetrics gets it, with the traces' exemplars.
    return chorus.render_metrics(extra=[TaskQueueCollector()], accept=accept)


@require_GET
async def metrics(request: HttpRequest) -> HttpResponse:
    expected: str = settings.STOREFRONT_METRICS_TOKEN
    presented = _presented_token(request)
    if expected and presented is not None:
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            return json_error(403, "forbidden", "The metrics token is not valid.")
    elif not _from_private_network(request):
        return not_found(request)
    # Under multiprocess mode this reads every worker's files: off the event loop.
    accept = request.headers.get("Accept", "")
    body, content_type = await sync_to_async(_render, thread_sensitive=True)(accept)
    return HttpResponse(body, content_type=content_type)
