"""Prometheus metrics of chorus's calls, policies, routes and streams (``prometheus-client``).

Every name starts with ``chorus_``; the labels are bounded by configuration
(upstream names, the URLconf's routes, outcomes, states), never by request
values. docs/chorus.md#metrics lists them.

Several worker processes: when ``PROMETHEUS_MULTIPROC_DIR`` is set before the
worker imports ``prometheus_client``, values live in memory-mapped files in
that directory (prometheus-client's multiprocess mode) and ``render()`` adds
up every process's files; otherwise they live in this process's default
registry. The server must empty the directory at start and tell
prometheus-client when a worker exits (deploy/gunicorn.conf.py does).

``CHORUS["METRICS"] = False`` turns recording off: each hook is then one
branch on a cached ``None``. The hot path never calls ``.labels()``: each
upstream's children are bound once, in an ``UpstreamMeter``, and looked up by
name (``upstream_meter``); the meters are dropped when ``CHORUS`` changes.
What is recorded on every call (``Timing``, ``_value_of``) goes straight to
the children's value stores, past the checks prometheus-client's ``inc`` and
``observe`` repeat on every call (a third of what metrics cost a request);
tests/chorus/test_metrics.py reads every value back through the registry, so
a change in those internals fails the suite, not the numbers.

prometheus-client is a dependency of chorus, not an option: it is pure
Python with no dependencies of its own, and one code path is easier to trust
than two (``METRICS = False`` is the way to pay nothing).
"""

from __future__ import annotations

import contextlib
import os
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Final, Protocol, cast

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from chorus.conf import UpstreamConfig, get_settings
from chorus.results import Outcome

if TYPE_CHECKING:
    from chorus.policies.breaker import BreakerState

__all__ = [
    "BREAKER_STATE_VALUES",
    "LATENCY_BUCKETS",
    "UNMATCHED_ROUTE",
    "Timing",
    "UpstreamMeter",
    "Value",
    "cache_meter",
    "metrics_enabled",
    "render",
    "route_label",
    "track_stream",
    "upstream_meter",
]

# Seconds: resolves 5 ms to 5 s, denser around the 100-500 ms most upstreams answer in.
LATENCY_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0,
)  # fmt: skip
# chorus_breaker_state's values; "livemax" across workers shows the worst one.
BREAKER_STATE_VALUES: Final = {"closed": 0, "half_open": 1, "open": 2}
UNMATCHED_ROUTE: Final = "unmatched"
# What one request sent by client.send can end as (no breaker or skip at that level).
REQUEST_OUTCOMES: Final = ("ok", "timeout", "error", "bad_status", "bad_body", "cancelled")
CACHE_RESULTS: Final = ("hit", "miss", "stale", "coalesced")


class _Families:
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


_families: _Families | None = None


def _the_families() -> _Families:
    global _families
    if _families is None:
        _families = _Families()
    return _families


def metrics_enabled() -> bool:
    return get_settings().metrics


class Value(Protocol):
    """A child's value store (prometheus-client's ``MutexValue`` or, multiprocess, ``MmapedValue``)."""

    def inc(self, amount: float) -> None: ...


def _value_of(child: Counter | Gauge) -> Value:
    return cast(Value, child._value)


class Timing:
    """A histogram child's ``observe``, without its per-call checks."""

    __slots__ = ("_bounds", "_buckets", "_sum")

    def __init__(self, child: Histogram) -> None:
        self._sum = cast(Value, child._sum)
        self._buckets = cast(Sequence[Value], child._buckets)
        self._bounds: Sequence[float] = child._upper_bounds  # ends with +Inf

    def observe(self, seconds: float) -> None:
        self._sum.inc(seconds)
        self._buckets[bisect_left(self._bounds, seconds)].inc(1)


class UpstreamMeter:
    """One upstream's metric children, bound once: the hooks' only way to record."""

    __slots__ = (
        "breaker_state",
        "breaker_transitions",
        "bulkhead_rejections",
        "bulkhead_waits",
        "calls",
        "hedges",
        "hedges_won",
        "in_flight",
        "requests",
        "retries",
        "retry_budget_refusals",
    )

    def __init__(self, name: str, families: _Families) -> None:
        # On every call: value stores, each incremented by an explicit amount.
        self.requests = {
            outcome: Timing(families.request_seconds.labels(name, outcome))
            for outcome in REQUEST_OUTCOMES
        }
        self.calls = {
            outcome: _value_of(families.calls.labels(name, outcome.value)) for outcome in Outcome
        }
        self.in_flight = _value_of(families.in_flight.labels(name))
        # Now and then: the children themselves.
        self.bulkhead_waits = families.bulkhead_waits.labels(name)
        self.bulkhead_rejections = families.bulkhead_rejections.labels(name)
        self.breaker_state = families.breaker_state.labels(name)
        self.breaker_transitions = {
            state: families.breaker_transitions.labels(name, state)
            for state in BREAKER_STATE_VALUES
        }
        self.retries = families.retries.labels(name)
        self.retry_budget_refusals = families.retry_budget_refusals.labels(name)
        self.hedges = families.hedges.labels(name)
        self.hedges_won = families.hedges_won.labels(name)

    def breaker_moved(self, state: BreakerState) -> None:
        """A breaker entered ``state``: the gauge and the transition counter."""
        self.breaker_state.set(BREAKER_STATE_VALUES[state.value])
        self.breaker_transitions[state.value].inc()


_meters: dict[str, UpstreamMeter | None] = {}


def upstream_meter(upstream: UpstreamConfig) -> UpstreamMeter | None:
    """The upstream's meter; ``None`` when metrics are off."""
    try:
        return _meters[upstream.name]
    except KeyError:
        meter = UpstreamMeter(upstream.name, _the_families()) if metrics_enabled() else None
        _meters[upstream.name] = meter
        return meter


class CacheMeter:
    __slots__ = ("coalesced", "hit", "miss", "stale")

    def __init__(self, label: str, families: _Families) -> None:
        self.hit, self.miss, self.stale, self.coalesced = (
            families.cache.labels(label, result) for result in CACHE_RESULTS
        )


def cache_meter(cache_name: str) -> CacheMeter | None:
    """A response cache's counters (``None`` when metrics are off).

    An awaitable source's cache is named by its ``cache_key``, which may hold
    request values: those are all counted under the one label ``source``.
    """
    if not metrics_enabled():
        return None
    label = "source" if cache_name.startswith("source:") else cache_name
    return CacheMeter(label, _the_families())


# -- routes and streams -------------------------------------------------------


def route_label(request: HttpRequest) -> str:
    """The request's URL pattern (``/api/orders/<int:pk>/``), never its path."""
    match = getattr(request, "resolver_match", None)
    route: str | None = None if match is None else match.route
    return UNMATCHED_ROUTE if route is None else "/" + route


class RouteMeter:
    """The route children, bound on first use per route and status (a bounded set)."""

    def __init__(self, families: _Families) -> None:
        self._families = families
        self._seconds: dict[str, Timing] = {}
        self._responses: dict[tuple[str, int], Value] = {}

    def record(self, route: str, status: int, seconds: float) -> None:
        timing = self._seconds.get(route)
        if timing is None:
            timing = self._seconds[route] = Timing(self._families.route_seconds.labels(route))
        timing.observe(seconds)
        counter = self._responses.get((route, status))
        if counter is None:
            counter = self._responses[route, status] = _value_of(
                self._families.route_responses.labels(route, str(status))
            )
        counter.inc(1)


_route_meter: RouteMeter | None = None


def route_meter() -> RouteMeter | None:
    global _route_meter
    if not metrics_enabled():
        return None
    if _route_meter is None:
        _route_meter = RouteMeter(_the_families())
    return _route_meter


@contextlib.contextmanager
def track_stream(route: str, transport: str) -> Iterator[None]:
    """Count a stream as open for as long as the block runs (``chorus_streams_open``).

        with chorus.track_stream("/ws/live/", "websocket"):
            await forward_events()

    ``transport`` is ``"sse"`` or ``"websocket"``; ``EventStreamResponse``
    tracks its own streams as ``"sse"``.
    """
    if not metrics_enabled():
        yield
        return
    gauge = _the_families().streams_open.labels(route, transport)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


# -- exposition ---------------------------------------------------------------


def render(extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type.

    Under multiprocess mode it reads every worker's files (blocking file I/O:
    call it from a thread, as storefront's ``/metrics`` does). ``extra``
    collectors (an application's own, read at scrape time) are added to them.
    """
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Everything())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Everything(Collector):
    """The process's default registry, as one collector of a scrape's own registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


@receiver(setting_changed)
def _forget_on_change(*, setting: str, **kwargs: object) -> None:
    global _route_meter
    if setting == "CHORUS":
        _meters.clear()
        _route_meter = None
