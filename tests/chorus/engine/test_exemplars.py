"""Exemplars: with tracing on, the upstream latency histogram links a bucket to the trace
of a request that landed in it, shown in the OpenMetrics format (and only there)."""

from __future__ import annotations

from opentelemetry.trace import format_trace_id

import chorus

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def exemplar_lines(body: bytes) -> list[str]:
    return [
        line
        for line in body.decode().splitlines()
        if line.startswith("chorus_upstream_request_duration_seconds_bucket") and " # " in line
    ]


async def test_the_request_histogram_carries_the_trace_id(settings, traced, scripted):
    settings.CHORUS = {"UPSTREAMS": {"exemplary": {"BASE_URL": scripted.url}}}
    await chorus.gather(svc=chorus.call("exemplary", "/stock"))
    request = traced.one("GET")
    body, content_type = chorus.render_metrics(accept=OPENMETRICS)
    assert content_type.startswith("application/openmetrics-text")
    lines = [line for line in exemplar_lines(body) if 'upstream="exemplary"' in line]
    trace_id = f'trace_id="{format_trace_id(request.context.trace_id)}"'
    assert [line for line in lines if trace_id in line]


async def test_the_prometheus_text_format_has_no_exemplars(settings, traced, scripted):
    settings.CHORUS = {"UPSTREAMS": {"exemplary": {"BASE_URL": scripted.url}}}
    await chorus.gather(svc=chorus.call("exemplary", "/stock"))
    body, content_type = chorus.render_metrics()
    assert content_type.startswith("text/plain")
    assert exemplar_lines(body) == []
