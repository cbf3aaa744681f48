"""Turn a ``POST /api/orders/`` document into a checked ``OrderInput``, or say exactly what is wrong.

The body's size, media type, JSON syntax and control characters were checked
once, by ``storefront.http.body``. The shape and simple bounds are the
``schemas.OrderIn`` type's (msgspec, strict); what a type cannot say is checked
here, before any database work. Either way the mistake is an ``InvalidOrder``
carrying the status, the code the API answers with, and the field at fault.
The bounds on quantities, prices and items keep every possible total inside
the ``total`` column (12 digits, 2 after the point), so a valid request can
never fail later with a numeric overflow on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from storefront.http.typed import BodyError, convert
from storefront.orders.schemas import (
    MAX_ITEMS,
    MAX_QTY,
    MAX_UNIT_PRICE,
    ItemIn,
    OrderIn,
    StatusChange,
)

__all__ = [
    "MAX_ITEMS",
    "MAX_QTY",
    "MAX_UNIT_PRICE",
    "InvalidOrder",
    "ItemInput",
    "OrderInput",
    "parse_order",
    "parse_status_change",
]

CENT = Decimal("0.01")


class InvalidOrder(Exception):
    """The request cannot become an order; ``status``, ``code`` and ``fields`` are the answer."""

    def __init__(
        self, code: str, message: str, *, status: int = 400, fields: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = tuple(fields)


@dataclass(frozen=True, slots=True)
class ItemInput:
    sku: str
    qty: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderInput:
    customer_id: int
    items: tuple[ItemInput, ...]

    @property
    def total(self) -> Decimal:
        return sum((item.qty * item.unit_price for item in self.items), Decimal("0.00"))


# The error code for a mistake at each field; "items[3].qty" is looked up as "items[].qty".
_CODES = {
    "": "invalid_order",
    "customer": "invalid_customer",
    "items": "invalid_items",
    "items[]": "invalid_item",
    "items[].sku": "invalid_sku",
    "items[].qty": "invalid_qty",
    "items[].unit_price": "invalid_price",
}
_INDEX = re.compile(r"\[\d+\]")


def _code_for(field: str, message: str) -> str:
    if field == "items" and "length >= 1" in message:
        return "empty_items"
    if field == "items" and "length <=" in message:
        return "too_many_items"
    return _CODES.get(_INDEX.sub("[]", field), "invalid_order")


def _invalid(field: str, message: str) -> InvalidOrder:
    return InvalidOrder(_code_for(field, message), message, fields=[field] if field else [])


def parse_order(payload: Any) -> OrderInput:
    """Check an order document; raise ``InvalidOrder`` if it is wrong.

    >>> parse_order({"customer": 1, "items": [{"sku": "A-1", "qty": 2, "unit_price": "9.50"}]})
    OrderInput(customer_id=1, items=(ItemInput(sku='A-1', qty=2, unit_price=Decimal('9.50')),))
    """
    try:
        order = convert(payload, OrderIn)
    except BodyError as error:
        raise _invalid(error.field, error.message) from None
    items = tuple(_checked_item(index, item) for index, item in enumerate(order.items))
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.sku in seen:
            raise InvalidOrder(
                "duplicate_sku",
                f"items[{index}]: SKU {item.sku!r} is already in this order.",
                fields=[f"items[{index}].sku"],
            )
        seen.add(item.sku)
    return OrderInput(customer_id=order.customer, items=items)


def _checked_item(index: int, item: ItemIn) -> ItemInput:
    where = f"items[{index}]"
    sku = item.sku.strip()
    if not sku:
        raise _invalid(f"{where}.sku", f"{where}.sku must hold more than spaces.")
    price = item.unit_price
    if not price.is_finite() or not 0 <= price <= MAX_UNIT_PRICE or price != price.quantize(CENT):
        raise _invalid(
            f"{where}.unit_price",
            f"{where}.unit_price must be an amount from 0 to {MAX_UNIT_PRICE} with at most "
            '2 decimals, e.g. "9.99".',
        )
    return ItemInput(sku=sku, qty=item.qty, unit_price=price.quantize(CENT))


def parse_status_change(payload: Any) -> str:
    """The new status in a ``PATCH /api/orders/<id>/`` document (``{"status": "paid"}``).

    Any other field (``total``, ``id``, a typo) is refused, every one named: a field
    silently ignored would let a client believe it had changed it."""
    if isinstance(payload, dict):
        unknown = sorted(set(payload) - set(StatusChange.__struct_fields__))
        if unknown:
            raise InvalidOrder(
                "unknown_field",
                f'Only "status" can be changed; not: {", ".join(unknown)}.',
                fields=unknown,
            )
    try:
        return convert(payload, StatusChange).status
    except BodyError as error:
        from storefront.orders.models import OrderStatus

        raise InvalidOrder(
            "invalid_status",
            f'"status" must be one of {", ".join(OrderStatus.values)}.',
            fields=[error.field or "status"],
        ) from None
