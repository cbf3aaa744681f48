"""The innermost link of every call: a bulkhead place, the transport, the JSON body.

``send(attempt)`` sends one request for an ``Attempt`` and returns its
``Reply``; each failure becomes an ``UpstreamError`` carrying chorus's own
description. An upstream's error body is never read into a message, so
nothing it says can reach a client. The caller bounds the time: a fan-out
cancels the task at the attempt's deadline; ``chorus.fetch`` applies it itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import orjson
from django.http import HttpRequest

from chorus.engine import _tracing as tracing
from chorus.engine._attempt import Attempt, Reply
from chorus.engine._bulkhead import Bulkhead
from chorus.engine._call import Call
from chorus.engine._exceptions import (
    ResponseTooLargeError,
    TransportError,
    UpstreamBodyError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from chorus.engine._expiry import by_deadline
from chorus.engine._loop_local import LoopLocal
from chorus.engine._metrics import UpstreamMeter, upstream_meter
from chorus.engine._request_context import REQUEST_ID_HEADER, current_request_id
from chorus.engine._results import outcome_of
from chorus.engine._settings import UpstreamConfig
from chorus.engine.transport._base import CheckedHeaders, TransportResponse, header_problem
from chorus.engine.transport._factory import get_transport

if TYPE_CHECKING:
    from chorus.engine._spans import Spans

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


def _headers(
    call: Call, upstream: UpstreamConfig, request: HttpRequest | None, spans: Spans | None
) -> CheckedHeaders:
    # Names from settings, values from the client: only these are checked here (a test
    # client, unlike an HTTP server, would pass a line break on). The trace context
    # chorus adds is OpenTelemetry's own formatting: nothing a client chose.
    headers = CheckedHeaders()
    if request is not None:
        for name in upstream.forward_headers:
            value = request.headers.get(name)
            if value is not None:
                if (problem := header_problem(name, value)) is not None:
                    raise TransportError(problem)
                headers[name] = value
    request_id = current_request_id()
    if request_id is not None:
        headers[REQUEST_ID_HEADER] = request_id
    headers.update(call.headers)
    if call.body is not None:
        headers.setdefault("Content-Type", "application/json")
    if spans is not None:
        spans.inject(headers)  # traceparent: the upstream continues this trace
    return headers


def send(attempt: Attempt) -> Coroutine[Any, Any, Reply]:
    """Send one request for ``attempt``; return its ``Reply`` or raise ``UpstreamError``.

    The raw body is kept so that rendering can embed it instead of encoding it again.
    With metrics on, the request's time and outcome land in
    ``chorus_upstream_request_duration_seconds`` (``chorus.engine._metrics``); with them
    off, what is left of that is the ``meter is not None`` branches. With tracing on,
    the request is a client span (``chorus.engine._spans``), and its context goes out
    in the request's headers.
    """
    # A plain function handing back the coroutine: no extra frame when tracing is off.
    spans = tracing.spans()
    if spans is None:
        return _send(attempt, None)
    return spans.send(_send, attempt)


async def _send(attempt: Attempt, spans: Spans | None) -> Reply:
    call, upstream = attempt.call, attempt.upstream
    meter = upstream_meter(upstream)
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = "ok"
    try:
        bulkhead = _bulkhead(upstream)
        if not bulkhead.try_enter():
            await _queue(bulkhead, meter)
        if meter is not None:
            meter.in_flight.inc(1)
        attempt.sent += 1  # handed to the transport: it may reach the upstream (_attempt)
        try:
            response = await get_transport().request(
                call.method,
                call.url(upstream),
                params=call.params,
                headers=_headers(call, upstream, attempt.request, spans),
                body=call.body,
                connect_timeout=upstream.connect_timeout,
                max_body_bytes=upstream.max_body_bytes,
            )
        except ResponseTooLargeError as exc:
            attempt.sent += exc.attempts - 1
            raise UpstreamBodyError(
                upstream.name,
                f"body larger than {exc.limit} bytes",
                elapsed_ms=(loop.time() - started) * 1000,
                attempts=exc.attempts,
            ) from None
        except TransportError as exc:
            attempt.sent += exc.attempts - 1  # the transport's own re-send
            raise UpstreamConnectionError(
                upstream.name,
                str(exc),
                elapsed_ms=(loop.time() - started) * 1000,
                attempts=exc.attempts,
            ) from None
        except TimeoutError:  # the transport's connect timeout; the caller's own is a cancel
            raise UpstreamTimeoutError(
                upstream.name,
                "could not connect in time",
                elapsed_ms=(loop.time() - started) * 1000,
            ) from None
        finally:
            bulkhead.leave()
            if meter is not None:
                meter.in_flight.inc(-1)
        attempt.sent += response.attempts - 1
        return _reply(upstream, response, (loop.time() - started) * 1000)
    except UpstreamError as error:
        if meter is not None:
            outcome = outcome_of(error).value
        raise
    except asyncio.CancelledError as error:
        # As the breaker judges it: cancelled by its deadline, the upstream timed out.
        outcome = "timeout" if by_deadline(error) else "cancelled"
        raise
    finally:
        if meter is not None:
            exemplar = None if spans is None else spans.exemplar()
            meter.requests[outcome].observe(loop.time() - started, exemplar)


async def _queue(bulkhead: Bulkhead, meter: UpstreamMeter | None) -> None:
    """Wait in turn for a bulkhead place (every one was taken)."""
    if meter is None:
        await bulkhead.enter()
        return
    meter.bulkhead_waits.inc()
    try:
        await bulkhead.enter()
    except BaseException:
        meter.bulkhead_rejections.inc()
        raise


def _reply(upstream: UpstreamConfig, response: TransportResponse, elapsed_ms: float) -> Reply:
    """The ``Reply`` for a response: a 2xx with a JSON body (or none), else an error."""
    attempts = response.attempts
    if not 200 <= response.status < 300:
        raise UpstreamStatusError(
            upstream.name, response.status, elapsed_ms=elapsed_ms, attempts=attempts
        )
    if not response.body:
        return Reply(status=response.status, data=None, attempts=attempts)
    try:
        data = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise UpstreamBodyError(
            upstream.name,
            "body is not valid JSON",
            elapsed_ms=elapsed_ms,
            status=response.status,
            attempts=attempts,
        ) from None
    return Reply(status=response.status, data=data, raw=response.body, attempts=attempts)
