"""A breaker shared through Redis: opened by one worker process, refusing in another."""

import asyncio
import time

import pytest

import chorus
import chorus.testing
from chorus import Outcome
from chorus.engine._redis import aclose_redis
from tests.chorus.engine.policies.conftest import fresh_shared_state, requests_to, run
from tests.chorus.support.other_worker import run_other_worker

BREAKER = {"MINIMUM_CALLS": 3, "WINDOW": 3, "COOL_DOWN": 30.0, "SHARED": True}

# Another worker's job: calls failing until its own breaker opens (generous time limits:
# a cold process on a busy machine must not turn the 503s into skipped calls).
OPEN_ITS_BREAKER = """
for _ in range(3):
    await chorus.gather(only=chorus.call("svc", "/stock"), deadline=10.0)
print(chorus.policy_report()["svc"]["breaker"]["state"], flush=True)
"""


@pytest.fixture
async def shared(one_upstream, simulator, redis_url):
    one_upstream(simulator.service_url("inventory"), redis_url=redis_url, BREAKER=BREAKER)
    async with fresh_shared_state():
        yield redis_url


async def test_a_breaker_opened_in_one_process_refuses_calls_in_another(shared, simulator):
    assert (await run(chorus.call("svc", "/stock"))).ok  # this worker: closed, calls pass
    await simulator.aset_fault("inventory", status=503)
    upstream = {"BASE_URL": simulator.service_url("inventory"), "TIMEOUT": 5.0, "BREAKER": BREAKER}
    output = await run_other_worker(upstream, shared, OPEN_ITS_BREAKER)
    assert output.strip() == "open"  # the other worker's own breaker opened
    opened_at = time.monotonic()
    await simulator.aset_fault("inventory", status=200)
    sent = await requests_to(simulator, "inventory")

    # This worker never saw a failure, yet within a second its calls are refused.
    while (landed := await run(chorus.call("svc", "/stock"))).ok:
        assert time.monotonic() - opened_at < 1.0, "the shared state did not arrive in time"
        await asyncio.sleep(0.05)
    assert landed.outcome is Outcome.CIRCUIT_OPEN
    refused_sent = await requests_to(simulator, "inventory")
    assert (await run(chorus.call("svc", "/stock"))).outcome is Outcome.CIRCUIT_OPEN
    assert await requests_to(simulator, "inventory") == refused_sent
    assert refused_sent - sent <= 4  # only calls before the shared state was read went out


async def test_without_redis_the_local_breaker_still_works(one_upstream, simulator):
    # SHARED with an unreachable Redis: logged, and each process judges on its own.
    one_upstream(
        simulator.service_url("inventory"), redis_url="redis://127.0.0.1:1/0", BREAKER=BREAKER
    )
    try:
        await simulator.aset_fault("inventory", status=503)
        for _ in range(3):
            await run(chorus.call("svc", "/stock"))
        assert (await run(chorus.call("svc", "/stock"))).outcome is Outcome.CIRCUIT_OPEN
    finally:
        await aclose_redis()
