"""PostgreSQL: a burst of concurrent requests leaves no connection checked out or open beyond the pool.

Each ASGI request runs its ORM calls on its own thread, with that thread's own
connection, taken from Django's psycopg pool and given back when the request
ends (``CONN_MAX_AGE = 0``). A leak would show as connections still busy, or
open past the pool's ``max_size``, once the requests are done.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import psycopg
import pytest
from django.db import connection

from storefront.orders.models import Customer
from tests.storefront.support.server import serving_storefront

from .conftest import MakeOrder

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BURST = 60


@pytest.fixture
def shop(postgres_url: str, make_order: MakeOrder) -> int:
    for number in range(5):
        make_order([(f"SKU-{number}", 1, "2.50")])
    customer_id = Customer.objects.get().pk
    # Give this thread's connection back to the pool: from here on, every
    # connection checked out is one a request took.
    connection.close()
    return customer_id


def _sessions(conninfo: dict[str, Any]) -> list[tuple[str, int]]:
    """(state, pid) of every other session on the test database, seen from outside the pool."""
    with psycopg.connect(**conninfo) as probe:
        rows = probe.execute(
            "SELECT coalesce(state, ''), pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [(state, pid) for state, pid in rows]


# api_key first: shop hands its thread's connection back last.
async def test_a_burst_of_requests_leaks_no_connection(api_key: dict[str, str], shop: int) -> None:
    assert connection.vendor == "postgresql"
    pool = connection.pool
    assert pool is not None
    conninfo = {
        key: value for key, value in connection.get_connection_params().items() if key != "context"
    }
    order = {"customer": shop, "items": [{"sku": "BURST", "qty": 1, "unit_price": "1.00"}]}

    async with (
        serving_storefront() as base_url,
        aiohttp.ClientSession(headers=api_key) as session,
    ):

        async def request(number: int) -> int:
            if number % 3 == 0:
                call = session.post(f"{base_url}/api/orders/", json=order)
            else:
                path = "/api/orders/recent/" if number % 3 == 1 else "/api/orders/stats/"
                call = session.get(base_url + path)
            async with call as response:
                await response.read()
                return response.status

        statuses = await asyncio.gather(*(request(n) for n in range(BURST)))

    assert sorted(set(statuses)) == [200, 201]
    stats = pool.get_stats()
    assert stats["pool_size"] <= stats["pool_max"] < BURST
    assert stats["pool_available"] == stats["pool_size"], f"connections still checked out: {stats}"
    sessions = await asyncio.to_thread(_sessions, conninfo)
    assert len(sessions) <= stats["pool_max"]
    assert {state for state, _ in sessions} <= {"idle"}, sessions
