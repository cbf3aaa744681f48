"""A breaker shared through Redis: opened by one worker process, refusing in another."""

import asyncio
import json
import subprocess
import sys
import textwrap
import time

import pytest

import chorus
import chorus.testing
from chorus import Outcome
from chorus.engine._redis import aclose_redis
from tests.chorus.engine.policies.conftest import requests_to, run

BREAKER = {"MINIMUM_CALLS": 3, "WINDOW": 3, "COOL_DOWN": 30.0, "SHARED": True}

# Another worker: the same CHORUS setting, its own process, its own breaker, failing calls.
OTHER_WORKER = textwrap.dedent(
    """
    import asyncio, json, sys
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["chorus"],
        CHORUS={
            "UPSTREAMS": {"svc": {"BASE_URL": sys.argv[1], "TIMEOUT": 1.0, "BREAKER": json.loads(sys.argv[3])}},
            "REDIS_URL": sys.argv[2],
        },
    )
    django.setup()
    import chorus

    async def main():
        for _ in range(3):
            await chorus.gather(only=chorus.call("svc", "/stock"))
        print(chorus.policy_report()["svc"]["breaker"]["state"], flush=True)
        await chorus.aclose_transport()
        await chorus.engine._redis.aclose_redis()

    asyncio.run(main())
    """
)


@pytest.fixture
async def shared(one_upstream, simulator, redis_url):
    one_upstream(simulator.service_url("inventory"), redis_url=redis_url, BREAKER=BREAKER)
    await chorus.testing.areset_shared_state()
    try:
        yield redis_url
    finally:
        await chorus.testing.areset_shared_state()
        await aclose_redis()


async def test_a_breaker_opened_in_one_process_refuses_calls_in_another(shared, simulator):
    assert (await run(chorus.call("svc", "/stock"))).ok  # this worker: closed, calls pass
    await simulator.aset_fault("inventory", status=503)
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        OTHER_WORKER,
        simulator.service_url("inventory"),
        shared,
        json.dumps(BREAKER),
        stdout=subprocess.PIPE,
    )
    output, _ = await other.communicate()
    assert other.returncode == 0
    assert output.decode().strip() == "open"  # the other worker's own breaker opened
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
