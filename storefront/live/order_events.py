"""Order events, published after the change commits, wherever the change is made.

Signals rather than calls in the order views: the API, the admin, the shell and
other processes all save through the model, and each save is seen here.

- ``order.created``: a new order;
- ``order.status_changed``: its status moved (``from`` and ``status``);
- ``order.cancelled``: its status moved to ``cancelled``.

Bulk updates (``QuerySet.update``) bypass signals: change status through
``Order.save`` or ``storefront.orders.services.change_status``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models.signals import post_init, post_save

from storefront.live import publish_on_commit
from storefront.orders.models import Order, OrderStatus
from storefront.orders.serializers import money

__all__ = ["connect", "order_event_data"]


def order_event_data(order: Order) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": order.pk,
        "status": order.status,
        # Decimal(): a shell or admin save may still hold the string it was given.
        "total": money(Decimal(order.total)),
        "created_at": order.created_at,
        "customer": {"id": order.customer_id},
    }
    # Only what is loaded: a lazy query here could run in async code.
    if Order.customer.is_cached(order):
        data["customer"]["name"] = order.customer.name
    return data


def _remember_status(sender: type[Order], instance: Order, **kwargs: object) -> None:
    instance._live_saved_status = instance.status  # type: ignore[attr-defined]


def _publish_change(
    sender: type[Order], instance: Order, created: bool, using: str, **kwargs: object
) -> None:
    before = getattr(instance, "_live_saved_status", None)
    instance._live_saved_status = instance.status  # type: ignore[attr-defined]
    data = order_event_data(instance)
    if created:
        publish_on_commit("order.created", data, using=using)
    elif before != instance.status:
        kind = (
            "order.cancelled"
            if instance.status == OrderStatus.CANCELLED
            else "order.status_changed"
        )
        publish_on_commit(kind, {**data, "from": before}, using=using)


def connect() -> None:
    post_init.connect(_remember_status, sender=Order, dispatch_uid="live-order-status")
    post_save.connect(_publish_change, sender=Order, dispatch_uid="live-order-saved")
