"""chorus's Prometheus metrics against real loopback upstreams (the simulator, scripted
servers): each hook moves its counter, histogram or gauge by exactly what happened."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

import chorus
import chorus.testing
from chorus import Outcome
from tests.chorus.engine.policies.conftest import run
from tests.chorus.engine.policies.test_hedge import until_in_flight
from tests.chorus.engine.policies.test_retry import UNAVAILABLE, scripted


def sample(name: str, **labels: str) -> float:
    """A sample's value in this process's registry (0 before its first use)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """Samples read before and after: ``delta.of(name, **labels)`` is the change."""

    def __init__(self, *series: tuple[str, dict[str, str]]) -> None:
        self._before = {self._key(name, labels): sample(name, **labels) for name, labels in series}

    @staticmethod
    def _key(name: str, labels: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
        return name, tuple(sorted(labels.items()))

    def of(self, series: tuple[str, dict[str, str]]) -> float:
        name, labels = series
        return sample(name, **labels) - self._before[self._key(name, labels)]


def calls(upstream: str, outcome: str) -> tuple[str, dict[str, str]]:
    return "chorus_upstream_calls_total", {"upstream": upstream, "outcome": outcome}


def requests(upstream: str, outcome: str) -> tuple[str, dict[str, str]]:
    return (
        "chorus_upstream_request_duration_seconds_count",
        {"upstream": upstream, "outcome": outcome},
    )


def counter(name: str, upstream: str = "svc") -> tuple[str, dict[str, str]]:
    return f"chorus_{name}_total", {"upstream": upstream}


@pytest.fixture(autouse=True)
def _fresh_policies(chorus_policies: None) -> None:
    """Every test here gets chorus's own ``chorus_policies`` fixture."""


@pytest.fixture
def svc(settings, simulator):
    """``svc(**entry)``: CHORUS with the upstream "svc" on the simulator's inventory."""

    def configure(base_url: str | None = None, metrics: bool = True, **entry) -> None:
        settings.CHORUS = {
            "UPSTREAMS": {
                "svc": {
                    "BASE_URL": base_url or simulator.service_url("inventory"),
                    "TIMEOUT": 1.0,
                    **entry,
                }
            },
            "DEFAULT_DEADLINE": 3.0,
            "METRICS": metrics,
        }

    configure()
    return configure


async def test_a_good_call_is_counted_and_timed(svc):
    delta = Delta(calls("svc", "ok"), requests("svc", "ok"))
    bucket = "chorus_upstream_request_duration_seconds_bucket"
    le_50ms = sample(bucket, upstream="svc", outcome="ok", le="0.05")
    le_200ms = sample(bucket, upstream="svc", outcome="ok", le="0.2")
    assert (await run(chorus.call("svc", "/stock"))).ok
    assert delta.of(calls("svc", "ok")) == 1
    assert delta.of(requests("svc", "ok")) == 1
    # The simulator answers after 100 ms: in the 200 ms bucket, not the 50 ms one.
    assert sample(bucket, upstream="svc", outcome="ok", le="0.05") == le_50ms
    assert sample(bucket, upstream="svc", outcome="ok", le="0.2") == le_200ms + 1


async def test_failures_are_labelled_with_their_outcome(svc, simulator):
    delta = Delta(calls("svc", "bad_status"), requests("svc", "bad_status"))
    await simulator.aset_fault("inventory", status=500)
    assert (await run(chorus.call("svc", "/stock"))).outcome is Outcome.BAD_STATUS
    assert delta.of(calls("svc", "bad_status")) == 1
    assert delta.of(requests("svc", "bad_status")) == 1


async def test_a_call_cut_off_by_its_time_limit_is_a_timeout(svc, simulator):
    delta = Delta(calls("svc", "timeout"), requests("svc", "timeout"))
    await simulator.aset_fault("inventory", fault="hang")
    assert (await run(chorus.call("svc", "/stock", timeout=0.1))).outcome is Outcome.TIMEOUT
    assert delta.of(calls("svc", "timeout")) == 1
    assert delta.of(requests("svc", "timeout")) == 1


async def test_fetch_counts_its_call_too(svc, simulator):
    delta = Delta(calls("svc", "ok"), calls("svc", "bad_status"))
    await chorus.fetch(chorus.call("svc", "/stock"))
    await simulator.aset_fault("inventory", status=503)
    with pytest.raises(chorus.UpstreamStatusError):
        await chorus.fetch(chorus.call("svc", "/stock"))
    assert delta.of(calls("svc", "ok")) == 1
    assert delta.of(calls("svc", "bad_status")) == 1


async def test_in_flight_counts_requests_on_the_wire(svc, simulator):
    gauge = ("chorus_upstream_in_flight", {"upstream": "svc"})
    await simulator.aset_fault("inventory", fault="hang")
    pending = asyncio.create_task(run(chorus.call("svc", "/stock", timeout=0.5)))
    await until_in_flight(simulator, "inventory")
    assert sample(gauge[0], **gauge[1]) == 1
    await pending
    assert sample(gauge[0], **gauge[1]) == 0


async def test_bulkhead_waits_and_rejections(svc, simulator):
    svc(MAX_CONNECTIONS=1)
    delta = Delta(counter("bulkhead_waits"), counter("bulkhead_rejections"))
    await simulator.aset_fault("inventory", latency_ms=200)
    # The second call queues for the only place; the third gives up before it is free.
    landed = await chorus.gather(
        first=chorus.call("svc", "/stock"),
        second=chorus.call("svc", "/stock"),
        third=chorus.call("svc", "/stock", timeout=0.1, required=False),
    )
    assert landed.sources["second"].ok
    assert landed.sources["third"].outcome is Outcome.TIMEOUT
    assert delta.of(counter("bulkhead_waits")) == 2
    assert delta.of(counter("bulkhead_rejections")) == 1


async def test_breaker_state_and_transitions(svc, simulator):
    svc(BREAKER={"FAILURE_RATE": 0.5, "MINIMUM_CALLS": 2, "WINDOW": 2, "COOL_DOWN": 60.0})
    state = ("chorus_breaker_state", {"upstream": "svc"})
    opened = ("chorus_breaker_transitions_total", {"upstream": "svc", "state": "open"})
    delta = Delta(opened, calls("svc", "circuit_open"))
    await simulator.aset_fault("inventory", status=503)
    await run(chorus.call("svc", "/stock"))
    assert sample(state[0], **state[1]) == 0  # closed, and shown as such from the start
    await run(chorus.call("svc", "/stock"))
    assert sample(state[0], **state[1]) == 2  # open
    assert delta.of(opened) == 1
    assert (await run(chorus.call("svc", "/stock"))).outcome is Outcome.CIRCUIT_OPEN
    assert delta.of(calls("svc", "circuit_open")) == 1


async def test_retries_and_budget_refusals(serve, svc):
    server = await serve(scripted(UNAVAILABLE))
    svc(server.url, RETRY={"ATTEMPTS": 2, "BUDGET": 0.1, "BUDGET_FLOOR": 0, "BUDGET_WINDOW": 60})
    delta = Delta(counter("retries"), counter("retry_budget_refusals"))
    for _ in range(10):
        await run(chorus.call("svc", "/x"))
    # 10% of 10 calls: one retry allowed, nine refused by the budget.
    assert delta.of(counter("retries")) == 1
    assert delta.of(counter("retry_budget_refusals")) == 9
    assert len(server.requests) == 11


async def test_hedges_fired_and_won(svc, simulator):
    svc(HEDGE={"DELAY": 0.2})
    delta = Delta(counter("hedges"), counter("hedges_won"))
    await simulator.aset_fault("inventory", fault="hang")
    first = asyncio.create_task(run(chorus.call("svc", "/stock")))
    await until_in_flight(simulator, "inventory")
    await simulator.aset_fault("inventory", fault=None)
    assert (await first).hedged
    assert delta.of(counter("hedges")) == 1
    assert delta.of(counter("hedges_won")) == 1
    assert (await run(chorus.call("svc", "/stock"))).hedged is False  # answered in 100 ms
    assert delta.of(counter("hedges")) == 1


async def test_cache_hits_misses_and_stale(svc, simulator):
    svc(CACHE={"TTL": 0.05, "STALE_IF_ERROR": 60.0})

    def lookups(result: str) -> tuple[str, dict[str, str]]:
        return "chorus_cache_lookups_total", {"cache": "svc", "result": result}

    delta = Delta(lookups("hit"), lookups("miss"), lookups("stale"))
    assert (await run(chorus.call("svc", "/stock"))).ok  # miss
    assert (await run(chorus.call("svc", "/stock"))).cached  # hit
    await asyncio.sleep(0.06)
    await simulator.aset_fault("inventory", status=503)
    assert (await run(chorus.call("svc", "/stock"))).stale  # miss, answered stale
    assert delta.of(lookups("miss")) == 2
    assert delta.of(lookups("hit")) == 1
    assert delta.of(lookups("stale")) == 1


async def test_a_cached_awaitable_source_is_counted_under_one_label(svc):
    policy = chorus.CachePolicy(ttl=60.0)
    miss = ("chorus_cache_lookups_total", {"cache": "source", "result": "miss"})
    delta = Delta(miss)

    async def value() -> int:
        return 1

    for user in ("a", "b"):  # keys holding request values make no series of their own
        await chorus.gather(v=chorus.source(value(), cache=policy, cache_key=f"user:{user}"))
    assert delta.of(miss) == 2


async def test_metrics_off_records_nothing(svc, simulator):
    svc(metrics=False, RETRY={"ATTEMPTS": 2})
    delta = Delta(calls("svc", "ok"), requests("svc", "ok"), counter("retries"))
    assert (await run(chorus.call("svc", "/stock"))).ok
    await simulator.aset_fault("inventory", status=503)
    await run(chorus.call("svc", "/stock"))
    assert delta.of(calls("svc", "ok")) == 0
    assert delta.of(requests("svc", "ok")) == 0
    assert delta.of(counter("retries")) == 0


async def test_render_is_prometheus_text_with_chorus_names(svc):
    await run(chorus.call("svc", "/stock"))
    body, content_type = chorus.render_metrics()
    assert content_type.startswith("text/plain; version=")
    text = body.decode()
    assert 'chorus_upstream_calls_total{outcome="ok",upstream="svc"}' in text
    assert "# TYPE chorus_upstream_request_duration_seconds histogram" in text


def test_timing_lands_where_prometheus_clients_own_observe_does():
    from prometheus_client import CollectorRegistry, Histogram

    from chorus.engine._metric_families import LATENCY_BUCKETS
    from chorus.engine._metrics import Timing

    registry = CollectorRegistry()
    ours = Histogram("ours", "", ["x"], buckets=LATENCY_BUCKETS, registry=registry).labels("a")
    theirs = Histogram("theirs", "", ["x"], buckets=LATENCY_BUCKETS, registry=registry).labels("a")
    timing = Timing(ours)
    for seconds in (0.0, 0.005, 0.0051, 0.1, 0.3, 5.0, 5.01, 60.0):
        timing.observe(seconds)
        theirs.observe(seconds)
    samples = {
        family.name: [
            (s.name.split("_", 1)[1], s.labels, s.value)
            for s in family.samples
            if not s.name.endswith("_created")
        ]
        for family in registry.collect()
    }
    assert samples["ours"] == samples["theirs"]
