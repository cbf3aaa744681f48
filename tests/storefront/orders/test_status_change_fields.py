"""``PATCH /api/orders/<id>/`` takes ``status`` and nothing else (issue 25, point 8).

A field the route does not change (``total``, a typo, an id) is a 400 naming
every such field, and the order is left as it was: a client that believes it set
the total must hear that it did not.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from storefront.apidocs.schema import openapi_document
from storefront.asgi import application
from storefront.orders.models import Customer, Order, OrderStatus
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def order() -> Order:
    customer = await Customer.objects.acreate(name="Ada", email="ada@example.com")
    return await Order.objects.acreate(customer=customer, total="12.50")


async def _patch(api_key: dict[str, str], order: Order, document: object):
    return await asgi_request(
        application,
        f"/api/orders/{order.pk}/",
        method="PATCH",
        headers={**api_key, "content-type": "application/json"},
        body=orjson.dumps(document),
    )


async def test_a_read_only_field_is_a_400_naming_it(api_key, order):
    response = await _patch(api_key, order, {"status": "paid", "total": "0"})
    assert response.status == 400
    assert response.json()["error"] == {
        "code": "unknown_field",
        "message": 'Only "status" can be changed; not: total.',
        "fields": ["total"],
    }
    await order.arefresh_from_db()
    assert (order.status, order.total) == (OrderStatus.PENDING, Decimal("12.50"))


async def test_every_unknown_field_is_named(api_key, order):
    response = await _patch(api_key, order, {"statuss": "paid", "total": "0", "id": 1})
    assert response.status == 400
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == ("unknown_field", ["id", "statuss", "total"])


async def test_status_alone_still_moves_the_order(api_key, order):
    response = await _patch(api_key, order, {"status": "paid"})
    assert response.status == 200
    assert response.json()["status"] == "paid"


def test_the_schema_says_no_other_field_is_taken():
    schema = openapi_document()["components"]["schemas"]["StatusChange"]
    assert schema.get("additionalProperties") is False
