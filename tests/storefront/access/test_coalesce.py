"""CoalescingCache: one lookup per burst, refreshed ahead of expiry, failures not kept."""

import asyncio

import pytest

from storefront.access.coalesce import MISSING, CoalescingCache


class Lookups:
    """A slow lookup that counts its calls and can be told to fail."""

    def __init__(self, delay: float = 0.02) -> None:
        self.calls = 0
        self.delay = delay
        self.fail: Exception | None = None
        self.value = "v1"

    async def __call__(self) -> str:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return self.value


async def test_concurrent_misses_share_one_lookup():
    cache = CoalescingCache[str, str](ttl=10)
    lookup = Lookups()
    values = await asyncio.gather(*(cache.get("k", lookup) for _ in range(500)))
    assert values == ["v1"] * 500
    assert lookup.calls == 1
    assert await cache.get("k", lookup) == "v1"
    assert lookup.calls == 1


async def test_a_hit_past_the_refresh_point_answers_at_once_and_refreshes_once():
    cache = CoalescingCache[str, str](ttl=0.2, refresh_ahead=0.5)
    lookup = Lookups()
    await cache.get("k", lookup)
    await asyncio.sleep(0.12)
    lookup.value = "v2"
    answered = await asyncio.gather(*(cache.get("k", lookup) for _ in range(50)))
    assert answered == ["v1"] * 50  # nobody waited for the refresh
    await asyncio.sleep(0.05)
    assert lookup.calls == 2
    assert cache.peek("k") == "v2"


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_kept():
    cache = CoalescingCache[str, str](ttl=10)
    lookup = Lookups()
    lookup.fail = RuntimeError("database down")
    results = await asyncio.gather(
        *(cache.get("k", lookup) for _ in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [RuntimeError] * 3
    assert lookup.calls == 1
    assert cache.peek("k") is MISSING
    lookup.fail = None
    assert await cache.get("k", lookup) == "v1"


async def test_a_failed_refresh_evicts_the_entry():
    cache = CoalescingCache[str, str](ttl=0.2, refresh_ahead=0.5)
    lookup = Lookups(delay=0)
    await cache.get("k", lookup)
    await asyncio.sleep(0.12)
    lookup.fail = LookupError("gone")
    assert await cache.get("k", lookup) == "v1"
    await asyncio.sleep(0.02)
    assert cache.peek("k") is MISSING


async def test_a_waiter_that_is_cancelled_leaves_the_lookup_running_for_the_others():
    cache = CoalescingCache[str, str](ttl=10)
    lookup = Lookups(delay=0.05)
    leaving = asyncio.create_task(cache.get("k", lookup))
    staying = asyncio.create_task(cache.get("k", lookup))
    await asyncio.sleep(0.01)
    leaving.cancel()
    assert await staying == "v1"
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert lookup.calls == 1


async def test_no_ttl_keeps_nothing_but_still_coalesces():
    cache = CoalescingCache[str, str](ttl=0)
    lookup = Lookups()
    await asyncio.gather(*(cache.get("k", lookup) for _ in range(20)))
    assert lookup.calls == 1
    await cache.get("k", lookup)
    assert lookup.calls == 2


async def test_aclose_cancels_and_awaits_lookups_in_flight():
    cache = CoalescingCache[str, str](ttl=10)
    lookup = Lookups(delay=10)
    waiter = asyncio.create_task(cache.get("k", lookup))
    await asyncio.sleep(0.01)
    [flight] = cache._flights.get().values()
    await cache.aclose()
    assert flight.cancelled()
    with pytest.raises(asyncio.CancelledError):
        await waiter


def test_refresh_ahead_must_be_a_fraction():
    with pytest.raises(ValueError, match="fraction"):
        CoalescingCache(ttl=1, refresh_ahead=0)
