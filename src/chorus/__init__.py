"""Chorus: many upstreams, one fast response — concurrent fan-out for async Django.

import chorus

async def dashboard(request):
    result = await chorus.gather(
        inventory=chorus.call("inventory", "/stock"),
        analytics=chorus.call("analytics", "/summary", required=False),
        deadline=1.0,
        request=request,
    )
    return result.response()
"""

from chorus.admission import Admission, AdmissionState, admission_state
from chorus.chain import fetch
from chorus.coalesce import CoalescingCache
from chorus.composite import Composite
from chorus.conf import ChorusSettings, UpstreamConfig, get_settings
from chorus.draining import begin_draining, is_draining, wait_draining
from chorus.exceptions import (
    ChorusError,
    CircuitOpenError,
    ConfigurationError,
    EventStreamUnavailableError,
    ResponseTooLargeError,
    TransportError,
    UnknownUpstreamError,
    UnsafeRequestError,
    UpstreamBodyError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from chorus.fanout import Fanout, Source, gather, source
from chorus.lifespan import on_shutdown
from chorus.live import EventLog, LiveEvent, LiveStreamResponse
from chorus.loop_local import LoopLocal
from chorus.metrics import render as render_metrics
from chorus.metrics import track_stream
from chorus.middleware import DualModeMiddleware, NonBlockingMiddlewareMixin
from chorus.policies.config import BreakerPolicy, CachePolicy, HedgePolicy, RetryPolicy
from chorus.policies.registry import policy_report
from chorus.request_id import RequestIDFilter, RequestIDMiddleware, current_request_id
from chorus.results import Outcome, Result, SourceResult
from chorus.route_metrics import RouteMetricsMiddleware
from chorus.sse import Event, EventStreamResponse, last_event_id
from chorus.transport import (
    AiohttpTransport,
    Http1Transport,
    Transport,
    TransportResponse,
    aclose_transport,
    get_transport,
    set_transport_factory,
)
from chorus.upstream import Call, Default, call

__all__ = [
    "Admission",
    "AdmissionState",
    "AiohttpTransport",
    "BreakerPolicy",
    "CachePolicy",
    "Call",
    "ChorusError",
    "ChorusSettings",
    "CircuitOpenError",
    "CoalescingCache",
    "Composite",
    "ConfigurationError",
    "Default",
    "DualModeMiddleware",
    "Event",
    "EventLog",
    "EventStreamResponse",
    "EventStreamUnavailableError",
    "Fanout",
    "HedgePolicy",
    "Http1Transport",
    "LiveEvent",
    "LiveStreamResponse",
    "LoopLocal",
    "NonBlockingMiddlewareMixin",
    "Outcome",
    "RequestIDFilter",
    "RequestIDMiddleware",
    "ResponseTooLargeError",
    "Result",
    "RetryPolicy",
    "RouteMetricsMiddleware",
    "Source",
    "SourceResult",
    "Transport",
    "TransportError",
    "TransportResponse",
    "UnknownUpstreamError",
    "UnsafeRequestError",
    "UpstreamBodyError",
    "UpstreamConfig",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
    "aclose_transport",
    "admission_state",
    "begin_draining",
    "call",
    "current_request_id",
    "fetch",
    "gather",
    "get_settings",
    "get_transport",
    "is_draining",
    "last_event_id",
    "on_shutdown",
    "policy_report",
    "render_metrics",
    "set_transport_factory",
    "source",
    "track_stream",
    "wait_draining",
]
