"""Tracing a fan-out against a real loopback upstream: the spans, their parentage and
attributes, the trace context each request carries, and nothing at all when tracing is off."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

import chorus
import chorus.testing
from chorus import Outcome
from chorus.engine import _tracing as tracing
from chorus.engine._span_attributes import redact_url


@pytest.fixture(autouse=True)
def _fresh_policies() -> Iterator[None]:
    chorus.testing.set_testing(True)
    try:
        yield
    finally:
        chorus.testing.reset_policies()
        chorus.testing.set_testing(False)


@pytest.fixture
def upstream(settings, scripted) -> Callable[..., None]:
    """``upstream(**entry)``: CHORUS with one upstream "svc" on the scripted loopback server."""

    def configure(base_url: str | None = None, **entry: object) -> None:
        settings.CHORUS = {
            "UPSTREAMS": {"svc": {"BASE_URL": base_url or scripted.url, "TIMEOUT": 2.0, **entry}},
            "DEFAULT_DEADLINE": 3.0,
        }

    return configure


async def count_orders() -> int:
    await asyncio.sleep(0)
    return 3


async def test_a_fanout_is_a_span_with_a_child_per_source(traced, upstream, scripted):
    upstream()
    await chorus.gather(svc=chorus.call("svc", "/stock"), orders=count_orders(), deadline=1.0)
    fanout = traced.one("gather")
    assert fanout.attributes["chorus.sources"] == ("svc", "orders")
    assert fanout.attributes["chorus.deadline_ms"] == 1000.0
    sources = {span.name: span for span in traced.children(fanout)}
    assert set(sources) == {"source svc", "source orders"}
    assert sources["source svc"].attributes["chorus.outcome"] == "ok"
    assert sources["source svc"].attributes["chorus.upstream"] == "svc"
    assert sources["source orders"].attributes["chorus.outcome"] == "ok"
    assert "chorus.upstream" not in sources["source orders"].attributes


async def test_each_request_is_a_client_span_after_the_http_conventions(traced, upstream, scripted):
    upstream()
    await chorus.gather(svc=chorus.call("svc", "/items/{sku}", path_params={"sku": "a1"}))
    (request,) = traced.children(traced.one("source svc"))
    assert request.name == "GET"
    assert request.kind is SpanKind.CLIENT
    host, port = scripted.url.removeprefix("http://").split(":")
    assert request.attributes["http.request.method"] == "GET"
    assert request.attributes["server.address"] == host
    assert request.attributes["server.port"] == int(port)
    assert request.attributes["url.full"] == f"{scripted.url}/items/a1"
    assert request.attributes["http.response.status_code"] == 200
    assert "error.type" not in request.attributes


async def test_each_request_carries_its_client_spans_trace_context(traced, upstream, scripted):
    upstream()
    await chorus.gather(svc=chorus.call("svc", "/stock"))
    request = traced.one("GET")
    context = request.context
    version, trace_id, parent_id, flags = scripted.headers[0]["traceparent"].split("-")
    assert (version, trace_id, parent_id) == (
        "00",
        format_trace_id(context.trace_id),
        format_span_id(context.span_id),
    )
    assert int(flags, 16) & 1  # sampled


async def test_a_fanout_inside_a_span_joins_its_trace(traced, upstream, scripted):
    upstream()
    tracer = traced.provider.get_tracer("test")
    with tracer.start_as_current_span("page") as page:
        await chorus.gather(svc=chorus.call("svc", "/stock"))
    fanout = traced.one("gather")
    assert fanout.parent is not None
    assert fanout.parent.span_id == page.get_span_context().span_id
    assert format_trace_id(page.get_span_context().trace_id) in scripted.headers[0]["traceparent"]


async def test_a_retried_call_has_a_client_span_per_attempt(traced, upstream, scripted):
    upstream(RETRY={"ATTEMPTS": 2})
    scripted.script["/stock"] = [(503, 0.0)]
    result = await chorus.gather(svc=chorus.call("svc", "/stock"))
    assert result.sources["svc"].attempts == 2
    source = traced.one("source svc")
    first, second = sorted(traced.children(source), key=lambda span: span.start_time)
    assert first.attributes["error.type"] == "503"
    assert first.attributes["http.response.status_code"] == 503
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.request.resend_count"] == 1
    assert second.attributes["http.response.status_code"] == 200
    assert source.attributes["chorus.attempts"] == 2
    # Each attempt sent its own span's context.
    sent = [headers["traceparent"].split("-")[2] for headers in scripted.headers]
    assert sent == [format_span_id(span.context.span_id) for span in (first, second)]


async def test_a_hedged_call_has_a_span_per_request_and_says_which_won(traced, upstream, scripted):
    upstream(HEDGE={"DELAY": 0.05})
    scripted.script["/stock"] = [(200, 2.0)]  # the first request hangs; the hedge answers
    result = await chorus.gather(svc=chorus.call("svc", "/stock"))
    assert result.sources["svc"].hedged
    source = traced.one("source svc")
    assert source.attributes["chorus.hedge.winner"] == "hedge"
    assert source.attributes["chorus.hedged"] is True
    requests = traced.children(source)
    (hedge,) = [span for span in requests if span.attributes.get("chorus.hedge")]
    (first,) = [span for span in requests if not span.attributes.get("chorus.hedge")]
    assert hedge.attributes["http.response.status_code"] == 200
    assert [event.name for event in first.events] == ["chorus.cancelled"]


async def test_a_stale_answer_and_a_cache_hit_are_marked(traced, upstream, scripted):
    upstream(CACHE={"TTL": 0, "STALE_IF_ERROR": 60.0})
    scripted.script["/stock"] = [(200, 0.0), (503, 0.0)]
    await chorus.gather(svc=chorus.call("svc", "/stock"))
    traced.exporter.clear()
    result = await chorus.gather(svc=chorus.call("svc", "/stock"))
    assert result.sources["svc"].stale
    source = traced.one("source svc")
    assert source.attributes["chorus.stale"] is True
    assert [event.name for event in source.events] == ["chorus.stale"]
    assert source.status.status_code is StatusCode.UNSET  # answered, if stale


async def test_a_cache_hit_sends_no_request(traced, upstream, scripted):
    upstream(CACHE={"TTL": 60.0})
    await chorus.gather(svc=chorus.call("svc", "/stock"))
    traced.exporter.clear()
    await chorus.gather(svc=chorus.call("svc", "/stock"))
    source = traced.one("source svc")
    assert source.attributes["chorus.cache"] == "hit"
    assert traced.children(source) == []
    assert len(scripted.headers) == 1


async def test_the_deadlines_cancellation_is_an_event(traced, upstream, scripted):
    upstream()
    scripted.script["/stock"] = [(200, 2.0)]
    result = await chorus.gather(svc=chorus.call("svc", "/stock"), deadline=0.1)
    assert result.sources["svc"].outcome is Outcome.TIMEOUT
    source = traced.one("source svc")
    assert [event.name for event in source.events] == ["chorus.deadline"]
    assert source.attributes["error.type"] == "timeout"
    request = traced.one("GET")
    assert request.attributes["error.type"] == "timeout"
    assert [event.name for event in request.events] == ["chorus.deadline"]


async def test_a_breakers_refusal_is_an_event_with_no_request(traced, upstream, scripted):
    upstream(BREAKER={"MINIMUM_CALLS": 1, "WINDOW": 1})
    scripted.script["/stock"] = [(503, 0.0)]
    await chorus.gather(svc=chorus.call("svc", "/stock"))
    traced.exporter.clear()
    result = await chorus.gather(svc=chorus.call("svc", "/stock"))
    assert result.sources["svc"].outcome is Outcome.CIRCUIT_OPEN
    source = traced.one("source svc")
    assert [event.name for event in source.events] == ["chorus.circuit_open"]
    assert source.status.status_code is StatusCode.ERROR
    assert traced.children(source) == []
    assert traced.one("gather").attributes["chorus.failed"] == ("svc",)


async def test_no_secret_reaches_any_attribute(traced, upstream, scripted):
    host = scripted.url.removeprefix("http://")
    upstream(base_url=f"http://{host}/base")
    await chorus.gather(
        svc=chorus.call(
            "svc",
            "/stock",
            params={"api_key": "param-secret", "sku": "a1"},
            headers={"X-Api-Key": "header-secret", "Authorization": "Bearer bearer-secret"},
        )
    )
    assert scripted.headers[0]["x-api-key"] == "header-secret"  # it was sent, all the same
    values = [
        str(value)
        for span in traced.spans()
        for attributes in (span.attributes, *(event.attributes for event in span.events))
        for value in attributes.values()
    ]
    for secret in ("param-secret", "header-secret", "bearer"):
        assert not [value for value in values if secret in value.lower()], secret
    url = traced.one("GET").attributes["url.full"]
    assert url == (f"http://{host}/base/stock?api_key=REDACTED&sku=a1")


def test_a_urls_userinfo_and_secret_query_values_are_redacted():
    # chorus.E003 refuses credentials in BASE_URL; the span would not show them either.
    url = redact_url("https://u:pw@h.example:8443/p?sig=s1&page=2", (("access_token", "t"),))
    assert (
        url
        == "https://REDACTED:REDACTED@h.example:8443/p?sig=REDACTED&page=2&access_token=REDACTED"
    )


async def test_no_span_and_no_trace_context_when_tracing_is_off(upstream, scripted):
    upstream()
    chorus.use_tracer_provider()  # OpenTelemetry's global provider: none is configured
    result = await chorus.gather(svc=chorus.call("svc", "/stock"))
    assert result.sources["svc"].ok
    assert tracing.spans() is None
    assert "traceparent" not in scripted.headers[0]


async def test_a_provider_configured_later_is_seen_once_chorus_is_told(upstream, scripted, traced):
    upstream()
    chorus.use_tracer_provider()
    await chorus.gather(svc=chorus.call("svc", "/stock"))
    assert traced.spans() == []
    chorus.use_tracer_provider(traced.provider)
    await chorus.gather(svc=chorus.call("svc", "/stock"))
    assert [span.name for span in traced.spans()] == ["GET", "source svc", "gather"]


async def test_fetch_on_its_own_is_a_client_span_under_the_current_one(traced, upstream, scripted):
    upstream()
    tracer = traced.provider.get_tracer("test")
    with tracer.start_as_current_span("task") as task:
        assert await chorus.fetch(chorus.call("svc", "/stock")) == {"path": "/stock"}
    request = traced.one("GET")
    assert request.parent is not None
    assert request.parent.span_id == task.get_span_context().span_id
    assert scripted.headers[0]["traceparent"].split("-")[2] == format_span_id(
        request.context.span_id
    )
