"""The async queries behind the orders API and the dashboard.

Each function awaits Django's async ORM (``acount``, ``aaggregate``, ``async
for``, ``aget_object_or_404``) or ``sync_to_async``, so no view ever runs a sync
query on the event loop. Related rows are loaded up front (``select_related``
for the customer, one query for all items of a page): a page of orders costs the
same few queries whether it holds one order or fifty.

The newest-orders page is the costly read of the API (the soak loads it at 20%
of its requests), so it builds no model instances: ``values()`` rows straight
to JSON-ready dicts, its three queries in one thread hop. Django's thread for a
request's ORM calls shares the process's one GIL with the event loop, and the
model path (some 200 instances, and one queryset clone per order for the
prefetch) kept it there long enough to starve the dashboard's upstream calls
(bench/README.md, "Soak").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.shortcuts import aget_object_or_404

from storefront.orders.models import Customer, Order, OrderItem, OrderStatus
from storefront.orders.serializers import item_dict, money

__all__ = [
    "RECENT_PAGE_SIZE",
    "RecentPage",
    "active_customer_count",
    "order_counts_by_status",
    "order_with_items",
    "orders_with_items",
    "recent_orders_page",
    "revenue",
    "todays_order_counts",
]

RECENT_PAGE_SIZE = 50
REVENUE_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


def orders_with_items() -> QuerySet[Order]:
    """Orders, newest first, with their customer joined and their items prefetched."""
    return Order.objects.select_related("customer").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("id"))
    )


@dataclass(frozen=True, slots=True)
class RecentPage:
    """One page of the newest orders, as ``order_dict`` shapes them (customer and items)."""

    number: int
    count: int
    num_pages: int
    per_page: int
    has_next: bool
    results: list[dict[str, Any]]


_ORDER_ROW = ("id", "status", "created_at", "total", "customer_id", "customer__name", "customer__email")  # fmt: skip


def _recent_page(number: int | str, per_page: int) -> RecentPage:
    # Sync, so that the count, the page and its items are one thread hop, not five.
    # The model's ordering (newest first, id breaking ties) applies to values() too.
    page = Paginator(Order.objects.values_list(*_ORDER_ROW), per_page).page(number)
    rows = list(page.object_list)
    items: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    lines = OrderItem.objects.filter(order_id__in=[row[0] for row in rows]).order_by("id")
    for order_id, sku, qty, unit_price in lines.values_list("order_id", "sku", "qty", "unit_price"):
        items[order_id].append(item_dict(sku, qty, unit_price))
    results = [
        {
            "id": pk,
            "status": status,
            "created_at": created_at,
            "total": money(total),
            "customer": {"id": customer_id, "name": name, "email": email},
            "items": items[pk],
        }
        for pk, status, created_at, total, customer_id, name, email in rows
    ]
    paginator = page.paginator
    return RecentPage(
        page.number, paginator.count, paginator.num_pages, per_page, page.has_next(), results
    )


async def recent_orders_page(number: int | str, per_page: int = RECENT_PAGE_SIZE) -> RecentPage:
    """One page of the newest orders with their customers and items (three queries in all).

    Raises ``PageNotAnInteger`` or ``EmptyPage`` for a page that does not exist.
    """
    return await sync_to_async(_recent_page)(number, per_page)


async def order_with_items(pk: int) -> Order:
    """One order with its customer and items; ``Http404`` when there is none."""
    return await aget_object_or_404(orders_with_items(), pk=pk)


async def active_customer_count() -> int:
    return await Customer.objects.filter(active=True).acount()


async def order_counts_by_status(since: datetime | None = None) -> dict[str, int]:
    """Orders per status (every status present, zero when none), optionally since a moment."""
    orders = Order.objects.all() if since is None else Order.objects.filter(created_at__gte=since)
    counts = dict.fromkeys(OrderStatus.values, 0)
    # order_by(): the model's default ordering would otherwise join the GROUP BY.
    async for row in orders.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


async def todays_order_counts() -> dict[str, int]:
    """Orders created today (UTC) per status: the dashboard's ``orders`` source."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return await order_counts_by_status(since=midnight)


async def revenue() -> Decimal:
    """The sum of totals of orders that were paid (paid, shipped or completed)."""
    result = await Order.objects.filter(status__in=REVENUE_STATUSES).aaggregate(sum=Sum("total"))
    return result["sum"] or Decimal("0.00")
