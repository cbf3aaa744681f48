"""GET /api/orders/<id>/: one order with its customer and items, or a JSON 404."""

from __future__ import annotations

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from .conftest import MakeOrder

pytestmark = pytest.mark.django_db(transaction=True)


async def test_answers_the_order_with_money_as_strings(
    async_client: AsyncClient, make_order: MakeOrder
) -> None:
    order = await sync_to_async(make_order)([("GRINDER-BLK", 1, "89.00"), ("BEANS-M", 2, "14.25")])
    response = await async_client.get(f"/api/orders/{order.pk}/")
    assert response.status_code == 200
    body = orjson.loads(response.content)
    assert body["id"] == order.pk
    assert body["total"] == "117.50"
    assert body["customer"]["email"] == "ada@example.com"
    assert body["items"] == [
        {"sku": "GRINDER-BLK", "qty": 1, "unit_price": "89.00", "line_total": "89.00"},
        {"sku": "BEANS-M", "qty": 2, "unit_price": "14.25", "line_total": "28.50"},
    ]


async def test_an_unknown_order_is_a_json_404(async_client: AsyncClient) -> None:
    response = await async_client.get("/api/orders/999999/")
    assert response.status_code == 404
    assert orjson.loads(response.content) == {
        "error": {"code": "order_not_found", "message": "No order 999999."}
    }
