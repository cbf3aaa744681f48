"""POST /api/orders/: 201 with the stored order, or a JSON 4xx naming the problem; nothing half-made."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError
from django.test import AsyncClient

from storefront.orders import services
from storefront.orders.models import Customer, Order, OrderItem
from storefront.orders.validation import ItemInput, OrderInput

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/orders/"


async def _post(client: AsyncClient, payload: object) -> tuple[int, dict[str, object]]:
    response = await client.post(URL, orjson.dumps(payload), content_type="application/json")
    return response.status_code, orjson.loads(response.content)


async def test_creates_the_order_and_its_items(
    async_client: AsyncClient, customer: Customer
) -> None:
    items = [
        {"sku": "TEA-S", "qty": 3, "unit_price": "4.50"},
        {"sku": "MUG-L", "qty": 1, "unit_price": "12.00"},
    ]
    response = await async_client.post(
        URL,
        orjson.dumps({"customer": customer.pk, "items": items}),
        content_type="application/json",
    )
    assert response.status_code == 201
    body = orjson.loads(response.content)
    assert response["Location"] == f"/api/orders/{body['id']}/"
    assert body["status"] == "pending"
    assert body["total"] == "25.50"
    assert body["customer"] == {"id": customer.pk, "name": customer.name, "email": customer.email}
    assert [(i["sku"], i["qty"], i["unit_price"], i["line_total"]) for i in body["items"]] == [
        ("TEA-S", 3, "4.50", "13.50"),
        ("MUG-L", 1, "12.00", "12.00"),
    ]
    stored = await Order.objects.aget(pk=body["id"])
    assert stored.total == Decimal("25.50")
    assert [i.sku async for i in OrderItem.objects.filter(order=stored)] == ["TEA-S", "MUG-L"]


async def test_the_created_order_reads_back_the_same(
    async_client: AsyncClient, customer: Customer
) -> None:
    status, created = await _post(
        async_client,
        {"customer": customer.pk, "items": [{"sku": "KETTLE", "qty": 1, "unit_price": 39.9}]},
    )
    assert status == 201
    response = await async_client.get(f"/api/orders/{created['id']}/")
    assert orjson.loads(response.content) == created


async def test_an_unknown_customer_is_400(async_client: AsyncClient) -> None:
    status, body = await _post(
        async_client, {"customer": 424242, "items": [{"sku": "A", "qty": 1, "unit_price": "1"}]}
    )
    assert status == 400
    assert body == {"error": {"code": "unknown_customer", "message": "No customer 424242."}}
    assert not await Order.objects.aexists()


async def test_an_inactive_customer_cannot_order(async_client: AsyncClient) -> None:
    gone = await Customer.objects.acreate(name="Gone", email="gone@example.com", active=False)
    status, body = await _post(
        async_client, {"customer": gone.pk, "items": [{"sku": "A", "qty": 1, "unit_price": "1"}]}
    )
    assert (status, body["error"]["code"]) == (400, "inactive_customer")  # type: ignore[index]


@pytest.mark.parametrize(
    ("items", "code"),
    [([], "empty_items"), ([{"sku": "A", "qty": 0, "unit_price": "1"}], "invalid_qty")],
)
async def test_bad_items_are_400_and_store_nothing(
    async_client: AsyncClient, customer: Customer, items: list[object], code: str
) -> None:
    status, body = await _post(async_client, {"customer": customer.pk, "items": items})
    assert (status, body["error"]["code"]) == (400, code)  # type: ignore[index]
    assert not await Order.objects.aexists()


async def test_malformed_json_is_400(async_client: AsyncClient) -> None:
    response = await async_client.post(URL, b'{"customer": 1,', content_type="application/json")
    assert response.status_code == 400
    assert orjson.loads(response.content)["error"]["code"] == "malformed_json"


async def test_a_form_post_is_415(async_client: AsyncClient) -> None:
    response = await async_client.post(URL, {"customer": "1"})
    assert response.status_code == 415
    assert orjson.loads(response.content)["error"]["code"] == "unsupported_media_type"


async def test_an_oversized_body_is_413(async_client: AsyncClient) -> None:
    body = b"{}" + b" " * settings.STOREFRONT_API_MAX_BODY_BYTES
    response = await async_client.post(URL, body, content_type="application/json")
    assert response.status_code == 413
    assert orjson.loads(response.content)["error"]["code"] == "payload_too_large"


async def test_get_is_not_allowed(async_client: AsyncClient) -> None:
    response = await async_client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


async def test_a_failure_after_the_order_row_rolls_everything_back(customer: Customer) -> None:
    # A zero quantity that skipped validation reaches the database's check constraint
    # after the order row is written: the transaction must take the order back too.
    bad = OrderInput(
        customer_id=customer.pk,
        items=(ItemInput("A", 1, Decimal(1)), ItemInput("B", 0, Decimal(1))),
    )
    with pytest.raises(IntegrityError):
        await sync_to_async(services.create_order)(bad)
    assert await Order.objects.acount() == 0
    assert await OrderItem.objects.acount() == 0
