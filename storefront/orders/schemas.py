"""The orders API's bodies, as msgspec Structs: decoded strictly, and described in OpenAPI.

Shape and simple bounds live in the types; the rules a type cannot say (a
price's cents, a SKU that is only spaces, SKUs unique within an order, the
customer's existence) live beside them in ``validation``. The bounds keep
every possible total inside the ``total`` column (12 digits, 2 after the point).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

__all__ = [
    "MAX_ITEMS",
    "MAX_QTY",
    "MAX_SKU_LENGTH",
    "MAX_UNIT_PRICE",
    "ActiveUsers",
    "CustomerOut",
    "ItemIn",
    "ItemOut",
    "Money",
    "OrderIn",
    "OrderOut",
    "OrderPage",
    "OrderStats",
    "StatusChange",
    "StatusCounts",
]

MAX_ITEMS = 100
MAX_QTY = 999
MAX_UNIT_PRICE = Decimal("99999.99")
MAX_SKU_LENGTH = 64

Status = Literal["pending", "paid", "shipped", "completed", "cancelled"]
Money = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?\d+\.\d{2}$",
        description="An exact amount in the shop's currency, two decimals, as a string.",
        examples=["19.90"],
    ),
]
Price = Annotated[
    Decimal,
    msgspec.Meta(
        description=f"From 0 to {MAX_UNIT_PRICE}, at most 2 decimals; a string is exact "
        "(a JSON number is read through its shortest decimal spelling).",
        examples=["9.99"],
    ),
]


class ItemIn(msgspec.Struct, frozen=True):
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SKU_LENGTH, examples=["TEA-S"])]
    qty: Annotated[int, msgspec.Meta(ge=1, le=MAX_QTY)]
    unit_price: Price


class OrderIn(msgspec.Struct, frozen=True):
    """``POST /api/orders/``: an active customer's id and 1 to 100 items, SKUs unique."""

    customer: Annotated[
        int, msgspec.Meta(gt=0, description="An active customer's id.", examples=[1])
    ]
    items: Annotated[list[ItemIn], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class StatusChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PATCH /api/orders/<id>/``: the status to move to (see the allowed transitions).

    ``status`` is the only field a client can change: any other is a 400
    ``unknown_field`` naming it, never silently ignored."""

    status: Status


class CustomerOut(msgspec.Struct):
    id: int
    name: str
    email: str


class ItemOut(msgspec.Struct):
    sku: str
    qty: int
    unit_price: Money
    line_total: Money


class OrderOut(msgspec.Struct):
    id: int
    status: Status
    created_at: datetime
    total: Money
    customer: CustomerOut
    items: list[ItemOut]


class OrderPage(msgspec.Struct):
    count: int
    page: int
    num_pages: int
    per_page: int
    next: str | None
    previous: str | None
    results: list[OrderOut]


class StatusCounts(msgspec.Struct):
    total: int
    by_status: dict[str, int]


class OrderStats(msgspec.Struct):
    orders: StatusCounts
    today: StatusCounts
    active_customers: int
    revenue: Money


class ActiveUsers(msgspec.Struct):
    active_users: int
