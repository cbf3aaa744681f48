"""The database itself refuses bad rows: constraints hold even when Python's checks are bypassed."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from storefront.orders.models import Customer, Order, OrderItem

from .conftest import MakeOrder

pytestmark = pytest.mark.django_db


def _refused(create: Callable[[], object]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_email_is_unique_whatever_its_case(customer: Customer) -> None:
    _refused(lambda: Customer.objects.create(name="Other", email="ADA@Example.com"))


def test_order_status_must_be_one_of_the_choices(customer: Customer) -> None:
    _refused(lambda: Order.objects.create(customer=customer, status="lost"))


def test_order_total_cannot_be_negative(customer: Customer) -> None:
    _refused(lambda: Order.objects.create(customer=customer, total=Decimal("-0.01")))


@pytest.mark.parametrize("qty", [0, -1])
def test_item_qty_must_be_positive(make_order: MakeOrder, qty: int) -> None:
    order = make_order()
    _refused(
        lambda: OrderItem.objects.create(order=order, sku="MUG-S", qty=qty, unit_price=Decimal(1))
    )


def test_item_price_cannot_be_negative(make_order: MakeOrder) -> None:
    order = make_order()
    _refused(
        lambda: OrderItem.objects.create(order=order, sku="MUG-S", qty=1, unit_price=Decimal(-1))
    )


def test_a_sku_appears_once_per_order(make_order: MakeOrder) -> None:
    order = make_order([("MUG-S", 1, "12.00")])
    _refused(
        lambda: OrderItem.objects.create(order=order, sku="MUG-S", qty=2, unit_price=Decimal(12))
    )
    other = make_order([("MUG-S", 1, "12.00")])
    assert other.items.get().sku == "MUG-S"


def test_a_customer_with_orders_cannot_be_deleted(make_order: MakeOrder) -> None:
    order = make_order()
    with pytest.raises(ProtectedError):
        order.customer.delete()


def test_deleting_an_order_deletes_its_items(make_order: MakeOrder) -> None:
    order = make_order([("MUG-S", 1, "12.00"), ("TEA-M", 2, "4.50")])
    order.delete()
    assert not OrderItem.objects.exists()


def test_the_query_indexes_exist() -> None:
    with connection.cursor() as cursor:
        order_indexes = connection.introspection.get_constraints(cursor, Order._meta.db_table)
        customer_indexes = connection.introspection.get_constraints(cursor, Customer._meta.db_table)
    assert order_indexes["orders_order_recent_idx"]["columns"] == ["created_at", "id"]
    assert order_indexes["orders_order_status_idx"]["columns"] == ["status", "created_at"]
    assert customer_indexes["orders_customer_active_idx"]["columns"] == ["active"]
