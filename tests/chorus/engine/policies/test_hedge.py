"""Hedging against the simulator: a second request beats a slow first one, the loser is
cancelled (the simulator sees it disconnect), and fast answers send nothing more."""

import asyncio

import chorus
from chorus import Outcome
from tests.chorus.engine.policies.conftest import requests_to, run


async def in_flight(simulator, service: str) -> int:
    return int((await simulator.astats())["services"][service]["in_flight"])


async def until_in_flight(simulator, service: str) -> None:
    """Until the simulator holds a request to ``service`` (the first one, hanging)."""
    for _ in range(500):
        if await in_flight(simulator, service) >= 1:
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"no request to {service} arrived")


async def test_a_hedge_beats_a_slow_first_request_and_the_loser_is_cancelled(
    one_upstream, simulator
):
    # A timeout far past the hedge's ~300 ms: a busy machine slows the hedge, and only the
    # hung first request may run into it.
    one_upstream(simulator.service_url("inventory"), TIMEOUT=3.0, HEDGE={"DELAY": 0.2})
    # The first request hangs; the hedge, sent 200 ms later, gets the normal 100 ms answer.
    await simulator.aset_fault("inventory", fault="hang")
    first = asyncio.create_task(run(chorus.call("svc", "/stock")))
    await until_in_flight(simulator, "inventory")
    await simulator.aset_fault("inventory", fault=None)
    landed = await first
    assert landed.ok
    assert landed.hedged is True
    assert landed.attempts == 2
    assert landed.ms < 2000  # the hung request alone would have run to the 3 s timeout
    stats = (await simulator.astats())["services"]["inventory"]
    assert stats["requests"] == 2
    # The hung first request was cancelled: its connection closed, nothing left waiting.
    for _ in range(100):
        stats = (await simulator.astats())["services"]["inventory"]
        if stats["disconnects"] == 1 and stats["in_flight"] == 0:
            break
        await asyncio.sleep(0.01)
    assert stats["disconnects"] == 1
    assert stats["in_flight"] == 0


async def test_an_answer_before_the_delay_sends_no_hedge(one_upstream, simulator):
    one_upstream(simulator.service_url("inventory"), HEDGE={"DELAY": 0.5})
    landed = await run(chorus.call("svc", "/stock"))
    assert landed.ok
    assert landed.hedged is False
    assert landed.attempts == 1
    assert await requests_to(simulator, "inventory") == 1


async def test_a_post_is_never_hedged(one_upstream, simulator):
    one_upstream(simulator.service_url("inventory"), HEDGE={"DELAY": 0.01})
    landed = await run(chorus.call("svc", "/stock", method="POST", json={}))
    assert landed.hedged is False
    assert await requests_to(simulator, "inventory") == 1


async def test_when_both_fail_the_call_fails_with_both_counted(one_upstream, simulator):
    one_upstream(simulator.service_url("inventory"), HEDGE={"DELAY": 0.03})
    await simulator.aset_fault("inventory", status=503)
    landed = await run(chorus.call("svc", "/stock"))
    assert landed.outcome is Outcome.BAD_STATUS
    assert landed.attempts == 2
    assert await requests_to(simulator, "inventory") == 2


async def test_no_hedge_is_planned_past_the_deadline(one_upstream, simulator):
    one_upstream(simulator.service_url("inventory"), HEDGE={"DELAY": 0.3})
    await simulator.aset_fault("inventory", fault="hang")
    landed = await run(chorus.call("svc", "/stock", timeout=0.2))
    assert landed.outcome is Outcome.TIMEOUT
    assert await requests_to(simulator, "inventory") == 1


async def test_with_p95_nothing_is_hedged_until_the_p95_is_known(one_upstream, simulator):
    # A timeout far past the p95, which a busy machine stretches: the hedge must go out
    # before the hung request's own timeout.
    one_upstream(simulator.service_url("inventory"), TIMEOUT=5.0, HEDGE={"DELAY": "p95"})
    # 250 ms: the hang below must be lifted before the hedge goes out, one p95 later,
    # and on a busy machine that takes longer than 80 ms. At once, so as not to wait 5 s.
    await simulator.aset_fault("inventory", latency_ms=250)
    results = await asyncio.gather(*(run(chorus.call("svc", "/stock")) for _ in range(20)))
    assert [result.hedged for result in results] == [False] * 20
    assert await requests_to(simulator, "inventory") == 20
    assert 245 <= chorus.policy_report()["svc"]["p95_ms"] < 2000  # 250 ms, plus a busy loop
    # Known now (about 250 ms): a call that hangs is hedged after it.
    await simulator.aset_fault("inventory", fault="hang")
    first = asyncio.create_task(run(chorus.call("svc", "/stock")))
    await until_in_flight(simulator, "inventory")
    await simulator.aset_fault("inventory", fault=None)
    assert (await first).hedged is True


async def test_hedge_false_on_a_call_turns_it_off(one_upstream, simulator):
    one_upstream(simulator.service_url("inventory"), HEDGE={"DELAY": 0.01})
    await simulator.aset_fault("inventory", latency_ms=100)
    landed = await run(chorus.call("svc", "/stock", hedge=False))
    assert landed.hedged is False
    assert await requests_to(simulator, "inventory") == 1
