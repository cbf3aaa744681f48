"""At most ``MAX_CONNECTIONS`` calls in flight per upstream; the rest wait their turn."""

import asyncio

import pytest

import chorus
from chorus.engine._bulkhead import Bulkhead
from tests.fixtures.raw_server import answer


async def test_places_are_taken_up_to_the_limit_and_given_back():
    bulkhead = Bulkhead(2)
    assert bulkhead.try_enter()
    assert bulkhead.try_enter()
    assert not bulkhead.try_enter()
    bulkhead.leave()
    assert bulkhead.in_flight == 1
    assert bulkhead.try_enter()


def test_a_bulkhead_needs_a_place():
    with pytest.raises(ValueError, match="at least one place"):
        Bulkhead(0)


async def test_waiters_are_served_first_come_first_served():
    bulkhead = Bulkhead(1)
    await bulkhead.enter()
    order = []

    async def wait(name):
        await bulkhead.enter()
        order.append(name)
        bulkhead.leave()

    waiters = [asyncio.create_task(wait(name)) for name in "abc"]
    await asyncio.sleep(0)
    assert bulkhead.waiting == 3
    assert not bulkhead.try_enter()  # nobody jumps the queue, even for a free place
    bulkhead.leave()
    await asyncio.gather(*waiters)
    assert order == ["a", "b", "c"]
    assert (bulkhead.in_flight, bulkhead.waiting) == (0, 0)


async def test_a_cancelled_waiter_leaves_the_queue_without_a_place():
    bulkhead = Bulkhead(1)
    await bulkhead.enter()
    gone = asyncio.create_task(bulkhead.enter())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert bulkhead.waiting == 0
    bulkhead.leave()
    assert bulkhead.in_flight == 0


async def test_a_waiter_cancelled_after_being_handed_a_place_passes_it_on():
    bulkhead = Bulkhead(1)
    await bulkhead.enter()
    first = asyncio.create_task(bulkhead.enter())
    second = asyncio.create_task(bulkhead.enter())
    await asyncio.sleep(0)
    bulkhead.leave()  # the place goes to ``first`` ...
    first.cancel()  # ... which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await first
    await second  # the place moved on instead of being lost
    assert (bulkhead.in_flight, bulkhead.waiting) == (1, 0)


async def test_max_connections_bounds_the_calls_in_flight_to_one_upstream(settings, serve):
    in_flight = peak = 0

    async def slow(conn):
        nonlocal in_flight, peak
        while await conn.read_request() is not None:
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.05)
            in_flight -= 1
            await conn.send(answer(b"{}", "200 OK", "Content-Type: application/json"))

    server = await serve(slow)
    settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": server.url, "MAX_CONNECTIONS": 2}}}
    calls = {f"c{i}": chorus.call("svc", f"/{i}") for i in range(5)}
    result = await chorus.gather(calls, deadline=2)
    assert all(landed.ok for landed in result.sources.values())
    assert peak == 2
    assert len(server.requests) == 5


async def test_a_waiter_cancelled_as_a_place_frees_ends_cancelled_not_in_error():
    bulkhead = Bulkhead(1)
    await bulkhead.enter()
    waiting = asyncio.create_task(bulkhead.enter())
    await asyncio.sleep(0)
    waiting.cancel()  # in the same turn as ...
    bulkhead.leave()  # ... the place frees: leave() drops the cancelled waiter itself
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (bulkhead.in_flight, bulkhead.waiting) == (0, 0)
