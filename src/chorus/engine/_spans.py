"""chorus's spans: a fan-out, its sources, each request to an upstream (OpenTelemetry).

Imported only once ``chorus.engine._tracing`` has found a configured tracer
provider, so this module may import ``opentelemetry`` at the top. A trace
of a fan-out reads::

    gather                         (INTERNAL: the sources, the deadline)
    ├── source inventory           (INTERNAL: outcome, attempts, cache, stale, hedged)
    │   ├── GET                    (CLIENT: one per request sent, a retry's or hedge's too)
    │   └── GET                    (http.request.resend_count 1, or chorus.hedge)
    └── source orders              (an awaitable: the span is the source's own)

Each request carries the client span's context to the upstream in its headers
(``traceparent``, ``tracestate``), through OpenTelemetry's configured
propagator. What happened on the way is said where it happened: a breaker's
refusal (``chorus.circuit_open``), the deadline's cancellation
(``chorus.deadline``), another cancellation (``chorus.cancelled``) and a stale
answer (``chorus.stale``) are span events; which request of a hedged call won is
``chorus.hedge.winner`` on the source's span.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.metadata
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer, TracerProvider

from chorus.engine._attempt import Attempt, Reply
from chorus.engine._exceptions import UpstreamError
from chorus.engine._expiry import by_deadline
from chorus.engine._results import Outcome, SourceResult
from chorus.engine._span_attributes import client_attributes, error_type, source_attributes

__all__ = ["Spans", "tracer_of"]

# Set in a hedge's own task, so that its request's span says it is the hedge.
_in_hedge: contextvars.ContextVar[bool] = contextvars.ContextVar("chorus_in_hedge", default=False)


def tracer_of(provider: TracerProvider | None) -> Tracer | None:
    """chorus's tracer from ``provider`` (else the global one); ``None`` when it records nothing."""
    chosen = trace.get_tracer_provider() if provider is None else provider
    # The API's defaults: nothing configured (the proxy has no provider behind it yet).
    if isinstance(chosen, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return chosen.get_tracer("chorus", importlib.metadata.version("django-chorus"))


class Spans:
    """The tracing hooks of the fan-out, the policies and the innermost send."""

    __slots__ = ("tracer",)

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    # -- a fan-out and its sources ----------------------------------------------------

    def fanout(self, names: Iterable[str], deadline: float | None) -> Span:
        """The fan-out's span, a child of the current one (not made current: its sources
        run in tasks of their own, and ``Fanout`` is also an async iterator)."""
        span = self.tracer.start_span("gather", attributes={"chorus.sources": tuple(names)})
        if deadline is not None:
            span.set_attribute("chorus.deadline_ms", round(deadline * 1000, 1))
        return span

    def fanout_ended(self, span: Span, results: Mapping[str, SourceResult]) -> None:
        failed = tuple(name for name, result in results.items() if not result.answered)
        if failed:
            span.set_attribute("chorus.failed", failed)
            if any(results[name].required for name in failed):
                span.set_status(StatusCode.ERROR, "a required source failed")
        span.end()

    async def source(
        self,
        run: Callable[[], Awaitable[SourceResult]],
        name: str,
        upstream: str | None,
        parent: Span,
    ) -> SourceResult:
        """Run one source (``run``) inside its span, which is current in its task."""
        attributes: dict[str, str] = {"chorus.source": name}
        if upstream is not None:
            attributes["chorus.upstream"] = upstream
        span = self.tracer.start_span(
            f"source {name}", context=trace.set_span_in_context(parent), attributes=attributes
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            result = await run()
            _describe(span, result)
            return result
        except asyncio.CancelledError:
            # The caller went away, or a required source failed (fail-fast).
            span.set_attribute("chorus.outcome", Outcome.CANCELLED.value)
            span.add_event("chorus.cancelled")
            raise
        finally:
            otel_context.detach(token)
            span.end()

    # -- each request -----------------------------------------------------------------

    async def send(
        self, send_one: Callable[[Attempt, Spans], Awaitable[Reply]], attempt: Attempt
    ) -> Reply:
        """Send one request (``send_one``) inside its client span."""
        attributes = client_attributes(attempt.call, attempt.upstream)
        if attempt.sent > 0:
            attributes["http.request.resend_count"] = attempt.sent
        if _in_hedge.get():
            attributes["chorus.hedge"] = True
        with self.tracer.start_as_current_span(
            attempt.call.method,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                reply = await send_one(attempt, self)
            except UpstreamError as error:
                if error.status is not None:
                    span.set_attribute("http.response.status_code", error.status)
                span.set_attribute("error.type", error_type(error))
                span.set_status(StatusCode.ERROR, error.message)
                raise
            except asyncio.CancelledError as error:
                if by_deadline(error):
                    span.set_attribute("error.type", Outcome.TIMEOUT.value)
                    span.set_status(StatusCode.ERROR, "cancelled by the deadline")
                    span.add_event("chorus.deadline")
                else:  # a hedge's loser, fail-fast, the caller gone
                    span.add_event("chorus.cancelled")
                raise
            if reply.status is not None:
                span.set_attribute("http.response.status_code", reply.status)
            return reply

    @staticmethod
    def inject(headers: dict[str, str]) -> None:
        """The current span's context into an upstream request's headers."""
        propagate.inject(headers)

    # -- hedging ----------------------------------------------------------------------

    @staticmethod
    def hedge_task(request: Coroutine[Any, Any, Reply]) -> asyncio.Task[Reply]:
        """The hedge's task, whose request's span is marked as the hedge."""
        context = contextvars.copy_context()
        context.run(_in_hedge.set, True)
        return asyncio.get_running_loop().create_task(request, context=context)

    @staticmethod
    def hedge_won(winner: str) -> None:
        """Which request of a hedged call answered: ``"first"`` or ``"hedge"``."""
        trace.get_current_span().set_attribute("chorus.hedge.winner", winner)

    # -- metrics ----------------------------------------------------------------------

    @staticmethod
    def exemplar() -> dict[str, str] | None:
        """The current trace for a histogram's exemplar, if it is sampled."""
        context = trace.get_current_span().get_span_context()
        if not context.trace_flags.sampled:
            return None
        return {
            "trace_id": trace.format_trace_id(context.trace_id),
            "span_id": trace.format_span_id(context.span_id),
        }


def _describe(span: Span, result: SourceResult) -> None:
    span.set_attributes(source_attributes(result))
    if result.outcome is Outcome.TIMEOUT:
        span.add_event("chorus.deadline", {"chorus.error": result.error or ""})
    elif result.outcome is Outcome.CIRCUIT_OPEN:
        span.add_event("chorus.circuit_open")
    if result.stale:
        span.add_event("chorus.stale", {"chorus.error": result.error or ""})
    elif not result.answered:
        span.set_status(StatusCode.ERROR, result.error)
