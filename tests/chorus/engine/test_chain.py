"""Each upstream's policy chain (cache → breaker → retry → hedge → send), and ``chorus.fetch``.

The chain is built once per upstream and event loop; the links' order is
observed through behaviour against real loopback servers.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest

import chorus
import chorus.testing
from chorus.engine import _send
from chorus.engine._chain import chain_for, forget_policies
from tests.fixtures.raw_server import Conn, answer

OK = answer(b'{"ok": true}', "200 OK", "Content-Type: application/json")
UNAVAILABLE = answer(b'{"error": "down"}', "503 Service Unavailable")


@pytest.fixture(autouse=True)
def _fresh_policies(chorus_policies: None) -> None:
    """Every test here gets chorus's own ``chorus_policies`` fixture."""


@pytest.fixture
def svc(settings) -> Callable[..., chorus.UpstreamConfig]:
    """``svc(base_url, **entry)``: CHORUS with the one upstream "svc"; returns its config."""

    def configure(base_url: str = "http://127.0.0.1:9", **entry: Any) -> chorus.UpstreamConfig:
        settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": base_url, "TIMEOUT": 1.0, **entry}}}
        return chorus.get_settings().upstream("svc")

    return configure


def in_order(*answers: bytes | float) -> Callable[[Conn], Any]:
    """A handler answering the server's n-th request (on any connection) with ``answers[n]``.

    A number instead of bytes waits that many seconds, then answers with the next entry.
    """
    script = list(answers)
    taken = 0

    async def handle(conn: Conn) -> None:
        nonlocal taken
        while await conn.read_request() is not None:
            delay = 0.0
            while True:
                step = script[min(taken, len(script) - 1)]
                taken += 1
                if isinstance(step, bytes):
                    break
                delay = step
            if delay:
                await asyncio.sleep(delay)
            await conn.send(step)

    return handle


# -- built once per upstream and loop ------------------------------------------------------


async def test_the_chain_is_built_once_per_upstream_on_a_loop(svc):
    upstream = svc(RETRY={"ATTEMPTS": 2})
    spec = chorus.call("svc", "/a")
    assert chain_for(spec, upstream) is chain_for(chorus.call("svc", "/b"), upstream)


def test_another_loop_builds_its_own_chain(svc):
    upstream = svc(RETRY={"ATTEMPTS": 2})

    async def chain() -> object:
        return chain_for(chorus.call("svc", "/a"), upstream)

    with asyncio.Runner() as one, asyncio.Runner() as other:
        assert one.run(chain()) is not other.run(chain())


async def test_forget_policies_makes_the_next_call_build_a_new_chain(svc):
    upstream = svc(RETRY={"ATTEMPTS": 2})
    before = chain_for(chorus.call("svc", "/a"), upstream)
    forget_policies()
    assert chain_for(chorus.call("svc", "/a"), upstream) is not before


async def test_reset_policies_makes_the_next_call_build_a_new_chain(svc):
    upstream = svc(RETRY={"ATTEMPTS": 2})
    before = chain_for(chorus.call("svc", "/a"), upstream)
    chorus.testing.reset_policies()
    assert chain_for(chorus.call("svc", "/a"), upstream) is not before


async def test_changing_the_chorus_setting_drops_the_chains(svc):
    upstream = svc(RETRY={"ATTEMPTS": 2})
    before = chain_for(chorus.call("svc", "/a"), upstream)
    upstream = svc(RETRY={"ATTEMPTS": 3})
    assert chain_for(chorus.call("svc", "/a"), upstream) is not before


async def test_a_calls_own_overrides_get_a_chain_of_their_own(svc):
    upstream = svc(RETRY={"ATTEMPTS": 2}, BREAKER={})
    configured = chain_for(chorus.call("svc", "/a"), upstream)
    no_retry = chain_for(chorus.call("svc", "/a", retry=False), upstream)
    assert no_retry is not configured
    assert chain_for(chorus.call("svc", "/b", retry=False), upstream) is no_retry


async def test_without_policies_the_chain_is_the_send_itself(svc):
    upstream = svc()
    assert chain_for(chorus.call("svc", "/a"), upstream) is _send.send


async def test_a_call_turning_every_policy_off_goes_straight_to_the_send(svc):
    upstream = svc(BREAKER={}, RETRY={}, HEDGE={"DELAY": 0.1}, CACHE={"TTL": 1.0})
    spec = chorus.call("svc", "/a", breaker=False, retry=False, hedge=False, cache=False)
    assert chain_for(spec, upstream) is _send.send


# -- the links' order, seen from outside ---------------------------------------------------


async def test_a_cache_hit_never_reaches_the_breaker(svc, serve):
    server = await serve(in_order(OK, UNAVAILABLE))
    svc(server.url, CACHE={"TTL": 60.0}, BREAKER={"MINIMUM_CALLS": 1, "WINDOW": 1})
    assert await chorus.fetch(chorus.call("svc", "/a")) == {"ok": True}  # now cached
    with pytest.raises(chorus.UpstreamStatusError):  # past the cache: the breaker opens
        await chorus.fetch(chorus.call("svc", "/a", cache=False))
    with pytest.raises(chorus.CircuitOpenError):
        await chorus.fetch(chorus.call("svc", "/other"))  # open for anything not cached
    assert await chorus.fetch(chorus.call("svc", "/a")) == {"ok": True}  # the hit is served
    assert len(server.requests) == 2


async def test_the_breaker_judges_a_retried_call_once(svc, serve):
    server = await serve(in_order(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, OK))
    # Two failed verdicts open it: were retry outside the breaker, three attempts would.
    svc(server.url, RETRY={"ATTEMPTS": 3}, BREAKER={"MINIMUM_CALLS": 2, "WINDOW": 2})
    with pytest.raises(chorus.UpstreamStatusError) as failed:
        await chorus.fetch(chorus.call("svc", "/a"))
    assert failed.value.attempts == 3
    assert await chorus.fetch(chorus.call("svc", "/a")) == {"ok": True}  # still closed
    assert len(server.requests) == 4


async def test_a_failed_hedge_is_not_retried_on_its_own(svc, serve):
    # The first request is slow and good; the hedge fails at once. With the hedge inside the
    # retry, the race waits for the first request; were it outside, the hedge's own retry
    # would send a third request.
    slow_ok = answer(b'{"first": true}', "200 OK", "Content-Type: application/json")
    server = await serve(in_order(0.3, slow_ok, UNAVAILABLE, OK))
    svc(server.url, RETRY={"ATTEMPTS": 2}, HEDGE={"DELAY": 0.05})
    assert await chorus.fetch(chorus.call("svc", "/a")) == {"first": True}
    assert len(server.requests) == 2


async def test_a_retry_races_a_fresh_hedge(svc, serve):
    # The first race fails (both requests 503); the retry's request is slow, and its own
    # hedge answers: each attempt of the retry is a race of its own.
    server = await serve(in_order(0.1, UNAVAILABLE, UNAVAILABLE, 1.0, OK, OK))
    svc(server.url, RETRY={"ATTEMPTS": 2}, HEDGE={"DELAY": 0.05})
    result = await chorus.gather(only=chorus.call("svc", "/a"), deadline=3)
    landed = result.sources["only"]
    assert landed.ok, landed.error
    assert landed.hedged
    assert landed.attempts == 4
    assert landed.ms < 800  # the hedge answered, not the slow retry


# -- fetch -----------------------------------------------------------------------------------


async def hang(conn: Conn) -> None:
    await conn.wait_for_eof()


async def test_fetch_returns_the_parsed_json(svc, serve):
    server = await serve(in_order(OK))
    svc(server.url)
    assert await chorus.fetch(chorus.call("svc", "/a")) == {"ok": True}


async def test_fetch_applies_the_calls_own_timeout(svc, serve):
    server = await serve(hang)
    svc(server.url, TIMEOUT=5.0)
    started = asyncio.get_running_loop().time()
    with pytest.raises(chorus.UpstreamTimeoutError) as caught:
        await chorus.fetch(chorus.call("svc", "/a", timeout=0.1))
    assert asyncio.get_running_loop().time() - started < 1.0
    assert caught.value.upstream == "svc"
    assert 100 <= caught.value.elapsed_ms < 1000


async def test_fetch_applies_the_upstreams_timeout_when_the_call_sets_none(svc, serve):
    server = await serve(hang)
    svc(server.url, TIMEOUT=0.1)
    started = asyncio.get_running_loop().time()
    with pytest.raises(chorus.UpstreamTimeoutError):
        await chorus.fetch(chorus.call("svc", "/a"))
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_fetch_raises_a_status_error_for_a_non_2xx(svc, serve):
    server = await serve(in_order(UNAVAILABLE))
    svc(server.url)
    with pytest.raises(chorus.UpstreamStatusError) as caught:
        await chorus.fetch(chorus.call("svc", "/a"))
    assert (caught.value.upstream, caught.value.status) == ("svc", 503)


async def test_fetch_raises_a_body_error_for_a_body_that_is_not_json(svc, serve):
    server = await serve(in_order(answer(b"<html>", "200 OK")))
    svc(server.url)
    with pytest.raises(chorus.UpstreamBodyError):
        await chorus.fetch(chorus.call("svc", "/a"))


async def test_fetch_raises_a_connection_error_when_nothing_listens(svc):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    svc(f"http://127.0.0.1:{port}")
    with pytest.raises(chorus.UpstreamConnectionError):
        await chorus.fetch(chorus.call("svc", "/a"))


async def test_fetch_raises_circuit_open_while_the_breaker_is_open(svc, serve):
    server = await serve(in_order(UNAVAILABLE))
    svc(server.url, BREAKER={"MINIMUM_CALLS": 1, "WINDOW": 1})
    with pytest.raises(chorus.UpstreamStatusError):
        await chorus.fetch(chorus.call("svc", "/a"))
    with pytest.raises(chorus.CircuitOpenError):
        await chorus.fetch(chorus.call("svc", "/a"))
    assert len(server.requests) == 1


async def test_fetch_of_an_unknown_upstream_raises_unknown_upstream(svc):
    svc()
    with pytest.raises(chorus.UnknownUpstreamError):
        await chorus.fetch(chorus.call("nowhere", "/a"))
