"""Bad input on ``/api/`` gets a JSON error, whichever layer notices it.

On the way in, before anything else reads it, a body over
``STOREFRONT_API_MAX_BODY_BYTES`` is a 413. Then, once the route is known and
the caller authenticated (``process_view``: an unknown route stays a 404, and
an anonymous caller learns nothing), a body that is not ``application/json``
(UTF-8) is a 415 and one that does not parse is a 400, so no view ever sees a
body it cannot read; and a control character anywhere in the text a client
sent (a JSON string or key, a query parameter, the path) is a 400 naming the
field (``storefront.http.text``). The body is checked here once: its parsed document is
left on the request for the view (``json_body(request)``), which never
parses or measures it again. The API takes JSON, but for the upload routes
(``UPLOAD_ROUTES``, multipart): their bodies are parsed here on a worker thread,
before ``CsrfViewMiddleware`` reads ``request.POST`` (which would parse up to the
route's limit on the event loop), and their views check what they hold. The
size of every body was bounded before it was read, by chorus's handler
(``CHORUS["REQUEST_LIMITS"]``, the upload routes with limits of their own). On the way out, any error
response on ``/api/`` that is not JSON already (Django's empty 405 from
``require_GET``, a 404 or 400 from Django itself, a middleware's plain reply)
is rewritten into the envelope ``{"error": {"code", "message"}}``, keeping the
headers that matter to clients (``Allow``, ``Retry-After``, ``WWW-Authenticate``).
"""

from __future__ import annotations

import contextlib
import io
from http import HTTPStatus
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponseBase
from django.http.multipartparser import MultiPartParserError

from chorus.server import DualModeMiddleware
from storefront.http.conf import conf
from storefront.http.errors import is_api_path, json_error
from storefront.http.text import first_control_character_field, has_control_character

__all__ = ["UPLOAD_ROUTES", "ApiInputMiddleware", "error_code", "json_body"]

# POST routes that take multipart/form-data: bounded by their own REQUEST_LIMITS entry.
UPLOAD_ROUTES = frozenset({"/api/images/"})

_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
}


def error_code(status: int) -> str:
    return _CODES.get(status, f"http_{status}")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _refuse_size(request: HttpRequest) -> HttpResponseBase | None:
    limit = conf.api_max_body_bytes
    return None if _size_within(request, limit) else _too_large(limit)


def _size_within(request: HttpRequest, limit: int) -> bool:
    declared = request.META.get("CONTENT_LENGTH", "")
    if declared.isdigit() and int(declared) > limit:
        return False
    received = _received_size(request)
    if received is not None:
        return received <= limit
    try:
        body = request.body
    except RequestDataTooBig:
        return False
    return len(body) <= limit


def _too_large(limit: int) -> HttpResponseBase:
    return json_error(413, "payload_too_large", f"The body is over {limit} bytes.")


def _received_size(request: HttpRequest) -> int | None:
    """The body's size as the ASGI handler stored it, without reading it (it may be on disk)."""
    stream = getattr(request, "_stream", None)
    if stream is None or not hasattr(stream, "seekable") or not stream.seekable():
        return None
    position = stream.tell()
    size = int(stream.seek(0, io.SEEK_END))
    stream.seek(position)
    return size


_NO_BODY = object()


def json_body(request: HttpRequest) -> Any:
    """The request's JSON document, as ``ApiInputMiddleware`` parsed it; ``None`` without a body."""
    document = getattr(request, "_json_body", _NO_BODY)
    if document is _NO_BODY:
        raise RuntimeError("json_body() needs ApiInputMiddleware in front of an /api/ view")
    return document


def _refuse_body(request: HttpRequest) -> HttpResponseBase | None:
    """Decide on the body once: a 415 or 400 to answer, or its document kept for the view."""
    body = request.body
    if not body:
        request._json_body = None  # type: ignore[attr-defined]
        return None
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if request.content_type != "application/json" or charset not in ("utf-8", "utf8"):
        return json_error(
            415,
            "unsupported_media_type",
            "Send the body as application/json (UTF-8).",
        )
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return json_error(400, "malformed_json", "The body is not valid JSON.")
    field = first_control_character_field(document)
    if field is not None:
        return _control_character(field)
    request._json_body = document  # type: ignore[attr-defined]
    return None


def _refuse_text(request: HttpRequest) -> HttpResponseBase | None:
    """A 400 naming the query parameter, or the path, that holds a control character."""
    if has_control_character(request.path):
        return _control_character("(path)")
    if request.META.get("QUERY_STRING"):
        for key, values in request.GET.lists():
            if has_control_character(key) or any(map(has_control_character, values)):
                return _control_character(f"?{key}")
    return None


def _control_character(field: str) -> HttpResponseBase:
    return json_error(
        400,
        "control_character",
        f"{field} holds a control character (U+0000-U+001F or U+007F), which no field accepts.",
        fields=[field],
    )


def _refuse_input(request: HttpRequest) -> HttpResponseBase | None:
    return _refuse_text(request) or _refuse_body(request)


def _is_upload(request: HttpRequest) -> bool:
    return request.method == "POST" and request.path in UPLOAD_ROUTES


def _parse_upload(request: HttpRequest) -> None:
    """Parse a multipart body (sync: on a worker thread); the view reports what is wrong."""
    if request.content_type == "multipart/form-data":
        # On an error Django leaves POST and FILES empty or raises again: the view answers.
        with contextlib.suppress(MultiPartParserError, SuspiciousOperation):
            request.POST  # noqa: B018 - parses and keeps both POST and FILES


def _as_json_error(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    if (
        response.status_code < 400
        or response.streaming
        or response.get("Content-Type", "").startswith("application/json")
    ):
        return response
    status = response.status_code
    replaced = json_error(status, error_code(status), _reason(status))
    for header in _KEPT_HEADERS:
        if header in response:
            replaced[header] = response[header]
    return replaced


class ApiInputMiddleware(DualModeMiddleware):
    """See the module docstring. Async-native; sync-capable for the WSGI baseline."""

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        # Django wraps a sync process_view in sync_to_async under ASGI: offer the native one.
        self.process_view = self._aprocess_view if self.async_mode else self._process_view

    def _process_view(self, request: HttpRequest, *args: Any) -> HttpResponseBase | None:
        if not is_api_path(request.path):
            return None
        if _is_upload(request):
            refused = _refuse_text(request)
            if refused is None:
                _parse_upload(request)
            return refused
        return _refuse_input(request)

    async def _aprocess_view(self, request: HttpRequest, *args: Any) -> HttpResponseBase | None:
        if not is_api_path(request.path):
            return None
        if _is_upload(request):
            refused = _refuse_text(request)
            if refused is None:
                await sync_to_async(_parse_upload, thread_sensitive=False)(request)
            return refused
        return _refuse_input(request)

    def call(self, request: HttpRequest) -> HttpResponseBase:
        if not is_api_path(request.path):
            response: HttpResponseBase = self.get_response(request)
            return response
        refused = None if _is_upload(request) else _refuse_size(request)
        if refused is not None:
            return refused
        return _as_json_error(request, self.get_response(request))

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        if not is_api_path(request.path):
            return await self.get_response(request)
        refused = None if _is_upload(request) else _refuse_size(request)
        if refused is not None:
            return refused
        response = await self.get_response(request)
        return _as_json_error(request, response)
