"""Sources: each planned once when the fan-out is made; ``source()`` and its cache."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import chorus
import chorus.testing
from chorus import Outcome
from chorus.engine._sources import await_source, plan_of

UPSTREAM = {"BASE_URL": "http://127.0.0.1:9/svc", "TIMEOUT": 0.25}


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    yield
    chorus.testing.reset_policies()


@pytest.fixture
def svc(settings) -> chorus.UpstreamConfig:
    settings.CHORUS = {"UPSTREAMS": {"svc": UPSTREAM}, "DEFAULT_DEADLINE": 2.0}
    return chorus.get_settings().upstream("svc")


def plan(spec):
    return plan_of(spec, chorus.get_settings().upstream)


async def value_after(seconds: float, value: object = "v") -> object:
    await asyncio.sleep(seconds)
    return value


# -- planning ------------------------------------------------------------------------------


def test_an_unknown_upstream_fails_when_the_fanout_is_made(svc):
    with pytest.raises(chorus.UnknownUpstreamError, match="'nowhere'"):
        chorus.Fanout({"a": chorus.call("nowhere", "/x")}, deadline=1)


def test_a_call_is_planned_with_its_upstream(svc):
    assert plan(chorus.call("svc", "/x")).upstream == svc


def test_a_call_without_its_own_timeout_is_planned_with_its_upstreams(svc):
    assert plan(chorus.call("svc", "/x")).timeout == 0.25


def test_a_calls_own_timeout_wins_over_its_upstreams(svc):
    assert plan(chorus.call("svc", "/x", timeout=0.5)).timeout == 0.5


def test_a_call_with_no_timeout_is_planned_without_one(svc):
    assert plan(chorus.call("svc", "/x", timeout=None)).timeout is None


def test_a_call_is_required_unless_it_says_otherwise(svc):
    assert plan(chorus.call("svc", "/x")).required
    assert not plan(chorus.call("svc", "/x", required=False)).required


def test_a_wrapped_awaitable_keeps_its_flags_and_has_no_upstream(svc):
    planned = plan(chorus.source(asyncio.sleep(0), required=False, timeout=0.5))
    planned.spec.target.close()
    assert (planned.required, planned.timeout, planned.upstream) == (False, 0.5, None)


def test_a_bare_awaitable_is_required_without_a_timeout(svc):
    coroutine = asyncio.sleep(0)
    planned = plan(coroutine)
    coroutine.close()
    assert (planned.required, planned.timeout, planned.upstream) == (True, None, None)


async def test_a_sources_own_timeout_sooner_than_the_deadline_bounds_it():
    result = await chorus.gather(
        a=chorus.source(value_after(5), timeout=0.05, required=False), deadline=2
    )
    assert result.sources["a"].outcome is Outcome.TIMEOUT
    assert 45 <= result.elapsed_ms < 1000  # cut at 50 ms, not at the later limit


async def test_a_deadline_sooner_than_the_sources_own_timeout_bounds_it():
    result = await chorus.gather(
        a=chorus.source(value_after(5), timeout=2, required=False), deadline=0.05
    )
    assert result.sources["a"].outcome is Outcome.TIMEOUT
    assert 45 <= result.elapsed_ms < 1000  # cut at 50 ms, not at the later limit


# -- source() ------------------------------------------------------------------------------


async def test_a_wrapped_awaitable_gives_its_value():
    result = await chorus.gather(a=chorus.source(value_after(0, {"n": 1})), deadline=1)
    assert result.sources["a"].ok
    assert result.data == {"a": {"n": 1}}


async def test_an_optional_wrapped_awaitable_that_fails_leaves_the_answer_200():
    async def boom() -> None:
        raise RuntimeError("no")

    result = await chorus.gather(
        a=value_after(0), b=chorus.source(boom(), required=False), deadline=1
    )
    assert result.sources["b"].outcome is Outcome.ERROR
    assert result.status_code == 200


async def test_an_awaitable_source_is_answered_without_an_http_status():
    reply = await await_source(chorus.source(value_after(0, 3)))
    assert (reply.status, reply.data, reply.cached) == (None, 3, False)


@pytest.mark.parametrize("timeout", [0, -1])
def test_a_timeout_must_be_positive(timeout):
    coroutine = asyncio.sleep(0)
    try:
        with pytest.raises(ValueError, match="positive number of seconds"):
            chorus.source(coroutine, timeout=timeout)
    finally:
        coroutine.close()


@pytest.mark.parametrize(
    "options", [{"cache": chorus.CachePolicy(ttl=1.0)}, {"cache_key": "orders"}]
)
def test_a_cached_source_needs_both_a_policy_and_a_key(options):
    coroutine = asyncio.sleep(0)
    try:
        with pytest.raises(ValueError, match="both cache and cache_key"):
            chorus.source(coroutine, **options)
    finally:
        coroutine.close()


# -- caching an awaitable ------------------------------------------------------------------


class Counter:
    """An awaitable's producer that counts how often it really ran."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self, value: object = "v", seconds: float = 0.0) -> object:
        self.runs += 1
        await asyncio.sleep(seconds)
        return value


POLICY = chorus.CachePolicy(ttl=60.0)


async def test_a_cached_source_is_answered_from_the_cache_under_its_key():
    produce = Counter()
    first = await chorus.gather(a=chorus.source(produce(1), cache=POLICY, cache_key="k"))
    later = await chorus.gather(a=chorus.source(produce(2), cache=POLICY, cache_key="k"))
    assert produce.runs == 1  # the later coroutine was closed unrun, without a warning
    assert (first["a"], later["a"]) == (1, 1)
    assert (first.sources["a"].cached, later.sources["a"].cached) == (False, True)


async def test_cached_sources_under_different_keys_do_not_share():
    produce = Counter()
    one = await chorus.gather(a=chorus.source(produce(1), cache=POLICY, cache_key="one"))
    two = await chorus.gather(a=chorus.source(produce(2), cache=POLICY, cache_key="two"))
    assert produce.runs == 2
    assert (one["a"], two["a"]) == (1, 2)


async def test_concurrent_callers_of_a_cached_source_share_one_run():
    produce = Counter()

    def spec() -> chorus.Source:
        return chorus.source(produce("v", 0.05), cache=POLICY, cache_key="k")

    results = await asyncio.gather(*(chorus.gather(a=spec()) for _ in range(4)))
    assert produce.runs == 1
    assert [result["a"] for result in results] == ["v"] * 4


async def test_an_expired_cached_source_runs_again():
    produce = Counter()
    policy = chorus.CachePolicy(ttl=0.05)
    await chorus.gather(a=chorus.source(produce(1), cache=policy, cache_key="k"))
    await asyncio.sleep(0.1)
    later = await chorus.gather(a=chorus.source(produce(2), cache=policy, cache_key="k"))
    assert produce.runs == 2
    assert later["a"] == 2
