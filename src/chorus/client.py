"""The innermost link of every call: a bulkhead place, the transport, the JSON body.

``send(attempt)`` sends one request for an ``Attempt`` and returns its
``Reply``; each failure becomes an ``UpstreamError`` carrying chorus's own
description. An upstream's error body is never read into a message, so
nothing it says can reach a client. The caller bounds the time: a fan-out
cancels the task at the attempt's deadline; ``chorus.fetch`` applies it itself.
"""

from __future__ import annotations

import asyncio

import orjson
from django.http import HttpRequest

from chorus.attempt import Attempt, Reply
from chorus.bulkhead import Bulkhead
from chorus.conf import UpstreamConfig
from chorus.exceptions import (
    ResponseTooLargeError,
    TransportError,
    UpstreamBodyError,
    UpstreamConnectionError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from chorus.loop_local import LoopLocal
from chorus.request_id import REQUEST_ID_HEADER, current_request_id
from chorus.transport import get_transport
from chorus.upstream import Call

__all__ = ["send"]

_bulkheads: LoopLocal[dict[tuple[str, int], Bulkhead]] = LoopLocal(dict)


def _bulkhead(upstream: UpstreamConfig) -> Bulkhead:
    """At most ``MAX_CONNECTIONS`` calls in flight per upstream on this loop."""
    per_loop = _bulkheads.get()
    key = (upstream.name, upstream.max_connections)
    bulkhead = per_loop.get(key)
    if bulkhead is None:
        bulkhead = per_loop[key] = Bulkhead(upstream.max_connections)
    return bulkhead


def _headers(call: Call, upstream: UpstreamConfig, request: HttpRequest | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if request is not None:
        for name in upstream.forward_headers:
            value = request.headers.get(name)
            if value is not None:
                headers[name] = value
    request_id = current_request_id()
    if request_id is not None:
        headers[REQUEST_ID_HEADER] = request_id
    headers.update(call.headers)
    if call.body is not None:
        headers.setdefault("Content-Type", "application/json")
    return headers


async def send(attempt: Attempt) -> Reply:
    """Send one request for ``attempt``; return its ``Reply`` or raise ``UpstreamError``.

    The raw body is kept so that rendering can embed it instead of encoding it again.
    """
    call, upstream = attempt.call, attempt.upstream
    url = call.url(upstream)
    loop = asyncio.get_running_loop()
    started = loop.time()

    def elapsed_ms() -> float:
        return (loop.time() - started) * 1000

    bulkhead = _bulkhead(upstream)
    if not bulkhead.try_enter():
        await bulkhead.enter()
    try:
        try:
            response = await get_transport().request(
                call.method,
                url,
                params=call.params,
                headers=_headers(call, upstream, attempt.request),
                body=call.body,
                connect_timeout=upstream.connect_timeout,
                max_body_bytes=upstream.max_body_bytes,
            )
        except ResponseTooLargeError as exc:
            raise UpstreamBodyError(
                upstream.name,
                f"body larger than {exc.limit} bytes",
                elapsed_ms=elapsed_ms(),
                attempts=exc.attempts,
            ) from None
        except TransportError as exc:
            raise UpstreamConnectionError(
                upstream.name, str(exc), elapsed_ms=elapsed_ms(), attempts=exc.attempts
            ) from None
        except TimeoutError:  # the transport's connect timeout; the caller's own is a cancel
            raise UpstreamTimeoutError(
                upstream.name, "could not connect in time", elapsed_ms=elapsed_ms()
            ) from None
    finally:
        bulkhead.leave()
    attempts = response.attempts
    if not 200 <= response.status < 300:
        raise UpstreamStatusError(
            upstream.name, response.status, elapsed_ms=elapsed_ms(), attempts=attempts
        )
    if not response.body:
        return Reply(status=response.status, data=None, attempts=attempts)
    try:
        data = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise UpstreamBodyError(
            upstream.name,
            "body is not valid JSON",
            elapsed_ms=elapsed_ms(),
            status=response.status,
            attempts=attempts,
        ) from None
    return Reply(status=response.status, data=data, raw=response.body, attempts=attempts)
