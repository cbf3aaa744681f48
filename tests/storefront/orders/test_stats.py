"""Counts: active users, orders per status (all time and today, UTC) and revenue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from storefront.orders.models import Customer, OrderStatus
from storefront.orders.queries import todays_order_counts

from .conftest import MakeOrder

pytestmark = pytest.mark.django_db(transaction=True)


def _shop(make_order: MakeOrder) -> None:
    Customer.objects.create(name="Idle", email="idle@example.com", active=False)
    Customer.objects.create(name="Bob", email="bob@example.com")
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = midnight - timedelta(seconds=1)
    make_order([("TEA-S", 2, "4.50")], status=OrderStatus.PAID, created_at=midnight)
    make_order([("MUG-L", 1, "12.00")], status=OrderStatus.PENDING)
    make_order([("KETTLE", 1, "39.90")], status=OrderStatus.COMPLETED, created_at=yesterday)
    make_order([("PRESS", 1, "34.50")], status=OrderStatus.CANCELLED, created_at=yesterday)


async def test_active_count_counts_active_customers_only(async_client: AsyncClient) -> None:
    await Customer.objects.acreate(name="A", email="a@example.com")
    await Customer.objects.acreate(name="B", email="b@example.com")
    await Customer.objects.acreate(name="C", email="c@example.com", active=False)
    response = await async_client.get("/api/users/active-count/")
    assert response.status_code == 200
    assert orjson.loads(response.content) == {"active_users": 2}


async def test_stats_counts_per_status_today_and_revenue(
    async_client: AsyncClient, make_order: MakeOrder
) -> None:
    await sync_to_async(_shop)(make_order)
    response = await async_client.get("/api/orders/stats/")
    assert response.status_code == 200
    assert orjson.loads(response.content) == {
        "orders": {
            "total": 4,
            "by_status": {"pending": 1, "paid": 1, "shipped": 0, "completed": 1, "cancelled": 1},
        },
        "today": {
            "total": 2,
            "by_status": {"pending": 1, "paid": 1, "shipped": 0, "completed": 0, "cancelled": 0},
        },
        "active_customers": 2,  # Ada (the orders' customer) and Bob
        "revenue": "48.90",  # paid 9.00 + completed 39.90; pending and cancelled do not count
    }


async def test_stats_of_an_empty_shop_are_zeros(async_client: AsyncClient) -> None:
    body = orjson.loads((await async_client.get("/api/orders/stats/")).content)
    assert body["orders"] == {"total": 0, "by_status": dict.fromkeys(OrderStatus.values, 0)}
    assert body["revenue"] == "0.00"


async def test_stats_view_refuses_post(async_client: AsyncClient) -> None:
    response = await async_client.post("/api/orders/stats/", {}, content_type="application/json")
    assert response.status_code == 405


async def test_todays_order_counts_start_at_utc_midnight(make_order: MakeOrder) -> None:
    await sync_to_async(_shop)(make_order)
    assert await todays_order_counts() == {
        "pending": 1,
        "paid": 1,
        "shipped": 0,
        "completed": 0,
        "cancelled": 0,
    }
