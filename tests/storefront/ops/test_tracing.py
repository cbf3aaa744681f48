"""storefront/ops/tracing.py: tracing from the OTEL_* variables, off when none names an exporter.

Only the provider is built here: installing it is once per process (OpenTelemetry's
global), and chorus's own tests trace through providers of their own.
"""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

from storefront.ops.tracing import build_provider


def exporters(provider) -> list[type]:
    processors = provider._active_span_processor._span_processors
    return [type(processor._batch_processor._exporter) for processor in processors]


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"},
    ],
)
def test_no_exporter_named_is_no_tracing(environ):
    assert build_provider(environ) is None


def test_console_and_otlp_exporters_with_the_service_name():
    provider = build_provider(
        {"OTEL_TRACES_EXPORTER": "console,otlp", "OTEL_SERVICE_NAME": "shop-eu"}
    )
    try:
        assert provider.resource.attributes["service.name"] == "shop-eu"
        assert exporters(provider) == [ConsoleSpanExporter, OTLPSpanExporter]
    finally:
        provider.shutdown()


def test_the_service_is_storefront_unless_named():
    provider = build_provider({"OTEL_TRACES_EXPORTER": "console"})
    try:
        assert provider.resource.attributes["service.name"] == "storefront"
    finally:
        provider.shutdown()


def test_the_sampler_comes_from_its_variables(monkeypatch):
    # The SDK reads OTEL_TRACES_SAMPLER from the process environment itself.
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    provider = build_provider({"OTEL_TRACES_EXPORTER": "console"})
    try:
        assert isinstance(provider.sampler, TraceIdRatioBased)
        assert provider.sampler.rate == 0.25
    finally:
        provider.shutdown()


def test_an_unknown_exporter_is_named():
    with pytest.raises(ValueError, match="'zipkin' is not one of otlp, console, none"):
        build_provider({"OTEL_TRACES_EXPORTER": "zipkin"})
