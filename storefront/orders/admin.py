"""Admin for customers, orders and items: searchable, filterable, orders with their items inline."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from storefront.orders.models import Customer, Order, OrderItem


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "email")
    ordering = ("name", "id")


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    fields = ("sku", "qty", "unit_price")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "status", "total", "created_at")
    list_filter = ("status", "created_at")
    list_select_related = ("customer",)
    search_fields = ("=id", "customer__name", "customer__email", "items__sku")
    date_hierarchy = "created_at"
    autocomplete_fields = ("customer",)
    readonly_fields = ("total", "created_at")
    inlines = (OrderItemInline,)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The total is derived from the items: recompute it once the inlines are saved.
        super().save_related(request, form, formsets, change)
        order = form.instance
        order.total = sum((item.line_total for item in order.items.all()), Decimal("0.00"))
        order.save(update_fields=["total"])


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    list_display = ("order", "sku", "qty", "unit_price")
    search_fields = ("sku", "=order__id")
    raw_id_fields = ("order",)
