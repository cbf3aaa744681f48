"""Customers, their orders and the items in each order.

The rules that keep the data sane live in the database (check and unique
constraints), not only in Python: bulk loads, concurrent writers and the admin
all go through them. The indexes are the ones the async views' queries use:
newest orders first, counts per status, today's orders.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

__all__ = ["Customer", "Order", "OrderItem", "OrderStatus"]

MONEY = {"max_digits": 12, "decimal_places": 2}


class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("name", "id")
        constraints = (
            # Addresses differ only in case are the same person's mailbox.
            models.UniqueConstraint(
                Lower("email"),
                name="orders_customer_email_ci_unique",
                violation_error_message="A customer with this email already exists.",
            ),
        )
        indexes = (models.Index(fields=["active"], name="orders_customer_active_idx"),)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    Status = OrderStatus

    # PROTECT: an order is a business record; deleting a customer must not erase it.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=16, choices=OrderStatus, default=OrderStatus.PENDING)
    # A default, not auto_now_add: bulk loads and imports keep the times they carry.
    created_at = models.DateTimeField(default=timezone.now)
    total = models.DecimalField(**MONEY, default=Decimal("0.00"))

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values),
                name="orders_order_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="orders_order_total_non_negative"
            ),
        )
        indexes = (
            # Newest first (and any range on created_at), the id breaking ties so
            # pages never overlap.
            models.Index(fields=["-created_at", "-id"], name="orders_order_recent_idx"),
            # Counts per status (all time, and since a moment) read only this index.
            models.Index(fields=["status", "created_at"], name="orders_order_status_idx"),
        )

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.status})"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=64)
    qty = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)

    class Meta:
        ordering = ("id",)
        constraints = (
            models.CheckConstraint(condition=models.Q(qty__gt=0), name="orders_item_qty_positive"),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="orders_item_price_non_negative"
            ),
            # One line per SKU: a second line for the same SKU is a qty change, not a new item.
            models.UniqueConstraint(fields=["order", "sku"], name="orders_item_sku_once_per_order"),
        )

    def __str__(self) -> str:
        return f"{self.qty} x {self.sku}"

    @property
    def line_total(self) -> Decimal:
        return self.qty * self.unit_price
