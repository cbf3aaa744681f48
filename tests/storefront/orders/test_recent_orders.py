"""GET /api/orders/recent/: newest first, 50 a page with links, in a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from storefront.orders.models import Customer, Order, OrderItem
from storefront.orders.queries import RECENT_PAGE_SIZE

from .conftest import MakeOrder

URL = "/api/orders/recent/"


def _orders(make_order: MakeOrder, count: int) -> list[Order]:
    start = timezone.now() - timedelta(days=1)
    customers = [
        Customer.objects.create(name=f"Customer {n}", email=f"c{n}@example.com") for n in range(3)
    ]
    return [
        make_order(
            [(f"SKU-{n}-{k}", k + 1, "1.00") for k in range(n % 4 + 1)],
            created_at=start + timedelta(minutes=n),
            owner=customers[n % 3],
        )
        for n in range(count)
    ]


@pytest.mark.django_db(transaction=True)
async def test_newest_first_with_customer_and_items(
    async_client: AsyncClient, make_order: MakeOrder
) -> None:
    older, newer = await sync_to_async(_orders)(make_order, 2)
    response = await async_client.get(URL)
    assert response.status_code == 200
    body = orjson.loads(response.content)
    assert [order["id"] for order in body["results"]] == [newer.pk, older.pk]
    first = body["results"][0]
    assert first["customer"]["name"] == "Customer 1"
    assert [item["sku"] for item in first["items"]] == ["SKU-1-0", "SKU-1-1"]
    assert body["count"] == 2
    assert (body["next"], body["previous"]) == (None, None)


@pytest.mark.django_db(transaction=True)
async def test_pages_link_to_their_neighbours(
    async_client: AsyncClient, make_order: MakeOrder
) -> None:
    orders = await sync_to_async(_orders)(make_order, RECENT_PAGE_SIZE * 2 + 1)
    first = orjson.loads((await async_client.get(URL)).content)
    assert (first["page"], first["num_pages"], first["count"]) == (1, 3, 101)
    assert first["previous"] is None
    assert first["next"] == f"http://testserver{URL}?page=2"

    second = orjson.loads((await async_client.get(first["next"])).content)
    assert second["previous"] == f"http://testserver{URL}?page=1"
    assert second["next"] == f"http://testserver{URL}?page=3"
    last = orjson.loads((await async_client.get(second["next"])).content)
    assert last["next"] is None
    assert [order["id"] for order in last["results"]] == [orders[0].pk]

    seen = [o["id"] for page in (first, second, last) for o in page["results"]]
    assert seen == [order.pk for order in reversed(orders)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("page", "status", "code"), [("x", 400, "invalid_page"), ("2", 404, "page_not_found"), ("0", 404, "page_not_found")])  # fmt: skip
async def test_a_page_that_does_not_exist_is_a_json_error(
    async_client: AsyncClient, make_order: MakeOrder, page: str, status: int, code: str
) -> None:
    await sync_to_async(make_order)()
    response = await async_client.get(URL, {"page": page})
    assert response.status_code == status
    assert orjson.loads(response.content)["error"]["code"] == code


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, RECENT_PAGE_SIZE, RECENT_PAGE_SIZE + 7])
def test_a_page_costs_three_queries_whatever_it_holds(
    client: Client,
    make_order: MakeOrder,
    django_assert_num_queries: DjangoAssertNumQueries,
    count: int,
) -> None:
    # The sync test client runs the async view under async_to_sync, so its ORM
    # calls come back to this thread's connection, where the queries are counted.
    _orders(make_order, count)
    with django_assert_num_queries(3):  # count, orders joined to customers, all their items
        response = client.get(URL)
    body = orjson.loads(response.content)
    assert len(body["results"]) == min(count, RECENT_PAGE_SIZE)
    assert sum(len(order["items"]) for order in body["results"]) == sum(
        n % 4 + 1 for n in range(count)[-RECENT_PAGE_SIZE:]
    )
    assert OrderItem.objects.count() >= sum(len(order["items"]) for order in body["results"])
