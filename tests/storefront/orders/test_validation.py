"""Order documents are checked before any database work, each mistake named precisely.

(The body's size, media type and JSON syntax are checked once, for every API
route, by ``storefront.http.body``: tests/storefront/orders/test_create_order.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from storefront.orders.validation import MAX_ITEMS, InvalidOrder, ItemInput, parse_order


def _body(**payload: object) -> object:
    return {"customer": 1, "items": [{"sku": "A", "qty": 1, "unit_price": "1"}]} | payload


def _rejected(body: object) -> InvalidOrder:
    with pytest.raises(InvalidOrder) as caught:
        parse_order(body)
    return caught.value


def test_a_valid_order_is_parsed_with_exact_prices() -> None:
    order = parse_order(
        _body(
            items=[
                {"sku": " TEA-S ", "qty": 3, "unit_price": "4.50"},
                {"sku": "MUG", "qty": 1, "unit_price": 9.99},
            ]
        ),
    )
    assert order.customer_id == 1
    assert order.items == (
        ItemInput(sku="TEA-S", qty=3, unit_price=Decimal("4.50")),
        ItemInput(sku="MUG", qty=1, unit_price=Decimal("9.99")),
    )
    assert order.total == Decimal("23.49")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], "invalid_order"),
        (None, "invalid_order"),
        (_body(customer="1"), "invalid_customer"),
        (_body(customer=0), "invalid_customer"),
        (_body(customer=True), "invalid_customer"),
        (_body(items={"sku": "A"}), "invalid_items"),
        (_body(items=[]), "empty_items"),
        (_body(items=[{"sku": str(n), "qty": 1, "unit_price": "1"} for n in range(MAX_ITEMS + 1)]), "too_many_items"),
        (_body(items=["A"]), "invalid_item"),
        (_body(items=[{"sku": "", "qty": 1, "unit_price": "1"}]), "invalid_sku"),
        (_body(items=[{"sku": "A" * 65, "qty": 1, "unit_price": "1"}]), "invalid_sku"),
        (_body(items=[{"sku": "A", "qty": 0, "unit_price": "1"}]), "invalid_qty"),
        (_body(items=[{"sku": "A", "qty": -2, "unit_price": "1"}]), "invalid_qty"),
        (_body(items=[{"sku": "A", "qty": 1.5, "unit_price": "1"}]), "invalid_qty"),
        (_body(items=[{"sku": "A", "qty": "2", "unit_price": "1"}]), "invalid_qty"),
        (_body(items=[{"sku": "A", "qty": 1000, "unit_price": "1"}]), "invalid_qty"),
        (_body(items=[{"sku": "A", "qty": 1, "unit_price": "-1"}]), "invalid_price"),
        (_body(items=[{"sku": "A", "qty": 1, "unit_price": "1.001"}]), "invalid_price"),
        (_body(items=[{"sku": "A", "qty": 1, "unit_price": "NaN"}]), "invalid_price"),
        (_body(items=[{"sku": "A", "qty": 1, "unit_price": "lots"}]), "invalid_price"),
        (_body(items=[{"sku": "A", "qty": 1, "unit_price": "100000"}]), "invalid_price"),
        (_body(items=[{"sku": "A", "qty": 1}]), "invalid_price"),
        (_body(items=[{"sku": "A", "qty": 1, "unit_price": "1"}, {"sku": "A", "qty": 2, "unit_price": "1"}]), "duplicate_sku"),
    ],
)  # fmt: skip
def test_each_mistake_is_400_with_its_own_code(body: object, code: str) -> None:
    error = _rejected(body)
    assert (error.status, error.code) == (400, code)
    assert error.message


def test_the_message_points_at_the_bad_item() -> None:
    body = _body(
        items=[{"sku": "A", "qty": 1, "unit_price": "1"}, {"sku": "B", "qty": 0, "unit_price": "1"}]
    )
    assert _rejected(body).message.startswith("items[1].qty")
