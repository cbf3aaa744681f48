"""Turn a ``POST /api/orders/`` document into a checked ``OrderInput``, or say exactly what is wrong.

The body's size, media type and JSON syntax were checked once, by
``storefront.http.body``; everything else a client can get wrong is caught
here, before any database work, and reported as an ``InvalidOrder`` carrying
the status and code the API answers with. The bounds on quantities, prices and items keep every possible
total inside the ``total`` column (12 digits, 2 after the point), so a valid
request can never fail later with a numeric overflow on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

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

MAX_ITEMS = 100
MAX_QTY = 999
MAX_UNIT_PRICE = Decimal("99999.99")
MAX_SKU_LENGTH = 64
CENT = Decimal("0.01")


class InvalidOrder(Exception):
    """The request cannot become an order; ``status`` and ``code`` are what the API answers."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


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


def parse_order(payload: Any) -> OrderInput:
    """Check the shape of an order document; raise ``InvalidOrder`` if it is wrong.

    >>> parse_order({"customer": 1, "items": [{"sku": "A-1", "qty": 2, "unit_price": "9.50"}]})
    OrderInput(customer_id=1, items=(ItemInput(sku='A-1', qty=2, unit_price=Decimal('9.50')),))
    """
    if not isinstance(payload, dict):
        raise InvalidOrder("invalid_order", "The body must be a JSON object.")
    customer_id = payload.get("customer")
    if type(customer_id) is not int or customer_id <= 0:
        raise InvalidOrder("invalid_customer", '"customer" must be a customer id (an integer > 0).')
    raw_items = payload.get("items")
    if not isinstance(raw_items, list):
        raise InvalidOrder("invalid_items", '"items" must be a list of items.')
    if not raw_items:
        raise InvalidOrder("empty_items", "An order needs at least one item.")
    if len(raw_items) > MAX_ITEMS:
        raise InvalidOrder("too_many_items", f"An order holds at most {MAX_ITEMS} items.")
    items = tuple(_parse_item(index, raw) for index, raw in enumerate(raw_items))
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.sku in seen:
            raise InvalidOrder(
                "duplicate_sku", f"items[{index}]: SKU {item.sku!r} is already in this order."
            )
        seen.add(item.sku)
    return OrderInput(customer_id=customer_id, items=items)


def _parse_item(index: int, raw: Any) -> ItemInput:
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        raise InvalidOrder("invalid_item", f"{where} must be an object with sku, qty, unit_price.")
    sku = raw.get("sku")
    if not isinstance(sku, str) or not sku.strip() or len(sku) > MAX_SKU_LENGTH:
        raise InvalidOrder(
            "invalid_sku", f"{where}.sku must be a non-empty string of at most {MAX_SKU_LENGTH}."
        )
    qty = raw.get("qty")
    if type(qty) is not int or not 0 < qty <= MAX_QTY:
        raise InvalidOrder(
            "invalid_qty", f"{where}.qty must be a whole number from 1 to {MAX_QTY}; got {qty!r}."
        )
    return ItemInput(
        sku=sku.strip(), qty=qty, unit_price=_parse_price(where, raw.get("unit_price"))
    )


def _parse_price(where: str, raw: Any) -> Decimal:
    # Strings are the exact form; numbers are accepted through their shortest
    # decimal spelling, so 9.99 means 9.99 and not the float nearest to it.
    message = f'{where}.unit_price must be an amount from 0 to {MAX_UNIT_PRICE} with at most 2 decimals, e.g. "9.99".'
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidOrder("invalid_price", message)
    try:
        price = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidOrder("invalid_price", message) from None
    if not price.is_finite() or not 0 <= price <= MAX_UNIT_PRICE or price != price.quantize(CENT):
        raise InvalidOrder("invalid_price", message)
    return price.quantize(CENT)


def parse_status_change(payload: Any) -> str:
    """The new status in a ``PATCH /api/orders/<id>/`` document (``{"status": "paid"}``)."""
    from storefront.orders.models import OrderStatus

    status = payload.get("status") if isinstance(payload, dict) else None
    if not isinstance(status, str) or status not in OrderStatus.values:
        raise InvalidOrder(
            "invalid_status", f'"status" must be one of {", ".join(OrderStatus.values)}.'
        )
    return status
