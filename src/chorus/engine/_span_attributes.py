"""What chorus's spans say: OpenTelemetry's HTTP client attributes, and a source's story.

A client span follows OpenTelemetry's semantic conventions for HTTP client
spans (``http.request.method``, ``server.address``, ``server.port``,
``url.full``, ``http.response.status_code``, ``error.type``,
``http.request.resend_count``). ``url.full`` never carries a secret: the
userinfo of the upstream's base URL becomes ``REDACTED:REDACTED``, and a query
value whose name reads like a credential (``api_key``, ``token``,
``signature``, …) becomes ``REDACTED``, as the conventions ask. Headers are
never recorded, so an API key sent in one cannot reach a span.

Chorus's own attributes are under ``chorus.``: a source's ``chorus.outcome``,
``chorus.attempts``, ``chorus.cache`` (``hit``), ``chorus.stale``, ``chorus.hedged``.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlencode, urlsplit, urlunsplit

from chorus.engine._call import Call
from chorus.engine._exceptions import UpstreamError
from chorus.engine._results import Outcome, SourceResult, outcome_of
from chorus.engine._settings import UpstreamConfig

__all__ = [
    "REDACTED",
    "Attributes",
    "client_attributes",
    "error_type",
    "redact_url",
    "source_attributes",
]

Attributes = dict[str, str | bool | int | float | tuple[str, ...]]

REDACTED = "REDACTED"
# Query names whose values are credentials; the conventions name AWSAccessKeyId,
# Signature, sig and X-Goog-Signature, and these catch the common spellings of the rest.
_SECRET_NAME = re.compile(
    r"key|token|secret|passw|signature|^sig$|auth|credential|session|jwt", re.IGNORECASE
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def redact_url(url: str, params: tuple[tuple[str, str], ...] = ()) -> str:
    """``url`` with ``params`` as its query, without userinfo or secret query values."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}:{REDACTED}@{netloc.rpartition('@')[2]}"
    pairs = [*_query_pairs(parts.query), *params]
    query = urlencode(
        [(name, REDACTED if _SECRET_NAME.search(name) else value) for name, value in pairs],
        safe=REDACTED,
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in query.split("&") if query else ():
        name, _, value = piece.partition("=")
        pairs.append((name, value))
    return pairs


@functools.lru_cache(maxsize=1024)
def _client_attributes(
    method: str, base_url: str, path: str, params: tuple[tuple[str, str], ...], upstream: str
) -> tuple[tuple[str, str | int], ...]:
    parts = urlsplit(base_url)
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    return (
        ("http.request.method", method),
        ("server.address", parts.hostname or ""),
        ("server.port", port),
        ("url.full", redact_url(base_url + path, params)),
        ("chorus.upstream", upstream),
    )


def client_attributes(call: Call, upstream: UpstreamConfig) -> Attributes:
    """A client span's attributes known before the request goes out (cached per URL)."""
    return dict(
        _client_attributes(call.method, upstream.base_url, call.path, call.params, upstream.name)
    )


def error_type(error: UpstreamError) -> str:
    """``error.type``: the status code of an error status, else chorus's outcome."""
    outcome = outcome_of(error)
    if outcome is Outcome.BAD_STATUS and error.status is not None:
        return str(error.status)
    return outcome.value


def source_attributes(result: SourceResult) -> Attributes:
    """What a source's span says once it has landed."""
    attributes: Attributes = {
        "chorus.outcome": result.outcome.value,
        "chorus.attempts": result.attempts,
    }
    if result.http_status is not None:
        attributes["http.response.status_code"] = result.http_status
    if result.cached and not result.stale:
        attributes["chorus.cache"] = "hit"
    if result.stale:
        attributes["chorus.stale"] = True
    if result.hedged:
        attributes["chorus.hedged"] = True
    if not result.answered:
        attributes["error.type"] = result.outcome.value
    return attributes
