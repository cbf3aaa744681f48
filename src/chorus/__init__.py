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

This face is the fan-out engine (``chorus/engine/``): gather, ``Fanout``,
sources, results, calls and their policies, the transport, and ``Composite``
(``chorus/views/``). The server side is ``chorus.server``, Server-Sent Events
and live events are ``chorus.streams``, and test helpers are ``chorus.testing``.
Optional integrations load when used: ``AiohttpTransport`` (the ``aiohttp``
extra), metrics (``prometheus``), shared state (``redis``), tracing
(``otel``: OpenTelemetry, ``use_tracer_provider``).
"""

from __future__ import annotations

import importlib.metadata as _metadata
from typing import TYPE_CHECKING

from chorus.engine._call import Call, Default, call
from chorus.engine._chain import fetch
from chorus.engine._exceptions import (
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
from chorus.engine._fanout import Fanout, Source, gather, source
from chorus.engine._loop_local import LoopLocal
from chorus.engine._metrics import render as render_metrics
from chorus.engine._policy_config import BreakerPolicy, CachePolicy, HedgePolicy, RetryPolicy
from chorus.engine._request_context import current_request_id
from chorus.engine._results import Outcome, Result, SourceResult
from chorus.engine._settings import ChorusSettings, UpstreamConfig, get_settings
from chorus.engine._tracing import use_tracer_provider
from chorus.engine.policies._registry import policy_report
from chorus.engine.transport._base import Transport, TransportResponse
from chorus.engine.transport._factory import (
    aclose_transport,
    get_transport,
    set_transport_factory,
)
from chorus.engine.transport._http1 import Http1Transport
from chorus.views._composite import Composite

if TYPE_CHECKING:
    from chorus.engine.transport._aiohttp import AiohttpTransport

try:
    __version__ = _metadata.version("django-chorus")
except _metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "AiohttpTransport",
    "BreakerPolicy",
    "CachePolicy",
    "Call",
    "ChorusError",
    "ChorusSettings",
    "CircuitOpenError",
    "Composite",
    "ConfigurationError",
    "Default",
    "EventStreamUnavailableError",
    "Fanout",
    "HedgePolicy",
    "Http1Transport",
    "LoopLocal",
    "Outcome",
    "ResponseTooLargeError",
    "Result",
    "RetryPolicy",
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
    "__version__",
    "aclose_transport",
    "call",
    "current_request_id",
    "fetch",
    "gather",
    "get_settings",
    "get_transport",
    "policy_report",
    "render_metrics",
    "set_transport_factory",
    "source",
    "use_tracer_provider",
]


def __getattr__(name: str) -> object:
    # aiohttp is an optional dependency: imported only when its transport is asked for.
    if name == "AiohttpTransport":
        try:
            from chorus.engine.transport._aiohttp import AiohttpTransport
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                "chorus.AiohttpTransport needs aiohttp: pip install 'django-chorus[aiohttp]'"
            ) from error
        return AiohttpTransport
    raise AttributeError(f"module 'chorus' has no attribute {name!r}")
