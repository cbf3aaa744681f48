"""Storefront on real PostgreSQL and Redis, when the suite runs with them.

Settings are read from the environment once, at start-up, so these tests check
the configuration the whole run uses: ``DATABASE_URL=postgres://... REDIS_URL=redis://...
uv run pytest`` (as ``.ci/run`` does). Without those servers they skip.
"""

from __future__ import annotations

import uuid

import orjson
import pytest
import redis.asyncio
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import AsyncClient

pytestmark = pytest.mark.services


def _select_one() -> object:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 + 1")
        row = cursor.fetchone()
    assert row is not None
    return row[0]


@pytest.mark.django_db
def test_postgres_is_the_database_with_the_pool(postgres_url: str) -> None:
    database = settings.DATABASES["default"]
    assert connection.vendor == "postgresql"
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"]["max_size"] > 0
    assert _select_one() == 2
    assert connection.pool is not None


@pytest.mark.django_db
async def test_readyz_reports_postgres_ok(postgres_url: str, async_client: AsyncClient) -> None:
    response = await async_client.get("/readyz")
    assert orjson.loads(response.content)["checks"]["database"] == "ok"
    assert connection.vendor == "postgresql"


def test_redis_is_the_cache(redis_url: str) -> None:
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert settings.CACHES["default"]["LOCATION"] == redis_url


async def test_cache_round_trip_and_expiry_through_redis(redis_url: str) -> None:
    key = f"test:{uuid.uuid4().hex}"
    await cache.aset(key, {"stock": 7}, timeout=30)
    try:
        assert await cache.aget(key) == {"stock": 7}
        # The value lives in Redis with the timeout as its TTL, not in this process.
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            ttl = await client.ttl(cache.make_and_validate_key(key))
        finally:
            await client.aclose()
        assert 0 < ttl <= 30
        assert await cache.atouch(key, timeout=0)
        assert await cache.aget(key) is None
    finally:
        await cache.adelete(key)


@pytest.mark.django_db
async def test_readyz_reports_redis_ok(redis_url: str, async_client: AsyncClient) -> None:
    response = await async_client.get("/readyz")
    assert orjson.loads(response.content)["checks"]["redis"] == "ok"
