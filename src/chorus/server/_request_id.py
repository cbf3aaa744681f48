"""Request ids: accepted or made per request, carried to every log line and upstream call.

``RequestIDMiddleware`` takes the incoming ``X-Request-ID`` when it is a sane
token (so ids chain across services) and makes one otherwise, sets it on the
response, and keeps it in a context variable for the length of the request:
``RequestIDFilter`` puts it on every log record (``%(request_id)s``), and
chorus adds it to every upstream call. The middleware also writes one line per
request to the ``chorus.request`` logger with method, path, status, duration
and id, as ``key=value`` pairs that log tools can parse. A request cancelled
before it had an answer (its client went away) is logged too, as nginx does,
with status 499. What chorus's ASGI handler answers itself, before Django builds a
request (431, 413, 408, 400 ``missing_host``, the door's 503, a ``BEFORE_BODY``
refusal, a client gone while its body was read: 499), never reaches the middleware:
the handler writes those lines, the same way, when this middleware is installed.

    MIDDLEWARE = ["chorus.server.RequestIDMiddleware", ...]
    LOGGING["filters"] = {"request_id": {"()": "chorus.server.RequestIDFilter"}}
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from contextvars import Token
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from chorus.engine._request_context import REQUEST_ID_HEADER, current_request_id
from chorus.engine._request_context import request_id_var as _request_id
from chorus.server._middleware_bases import DualModeMiddleware

__all__ = ["REQUEST_ID_HEADER", "RequestIDFilter", "RequestIDMiddleware", "current_request_id"]

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("chorus.request")
# nginx's "client closed request": the request was cancelled before it had an answer.
CLIENT_CLOSED_REQUEST = 499

# A random prefix per process and a counter: unique like uuid4, without a syscall per request.
_PROCESS_PREFIX = os.urandom(8).hex()
_sequence = itertools.count(1)


def new_request_id() -> str:
    """32 hex characters: this process's random prefix, then a counter."""
    return f"{_PROCESS_PREFIX}{next(_sequence):016x}"


class RequestIDFilter(logging.Filter):
    """Adds ``record.request_id`` (``"-"`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class RequestIDMiddleware(DualModeMiddleware):
    """Accept or make ``X-Request-ID``; log one line per request. Async-native, sync-capable."""

    def call(self, request: HttpRequest) -> HttpResponseBase:
        started, token = self._begin(request)
        try:
            return self._finish(request, self.get_response(request), started)
        finally:
            _request_id.reset(token)

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        started, token = self._begin(request)
        try:
            return self._finish(request, await self.get_response(request), started)
        except asyncio.CancelledError:
            # Django cancels the view when the client disconnects: still one line.
            _log(request, CLIENT_CLOSED_REQUEST, started, None)
            raise
        finally:
            _request_id.reset(token)

    def _begin(self, request: HttpRequest) -> tuple[float, Token[str | None]]:
        # META, not request.headers: building that mapping costs more than this whole hook.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID.match(incoming) else new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        return time.perf_counter(), _request_id.set(request_id)

    def _finish(
        self, request: HttpRequest, response: HttpResponseBase, started: float
    ) -> HttpResponseBase:
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        _log(request, response.status_code, started, response)
        return response


_ACCESS_LINE = "method=%s path=%s status=%d duration_ms=%.1f request_id=%s"


def _log(
    request: HttpRequest, status: int, started: float, response: HttpResponseBase | None
) -> None:
    """The request's one access line (``response`` is ``None`` when it had no answer)."""
    if access_log.isEnabledFor(logging.INFO):
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        path = _loggable(request.path)
        access_log.info(
            _ACCESS_LINE,
            request.method,
            path,
            status,
            duration_ms,
            request.request_id,  # type: ignore[attr-defined]
            extra=_access_fields(request, status, response, path, duration_ms),
        )


def logs_access(middleware: Iterable[str]) -> bool:
    """Whether ``RequestIDMiddleware`` (or a subclass) is among these ``MIDDLEWARE`` paths."""
    for path in middleware:
        try:
            cls = import_string(path)
        except ImportError:
            continue  # Django reports it when it loads the chain
        if isinstance(cls, type) and issubclass(cls, RequestIDMiddleware):
            return True
    return False


def log_before_django(scope: Mapping[str, Any], status: int, started: float) -> None:
    """The access line of a request answered from its ASGI ``scope`` alone (no Django request)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    path = _loggable(scope["path"])
    incoming = next(
        (value.decode("latin-1") for name, value in scope["headers"] if name == b"x-request-id"),
        "",
    )
    request_id = incoming if _VALID.match(incoming) else new_request_id()
    method = scope["method"]
    access_log.info(
        _ACCESS_LINE,
        method,
        path,
        status,
        duration_ms,
        request_id,
        extra={
            "http_method": method,
            "http_path": path,
            "http_route": None,
            "http_status": status,
            "duration_ms": duration_ms,
        },
    )


def _loggable(path: str) -> str:
    """``path`` as one line: a client's %0A or %00 must not forge or cut log lines."""
    return path if path.isprintable() else path.encode("unicode_escape").decode("ascii")


def _access_fields(
    request: HttpRequest,
    status: int,
    response: HttpResponseBase | None,
    path: str,
    duration_ms: float,
) -> dict[str, object]:
    """The access line's fields, for a structured (JSON) formatter: the route (the URL
    pattern, not the path), and for a fan-out each upstream's outcome."""
    match = request.resolver_match
    fields: dict[str, object] = {
        "http_method": request.method,
        "http_path": path,
        "http_route": f"/{match.route}" if match is not None else None,
        "http_status": status,
        "duration_ms": duration_ms,
    }
    result = getattr(response, "chorus_result", None)
    if result is not None:
        fields["upstreams"] = {
            name: source.outcome.value for name, source in result.sources.items()
        }
    return fields
