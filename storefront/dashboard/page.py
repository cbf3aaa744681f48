"""Storefront's pages: the live operations dashboard at ``/``, and the static files it needs.

The page is a template plus one script and one stylesheet, served by the app
itself (no CDN, no build step, no collectstatic for the demo). Its policy
allows only same-origin scripts, styles and connections, which is also why
the template holds no inline script or style.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.views.decorators.http import require_GET

from storefront.errors import json_error
from storefront.fault_control import simulator_url

__all__ = ["dashboard", "static_file"]

_SERVICES = ("inventory", "notifications", "analytics", "users", "billing")
# The panels the page starts with; a source the dashboard gains later gets one as it lands.
_PANELS = (
    ("inventory", "Inventory"),
    ("notifications", "Notifications"),
    ("analytics", "Analytics"),
    ("users", "Users"),
    ("billing", "Billing"),
)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    # A sync view on purpose: template rendering is sync work, and Django runs it in a thread.
    # Its Content-Security-Policy comes from SECURE_CSP, through the CSP middleware.
    return render(
        request,
        "storefront/dashboard.html",
        {
            "fault_controls": simulator_url() is not None,
            "services": _SERVICES,
            "panel_titles": _PANELS,
        },
    )


@require_GET
async def static_file(request: HttpRequest, path: str) -> HttpResponse:
    """A file found by the staticfiles finders (the app's ``static/`` folders), with an ETag."""
    if any(part in ("", ".", "..") for part in path.split("/")):
        return json_error(404, "not_found", "No such static file")
    found = await asyncio.to_thread(_read, path)
    if found is None:
        return json_error(404, "not_found", "No such static file")
    content, etag = found
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        response = HttpResponse(content, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


def _read(path: str) -> tuple[bytes, str] | None:
    located = finders.find(path)
    if not isinstance(located, str) or not Path(located).is_file():
        return None
    content = Path(located).read_bytes()
    return content, f'"{hashlib.sha256(content).hexdigest()[:32]}"'
