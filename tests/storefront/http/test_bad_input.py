"""One table of bad input, refused the same way on SQLite and on PostgreSQL (CI runs both).

Control characters anywhere a client's text could reach the database or a log
(JSON strings and keys, query values, the path) are a 400 naming the field; a
bad Host is a 400 with one WARNING line; nothing is stored on the way.
"""

from __future__ import annotations

import logging

import orjson
import pytest

from chorus.server import _suspicious as suspicious
from storefront.asgi import application
from storefront.orders.models import Customer, Order
from tests.fixtures.asgi import asgi_request
from tests.fixtures.hops import count_hops

pytestmark = pytest.mark.django_db(transaction=True)


def _order(sku: str = "A-1", **extra: object) -> dict[str, object]:
    return {"customer": 0, "items": [{"sku": sku, "qty": 1, "unit_price": "1.00"}], **extra}


BAD_BODIES = [
    (_order("A\u0000B"), "items[0].sku"),
    (_order("A\u001bB"), "items[0].sku"),
    (_order("tab\there"), "items[0].sku"),
    (_order("del\u007f"), "items[0].sku"),
    (_order(note="line\nbreak"), "note"),
    ({**_order(), "bad\u0000key": 1}, "bad\u0000key"),
]


async def _post_order(api_key: dict[str, str], document: object):
    return await asgi_request(
        application,
        "/api/orders/",
        method="POST",
        headers={**api_key, "content-type": "application/json"},
        body=orjson.dumps(document),
    )


@pytest.fixture
async def customer():
    return await Customer.objects.acreate(name="Ada", email="ada@example.com")


@pytest.mark.parametrize(("document", "field"), BAD_BODIES)
async def test_control_characters_in_a_body_are_a_400_naming_the_field(
    api_key, customer, document, field
):
    document["customer"] = customer.pk
    response = await _post_order(api_key, document)
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == "control_character"
    assert error["fields"] == [field]
    assert not await Order.objects.aexists()


async def test_the_same_order_without_them_is_stored(api_key, customer):
    document = _order("A-B")
    document["customer"] = customer.pk
    response = await _post_order(api_key, document)
    assert response.status == 201
    assert await Order.objects.acount() == 1


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/orders/recent/", "page=1%00", "?page"),
        ("/api/orders/recent/", "x%0A=1", "?x\n"),
        ("/api/live/", "last_event_id=1%00", "?last_event_id"),
        ("/api/events/", "count=1%1b", "?count"),
    ],
)
async def test_control_characters_in_the_query_are_a_400_naming_the_parameter(
    api_key, path, query, field
):
    response = await asgi_request(application, path, query=query, headers=api_key)
    assert response.status == 400
    assert response.json()["error"]["fields"] == [field]


async def test_a_control_character_in_the_path_is_a_400(api_key):
    response = await asgi_request(
        application, "/api/simulator/faults/inv%00entory", headers=api_key
    )
    assert response.status == 400
    assert response.json()["error"]["fields"] == ["(path)"]


async def test_the_status_change_names_its_field(api_key, customer):
    order = await Order.objects.acreate(customer=customer, total="1.00")
    response = await asgi_request(
        application,
        f"/api/orders/{order.pk}/",
        method="PATCH",
        headers={**api_key, "content-type": "application/json"},
        body=b'{"status": "lost"}',
    )
    assert response.status == 400
    assert response.json()["error"] == {
        "code": "invalid_status",
        "message": '"status" must be one of pending, paid, shipped, completed, cancelled.',
        "fields": ["status"],
    }


@pytest.mark.parametrize(
    ("items", "code", "field"),
    [
        ([{"sku": "A", "qty": "2", "unit_price": "1"}], "invalid_qty", "items[0].qty"),
        ([{"sku": "A", "qty": 1}], "invalid_price", "items[0].unit_price"),
        ([{"sku": " ", "qty": 1, "unit_price": "1"}], "invalid_sku", "items[0].sku"),
        ([], "empty_items", "items"),
    ],
)
async def test_typed_body_mistakes_name_their_field(api_key, customer, items, code, field):
    response = await _post_order(api_key, {"customer": customer.pk, "items": items})
    assert response.status == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["fields"] == [field]


async def test_a_bad_host_is_a_json_400_on_the_loop_with_one_warning(api_key, caplog, monkeypatch):
    monkeypatch.setattr(suspicious, "_throttle", suspicious._Throttle())
    caplog.set_level(logging.WARNING, logger="django.security")
    headers = {**api_key, "host": "evil.example"}
    response, hops = await count_hops(
        asgi_request(application, "/api/orders/recent/", headers=headers)
    )
    assert response.status == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert not hops.any
    records = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    [record] = records
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
