"""The Prometheus metric families chorus records into, and their exposition.

Imported only when metrics are used (``_metrics.py``), so that ``import chorus``
does not import prometheus-client, an optional dependency.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["LATENCY_BUCKETS", "Families", "render_registry"]

# Seconds: resolves 5 ms to 5 s, denser around the 100-500 ms most upstreams answer in.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0,
)  # fmt: skip


class Families:
    """The metric families, made once per process (a registry refuses a name twice)."""

    def __init__(self) -> None:
        upstream = ["upstream"]
        self.request_seconds = Histogram(
            "chorus_upstream_request_duration_seconds",
            "Requests sent to an upstream, by how they ended (bulkhead wait included).",
            ["upstream", "outcome"],
            buckets=LATENCY_BUCKETS,
        )
        self.calls = Counter(
            "chorus_upstream_calls",
            "Calls to an upstream as the fan-out reported them (retries, hedge and cache included).",
            ["upstream", "outcome"],
        )
        self.in_flight = Gauge(
            "chorus_upstream_in_flight",
            "Requests to an upstream holding a bulkhead place now.",
            upstream,
            multiprocess_mode="livesum",
        )
        self.bulkhead_waits = Counter(
            "chorus_bulkhead_waits",
            "Requests that found every MAX_CONNECTIONS place taken and queued.",
            upstream,
        )
        self.bulkhead_rejections = Counter(
            "chorus_bulkhead_rejections",
            "Queued requests that gave up (deadline or cancel) before a place was free.",
            upstream,
        )
        self.breaker_state = Gauge(
            "chorus_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open (worst worker).",
            upstream,
            multiprocess_mode="livemax",
        )
        self.breaker_transitions = Counter(
            "chorus_breaker_transitions",
            "Circuit breaker state changes, by the state entered.",
            ["upstream", "state"],
        )
        self.retries = Counter("chorus_retries", "Retries sent by the retry policy.", upstream)
        self.retry_budget_refusals = Counter(
            "chorus_retry_budget_refusals",
            "Retries the retry budget refused.",
            upstream,
        )
        self.hedges = Counter("chorus_hedges", "Hedged (second) requests sent.", upstream)
        self.hedges_won = Counter(
            "chorus_hedges_won", "Hedged requests that answered first.", upstream
        )
        self.cache = Counter(
            "chorus_cache_lookups",
            "Response cache lookups: hit, miss, stale (served after an error), coalesced.",
            ["cache", "result"],
        )
        self.route_seconds = Histogram(
            "chorus_http_request_duration_seconds",
            "Time to the response (headers, for a stream), by URL route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
        )
        self.route_responses = Counter(
            "chorus_http_responses",
            "Responses by URL route and status code.",
            ["route", "status"],
        )
        self.streams_open = Gauge(
            "chorus_streams_open",
            "Event streams (SSE) and WebSockets open now, by route.",
            ["route", "transport"],
            multiprocess_mode="livesum",
        )


def render_registry(extra: Iterable[Collector] = (), *, accept: str = "") -> tuple[bytes, str]:
    """This process's metrics (or, multiprocess, every worker's files) and ``extra``,
    in the format ``accept`` (an ``Accept`` header) asks for: OpenMetrics or Prometheus's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Everything())
    for collector in extra:
        registry.register(collector)
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type


class _Everything(Collector):
    """The process's default registry, as one collector of a scrape's own registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()
