"""``json_response``: every JSON answer storefront makes, encoded once, with orjson."""

from __future__ import annotations

import orjson
from django.http import HttpResponse

__all__ = ["json_response"]


def json_response(payload: object, status: int = 200, **headers: str) -> HttpResponse:
    """``payload`` as ``application/json``; ``headers`` by name, ``_`` standing for ``-``.

    json_response({"error": ...}, 429, Retry_After="3")
    """
    response = HttpResponse(orjson.dumps(payload), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response
