"""What is refused on the request's headers alone, and how a refusal is sent.

A refusal is a small JSON error (the envelope's ``error`` object) sent by the
ASGI handler itself, before Django builds a request: it costs no thread, no
middleware and no view, and it closes the connection, since the rest of the
request (its body) is not worth reading.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from chorus.server._limits import Refusal
from chorus.server._settings import get_server_settings

__all__ = ["OVERLOADED", "refuse_scope", "send_refusal"]

Send = Callable[[Mapping[str, Any]], Awaitable[None]]

_MISSING_HOST = Refusal(
    400, "missing_host", "An HTTP/1.1 request must have a Host header (RFC 9112, section 3.2)."
)


OVERLOADED = Refusal(
    503, "overloaded", "The server is overloaded and this request waited too long; retry later."
)


def refuse_scope(scope: Mapping[str, Any]) -> Refusal | None:
    """The request refused on its headers alone (see ``_limits.py``), or ``None``.

    An HTTP/1.1 request without a ``Host`` header is a 400 ``missing_host``; HTTP/1.0
    may leave it out, and HTTP/2 carries ``:authority`` instead."""
    limits = get_server_settings().request_limits
    headers = scope["headers"]
    if scope.get("http_version") == "1.1" and not any(name == b"host" for name, _ in headers):
        # RFC 9112 §3.2: a 400. Django would fall back on the server's own name and answer.
        return _MISSING_HOST
    refusal = limits.refuse_headers(headers)
    if refusal is not None:
        return refusal
    for name, value in headers:
        if name == b"content-length":
            return limits.refuse_declared_body(scope["path"], value)
    return None


async def send_refusal(send: Send, refusal: Refusal, *, retry_after: int | None = None) -> None:
    body = orjson.dumps({"error": {"code": refusal.code, "message": refusal.message}})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The unread rest of the body is not worth keeping the connection for.
        (b"connection", b"close"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
