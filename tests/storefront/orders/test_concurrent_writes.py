"""Many simultaneous POST /api/orders/ over real HTTP: every order and item stored exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import aiohttp
import pytest
from asgiref.sync import sync_to_async

from storefront.orders.models import Customer, Order, OrderItem
from tests.storefront.support.server import serving_storefront

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS = 200
ITEMS_PER_ORDER = 3


def _payload(number: int, customer_ids: list[int]) -> dict[str, object]:
    return {
        "customer": customer_ids[number % len(customer_ids)],
        "items": [
            {"sku": f"R{number}-{k}", "qty": k + 1, "unit_price": f"{number}.{k}5"}
            for k in range(ITEMS_PER_ORDER)
        ],
    }


def _expected_total(number: int) -> Decimal:
    return sum(((k + 1) * Decimal(f"{number}.{k}5") for k in range(ITEMS_PER_ORDER)), Decimal(0))


async def test_concurrent_posts_lose_and_duplicate_nothing(api_key: dict[str, str]) -> None:
    customers = [
        await Customer.objects.acreate(name=f"Buyer {n}", email=f"buyer{n}@example.com")
        for n in range(4)
    ]
    customer_ids = [c.pk for c in customers]

    async with (
        serving_storefront() as base_url,
        aiohttp.ClientSession(headers=api_key) as session,
    ):

        async def post(number: int) -> tuple[int, dict[str, object]]:
            async with session.post(
                f"{base_url}/api/orders/", json=_payload(number, customer_ids)
            ) as response:
                return response.status, await response.json()

        answers = await asyncio.gather(*(post(n) for n in range(REQUESTS)))

    assert [status for status, _ in answers] == [201] * REQUESTS
    ids = [body["id"] for _, body in answers]
    assert len(set(ids)) == REQUESTS

    stored = await sync_to_async(lambda: {o.pk: o for o in Order.objects.all()})()
    assert sorted(stored) == sorted(ids)
    for number, (_, body) in enumerate(answers):
        order = stored[body["id"]]  # type: ignore[index]
        assert order.customer_id == customer_ids[number % len(customer_ids)]
        assert order.total == _expected_total(number)

    skus = await sync_to_async(lambda: Counter(OrderItem.objects.values_list("order_id", "sku")))()
    expected = {
        (body["id"], f"R{number}-{k}")
        for number, (_, body) in enumerate(answers)
        for k in range(ITEMS_PER_ORDER)
    }
    assert set(skus) == expected
    assert set(skus.values()) == {1}
