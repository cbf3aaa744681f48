"""What a request may cost before anyone trusts it: ``CHORUS["REQUEST_LIMITS"]``.

Django reads the whole body before the first middleware runs (to disk past
``FILE_UPLOAD_MAX_MEMORY_SIZE``), so a limit checked in middleware or a view
comes after the cost it was meant to prevent. ``ChorusASGIHandler`` applies
these limits to the ASGI scope instead, before the request object exists:

- more header lines than ``MAX_HEADERS``, or more than ``MAX_HEADER_BYTES`` of
  names and values in all, is a **431**;
- a ``Content-Length`` over the route's ``MAX_BODY_BYTES`` is a **413** before
  a byte of the body is read (so a client that sent ``Expect: 100-continue``
  never gets its ``100 Continue``); a chunked body is cut off with a 413 as soon
  as it passes the limit;
- a body still arriving ``BODY_TIMEOUT`` seconds after its request came in, or
  arriving slower than ``MIN_BODY_RATE`` bytes a second once ``BODY_GRACE``
  seconds have passed, is a **408** (``chorus.server._request_body``): the
  deadline grows by one second for each ``MIN_BODY_RATE`` bytes received, as
  Apache's ``mod_reqtimeout`` ``body=GRACE-TIMEOUT,MinRate=RATE`` does, and never
  past ``BODY_TIMEOUT``. A client that sends ten bytes and holds still is
  answered after ``BODY_GRACE`` seconds and its connection closed.

``SATURATED_BODY_READS`` is not a limit: while that many bodies (or more) are
being read at once, ``chorus.server.saturation()`` says the worker is saturated,
for a readiness probe to report (bodies are read before a request takes its
place at the door, so they are not counted there).

``MAX_BODY_BYTES`` is one number, or a mapping of path prefixes to numbers where
the longest matching prefix wins (``None``: no limit of chorus's for that prefix):

    CHORUS = {
        "REQUEST_LIMITS": {
            "MAX_BODY_BYTES": {"/": 1_048_576, "/api/": 65_536, "/api/images/": 10_485_760},
            "MAX_HEADERS": 100,
            "MAX_HEADER_BYTES": 32_768,
            "BODY_TIMEOUT": 30,  # seconds for the whole body, from the request's arrival
            "MIN_BODY_RATE": 1024,  # bytes a second, on average, after the grace period
            "BODY_GRACE": 5,  # seconds before the rate counts (None: no rate, the timeout only)
            "SATURATED_BODY_READS": 100,  # bodies read at once that make the worker saturated
        },
    }

Refusals are JSON, ``{"error": {"code", "message"}}``, with ``Connection: close``:
the rest of an unread body is not worth keeping the connection for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_BODY_GRACE",
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MIN_BODY_RATE",
    "DEFAULT_SATURATED_BODY_READS",
    "BodyDeadline",
    "Refusal",
    "RequestLimits",
    "limits_problems",
    "read_limits",
    "timed_out",
    "too_large",
]

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_MIN_BODY_RATE = 1024
DEFAULT_BODY_GRACE = 5.0
DEFAULT_SATURATED_BODY_READS = 100

_KEYS = frozenset(
    {
        "MAX_BODY_BYTES",
        "MAX_HEADERS",
        "MAX_HEADER_BYTES",
        "BODY_TIMEOUT",
        "MIN_BODY_RATE",
        "BODY_GRACE",
        "SATURATED_BODY_READS",
    }
)


@dataclass(frozen=True, slots=True)
class BodyDeadline:
    """How long a body may take: ``timeout`` seconds in all, and ``min_rate`` bytes a
    second (``None``: no rate) once ``grace`` seconds have passed."""

    timeout: float = DEFAULT_BODY_TIMEOUT
    min_rate: float | None = DEFAULT_MIN_BODY_RATE
    grace: float = DEFAULT_BODY_GRACE

    def due(self, started: float, received: int) -> float:
        """When the next bytes must have come (the loop's clock), ``received`` bytes in."""
        total = started + self.timeout
        if self.min_rate is None:
            return total
        return min(total, started + self.grace + received / self.min_rate)

    def describe(self) -> str:
        if self.min_rate is None:
            return f"within {self.timeout:g} s"
        return (
            f"within {self.timeout:g} s, at {self.min_rate:g} bytes a second or more "
            f"after the first {self.grace:g} s"
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer given from the scope alone: ``status``, error ``code`` and ``message``."""

    status: int
    code: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestLimits:
    # (prefix, limit) pairs, longest prefix first, so the first match is the most specific.
    body_limits: tuple[tuple[str, int | None], ...] = (("/", DEFAULT_MAX_BODY_BYTES),)
    max_headers: int | None = DEFAULT_MAX_HEADERS
    max_header_bytes: int | None = DEFAULT_MAX_HEADER_BYTES
    body_deadline: BodyDeadline = BodyDeadline()
    # Bodies read at once from which the worker calls itself saturated (None: never).
    saturated_body_reads: int | None = DEFAULT_SATURATED_BODY_READS

    def body_limit(self, path: str) -> int | None:
        for prefix, limit in self.body_limits:
            if path.startswith(prefix):
                return limit
        return None

    def refuse_headers(self, headers: Iterable[tuple[bytes, bytes]]) -> Refusal | None:
        count = size = 0
        for name, value in headers:
            count += 1
            size += len(name) + len(value)
        if self.max_headers is not None and count > self.max_headers:
            return Refusal(
                431,
                "headers_too_large",
                f"The request has {count} header lines; at most {self.max_headers} are accepted.",
            )
        if self.max_header_bytes is not None and size > self.max_header_bytes:
            return Refusal(
                431,
                "headers_too_large",
                f"The request's headers are over {self.max_header_bytes} bytes.",
            )
        return None

    def refuse_declared_body(self, path: str, content_length: bytes | None) -> Refusal | None:
        limit = self.body_limit(path)
        if limit is None or content_length is None:
            return None
        if not content_length.isdigit():
            return Refusal(400, "bad_request", "The Content-Length header is not a number.")
        if int(content_length) > limit:
            return too_large(limit)
        return None


def too_large(limit: int) -> Refusal:
    return Refusal(413, "payload_too_large", f"The body is over {limit} bytes.")


def timed_out(deadline: BodyDeadline) -> Refusal:
    return Refusal(
        408, "request_timeout", f"The body did not arrive in time: {deadline.describe()}."
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _is_limit(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def limits_problems(raw: object) -> list[str]:
    """What is wrong with a raw ``REQUEST_LIMITS`` value (empty when nothing is)."""
    if not isinstance(raw, Mapping):
        return [f"CHORUS['REQUEST_LIMITS'] must be a dict; got {type(raw).__name__}"]
    found = [f"unknown key {key!r}" for key in sorted(set(raw) - _KEYS, key=str)]
    for key in ("MAX_HEADERS", "MAX_HEADER_BYTES"):
        if not _is_limit(raw.get(key)):
            found.append(f"{key} must be a whole number of at least 0, or None")
    body = raw.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
    entries = body.items() if isinstance(body, Mapping) else [("/", body)]
    for prefix, limit in entries:
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            found.append(f"MAX_BODY_BYTES prefix {prefix!r} must be a path starting with '/'")
        if not _is_limit(limit):
            found.append(f"MAX_BODY_BYTES[{prefix!r}] must be a whole number of bytes, or None")
    timeout = raw.get("BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)
    if not (_is_number(timeout) and 0 < timeout <= 3600):
        found.append("BODY_TIMEOUT must be a number of seconds above 0 and at most 3600")
    rate = raw.get("MIN_BODY_RATE", DEFAULT_MIN_BODY_RATE)
    if rate is not None and not (_is_number(rate) and rate > 0):
        found.append("MIN_BODY_RATE must be a number of bytes a second above 0, or None")
    grace = raw.get("BODY_GRACE", DEFAULT_BODY_GRACE)
    if not (_is_number(grace) and 0 <= grace <= 3600):
        found.append("BODY_GRACE must be a number of seconds from 0 to 3600")
    saturated = raw.get("SATURATED_BODY_READS", DEFAULT_SATURATED_BODY_READS)
    if saturated is not None and not (_is_limit(saturated) and saturated >= 1):
        found.append("SATURATED_BODY_READS must be a whole number of at least 1, or None")
    return found


def read_limits(raw: Mapping[str, Any] | None) -> RequestLimits:
    """``RequestLimits`` from a valid raw value (``limits_problems`` found nothing)."""
    if raw is None:
        return RequestLimits()
    body = raw.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
    entries = dict(body) if isinstance(body, Mapping) else {"/": body}
    return RequestLimits(
        body_limits=tuple(sorted(entries.items(), key=lambda item: len(item[0]), reverse=True)),
        max_headers=raw.get("MAX_HEADERS", DEFAULT_MAX_HEADERS),
        max_header_bytes=raw.get("MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES),
        body_deadline=BodyDeadline(
            timeout=float(raw.get("BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)),
            min_rate=raw.get("MIN_BODY_RATE", DEFAULT_MIN_BODY_RATE),
            grace=float(raw.get("BODY_GRACE", DEFAULT_BODY_GRACE)),
        ),
        saturated_body_reads=raw.get("SATURATED_BODY_READS", DEFAULT_SATURATED_BODY_READS),
    )
