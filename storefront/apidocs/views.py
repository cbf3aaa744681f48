"""``/api/schema/`` (the OpenAPI document) and ``/api/docs/`` (Swagger UI over it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from storefront.apidocs.schema import openapi_json
from storefront.http.contract import operation

__all__ = ["docs", "schema"]


@operation(
    "get",
    "This API's OpenAPI 3.1 document",
    tag="docs",
    answers={200: dict[str, Any]},
)
@require_GET
async def schema(request: HttpRequest) -> HttpResponse:
    return HttpResponse(openapi_json(settings.ROOT_URLCONF), content_type="application/json")


@require_GET
async def docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI, from the Python package's own files (no CDN), for a staff session."""
    return render(request, "apidocs/docs.html")
