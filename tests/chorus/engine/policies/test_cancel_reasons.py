"""Why a call was cancelled is known, not guessed from the clock; ``attempts`` counts what went out.

Only the deadline's own cancellation is a timeout: the cache answers it stale and
the breaker counts it against the upstream. A fail-fast cancel (a required peer
failed) or the caller's going away is neither, however close to the deadline it
lands. The upstreams here are loopback servers that record each request and hold
it unanswered, so a test knows the request reached the upstream before it acts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import chorus
from chorus import Outcome
from tests.chorus.engine.policies.conftest import JSON_OK, run
from tests.chorus.engine.test_metrics import Delta, requests
from tests.fixtures.raw_server import Conn, RawServer, answer

GOOD = answer(JSON_OK, "200 OK", "Content-Type: application/json")
UNAVAILABLE = answer(b"", "503 Service Unavailable")

Serve = Callable[..., Awaitable[RawServer]]


class Upstream:
    """Answers its first requests with ``first`` (in order, on any connection), then holds
    each one (``held`` is set) until ``release`` is set, and answers it with ``then``."""

    def __init__(self, *first: bytes, then: bytes = GOOD) -> None:
        self.first = list(first)
        self.then = then
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, conn: Conn) -> None:
        while await conn.read_request() is not None:
            if self.first:
                await conn.send(self.first.pop(0))
                continue
            self.held.set()
            await self.release.wait()
            await conn.send(self.then)


def block_until(when: float) -> None:
    """Hold the event loop (a busy worker) until loop time ``when``: no timer fires meanwhile."""
    time.sleep(max(0.0, when - asyncio.get_running_loop().time()))


async def fails_just_before(limit: float, margin: float) -> Any:
    """A required peer that fails ``margin`` seconds before loop time ``limit``.

    The loop is held until then, so no timer can fire first: the fail-fast cancel this
    causes is requested before the deadline's, ``margin`` ahead of it.
    """
    block_until(limit - margin)
    raise RuntimeError("the peer failed")


async def test_a_fail_fast_cancel_just_before_the_deadline_is_not_answered_stale(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream(GOOD)
    server = await serve(upstream)
    one_upstream(server.url, CACHE={"TTL": 0, "STALE_IF_ERROR": 60.0})
    assert (await run(chorus.call("svc", "/x"))).ok  # the cache's old answer
    limit = asyncio.get_running_loop().time() + 0.5
    result = await chorus.gather(
        svc=chorus.call("svc", "/x", timeout=0.5),
        peer=chorus.source(fails_just_before(limit, 0.003)),
        deadline=None,
    )
    svc = result.sources["svc"]
    assert svc.outcome is Outcome.CANCELLED
    assert (svc.stale, svc.data) == (False, None)
    assert result.status_code == 502
    assert chorus.policy_report()["svc"]["cache"]["stale"] == 0


async def test_a_deadline_cancel_is_still_answered_stale(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream(GOOD)
    server = await serve(upstream)
    one_upstream(server.url, CACHE={"TTL": 0, "STALE_IF_ERROR": 60.0})
    good = await run(chorus.call("svc", "/x"))
    result = await chorus.gather(svc=chorus.call("svc", "/x", timeout=0.2), deadline=None)
    svc = result.sources["svc"]
    assert upstream.held.is_set()
    assert svc.outcome is Outcome.TIMEOUT
    assert (svc.stale, svc.cached, svc.data) == (True, True, good.data)
    assert svc.attempts == 1  # the held request went out
    assert result.status_code == 200


async def test_chorus_fetch_answers_its_own_timeout_stale(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream(GOOD)
    server = await serve(upstream)
    one_upstream(server.url, CACHE={"TTL": 0, "STALE_IF_ERROR": 60.0})
    good = await chorus.fetch(chorus.call("svc", "/x"))
    assert await chorus.fetch(chorus.call("svc", "/x", timeout=0.2)) == good
    assert upstream.held.is_set()


async def test_a_caller_going_away_just_before_the_deadline_is_neither_stale_nor_a_failure(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream(GOOD)
    server = await serve(upstream)
    one_upstream(
        server.url,
        CACHE={"TTL": 0, "STALE_IF_ERROR": 60.0},
        BREAKER={"MINIMUM_CALLS": 1, "WINDOW": 2},
    )
    await chorus.fetch(chorus.call("svc", "/x"))
    limit = asyncio.get_running_loop().time() + 0.5
    view = asyncio.create_task(chorus.fetch(chorus.call("svc", "/x", timeout=0.5)))
    await upstream.held.wait()
    block_until(limit - 0.001)
    view.cancel()  # the client went away, 1 ms before the call's deadline
    with pytest.raises(asyncio.CancelledError):
        await view
    report = chorus.policy_report()["svc"]
    assert report["cache"]["stale"] == 0
    assert (report["breaker"]["calls"], report["breaker"]["failure_rate"]) == (1, 0.0)


async def test_the_breaker_does_not_count_a_fail_fast_cancel(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream()
    server = await serve(upstream)
    one_upstream(server.url, BREAKER={"MINIMUM_CALLS": 1, "WINDOW": 1})
    limit = asyncio.get_running_loop().time() + 0.5
    result = await chorus.gather(
        svc=chorus.call("svc", "/x", timeout=0.5),
        peer=chorus.source(fails_just_before(limit, 0.001)),
        deadline=None,
    )
    assert result.sources["svc"].outcome is Outcome.CANCELLED
    breaker = chorus.policy_report()["svc"]["breaker"]
    assert (breaker["state"], breaker["calls"]) == ("closed", 0)


async def test_the_breaker_counts_a_deadline_cancel(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream()
    server = await serve(upstream)
    one_upstream(server.url, BREAKER={"MINIMUM_CALLS": 1, "WINDOW": 1})
    result = await run(chorus.call("svc", "/x", timeout=0.2), deadline=None)
    assert result.outcome is Outcome.TIMEOUT
    assert chorus.policy_report()["svc"]["breaker"]["state"] == "open"


async def test_a_source_cancelled_after_its_request_went_out_counts_it(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream()
    server = await serve(upstream)
    one_upstream(server.url)

    async def fails_once_the_request_is_held() -> None:
        await upstream.held.wait()
        raise RuntimeError("the peer failed")

    result = await chorus.gather(
        svc=chorus.call("svc", "/x"), peer=chorus.source(fails_once_the_request_is_held())
    )
    svc = result.sources["svc"]
    assert len(server.requests) == 1  # it reached the upstream
    assert svc.outcome is Outcome.CANCELLED
    assert svc.attempts == 1
    assert b'"attempts":1' in result.response().content


async def test_a_timeout_counts_every_request_sent_before_it(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream(UNAVAILABLE)
    server = await serve(upstream)
    one_upstream(server.url, RETRY={"ATTEMPTS": 3})
    result = await run(chorus.call("svc", "/x", timeout=0.3), deadline=None)
    assert upstream.held.is_set()
    assert len(server.requests) == 2  # a 503, then a retry held until the time limit
    assert result.outcome is Outcome.TIMEOUT
    assert result.attempts == 2


async def test_waiters_on_one_failed_flight_report_their_own_attempts(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream(then=UNAVAILABLE)
    server = await serve(upstream)
    one_upstream(server.url, CACHE={"TTL": 60.0}, RETRY={"ATTEMPTS": 2})
    leader = asyncio.create_task(run(chorus.call("svc", "/x")))
    await upstream.held.wait()
    waiters = [asyncio.create_task(run(chorus.call("svc", "/x"))) for _ in range(2)]
    for _ in range(20):  # in-process steps only: each waiter reaches the shared flight
        await asyncio.sleep(0)
    upstream.release.set()
    led, *followed = await asyncio.gather(leader, *waiters)
    assert len(server.requests) == 2  # the leader's request and its retry; none of the waiters'
    assert (led.outcome, led.http_status, led.attempts) == (Outcome.BAD_STATUS, 503, 2)
    for waiter in followed:
        assert (waiter.outcome, waiter.http_status) == (Outcome.BAD_STATUS, 503)
        assert waiter.attempts == 0


async def test_chorus_fetch_waiters_get_their_own_error(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream(then=UNAVAILABLE)
    server = await serve(upstream)
    one_upstream(server.url, CACHE={"TTL": 60.0}, RETRY={"ATTEMPTS": 2})

    async def fetch() -> BaseException:
        try:
            await chorus.fetch(chorus.call("svc", "/x"))
        except chorus.UpstreamError as error:
            return error
        raise AssertionError("the call should fail")

    leader = asyncio.create_task(fetch())
    await upstream.held.wait()
    waiters = [asyncio.create_task(fetch()) for _ in range(2)]
    for _ in range(20):
        await asyncio.sleep(0)
    upstream.release.set()
    errors = await asyncio.gather(leader, *waiters)
    assert len({id(error) for error in errors}) == 3
    assert [getattr(error, "attempts", None) for error in errors] == [2, 0, 0]
    assert all(getattr(error, "status", None) == 503 for error in errors)


async def test_a_request_cut_off_by_a_fail_fast_cancel_is_measured_as_cancelled(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream()
    server = await serve(upstream)
    one_upstream(server.url)
    delta = Delta(requests("svc", "cancelled"), requests("svc", "timeout"))
    limit = asyncio.get_running_loop().time() + 0.5
    await chorus.gather(
        svc=chorus.call("svc", "/x", timeout=0.5),
        peer=chorus.source(fails_just_before(limit, 0.001)),
        deadline=None,
    )
    assert (delta.of(requests("svc", "cancelled")), delta.of(requests("svc", "timeout"))) == (1, 0)


async def test_both_requests_of_a_hedged_call_cut_off_by_its_deadline_are_timeouts(
    serve: Serve, one_upstream: Callable[..., None]
) -> None:
    upstream = Upstream()
    server = await serve(upstream)
    one_upstream(server.url, HEDGE={"DELAY": 0.05})
    delta = Delta(requests("svc", "cancelled"), requests("svc", "timeout"))
    result = await run(chorus.call("svc", "/x", timeout=0.3), deadline=None)
    assert len(server.requests) == 2
    assert (result.outcome, result.attempts) == (Outcome.TIMEOUT, 2)
    assert (delta.of(requests("svc", "cancelled")), delta.of(requests("svc", "timeout"))) == (0, 2)
