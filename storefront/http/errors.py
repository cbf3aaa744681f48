"""Storefront's API errors: ``{"error": {"code": ..., "message": ...}}`` with a fitting status.

The ``handler*`` views and ``csrf_failure`` answer JSON for ``/api/`` paths and
leave everything else (the admin, the login page) to Django's HTML pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.csrf import csrf_failure as html_csrf_failure

from storefront.http.responses import json_response

__all__ = [
    "API_PAGES",
    "API_PREFIX",
    "bad_request",
    "csrf_failure",
    "is_api_path",
    "json_error",
    "not_found",
    "permission_denied",
    "server_error",
]

API_PREFIX = "/api/"
# Pages a browser opens under /api/: they follow the pages' rules (a staff login
# redirect, HTML errors), not the API's (credentials or a 401, JSON errors).
API_PAGES = ("/api/docs/",)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX) and not path.startswith(API_PAGES)


def json_error(
    status: int, code: str, message: str, *, fields: Sequence[str] = (), **headers: str
) -> HttpResponse:
    """The error envelope; ``fields`` names each bad input (``items[1].qty``, ``?page``)."""
    error: dict[str, object] = {"code": code, "message": message}
    if fields:
        error["fields"] = list(fields)
    return json_response({"error": error}, status, **headers)


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """``handler404``: unknown routes answer JSON, never Django's HTML page."""
    return json_error(404, "not_found", f"No route for {request.path}")


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """``handler400``: e.g. a disallowed Host or an unreadable request. The reason is not echoed."""
    if is_api_path(request.path):
        return json_error(400, "bad_request", "The request could not be understood.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(403, "forbidden", "You may not do this.")
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: no detail at all; the request id in the response header finds the log."""
    if is_api_path(request.path):
        return json_error(500, "server_error", "Something went wrong on our side.")
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a session request to the API without a valid CSRF token."""
    if is_api_path(request.path):
        return json_error(403, "csrf_failed", f"CSRF check failed: {reason}")
    return html_csrf_failure(request, reason)
