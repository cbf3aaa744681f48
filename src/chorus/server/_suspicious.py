"""``SuspiciousOperation`` answered on the event loop, logged once per interval.

Django wraps every middleware layer in ``convert_exception_to_response``, whose
async form turns *any* exception into a response on a thread
(``sync_to_async(response_for_exception)``); for a ``SuspiciousOperation``
(a bad ``Host`` header, too many form fields, a forged session) it then logs an
ERROR with the full traceback on ``django.security.<ExceptionClass>``. A client
can cause that on every request: one thread hop and a traceback per request is
a cheap way to fill a disk and a thread pool.

``ChorusASGIHandler`` builds its middleware chain with ``convert_exception_to_response``
below instead. A ``SuspiciousOperation`` becomes a 400 at once, on the loop
(the URLconf's ``handler400``, which must not block: Django's own renders a
template that its cached loader holds after the first time),
and is logged as one WARNING line without a traceback on the same
``django.security.*`` logger (so logging configured for Django's security
loggers still sees it), at most once per ``LOG_INTERVAL`` seconds per kind; the
next line says how many were left out. Every other exception goes to Django's
own ``response_for_exception``, unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from inspect import iscoroutinefunction
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.exception import get_exception_response, response_for_exception
from django.http import HttpRequest, HttpResponseBase
from django.urls import get_resolver, get_urlconf

__all__ = [
    "LOG_INTERVAL",
    "convert_exception_to_response",
    "exception_response",
    "suspicious_response",
]

LOG_INTERVAL = 10.0


class _Throttle:
    """When each security logger last wrote, and how many it has held back since."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def log(self, name: str, message: str) -> None:
        now = time.monotonic()
        last = self.last.get(name)
        if last is not None and now - last < LOG_INTERVAL:
            self.held[name] = self.held.get(name, 0) + 1
            return
        self.last[name] = now
        held = self.held.pop(name, 0)
        suffix = f" ({held} more like it in the last {LOG_INTERVAL:g} s not logged)" if held else ""
        logging.getLogger(name).warning("%s%s", message, suffix)


_throttle = _Throttle()


def suspicious_response(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponseBase:
    """``handler400``'s answer to ``exc``, with one throttled WARNING line (no traceback)."""
    # Django's own logger names: django.security.DisallowedHost, ….SuspiciousSession, ….
    name = f"django.security.{type(exc).__name__}"
    # str(exc) quotes what the client sent (Django uses %r), so it cannot forge log lines.
    _throttle.log(name, f"{exc} ({request.method} {request.path!r})")
    response = get_exception_response(request, get_resolver(get_urlconf()), 400, exc)
    # The line above is the one line: no "Bad Request: /path" per request from django.request.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


async def exception_response(request: HttpRequest, exc: Exception) -> HttpResponseBase:
    """The answer to an exception a middleware layer or view raised, as the wrapper gives it."""
    if isinstance(exc, SuspiciousOperation):
        return suspicious_response(request, exc)
    response: HttpResponseBase = await sync_to_async(
        response_for_exception, thread_sensitive=False
    )(request, exc)
    return response


GetResponse = Callable[[HttpRequest], Any]


def convert_exception_to_response(get_response: GetResponse) -> GetResponse:
    """Django's wrapper, with ``SuspiciousOperation`` handled inline (see the module docstring)."""
    if not iscoroutinefunction(get_response):
        # Sync layers (the WSGI path) pay no hop: Django's own wrapper is fine there.
        from django.core.handlers import exception

        wrapped: GetResponse = exception.convert_exception_to_response(get_response)
        return wrapped
    # A NonBlockingMiddlewareMixin layer's coroutine answers its exceptions itself, as this
    # wrapper would: the chain calls it directly, one coroutine a layer instead of two.
    answering = getattr(get_response, "_chorus_answering_acall", None)
    if answering is not None and (acall := answering()) is not None:
        return acall  # type: ignore[no-any-return]
    async_get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = get_response

    @wraps(get_response)
    async def inner(request: HttpRequest) -> HttpResponseBase:
        try:
            return await async_get_response(request)
        except Exception as exc:
            return await exception_response(request, exc)

    return inner
