"""``storefront.http.body.ApiInputMiddleware``, letting the image upload through.

The API takes JSON bodies of at most ``STOREFRONT_API_MAX_BODY_BYTES``; the upload
is multipart and up to ``STOREFRONT_IMAGE_MAX_BYTES``, and its view checks both
itself (size by Content-Length and after parsing, type from the bytes). Every
other route, and every error the upload answers, goes through the parent unchanged.

The upload's multipart body is parsed here, on a worker thread, before
``CsrfViewMiddleware.process_view`` runs: that reads ``request.POST`` for a
session's CSRF token and would otherwise parse up to 10 MB on the event loop.
The view then finds ``request.POST`` and ``request.FILES`` already there.
"""

from __future__ import annotations

import contextlib
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponseBase
from django.http.multipartparser import MultiPartParserError

from storefront.http import body
from storefront.images import conf

__all__ = ["ApiInputMiddleware", "is_upload"]

UPLOAD_PATH = "/api/images/"


def is_upload(request: HttpRequest) -> bool:
    return request.path == UPLOAD_PATH and request.method == "POST"


# Room for the multipart framing and the small text fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


def within_declared_limit(request: HttpRequest) -> bool:
    declared = request.META.get("CONTENT_LENGTH", "")
    return not (declared.isdigit() and int(declared) > conf.max_bytes() + MULTIPART_OVERHEAD)


def parse_upload(request: HttpRequest) -> None:
    """Parse the multipart body (sync: call it on a worker thread); the view reports errors."""
    if request.content_type != "multipart/form-data" or not within_declared_limit(request):
        return
    # On an error Django leaves POST and FILES empty or raises again: the view answers 400.
    with contextlib.suppress(MultiPartParserError, SuspiciousOperation):
        request.POST  # noqa: B018 - parses and keeps both POST and FILES


class ApiInputMiddleware(body.ApiInputMiddleware):
    def _process_view(self, request: HttpRequest, *args: Any) -> HttpResponseBase | None:
        if is_upload(request):
            parse_upload(request)
            return None
        return super()._process_view(request, *args)

    async def _aprocess_view(self, request: HttpRequest, *args: Any) -> HttpResponseBase | None:
        if is_upload(request):
            await sync_to_async(parse_upload, thread_sensitive=False)(request)
            return None
        return await super()._aprocess_view(request, *args)

    def call(self, request: HttpRequest) -> HttpResponseBase:
        if is_upload(request):
            return body._as_json_error(request, self.get_response(request))
        return super().call(request)

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        if is_upload(request):
            return body._as_json_error(request, await self.get_response(request))
        return await super().acall(request)
