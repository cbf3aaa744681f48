"""A server span of chorus's own for each request, continuing the caller's trace.

With tracing on (``chorus.engine._tracing``) and no one else making the
request's server span, ``ChorusASGIHandler`` serves each HTTP request inside
one: its parent is the trace context the request arrived with
(``traceparent``, read by OpenTelemetry's configured propagator), so a page's
fan-out, its sources and their upstream calls join the caller's trace.

Never two server spans, never none: where opentelemetry-instrumentation-django
is at work (``DjangoInstrumentor().instrument()``) and can serve an ASGI
request (it needs opentelemetry-instrumentation-asgi for that, else its
middleware makes no span at all), its middleware makes the span and chorus
makes none; nor does it when a span is already current as the request
comes in (the ASGI middleware of opentelemetry-instrumentation-asgi, say).
The span is named after the method and records the path, never the query
string (which may hold a secret), and the response's status. Once Django has
resolved the URL, ``note_route`` adds its route (``http.route``, the pattern,
never the values in the path) and names the span after it, as OpenTelemetry's
HTTP conventions ask (``GET /api/orders/<int:pk>/``): the route is known only
inside Django, after the span began.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest

from chorus.engine import _tracing as tracing

__all__ = ["note_route", "serve_in_span", "wants_server_span"]

Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
App = Callable[[Mapping[str, Any], Receive, Send], Awaitable[None]]

# Set inside chorus's server span, whose handler asks again on its way in.
_in_server_span: ContextVar[bool] = ContextVar("chorus_in_server_span", default=False)


def wants_server_span() -> bool:
    """Whether this request needs chorus's server span (tracing on, no one else's)."""
    if tracing.spans() is None or _in_server_span.get():
        return False
    from opentelemetry import trace

    if trace.get_current_span().get_span_context().is_valid:
        return False  # an outer instrumentation's span
    return not _django_instrumented()


def _django_instrumented() -> bool:
    # Only ever imported by whoever instruments: not in sys.modules, not at work.
    module = sys.modules.get("opentelemetry.instrumentation.django")
    if module is None or not module.DjangoInstrumentor().is_instrumented_by_opentelemetry:
        return False
    # Its middleware makes no span for an ASGI request unless opentelemetry-instrumentation-asgi
    # is installed: it says so in this flag, which it reads on every request.
    middleware = sys.modules.get("opentelemetry.instrumentation.django.middleware.otel_middleware")
    return bool(getattr(middleware, "_is_asgi_supported", True))


def note_route(request: HttpRequest) -> None:
    """Inside chorus's server span: record the request's route and name the span after it."""
    if not _in_server_span.get():
        return  # one ContextVar read when tracing is off
    match = request.resolver_match
    if match is None or not match.route:
        return  # no URL pattern matched (a 404): the span keeps the method alone
    from opentelemetry import trace

    route = "/" + match.route.removeprefix("^").removeprefix("/")
    span = trace.get_current_span()
    span.set_attribute("http.route", route)
    span.update_name(f"{request.method} {route}")


async def serve_in_span(app: App, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
    """Serve the request with ``app`` inside a SERVER span continuing its caller's trace."""
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind, StatusCode

    spans = tracing.spans()
    assert spans is not None
    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    method = scope["method"]
    attributes = {
        "http.request.method": method,
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    with spans.tracer.start_as_current_span(
        method,
        context=propagate.extract(carrier),
        kind=SpanKind.SERVER,
        attributes=attributes,
    ) as span:

        async def send_noting_status(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                span.set_attribute("http.response.status_code", status)
                if status >= 500:  # a 4xx is the client's error, not the server's
                    span.set_attribute("error.type", str(status))
                    span.set_status(StatusCode.ERROR)
            await send(message)

        # Reset, not left set: a caller may serve several requests from one task.
        inside = _in_server_span.set(True)
        try:
            await app(scope, receive, send_noting_status)
        finally:
            _in_server_span.reset(inside)
