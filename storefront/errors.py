"""Storefront's API errors: ``{"error": {"code": ..., "message": ...}}`` with a fitting 4xx."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse

__all__ = ["json_error", "not_found"]


def json_error(status: int, code: str, message: str, **headers: str) -> HttpResponse:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """``handler404``: unknown routes answer JSON, never Django's HTML page."""
    return json_error(404, "not_found", f"No route for {request.path}")
