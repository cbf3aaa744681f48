"""Token buckets per API key, per address for anonymous callers; 429 JSON with ``Retry-After``."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from storefront.asgi import application
from storefront.http import ratelimit
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
    assert refused.headers["retry-after"] == "2"  # one token at 0.5 per second


async def test_each_key_has_its_own_bucket(settings, api_key, read_only_key):
    limits(settings, api=(0.5, 1))
    assert (await get(headers=api_key)).status == 200
    assert (await get(headers=api_key)).status == 429
    assert (await get(headers=read_only_key)).status == 200


async def test_tokens_come_back_at_the_rate(settings, api_key):
    limits(settings, api=(20.0, 1))
    assert (await get(headers=api_key)).status == 200
    assert (await get(headers=api_key)).status == 429
    await asyncio.sleep(0.06)
    assert (await get(headers=api_key)).status == 200


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
    # Another worker: another client, another connection, the same bucket.
    other_worker = await asyncio.to_thread(
        lambda: [ratelimit._take_token_sync(identity, limit) for _ in range(4)]
    )
    assert sum(wait == 0 for wait in [*waits, *other_worker]) == 10
    assert 99 < max(other_worker) <= 100  # a whole token at 0.01 per second


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
        assert all(99 < wait <= 100 * 50 for wait in waits if wait)
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
        finally:
            await ratelimit.aclose_rate_limiter()
    assert [wait == 0 for wait in waits] == [True, True, True, False, False]
    warnings = [r for r in caplog.records if r.name == "storefront.ratelimit"]
    assert len(warnings) == 1
    assert "Redis failed" in warnings[0].getMessage()
