"""Orders as JSON-ready dicts: money as strings (exact), times as RFC 3339 (orjson's default).

These functions only read what is already loaded. In async code a lazy
relation would be a sync query and raise ``SynchronousOnlyOperation``, so
callers pass querysets that ``select_related`` the customer and
``prefetch_related`` the items (see ``queries``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from storefront.orders.models import Customer, Order, OrderItem

__all__ = ["customer_dict", "item_dict", "money", "order_dict"]


def money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def customer_dict(customer: Customer) -> dict[str, Any]:
    return {"id": customer.pk, "name": customer.name, "email": customer.email}


def order_dict(order: Order, items: Iterable[OrderItem]) -> dict[str, Any]:
    return {
        "id": order.pk,
        "status": order.status,
        "created_at": order.created_at,
        "total": money(order.total),
        "customer": customer_dict(order.customer),
        "items": [item_dict(item.sku, item.qty, item.unit_price) for item in items],
    }


def item_dict(sku: str, qty: int, unit_price: Decimal) -> dict[str, Any]:
    """One order line; from a model or from ``values()`` rows (``queries.recent_orders_page``)."""
    return {
        "sku": sku,
        "qty": qty,
        "unit_price": money(unit_price),
        "line_total": money(qty * unit_price),  # OrderItem.line_total, for rows without a model
    }
