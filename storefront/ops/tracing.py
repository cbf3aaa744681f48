"""Tracing from OpenTelemetry's standard ``OTEL_*`` variables: on when an exporter is named.

    OTEL_TRACES_EXPORTER=otlp OTEL_SERVICE_NAME=storefront \\
    OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 uv run python -m storefront.demo

``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``, or both, comma-separated)
turns it on; unset, ``none``, or ``OTEL_SDK_DISABLED=true``, storefront
configures nothing and chorus does no tracing work. The SDK reads the rest
itself: ``OTEL_SERVICE_NAME`` (``storefront`` when unset) and
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER`` and its ``_ARG`` (the
default samples every trace, following a caller's decision), and
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``; OTLP over HTTP,
port 4318). Spans leave in batches from the SDK's own thread, never on the
event loop; at shutdown what is left is flushed, off the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

import chorus

__all__ = ["build_provider", "configure_tracing"]


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER: {name!r} is not one of otlp, console, none")


def build_provider(environ: Mapping[str, str]) -> TracerProvider | None:
    """The SDK's provider the ``OTEL_*`` variables ask for, or ``None`` for no tracing."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = [
        name.strip().lower()
        for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip()
    ]
    names = [name for name in names if name != "none"]
    if not names:
        return None
    service = environ.get("OTEL_SERVICE_NAME") or "storefront"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    return provider


def configure_tracing(environ: Mapping[str, str]) -> TracerProvider | None:
    """Install the provider (once per process: OpenTelemetry's global) and tell chorus."""
    provider = build_provider(environ)
    if provider is None:
        return None
    trace.set_tracer_provider(provider)
    chorus.use_tracer_provider()

    async def flush() -> None:
        await asyncio.to_thread(provider.shutdown)  # exports what is left: blocking I/O

    chorus.server.on_shutdown(flush)
    return provider
