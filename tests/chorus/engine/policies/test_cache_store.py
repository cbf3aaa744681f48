"""Last-good answers shared through Redis: a worker started during an outage serves the
others' stale answers; a Redis that fails or holds garbage never fails a call."""

import json
import logging

import pytest

import chorus
import chorus.testing
from chorus import Outcome
from chorus.engine._redis import aclose_redis, get_redis
from tests.chorus.engine.policies.conftest import fresh_shared_state, requests_to, run
from tests.chorus.support.other_worker import run_other_worker
from tests.fixtures.ports import free_port

LAST_GOOD = {"TTL": 0, "STALE_IF_ERROR": 30.0, "BACKEND": "redis"}

# A worker's job: one call, and what it got.
ONE_CALL = """
landed = await chorus.gather(only=chorus.call("svc", "/summary"), deadline=10.0)
source = landed.sources["only"]
print(json.dumps({
    "ok": source.ok, "status": source.outcome.value, "data": source.data,
    "cached": source.cached, "stale": source.stale,
}), flush=True)
"""


async def start_worker(base_url: str, redis_url: str) -> dict:
    """A fresh worker process's one call to ``svc``: what it answered."""
    upstream = {"BASE_URL": base_url, "TIMEOUT": 5.0, "CACHE": LAST_GOOD}
    return json.loads(await run_other_worker(upstream, redis_url, ONE_CALL))


@pytest.fixture
async def shared(one_upstream, simulator, redis_url):
    one_upstream(simulator.service_url("analytics"), redis_url=redis_url, CACHE=LAST_GOOD)
    async with fresh_shared_state():
        yield redis_url


async def test_a_worker_started_during_an_outage_serves_another_workers_last_good_answer(
    shared, simulator
):
    url = simulator.service_url("analytics")
    first = await start_worker(url, shared)
    assert first["ok"]
    assert not first["stale"]
    await simulator.aset_fault("analytics", status=503)

    fresh = await start_worker(url, shared)  # never saw a good answer of its own

    assert fresh["stale"] is True
    assert fresh["cached"] is True
    assert fresh["data"] == first["data"]
    assert fresh["status"] == Outcome.BAD_STATUS.value  # the failure its old data stands in for
    assert await requests_to(simulator, "analytics") >= 2  # the fresh worker still asked


async def test_this_worker_serves_a_stale_answer_another_process_left(shared, simulator):
    first = await start_worker(simulator.service_url("analytics"), shared)
    assert first["ok"]
    await simulator.aset_fault("analytics", status=503)

    for _ in range(3):  # read from Redis once, then from this worker's memory
        landed = await run(chorus.call("svc", "/summary"))
        assert (landed.stale, landed.data) == (True, first["data"])
    report = chorus.policy_report()["svc"]["cache"]
    assert (report["stale"], report["shared_errors"]) == (3, 0)


async def test_an_unreadable_shared_entry_is_a_miss_not_a_failure(shared, simulator):
    assert (await run(chorus.call("svc", "/summary"))).ok
    client = get_redis()
    keys = [key async for key in client.scan_iter(match="chorus:cache:svc:*")]
    assert keys
    for key in keys:
        await client.set(key, b"not json")
    chorus.testing.reset_policies()  # as if a new worker
    await simulator.aset_fault("analytics", status=503)

    landed = await run(chorus.call("svc", "/summary"))

    assert landed.outcome is Outcome.BAD_STATUS
    assert landed.stale is False
    assert chorus.policy_report()["svc"]["cache"]["shared_errors"] == 1


async def test_redis_down_never_fails_a_call_and_is_logged_once(one_upstream, simulator, caplog):
    one_upstream(
        simulator.service_url("analytics"),
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        CACHE=LAST_GOOD,
    )
    caplog.set_level(logging.WARNING, logger="chorus.cache")
    try:
        assert (await run(chorus.call("svc", "/summary"))).ok
        assert (await run(chorus.call("svc", "/summary"))).ok
        await simulator.aset_fault("analytics", status=503)
        landed = await run(chorus.call("svc", "/summary"))  # this worker's memory stands in
    finally:
        await aclose_redis()

    assert landed.stale is True
    assert chorus.policy_report()["svc"]["cache"]["shared_errors"] >= 1
    assert [r.message for r in caplog.records if "Redis unavailable" in r.message] == [
        "cache for 'svc': Redis unavailable (ConnectionError), memory only until it answers"
    ]
