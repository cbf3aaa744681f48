"""Chorus's errors, all rooted in ``ChorusError``::

    ChorusError
    ├── ConfigurationError      CHORUS settings that cannot work (also ImproperlyConfigured)
    ├── EventStreamUnavailableError  an event stream was asked of a WSGI request, which
    │                           Django would buffer whole (also ImproperlyConfigured)
    ├── UnknownUpstreamError    a call names an upstream that is not configured
    ├── UnsafeRequestError      a path or parameter would leave the upstream's base URL
    │                           (also ValueError)
    ├── UpstreamError           one call's failure; carries ``upstream``, ``elapsed_ms``
    │   │                           and ``attempts`` (requests sent, retries included)
    │   ├── UpstreamTimeoutError    no complete answer in time
    │   ├── CircuitOpenError        the upstream's breaker refused the call (no request sent)
    │   ├── UpstreamConnectionError connect, reset or protocol failure
    │   ├── UpstreamStatusError     a non-2xx answer; carries ``status``
    │   └── UpstreamBodyError       a body that is not JSON or is over the size limit
    └── TransportError          raised by a ``Transport``: the wire failed (connect, reset,
        │                       protocol); ``attempts`` counts a stale connection's re-send
        └── ResponseTooLargeError   the body passed the upstream's MAX_BODY_BYTES

``gather`` never raises ``UpstreamError``: it turns each one into a
``SourceResult``. They surface when a single call is awaited on its own
(``await chorus.fetch(chorus.call(...))``).
"""

from __future__ import annotations

from typing import Self

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "ChorusError",
    "CircuitOpenError",
    "ConfigurationError",
    "EventStreamUnavailableError",
    "ResponseTooLargeError",
    "TransportError",
    "UnknownUpstreamError",
    "UnsafeRequestError",
    "UpstreamBodyError",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
]


class ChorusError(Exception):
    """Base of every error chorus raises."""


class ConfigurationError(ChorusError, ImproperlyConfigured):
    """The ``CHORUS`` setting cannot work as written."""


class EventStreamUnavailableError(ChorusError, ImproperlyConfigured):
    """Server-Sent Events need an ASGI server; under WSGI the stream would never arrive."""

    def __init__(self, request_type: str) -> None:
        self.request_type = request_type
        super().__init__(
            f"Server-Sent Events need an ASGI server (uvicorn, daphne, granian): this request "
            f"came through WSGI ({request_type}), where Django collects a streaming response "
            "whole before sending it, so the client would wait for ever. Serve the project's "
            "asgi.py application instead of runserver or a WSGI server."
        )


class UnknownUpstreamError(ChorusError, LookupError):
    def __init__(self, upstream: str, known: tuple[str, ...]) -> None:
        self.upstream = upstream
        choices = ", ".join(known) or "none configured"
        super().__init__(f"unknown upstream {upstream!r} (configured: {choices})")


class UnsafeRequestError(ChorusError, ValueError):
    """A path or parameter value that would steer a call off its upstream's base URL."""

    def __init__(self, upstream: str, reason: str) -> None:
        self.upstream = upstream
        self.reason = reason
        super().__init__(f"unsafe request to {upstream!r}: {reason}")


class UpstreamError(ChorusError):
    """One upstream call failed. ``str()`` is chorus's own short text, never the upstream's body."""

    # A non-2xx or unparsable answer's HTTP status; None when no answer came.
    status: int | None = None
    # Whether a hedge (a second, racing request) was among the ``attempts``.
    hedged: bool = False

    def __init__(
        self, upstream: str, message: str, *, elapsed_ms: float, attempts: int = 1
    ) -> None:
        self.upstream = upstream
        self.elapsed_ms = elapsed_ms
        self.message = message
        # Requests sent for this call; a retry or a re-send raises it as it goes.
        self.attempts = attempts
        super().__init__(f"{upstream}: {message}")

    def shared(self) -> Self:
        """This failure as raised to a caller that shared the failed request (the cache's
        singleflight): a new object, with none of the requests counted as its own.

        Never the same object: each raise adds the raiser's frames to an exception's
        ``__traceback__``, and each caller's ``attempts`` is its own.
        """
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.args = self.args
        copy.attempts = 0
        copy.hedged = False
        return copy


class UpstreamTimeoutError(UpstreamError):
    pass


class CircuitOpenError(UpstreamError):
    """Refused by the upstream's circuit breaker while it is open: nothing was sent."""

    def __init__(self, upstream: str, *, retry_in: float) -> None:
        self.retry_in = retry_in
        when = f"next probe in {retry_in:.1f} s" if retry_in > 0 else "being probed"
        super().__init__(
            upstream,
            f"circuit open: the upstream failed too often ({when})",
            elapsed_ms=0.0,
            attempts=0,
        )


class UpstreamConnectionError(UpstreamError):
    pass


class UpstreamStatusError(UpstreamError):
    status: int

    def __init__(self, upstream: str, status: int, *, elapsed_ms: float, attempts: int = 1) -> None:
        self.status = status
        super().__init__(
            upstream, f"upstream answered HTTP {status}", elapsed_ms=elapsed_ms, attempts=attempts
        )


class UpstreamBodyError(UpstreamError):
    def __init__(
        self,
        upstream: str,
        message: str,
        *,
        elapsed_ms: float,
        status: int | None = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        super().__init__(upstream, message, elapsed_ms=elapsed_ms, attempts=attempts)


class TransportError(ChorusError):
    """A transport could not complete the exchange. Timeouts are ``TimeoutError`` instead.

    ``attempts`` is how many times the request went out: 2 when the transport
    re-sent it after a reused connection dropped, and that failed too.
    """

    attempts: int = 1


class ResponseTooLargeError(TransportError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"response body larger than {limit} bytes")
