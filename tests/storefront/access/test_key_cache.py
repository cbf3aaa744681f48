"""Guessing keys never pushes the real ones out of the key cache."""

import asyncio
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from storefront.access import keys
from storefront.access.models import ApiKey, Scope


@pytest.fixture
def real_key(transactional_db):
    keys.forget_keys()
    plaintext, _ = keys.create_key(name="real", scope=Scope.READ)
    keys.forget_keys()
    return plaintext


def test_a_flood_of_unknown_keys_leaves_real_keys_cached(real_key, monkeypatch):
    monkeypatch.setattr(keys, "_MAX_CACHED", 5)
    assert keys.check_key(real_key) is not None  # cached now
    for n in range(20):
        assert keys.check_key(f"sf_made-up-key-number-{n:04d}-xxxxxxxxxxxx") is None
    with CaptureQueriesContext(connection) as queries:
        assert keys.check_key(real_key) is not None
    assert len(queries) == 0


def test_an_unknown_key_is_asked_of_the_database_once_per_ttl(real_key):
    made_up = "sf_never-issued-key-xxxxxxxxxxxxxxxxxxxx"
    with CaptureQueriesContext(connection) as queries:
        assert keys.check_key(made_up) is None
        assert keys.check_key(made_up) is None
    assert len(queries) == 1


@pytest.fixture
def counted_lookups(monkeypatch):
    """The real lookup, counted: how many queries the cache let through."""
    calls = []
    real = keys._lookup

    def counting(key_digest):
        calls.append(threading.get_ident())
        return real(key_digest)

    monkeypatch.setattr(keys, "_lookup", counting)
    return calls


async def test_a_burst_on_a_cold_key_makes_one_query_on_one_thread(real_key, counted_lookups):
    threads_before = threading.active_count()
    credentials = await asyncio.gather(*(keys.acheck_key(real_key) for _ in range(1000)))
    assert {c.name for c in credentials} == {"real"}
    assert len(counted_lookups) == 1
    assert threading.active_count() <= threads_before + 1


async def test_a_burst_of_one_unknown_key_makes_one_query(real_key, counted_lookups):
    made_up = "sf_never-issued-key-yyyyyyyyyyyyyyyyyyyy"
    found = await asyncio.gather(*(keys.acheck_key(made_up) for _ in range(300)))
    assert found == [None] * 300
    assert len(counted_lookups) == 1
    assert await keys.acheck_key(made_up) is None
    assert len(counted_lookups) == 1  # remembered as unknown


async def test_a_caller_that_leaves_does_not_cancel_the_lookup_for_the_others(
    real_key, counted_lookups
):
    leaving = asyncio.create_task(keys.acheck_key(real_key))
    staying = asyncio.create_task(keys.acheck_key(real_key))
    await asyncio.sleep(0)
    leaving.cancel()
    assert (await staying).name == "real"
    assert leaving.cancelled()
    assert len(counted_lookups) == 1


async def test_a_hot_key_is_refreshed_ahead_of_expiry_and_a_revocation_is_seen(
    real_key, counted_lookups, settings
):
    settings.STOREFRONT_API_KEY_CACHE_TTL = 1.0  # setting_changed: a fresh cache with this TTL
    assert (await keys.acheck_key(real_key)).name == "real"
    await asyncio.sleep(0.6)  # past half the TTL
    # Revoked behind the cache's back (no signal), as another process would.
    await ApiKey.objects.filter(name="real").aupdate(revoked_at=timezone.now())
    # Still trusted for now (at most the TTL), while one refresh goes to the database…
    assert (await keys.acheck_key(real_key)).name == "real"
    for _ in range(100):
        if len(counted_lookups) == 2 and not keys._remembered.known._flights.get():
            break
        await asyncio.sleep(0.01)
    # …which finds it revoked: refused before the TTL ran out.
    assert await keys.acheck_key(real_key) is None
    assert len(counted_lookups) == 2
