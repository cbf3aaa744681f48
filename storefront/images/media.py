"""The uploaded images' files under ``MEDIA_URL``, for the demo and single-machine deployments.

In production a CDN or the storage's own URLs serve them (``STOREFRONT_SERVE_MEDIA=0``).
Only names storefront generates are served (``images/<32 hex>/<variant>.webp`` and the
original), so no request path can reach outside the media root. Names are unguessable;
anyone holding a variant's URL may fetch it, as with a CDN link.
"""

from __future__ import annotations

import re

from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from storefront.http.errors import json_error

__all__ = ["serve_media"]

_NAME = re.compile(
    r"images/[0-9a-f]{32}/(?:thumb|web)\.webp|images/[0-9a-f]{32}/original\.(?:png|jpg|gif|webp)"
)
_TYPES = {"webp": "image/webp", "png": "image/png", "jpg": "image/jpeg", "gif": "image/gif"}


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as file:
        data: bytes = file.read()
    return data


@require_GET
async def serve_media(request: HttpRequest, name: str) -> HttpResponse:
    if not _NAME.fullmatch(name):
        return json_error(404, "not_found", "No such file.")
    try:
        data = await sync_to_async(_read, thread_sensitive=False)(name)
    except (FileNotFoundError, OSError):
        return json_error(404, "not_found", "No such file.")
    response = HttpResponse(data, content_type=_TYPES[name.rsplit(".", 1)[1]])
    # A job's outputs keep their names when re-run, so a short cache only.
    response["Cache-Control"] = "public, max-age=60"
    return response
