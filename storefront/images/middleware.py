"""``storefront.http.body.ApiInputMiddleware``, letting the image upload through.

The API takes JSON bodies of at most ``STOREFRONT_API_MAX_BODY_BYTES``; the upload
is multipart and up to ``STOREFRONT_IMAGE_MAX_BYTES``, and its view checks both
itself (size by Content-Length and after parsing, type from the bytes). Every
other route, and every error the upload answers, goes through the parent unchanged.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase

from storefront.http import body

__all__ = ["ApiInputMiddleware", "is_upload"]

UPLOAD_PATH = "/api/images/"


def is_upload(request: HttpRequest) -> bool:
    return request.path == UPLOAD_PATH and request.method == "POST"


class ApiInputMiddleware(body.ApiInputMiddleware):
    def _process_view(self, request: HttpRequest, *args: Any) -> HttpResponseBase | None:
        return None if is_upload(request) else super()._process_view(request, *args)

    async def _aprocess_view(self, request: HttpRequest, *args: Any) -> HttpResponseBase | None:
        return None if is_upload(request) else await super()._aprocess_view(request, *args)

    def call(self, request: HttpRequest) -> HttpResponseBase:
        if is_upload(request):
            return body._as_json_error(request, self.get_response(request))
        return super().call(request)

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        if is_upload(request):
            return body._as_json_error(request, await self.get_response(request))
        return await super().acall(request)
