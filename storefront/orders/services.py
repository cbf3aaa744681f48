"""Order creation: one database transaction, in sync code, for async views to call.

Django has no async transactions: ``transaction.atomic`` binds to the
connection of the thread it runs in. So the whole unit of work is one sync
function, and async views call it through ``sync_to_async`` (thread-sensitive),
which runs it in one thread, on one connection, start to commit.
"""

from __future__ import annotations

from django.db import transaction

from storefront.orders.models import Customer, Order, OrderItem
from storefront.orders.validation import InvalidOrder, OrderInput

__all__ = ["create_order"]


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
