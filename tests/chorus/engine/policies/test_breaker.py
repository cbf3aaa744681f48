"""The circuit breaker against the simulator: it opens, refuses without the network,
half-opens after its cool-down, closes on a good probe and reopens on a bad one."""

import asyncio
import logging

import pytest

import chorus
from chorus import Outcome
from tests.chorus.engine.policies.conftest import requests_to, run

BREAKER = {"FAILURE_RATE": 0.5, "MINIMUM_CALLS": 4, "WINDOW": 4, "COOL_DOWN": 60.0}


@pytest.fixture
def svc(one_upstream, simulator):
    def configure(**breaker):
        one_upstream(simulator.service_url("inventory"), BREAKER={**BREAKER, **breaker})

    configure()
    return configure


def breaker_state() -> str:
    return chorus.policy_report()["svc"]["breaker"]["state"]


async def fail_times(simulator, count: int) -> None:
    for _ in range(count):
        assert (await run(chorus.call("svc", "/stock"))).outcome is Outcome.BAD_STATUS


async def test_opens_at_the_failure_rate_and_refuses_without_touching_the_network(svc, simulator):
    await simulator.aset_fault("inventory", status=503)
    await fail_times(simulator, 3)
    assert breaker_state() == "closed"  # under MINIMUM_CALLS: no verdict yet
    await fail_times(simulator, 1)
    assert breaker_state() == "open"
    sent = await requests_to(simulator, "inventory")

    refused = await run(chorus.call("svc", "/stock"))
    assert refused.outcome is Outcome.CIRCUIT_OPEN
    assert refused.attempts == 0
    assert "circuit open" in refused.error
    assert refused.ms < 50  # no connection, no request: an answer in microseconds
    assert await requests_to(simulator, "inventory") == sent


async def test_successes_keep_it_closed_below_the_failure_rate(svc, simulator):
    for _ in range(3):
        assert (await run(chorus.call("svc", "/stock"))).ok
    await simulator.aset_fault("inventory", status=503)
    await fail_times(simulator, 1)  # 1 of 4 failed: 25% < 50%
    assert breaker_state() == "closed"


async def test_client_errors_are_not_failures_by_default(svc, simulator):
    await simulator.aset_fault("inventory", status=404)
    await fail_times(simulator, 6)
    assert breaker_state() == "closed"


async def test_client_errors_count_when_asked(svc, simulator):
    svc(COUNT_CLIENT_ERRORS=True)
    await simulator.aset_fault("inventory", status=404)
    await fail_times(simulator, 4)
    assert breaker_state() == "open"


async def test_a_call_that_hangs_to_its_timeout_is_a_failure(svc, simulator):
    await simulator.aset_fault("inventory", fault="hang")
    for _ in range(4):
        landed = await run(chorus.call("svc", "/stock", timeout=0.1))
        assert landed.outcome is Outcome.TIMEOUT
    assert breaker_state() == "open"


async def test_a_call_cancelled_by_its_caller_is_no_verdict(svc, simulator):
    await simulator.aset_fault("inventory", fault="hang")
    for _ in range(5):
        task = asyncio.create_task(run(chorus.call("svc", "/stock", timeout=2.0)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    report = chorus.policy_report()["svc"]["breaker"]
    assert report["state"] == "closed"
    assert report["calls"] == 0


async def test_after_the_cool_down_a_good_probe_closes_it(svc, simulator):
    # Long enough that the call right after the breaker opens comes within it on a busy
    # machine (at 0.2 s, with the simulator's fault switched in between, it once did not).
    svc(COOL_DOWN=1.0)
    await simulator.aset_fault("inventory", status=503)
    await fail_times(simulator, 4)
    assert breaker_state() == "open"
    await simulator.aset_fault("inventory", status=200)
    assert (await run(chorus.call("svc", "/stock"))).outcome is Outcome.CIRCUIT_OPEN
    await asyncio.sleep(1.05)
    probe = await run(chorus.call("svc", "/stock"))
    assert probe.ok
    assert breaker_state() == "closed"
    assert (await run(chorus.call("svc", "/stock"))).ok


async def test_a_bad_probe_opens_it_again(svc, simulator):
    # A cool-down long enough that the call after the probe comes within it on a busy
    # machine (at 0.2 s, with calls of 100 ms under load, it was a second probe).
    svc(COOL_DOWN=0.6)
    await simulator.aset_fault("inventory", status=503)
    await fail_times(simulator, 4)
    await asyncio.sleep(0.65)
    before = await requests_to(simulator, "inventory")
    probe = await run(chorus.call("svc", "/stock"))
    assert probe.outcome is Outcome.BAD_STATUS  # the probe went out...
    assert await requests_to(simulator, "inventory") == before + 1
    assert breaker_state() == "open"  # ...failed, and the breaker is open again
    assert (await run(chorus.call("svc", "/stock"))).outcome is Outcome.CIRCUIT_OPEN
    assert await requests_to(simulator, "inventory") == before + 1


async def test_half_open_lets_only_its_probes_through(svc, simulator):
    svc(COOL_DOWN=0.2, HALF_OPEN_CALLS=1)
    await simulator.aset_fault("inventory", status=503)
    await fail_times(simulator, 4)
    await asyncio.sleep(0.25)
    await simulator.aset_fault("inventory", status=200, latency_ms=300)
    results = await asyncio.gather(*(run(chorus.call("svc", "/stock")) for _ in range(3)))
    outcomes = sorted(result.outcome.value for result in results)
    assert outcomes == ["circuit_open", "circuit_open", "ok"]
    assert breaker_state() == "closed"


async def test_each_change_of_state_is_logged_once(svc, simulator, caplog):
    svc(COOL_DOWN=0.2)
    caplog.set_level(logging.INFO, logger="chorus.breaker")
    await simulator.aset_fault("inventory", status=503)
    await fail_times(simulator, 4)
    for _ in range(3):
        await run(chorus.call("svc", "/stock"))  # refused: no new log line
    await asyncio.sleep(0.25)
    await simulator.aset_fault("inventory", status=200)
    await run(chorus.call("svc", "/stock"))
    records = [record for record in caplog.records if record.name == "chorus.breaker"]
    messages = [record.getMessage() for record in records]
    assert messages == [
        "circuit for 'svc' opened: 4 of the last 4 calls failed",
        "circuit for 'svc' half-open: cool-down over, letting probes through",
        "circuit for 'svc' closed: probes succeeded",
    ]
    assert records[0].levelno == logging.WARNING


async def test_breaker_false_on_a_call_skips_it(svc, simulator):
    await simulator.aset_fault("inventory", status=503)
    await fail_times(simulator, 4)
    await simulator.aset_fault("inventory", status=200)
    assert (await run(chorus.call("svc", "/stock"))).outcome is Outcome.CIRCUIT_OPEN
    assert (await run(chorus.call("svc", "/stock", breaker=False))).ok
