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
tests/chorus/engine/test_metrics.py reads every value back through the registry, so
a change in those internals fails the suite, not the numbers.

prometheus-client is optional (the ``prometheus`` extra) and imported only
when the first meter is made (``_metric_families.py``): ``import chorus``
never loads it. Without it installed, metrics are off as if ``METRICS`` were
``False``, and ``render()`` says which extra to install.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Final, Protocol, cast

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest

from chorus.engine._exceptions import ConfigurationError
from chorus.engine._results import Outcome
from chorus.engine._settings import UpstreamConfig, get_settings

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram
    from prometheus_client.registry import Collector
    from prometheus_client.samples import Exemplar

    from chorus.engine._metric_families import Families
    from chorus.engine.policies._breaker import BreakerState

__all__ = [
    "BREAKER_STATE_VALUES",
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

# chorus_breaker_state's values; "livemax" across workers shows the worst one.
BREAKER_STATE_VALUES: Final = {"closed": 0, "half_open": 1, "open": 2}
UNMATCHED_ROUTE: Final = "unmatched"
# What one request sent by client.send can end as (no breaker or skip at that level).
REQUEST_OUTCOMES: Final = ("ok", "timeout", "error", "bad_status", "bad_body", "cancelled")
CACHE_RESULTS: Final = ("hit", "miss", "stale", "coalesced")


_families: Families | None = None


def _the_families() -> Families:
    global _families
    if _families is None:
        from chorus.engine._metric_families import Families

        _families = Families()
    return _families


@functools.cache
def _prometheus_installed() -> bool:
    return importlib.util.find_spec("prometheus_client") is not None


def metrics_enabled() -> bool:
    return get_settings().metrics and _prometheus_installed()


class Value(Protocol):
    """A child's value store (prometheus-client's ``MutexValue`` or, multiprocess, ``MmapedValue``)."""

    def inc(self, amount: float) -> None: ...

    def set_exemplar(self, exemplar: Exemplar) -> None: ...


def _value_of(child: Counter | Gauge) -> Value:
    return cast(Value, child._value)


class Timing:
    """A histogram child's ``observe``, without its per-call checks."""

    __slots__ = ("_bounds", "_buckets", "_sum")

    def __init__(self, child: Histogram) -> None:
        self._sum = cast(Value, child._sum)
        self._buckets = cast(Sequence[Value], child._buckets)
        self._bounds: Sequence[float] = child._upper_bounds  # ends with +Inf

    def observe(self, seconds: float, exemplar: dict[str, str] | None = None) -> None:
        """Count ``seconds``; ``exemplar`` (a trace's id, with tracing on) marks its bucket."""
        self._sum.inc(seconds)
        bucket = self._buckets[bisect_left(self._bounds, seconds)]
        bucket.inc(1)
        if exemplar is not None:
            from prometheus_client.samples import Exemplar

            # Shown only in the OpenMetrics format, which render() gives when asked for;
            # prometheus-client's multiprocess values keep none.
            bucket.set_exemplar(Exemplar(exemplar, seconds, time.time()))


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

    def __init__(self, name: str, families: Families) -> None:
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

    def __init__(self, label: str, families: Families) -> None:
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

    def __init__(self, families: Families) -> None:
        self._families = families
        self._seconds: dict[str, Timing] = {}
        self._responses: dict[tuple[str, int], Value] = {}

    def record(
        self, route: str, status: int, seconds: float, exemplar: dict[str, str] | None = None
    ) -> None:
        timing = self._seconds.get(route)
        if timing is None:
            timing = self._seconds[route] = Timing(self._families.route_seconds.labels(route))
        timing.observe(seconds, exemplar)
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

        with chorus.streams.track_stream("/ws/live/", "websocket"):
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


def render(extra: Iterable[Collector] = (), *, accept: str = "") -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type.

    Under multiprocess mode it reads every worker's files (blocking file I/O:
    call it from a thread, as storefront's ``/metrics`` does). ``extra``
    collectors (an application's own, read at scrape time) are added to them.
    ``accept`` is the scraper's ``Accept`` header: when it asks for OpenMetrics
    (``application/openmetrics-text``), that is the format, and the latency
    histograms show their exemplars (the trace of a recent request, with tracing on).
    """
    if not _prometheus_installed():
        raise ConfigurationError(
            "chorus's metrics need prometheus-client: pip install 'django-chorus[prometheus]'"
        )
    from chorus.engine._metric_families import render_registry

    return render_registry(extra, accept=accept)


@receiver(setting_changed)
def _forget_on_change(*, setting: str, **kwargs: object) -> None:
    global _route_meter
    if setting == "CHORUS":
        _meters.clear()
        _route_meter = None
