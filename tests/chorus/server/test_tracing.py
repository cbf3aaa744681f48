"""chorus's server span: one per request, continuing the trace the request arrived with,
the parent of the page's fan-out; none when tracing is off."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode, format_trace_id

import chorus
from chorus.server import ChorusASGIHandler
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.urls("tests.chorus.support.tracing_urls")

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN_ID = "b7ad6b7169203331"


@pytest.fixture
def upstream(settings, scripted) -> None:
    settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": scripted.url, "TIMEOUT": 2.0}}}


async def test_a_request_with_a_traceparent_continues_its_trace(
    chorus_app, traced, upstream, scripted
):
    response = await asgi_request(
        chorus_app,
        "/page/",
        query="token=query-secret",
        headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"},
    )
    assert response.status == 200
    (server,) = [span for span in traced.spans() if span.kind is SpanKind.SERVER]
    assert format_trace_id(server.context.trace_id) == TRACE_ID
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == CALLER_SPAN_ID
    assert server.parent.is_remote
    assert server.name == "GET /page/"  # named after its route once Django resolved it
    assert server.attributes["http.route"] == "/page/"
    assert server.attributes["url.path"] == "/page/"
    assert server.attributes["http.response.status_code"] == 200
    assert "query-secret" not in str(dict(server.attributes))
    # The page's fan-out is the server span's child, and the upstream got the same trace.
    fanout = traced.one("gather")
    assert fanout.parent is not None
    assert fanout.parent.span_id == server.context.span_id
    assert scripted.headers[0]["traceparent"].split("-")[1] == TRACE_ID


async def test_a_request_without_one_starts_a_trace(chorus_app, traced, upstream, scripted):
    await asgi_request(chorus_app, "/page/")
    (server,) = [span for span in traced.spans() if span.kind is SpanKind.SERVER]
    assert server.parent is None
    assert traced.one("gather").context.trace_id == server.context.trace_id


async def test_a_request_no_route_matched_keeps_the_method_for_a_name(chorus_app, traced):
    response = await asgi_request(chorus_app, "/nowhere/")
    assert response.status == 404
    (server,) = [span for span in traced.spans() if span.kind is SpanKind.SERVER]
    assert server.name == "GET"
    assert "http.route" not in server.attributes


async def test_no_second_server_span_inside_an_outer_one(chorus_app, traced, upstream):
    tracer = traced.provider.get_tracer("an ASGI instrumentation")
    with tracer.start_as_current_span("outer", kind=SpanKind.SERVER) as outer:
        await asgi_request(chorus_app, "/page/")
    servers = [span for span in traced.spans() if span.kind is SpanKind.SERVER]
    assert [span.name for span in servers] == ["outer"]
    assert traced.one("gather").parent.span_id == outer.get_span_context().span_id


async def test_a_server_error_marks_the_span(chorus_app, traced, upstream):
    response = await asgi_request(chorus_app, "/broken/")
    assert response.status == 500
    (server,) = [span for span in traced.spans() if span.kind is SpanKind.SERVER]
    assert server.attributes["error.type"] == "500"
    assert server.status.status_code is StatusCode.ERROR


async def test_no_span_when_tracing_is_off(chorus_app, upstream, scripted):
    chorus.use_tracer_provider()
    response = await asgi_request(
        chorus_app, "/page/", headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"}
    )
    assert response.status == 200
    # Not passed on either: forwarding a caller's header is FORWARD_HEADERS' choice alone.
    assert "traceparent" not in scripted.headers[0]


async def test_each_request_served_from_one_task_has_its_own_server_span(
    chorus_app, traced, upstream
):
    await asgi_request(chorus_app, "/page/")
    await asgi_request(chorus_app, "/page/")
    servers = [span for span in traced.spans() if span.kind is SpanKind.SERVER]
    assert len(servers) == 2
    assert servers[0].context.trace_id != servers[1].context.trace_id


async def test_under_opentelemetry_instrumentation_django_its_span_is_the_only_server_span(
    settings, traced, upstream
):
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    settings.MIDDLEWARE = ["chorus.server.RequestIDMiddleware"]
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=traced.provider)
    try:
        app = ChorusASGIHandler()  # built after: its middleware chain holds the instrumentation's
        response = await asgi_request(
            app, "/page/", headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"}
        )
    finally:
        instrumentor.uninstrument()
    assert response.status == 200
    (server,) = [span for span in traced.spans() if span.kind is SpanKind.SERVER]
    assert server.instrumentation_scope.name == "opentelemetry.instrumentation.django"
    assert format_trace_id(server.context.trace_id) == TRACE_ID
    assert traced.one("gather").parent.span_id == server.context.span_id


async def test_under_a_django_instrumentation_that_cannot_serve_asgi_chorus_makes_the_span(
    settings, traced, upstream, monkeypatch
):
    # Without opentelemetry-instrumentation-asgi its middleware makes no span for an ASGI
    # request: chorus's own must stand in, or the request would have none.
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.django.middleware import otel_middleware

    monkeypatch.setattr(otel_middleware, "_is_asgi_supported", False)
    settings.MIDDLEWARE = ["chorus.server.RequestIDMiddleware"]
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=traced.provider)
    try:
        app = ChorusASGIHandler()
        response = await asgi_request(app, "/page/")
    finally:
        instrumentor.uninstrument()
    assert response.status == 200
    (server,) = [span for span in traced.spans() if span.kind is SpanKind.SERVER]
    assert server.name == "GET /page/"  # chorus's, named after the route
    assert traced.one("gather").parent.span_id == server.context.span_id
