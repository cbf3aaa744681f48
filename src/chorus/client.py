"""Performing one ``Call``: its upstream's settings, a bulkhead, the transport, JSON.

Each failure becomes an ``UpstreamError`` carrying chorus's own description;
an upstream's error body is never read into a message, so nothing it says can
reach a client. Timeouts are applied by the caller around ``perform``.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import orjson
from django.http import HttpRequest

from chorus.bulkhead import Bulkhead
from chorus.conf import UpstreamConfig, get_settings
from chorus.exceptions import (
    ResponseTooLargeError,
    TransportError,
    UpstreamBodyError,
    UpstreamConnectionError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from chorus.request_id import REQUEST_ID_HEADER, current_request_id
from chorus.transport import get_transport
from chorus.upstream import Call

__all__ = ["fetch", "perform"]

_bulkheads: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int], Bulkhead]
] = weakref.WeakKeyDictionary()
# The last loop's bulkheads, found without a weak-key lookup: a worker has one loop.
_last_loop: tuple[asyncio.AbstractEventLoop, dict[tuple[str, int], Bulkhead]] | None = None


def _bulkhead(loop: asyncio.AbstractEventLoop, upstream: UpstreamConfig) -> Bulkhead:
    """At most ``MAX_CONNECTIONS`` calls in flight per upstream on this loop."""
    global _last_loop
    last = _last_loop
    if last is not None and last[0] is loop:
        per_loop = last[1]
    else:
        found = _bulkheads.get(loop)
        per_loop = found if found is not None else _bulkheads.setdefault(loop, {})
        _last_loop = (loop, per_loop)
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


async def perform(
    call: Call, *, request: HttpRequest | None = None, upstream: UpstreamConfig | None = None
) -> tuple[int, Any, bytes | None]:
    """Send ``call``; return ``(http_status, parsed JSON, raw body)``, or raise ``UpstreamError``.

    The raw body is kept so that rendering can embed it instead of encoding it again.
    ``upstream`` is the call's configuration, when the caller has looked it up already.
    """
    if upstream is None:
        upstream = get_settings().upstream(call.upstream)
    url = call.url(upstream)
    loop = asyncio.get_running_loop()
    started = loop.time()

    def elapsed_ms() -> float:
        return (loop.time() - started) * 1000

    bulkhead = _bulkhead(loop, upstream)
    if not bulkhead.try_enter():
        await bulkhead.enter()
    try:
        try:
            response = await get_transport().request(
                call.method,
                url,
                params=call.params,
                headers=_headers(call, upstream, request),
                body=call.body,
                connect_timeout=upstream.connect_timeout,
                max_body_bytes=upstream.max_body_bytes,
            )
        except ResponseTooLargeError as exc:
            raise UpstreamBodyError(
                upstream.name, f"body larger than {exc.limit} bytes", elapsed_ms=elapsed_ms()
            ) from None
        except TransportError as exc:
            raise UpstreamConnectionError(
                upstream.name, str(exc), elapsed_ms=elapsed_ms()
            ) from None
        except TimeoutError:  # the transport's connect timeout; the caller's own is a cancel
            raise UpstreamTimeoutError(
                upstream.name, "could not connect in time", elapsed_ms=elapsed_ms()
            ) from None
    finally:
        bulkhead.leave()
    if not 200 <= response.status < 300:
        raise UpstreamStatusError(upstream.name, response.status, elapsed_ms=elapsed_ms())
    if not response.body:
        return response.status, None, None
    try:
        return response.status, orjson.loads(response.body), response.body
    except orjson.JSONDecodeError:
        raise UpstreamBodyError(
            upstream.name, "body is not valid JSON", elapsed_ms=elapsed_ms(), status=response.status
        ) from None


async def fetch(call: Call, *, request: HttpRequest | None = None) -> Any:
    """Perform one call on its own, bounded by its timeout; return its parsed JSON.

    stock = await chorus.fetch(chorus.call("inventory", "/stock"))
    """
    upstream = get_settings().upstream(call.upstream)
    timeout = call.resolved_timeout(upstream)
    started = asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout(timeout):
            _, data, _ = await perform(call, request=request)
    except TimeoutError:
        elapsed = (asyncio.get_running_loop().time() - started) * 1000
        raise UpstreamTimeoutError(
            upstream.name, f"no answer within {elapsed:.0f} ms", elapsed_ms=elapsed
        ) from None
    return data
