"""Retries against scripted loopback servers: only idempotent calls, only named failures,
never past the deadline, never beyond the budget; ``attempts`` says what happened."""

import asyncio

import pytest

import chorus
from chorus import Outcome
from tests.chorus.engine.policies.conftest import JSON_OK, run
from tests.fixtures.raw_server import answer

UNAVAILABLE = answer(b"busy", "503 Service Unavailable")
GOOD = answer(JSON_OK, "200 OK", "Content-Type: application/json")


def scripted(*answers: bytes):
    """A handler answering each request in turn with the next of ``answers`` (then the last)."""
    sent = 0

    async def handler(conn):
        nonlocal sent
        while await conn.read_request() is not None:
            await conn.send(answers[min(sent, len(answers) - 1)])
            sent += 1

    return handler


async def test_a_503_then_a_200_is_one_ok_call_of_two_attempts(serve, one_upstream):
    server = await serve(scripted(UNAVAILABLE, GOOD))
    one_upstream(server.url, RETRY={"ATTEMPTS": 3})
    landed = await run(chorus.call("svc", "/x"))
    assert landed.ok
    assert landed.data == {"ok": True}
    assert landed.attempts == 2
    assert len(server.requests) == 2


async def test_it_stops_after_its_attempts(serve, one_upstream):
    server = await serve(scripted(UNAVAILABLE))
    one_upstream(server.url, RETRY={"ATTEMPTS": 3})
    landed = await run(chorus.call("svc", "/x"))
    assert landed.outcome is Outcome.BAD_STATUS
    assert landed.http_status == 503
    assert landed.attempts == 3
    assert len(server.requests) == 3


async def test_a_post_is_never_retried(serve, one_upstream):
    server = await serve(scripted(UNAVAILABLE, GOOD))
    one_upstream(server.url, RETRY={"ATTEMPTS": 3})
    landed = await run(chorus.call("svc", "/x", method="POST", json={"n": 1}))
    assert landed.outcome is Outcome.BAD_STATUS
    assert landed.attempts == 1
    assert len(server.requests) == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_other_idempotent_methods_are_retried(serve, one_upstream, method):
    server = await serve(scripted(UNAVAILABLE, GOOD))
    one_upstream(server.url, RETRY={"ATTEMPTS": 2})
    assert (await run(chorus.call("svc", "/x", method=method))).attempts == 2


async def test_a_status_it_does_not_name_is_not_retried(serve, one_upstream):
    server = await serve(scripted(answer(b"no", "500 Internal Server Error"), GOOD))
    one_upstream(server.url, RETRY={"ATTEMPTS": 3})  # 502, 503, 504 and errors by default
    landed = await run(chorus.call("svc", "/x"))
    assert landed.http_status == 500
    assert len(server.requests) == 1


async def test_a_named_status_is_retried(serve, one_upstream):
    server = await serve(scripted(answer(b"no", "500 Internal Server Error"), GOOD))
    one_upstream(server.url, RETRY={"ATTEMPTS": 3, "ON": [500]})
    assert (await run(chorus.call("svc", "/x"))).ok
    assert len(server.requests) == 2


async def test_a_reset_is_retried_as_an_error(serve, one_upstream):
    async def reset_first(conn):
        if conn.number == 0:
            await conn.read_request()
            conn.reset()
            return
        await conn.serve(GOOD)

    server = await serve(reset_first)
    one_upstream(server.url, RETRY={"ATTEMPTS": 2})
    landed = await run(chorus.call("svc", "/x"))
    assert landed.ok
    assert landed.attempts == 2
    assert len(server.connections) == 2


async def test_a_timeout_of_the_calls_own_time_is_not_retried(serve, one_upstream):
    async def hang(conn):
        await conn.read_request()
        await asyncio.sleep(10)

    server = await serve(hang)
    one_upstream(server.url, TIMEOUT=0.2, RETRY={"ATTEMPTS": 3, "ON": ["error", "connect_timeout"]})
    landed = await run(chorus.call("svc", "/x"))
    assert landed.outcome is Outcome.TIMEOUT
    assert len(server.requests) == 1


async def test_no_attempt_starts_that_the_deadline_would_cut_off(serve, one_upstream):
    async def slow_unavailable(conn):
        while await conn.read_request() is not None:
            await asyncio.sleep(0.15)
            await conn.send(UNAVAILABLE)

    server = await serve(slow_unavailable)
    one_upstream(server.url, TIMEOUT=1.0, RETRY={"ATTEMPTS": 5, "BACKOFF": 0.01})
    landed = await run(chorus.call("svc", "/x", timeout=0.4))
    # 150 ms an attempt, 400 ms in all: a third would end at about 450 ms. It is not
    # started, so the call ends with the upstream's own answer, not a timeout.
    assert landed.outcome is Outcome.BAD_STATUS
    assert landed.attempts == 2
    assert len(server.requests) == 2
    assert landed.ms < 400


async def test_the_budget_stops_retries_in_an_outage(serve, one_upstream):
    server = await serve(scripted(UNAVAILABLE))
    # 10% of calls, and no floor: 20 failing calls may be retried twice between them.
    one_upstream(
        server.url, RETRY={"ATTEMPTS": 3, "BUDGET": 0.1, "BUDGET_FLOOR": 0, "BUDGET_WINDOW": 60}
    )
    for _ in range(20):
        await run(chorus.call("svc", "/x"))
    assert len(server.requests) == 22  # not 60: the outage is not tripled
    budget = chorus.policy_report()["svc"]["retry_budget"]
    assert budget["retries"] == 2
    assert budget["refused"] == 20  # each call was refused once more after its last try


async def test_without_testing_mode_retries_back_off(serve, one_upstream):
    chorus.testing.set_testing(False)
    server = await serve(scripted(UNAVAILABLE))
    one_upstream(server.url, RETRY={"ATTEMPTS": 2, "BACKOFF": 0.3, "MAX_BACKOFF": 0.3})
    waits = []
    for _ in range(8):
        landed = await run(chorus.call("svc", "/x"))
        waits.append(landed.ms)
    # Full jitter: each wait is random in [0, 300 ms]; eight of them are not all tiny.
    assert max(waits) > 50


async def test_testing_mode_removes_the_backoff(serve, one_upstream):
    server = await serve(scripted(UNAVAILABLE))
    one_upstream(server.url, RETRY={"ATTEMPTS": 3, "BACKOFF": 5.0, "MAX_BACKOFF": 5.0})
    landed = await run(chorus.call("svc", "/x"))
    assert landed.attempts == 3
    assert landed.ms < 1000


async def test_retry_false_on_a_call_turns_it_off(serve, one_upstream):
    server = await serve(scripted(UNAVAILABLE, GOOD))
    one_upstream(server.url, RETRY={"ATTEMPTS": 3})
    assert (await run(chorus.call("svc", "/x", retry=False))).attempts == 1


async def test_a_retry_policy_on_a_call_replaces_the_upstreams(serve, one_upstream):
    server = await serve(scripted(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, GOOD))
    one_upstream(server.url, RETRY={"ATTEMPTS": 2})
    landed = await run(chorus.call("svc", "/x", retry=chorus.RetryPolicy(attempts=4)))
    assert landed.ok
    assert landed.attempts == 4
