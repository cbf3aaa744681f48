"""load_sample_data: the sizes asked for, the same data for the same seed, and idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from storefront.orders.models import Customer, Order, OrderItem

pytestmark = pytest.mark.django_db

SMALL = ("--customers", "20", "--orders", "150")


def _load(*args: str) -> str:
    out = StringIO()
    call_command("load_sample_data", *args, stdout=out)
    return out.getvalue()


def _snapshot() -> list[tuple[object, ...]]:
    """Every order as content: customer email, status, total and items (ids and times aside)."""
    orders = Order.objects.order_by("created_at", "id").select_related("customer")
    return [
        (
            order.customer.email,
            order.status,
            order.total,
            tuple(order.items.order_by("sku").values_list("sku", "qty", "unit_price")),
        )
        for order in orders.prefetch_related("items")
    ]


def test_loads_the_sizes_asked_for() -> None:
    assert "Loaded 20 customers and 150 orders" in _load(*SMALL)
    assert Customer.objects.count() == 20
    assert Order.objects.count() == 150
    assert OrderItem.objects.count() >= 150
    assert Order.objects.filter(items__isnull=True).count() == 0


def test_every_total_is_the_sum_of_its_items() -> None:
    _load(*SMALL)
    # Summed in Python: SQLite would add the decimals as floats.
    for order in Order.objects.prefetch_related("items"):
        assert order.total == sum(item.line_total for item in order.items.all())


def test_running_twice_leaves_the_same_rows() -> None:
    _load(*SMALL)
    before = list(Order.objects.order_by("id").values_list("id", "created_at", "total"))
    assert "already loaded" in _load(*SMALL)
    assert list(Order.objects.order_by("id").values_list("id", "created_at", "total")) == before
    assert OrderItem.objects.count() == sum(
        Order.objects.annotate(n=Count("items")).values_list("n", flat=True)
    )


def test_the_same_seed_gives_the_same_data() -> None:
    _load(*SMALL, "--seed", "7")
    first = _snapshot()
    _load(*SMALL, "--seed", "7", "--replace")
    assert _snapshot() == first


def test_another_seed_replaces_the_sample_set() -> None:
    _load(*SMALL, "--seed", "7")
    first = _snapshot()
    assert "Loaded" in _load(*SMALL, "--seed", "8")
    assert Order.objects.count() == 150
    assert _snapshot() != first


def test_customers_outside_the_sample_are_kept(customer: Customer) -> None:
    _load(*SMALL)
    _load(*SMALL, "--seed", "9")
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert Customer.objects.count() == 21


def test_sizes_must_be_positive() -> None:
    with pytest.raises(CommandError, match="--orders"):
        _load("--orders", "0")
