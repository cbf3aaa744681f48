"""A plain Django async view written as the seeds show it, under Django's own ASGI handler.

A new ``httpx.AsyncClient`` per request, ``asyncio.gather`` over the three
calls, ``JsonResponse``; a minimal project with no middleware, so what it
measures is the pattern and Django's handler, not storefront's extras.
"""

from __future__ import annotations

import asyncio
from typing import Any

import django
import httpx
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path

from bench.peers.common import upstream_urls

URLS = upstream_urls()

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-not-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
)
django.setup()


async def fetch_with_timeout(client: httpx.AsyncClient, url: str) -> Any:
    try:
        response = await client.get(url, timeout=3.0)
        response.raise_for_status()
        return response.json()
    except httpx.HTTPError:
        return None


async def dashboard_data(request: HttpRequest) -> JsonResponse:
    async with httpx.AsyncClient() as client:
        results = await asyncio.gather(*(fetch_with_timeout(client, url) for url in URLS.values()))
    return JsonResponse(dict(zip(URLS, results, strict=True)))


urlpatterns = [path("dashboard", dashboard_data)]

from django.core.asgi import get_asgi_application  # noqa: E402  (after settings.configure)

application = get_asgi_application()
