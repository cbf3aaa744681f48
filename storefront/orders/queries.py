"""The async queries behind the orders API and the dashboard.

Each function awaits Django's async ORM (``acount``, ``aaggregate``, ``async
for``, ``aget_object_or_404``), so no view ever runs a sync query on the event
loop. Related rows are loaded up front (``select_related`` for the customer, one
``prefetch_related`` query for all items of a page): a page of orders costs the
same few queries whether it holds one order or fifty.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.core.paginator import AsyncPage, AsyncPaginator
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.shortcuts import aget_object_or_404

from storefront.orders.models import Customer, Order, OrderItem, OrderStatus

__all__ = [
    "RECENT_PAGE_SIZE",
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


async def recent_orders_page(number: int | str, per_page: int = RECENT_PAGE_SIZE) -> AsyncPage:
    """One page of the newest orders, its object list loaded (three queries in all).

    Raises ``PageNotAnInteger`` or ``EmptyPage`` for a page that does not exist.
    """
    paginator = AsyncPaginator(orders_with_items(), per_page)
    page = await paginator.apage(number)
    await page.aget_object_list()
    return page


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
