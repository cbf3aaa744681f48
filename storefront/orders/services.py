"""Order creation: one database transaction, in sync code, for async views to call.

Django has no async transactions: ``transaction.atomic`` binds to the
connection of the thread it runs in. So the whole unit of work is one sync
function, and async views call it through ``sync_to_async`` (thread-sensitive),
which runs it in one thread, on one connection, start to commit.
"""

from __future__ import annotations

from django.db import transaction

from storefront.orders.models import Customer, Order, OrderItem, OrderStatus
from storefront.orders.validation import InvalidOrder, OrderInput

__all__ = ["ALLOWED_TRANSITIONS", "change_status", "create_order"]


def create_order(order_input: OrderInput) -> tuple[Order, list[OrderItem]]:
    """Store an order and its items atomically: all of them, or nothing.

    Raises ``InvalidOrder`` when the customer does not exist or is inactive.
    Returns the order (with its customer attached) and its items, so the caller
    can answer without another query.
    """
    with transaction.atomic():
        customer = Customer.objects.filter(pk=order_input.customer_id).first()
        if customer is None:
            raise InvalidOrder("unknown_customer", f"No customer {order_input.customer_id}.")
        if not customer.active:
            raise InvalidOrder(
                "inactive_customer", f"Customer {customer.pk} is inactive and cannot order."
            )
        order = Order.objects.create(customer=customer, total=order_input.total)
        items = OrderItem.objects.bulk_create(
            OrderItem(order=order, sku=item.sku, qty=item.qty, unit_price=item.unit_price)
            for item in order_input.items
        )
    return order, items


# Where an order may go from each status; completed and cancelled are final.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.COMPLETED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def change_status(pk: int, status: str) -> tuple[Order, list[OrderItem]]:
    """Move an order to ``status`` if its current status allows it, under a row lock.

    Raises ``InvalidOrder`` (404 ``order_not_found``, 409 ``forbidden_transition``).
    Saving through the model is what publishes the live event (storefront/live/).
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("customer").filter(pk=pk).first()
        if order is None:
            raise InvalidOrder("order_not_found", f"No order {pk}.", status=404)
        if status != order.status:
            if status not in ALLOWED_TRANSITIONS[order.status]:
                raise InvalidOrder(
                    "forbidden_transition",
                    f"Order {pk} cannot go from {order.status} to {status}.",
                    status=409,
                )
            order.status = status
            order.save(update_fields=["status"])
        items = list(order.items.all())
    return order, items
