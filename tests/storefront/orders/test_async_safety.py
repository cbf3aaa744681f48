"""No sync ORM in async code: Django's guard is on, would catch a slip, and the views pass it."""

from __future__ import annotations

import os

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.test import AsyncClient

from storefront.orders import queries
from storefront.orders.models import Customer, Order
from storefront.orders.serializers import order_dict

from .conftest import MakeOrder

pytestmark = pytest.mark.django_db(transaction=True)

GET_ROUTES = ("/api/users/active-count/", "/api/orders/stats/", "/api/orders/recent/")


def test_the_guard_is_not_switched_off() -> None:
    assert "DJANGO_ALLOW_ASYNC_UNSAFE" not in os.environ


async def test_a_sync_query_on_the_event_loop_raises() -> None:
    with pytest.raises(SynchronousOnlyOperation):
        Order.objects.count()


async def test_a_view_that_slipped_into_the_sync_orm_would_raise(
    async_client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def count_the_sync_way() -> int:
        return Customer.objects.filter(active=True).count()  # the mistake under test

    monkeypatch.setattr(queries, "active_customer_count", count_the_sync_way)
    with pytest.raises(SynchronousOnlyOperation):
        await async_client.get("/api/users/active-count/")


async def test_a_lazy_relation_in_async_code_raises(make_order: MakeOrder) -> None:
    # Why the queries select and prefetch: without them, serializing touches
    # order.customer lazily, which is a sync query on the event loop.
    order = await sync_to_async(make_order)()
    bare = await Order.objects.aget(pk=order.pk)
    with pytest.raises(SynchronousOnlyOperation):
        order_dict(bare, [])
    loaded = await queries.order_with_items(order.pk)
    assert order_dict(loaded, loaded.items.all())["customer"]["id"] == order.customer_id


@pytest.mark.parametrize("path", GET_ROUTES)
async def test_every_read_view_passes_the_guard(
    async_client: AsyncClient, make_order: MakeOrder, path: str
) -> None:
    await sync_to_async(make_order)([("TEA-S", 1, "4.50"), ("MUG-L", 2, "12.00")])
    response = await async_client.get(path)
    assert response.status_code == 200


async def test_the_detail_and_create_views_pass_the_guard(
    async_client: AsyncClient, make_order: MakeOrder
) -> None:
    order = await sync_to_async(make_order)()
    assert (await async_client.get(f"/api/orders/{order.pk}/")).status_code == 200
    created = await async_client.post(
        "/api/orders/",
        {"customer": order.customer_id, "items": [{"sku": "A", "qty": 1, "unit_price": "1"}]},
        content_type="application/json",
    )
    assert created.status_code == 201
