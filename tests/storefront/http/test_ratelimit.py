"""Moving windows per API key, per address for anonymous callers; 429 JSON with ``Retry-After``.

Adapted from the token-bucket tests: ``RATE``/``BURST`` is now ``BURST``
requests per ``BURST / RATE`` seconds (rounded up), so ``Retry-After`` is the
time until the oldest request leaves the window, and slots come back one
window after they were used.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from storefront.asgi import application
from storefront.http import local_windows, ratelimit
from tests.fixtures.asgi import asgi_request

URL = "/api/events/"
QUERY = "count=1&interval=0.01"


def limits(settings, *, api=(0.0, 1), anonymous=(0.0, 1)):
    settings.STOREFRONT_RATE_LIMITS = {
        "API": {"RATE": api[0], "BURST": api[1]},
        "ANONYMOUS": {"RATE": anonymous[0], "BURST": anonymous[1]},
    }


async def get(path=URL, headers=None):
    return await asgi_request(application, path, query=QUERY, headers=headers)


async def test_a_key_gets_its_burst_then_a_429_with_retry_after(settings, api_key):
    limits(settings, api=(0.5, 3))
    statuses = [(await get(headers=api_key)).status for _ in range(3)]
    refused = await get(headers=api_key)
    assert statuses == [200, 200, 200]
    assert refused.status == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    # 3 requests per 3 / 0.5 = 6 s: the first of the three leaves the window in 6 s.
    assert refused.headers["retry-after"] == "6"


async def test_each_key_has_its_own_bucket(settings, api_key, read_only_key):
    limits(settings, api=(0.5, 1))
    assert (await get(headers=api_key)).status == 200
    assert (await get(headers=api_key)).status == 429
    assert (await get(headers=read_only_key)).status == 200


async def test_slots_come_back_one_window_after_they_were_used(settings, api_key):
    limits(settings, api=(2.0, 2))  # 2 per 1 s (windows are whole seconds)
    assert [(await get(headers=api_key)).status for _ in range(3)] == [200, 200, 429]
    await asyncio.sleep(1.05)
    assert [(await get(headers=api_key)).status for _ in range(3)] == [200, 200, 429]


def test_rate_and_burst_map_to_a_window_never_looser_than_the_setting():
    def window(rate, burst):
        item = ratelimit.window_for(ratelimit.Limit(rate, burst))
        return item.amount, item.get_expiry()

    assert window(1000.0, 2000) == (2000, 2)  # the defaults: exact
    assert window(20.0, 200) == (200, 10)
    assert window(0.01, 10) == (10, 1000)
    assert window(3.0, 10) == (10, 4)  # 3.33 s rounded up: 2.5 per second, not 3
    assert window(20.0, 1) == (1, 1)  # under a second rounds up to one: 1 per second


async def test_anonymous_pages_are_limited_per_address_but_probes_never(settings, transactional_db):
    limits(settings, anonymous=(0.1, 2))
    assert [(await get("/login/")).status for _ in range(2)] == [200, 200]
    refused = await get("/login/")
    assert refused.status == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert (await get("/healthz")).status == 200


async def test_guessing_keys_soon_meets_a_429(settings, transactional_db):
    limits(settings, anonymous=(0.1, 2))
    wrong = {"x-api-key": "sf_a-guess-at-a-key-0000000000000000"}
    assert [(await get(headers=wrong)).status for _ in range(3)] == [401, 401, 429]


def test_the_wsgi_baseline_runs_the_same_limits(settings, db):
    from django.test import Client

    limits(settings, anonymous=(0.1, 2))
    client = Client()
    wrong = {"HTTP_X_API_KEY": "sf_a-guess-at-a-key-0000000000000000"}
    assert [client.get(URL, **wrong).status_code for _ in range(2)] == [401, 401]
    refused = client.get("/login/")  # the same address's window: guesses count against it
    assert refused.status_code == 429
    assert refused["Retry-After"] == "20"  # 2 per 20 s
    assert client.get("/healthz").status_code == 200


async def test_rotating_identities_never_frees_a_client_that_used_its_burst(settings):
    settings.REDIS_URL = None  # this process's windows, the ones with a bound
    store = ratelimit._local
    limit = ratelimit.Limit(rate=0.01, burst=3)  # 3 per 300 s
    assert [await ratelimit.take_token("ip:victim", limit) == 0 for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    # More one-request identities than the fresh map can hold (its bound: slots per key).
    rotations = store.fresh.slots // (local_windows.KEY_SLOTS + 1) + 5_000
    for n in range(rotations):
        assert await ratelimit.take_token(f"ip:rotated-{n}", limit) == 0
    assert len(store.fresh.rings) < rotations  # bounded: the least recently used were forgotten
    assert store.fresh.used <= store.fresh.slots
    assert 290 < await ratelimit.take_token("ip:victim", limit) <= 300  # still limited
    # An identity that had not used its burst is forgotten: at most a fresh burst.
    assert await ratelimit.take_token("ip:rotated-0", limit) == 0


async def test_a_rate_of_zero_turns_the_limit_off(settings, api_key):
    limits(settings, api=(0.0, 1))
    assert {(await get(headers=api_key)).status for _ in range(5)} == {200}


async def test_concurrent_takers_never_share_a_token(settings):
    identity = f"test:{uuid.uuid4()}"
    limit = ratelimit.Limit(rate=0.01, burst=10)
    waits = await asyncio.gather(*(ratelimit.take_token(identity, limit) for _ in range(40)))
    assert sum(wait == 0 for wait in waits) == 10


@pytest.mark.services
async def test_redis_buckets_are_atomic_and_shared_by_every_worker(settings, redis_url):
    settings.REDIS_URL = redis_url
    identity = f"test:{uuid.uuid4()}"
    limit = ratelimit.Limit(rate=0.01, burst=10)
    waits = await asyncio.gather(*(ratelimit.take_token(identity, limit) for _ in range(8)))

    async def other_worker_requests():
        try:
            return await asyncio.gather(*(ratelimit.take_token(identity, limit) for _ in range(4)))
        finally:
            await ratelimit.aclose_rate_limiter()

    # Another worker: another thread and event loop, so another client and connection pool.
    other_worker = await asyncio.to_thread(asyncio.run, other_worker_requests())
    # The WSGI baseline's path: the process's own rate-limit loop, a third client.
    wsgi_worker = await asyncio.to_thread(
        lambda: [ratelimit.run_sync(ratelimit.take_token(identity, limit)) for _ in range(2)]
    )
    assert sum(wait == 0 for wait in [*waits, *other_worker, *wsgi_worker]) == 10
    assert 999 < max(other_worker) <= 1000  # 10 per 1,000 s: the first leaves in ~1,000 s
    assert all(999 < wait <= 1000 for wait in wsgi_worker)
    assert not ratelimit._local.fresh.rings  # nothing fell back to this process's windows
    assert not ratelimit._local.spent.rings


@pytest.mark.services
async def test_a_burst_larger_than_the_pool_waits_for_connections_instead_of_failing(
    settings, redis_url
):
    # redis-py's default pool refused the 101st concurrent command: a burst of 300
    # requests was 200 answers of 500 before the pool became a blocking one.
    settings.REDIS_URL = redis_url
    identity = f"test:{uuid.uuid4()}"
    limit = ratelimit.Limit(rate=0.01, burst=250)
    try:
        waits = await asyncio.gather(*(ratelimit.take_token(identity, limit) for _ in range(300)))
        assert sum(wait == 0 for wait in waits) == 250
        assert all(24_990 < wait <= 25_000 for wait in waits if wait)  # 250 per 25,000 s
    finally:
        await ratelimit.aclose_rate_limiter()


async def test_without_redis_the_limit_falls_back_to_this_process_with_one_warning(
    settings, caplog
):
    import socket

    with socket.socket() as closed:  # a port that refuses: bound, never listening
        closed.bind(("127.0.0.1", 0))
        settings.REDIS_URL = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
        identity = f"test:{uuid.uuid4()}"
        limit = ratelimit.Limit(rate=0.01, burst=3)
        ratelimit._last_warning = -ratelimit._WARN_EVERY
        try:
            waits = [await ratelimit.take_token(identity, limit) for _ in range(5)]
            # The WSGI baseline's path falls back to the same windows.
            waits.append(
                await asyncio.to_thread(ratelimit.run_sync, ratelimit.take_token(identity, limit))
            )
        finally:
            await ratelimit.aclose_rate_limiter()
    assert [wait == 0 for wait in waits] == [True, True, True, False, False, False]
    assert 299 < waits[-1] <= 300
    warnings = [r for r in caplog.records if r.name == "storefront.ratelimit"]
    assert len(warnings) == 1
    assert "Redis failed" in warnings[0].getMessage()
