"""A realistic, deterministic sample shop: customers, their orders over recent days, and items.

Everything but the timestamps follows from the seed (names, emails, baskets,
prices, statuses); the orders are spread over the last ``days`` days before
the moment of loading, denser towards now, so today's dashboard has orders.
Loading is idempotent: when the same sample set is already there it is left
untouched (ids and times included); otherwise the old sample set is replaced.
Rows are written with ``bulk_create`` in one transaction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from storefront.orders.models import Customer, Order, OrderItem, OrderStatus

__all__ = ["SAMPLE_EMAIL_DOMAIN", "SampleSize", "load_sample_data"]

SAMPLE_EMAIL_DOMAIN = "sample.example.com"
_BATCH = 1000

_FIRST = (
    "Ada", "Alan", "Barbara", "Chen", "Dara", "Edsger", "Fatima", "Grace", "Hiro", "Ines",
    "Joan", "Kofi", "Lena", "Marek", "Noor", "Olu", "Priya", "Quinn", "Rosa", "Sven",
)  # fmt: skip
_LAST = (
    "Lovelace", "Turing", "Liskov", "Wei", "Okafor", "Dijkstra", "Haddad", "Hopper", "Tanaka",
    "Moreau", "Clarke", "Mensah", "Novak", "Kowalski", "Rahman", "Adeyemi", "Patel", "Byrne",
)  # fmt: skip
_PRODUCTS = (
    ("TEA", Decimal("4.50")), ("MUG", Decimal("12.00")), ("KETTLE", Decimal("39.90")),
    ("BEANS", Decimal("14.25")), ("GRINDER", Decimal("89.00")), ("FILTER", Decimal("3.10")),
    ("SCALE", Decimal("24.99")), ("TRAY", Decimal("18.40")), ("CUP", Decimal("7.75")),
    ("SPOON", Decimal("2.20")), ("PRESS", Decimal("34.50")), ("TIN", Decimal("9.95")),
)  # fmt: skip
_VARIANTS = ("S", "M", "L", "BLK", "WHT")


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleSize:
    customers: int = 500
    orders: int = 3000
    days: int = 60
    seed: int = 2026


def load_sample_data(size: SampleSize, *, now: datetime, replace: bool = False) -> bool:
    """Load the sample set; return False when it was already there and left as it was."""
    rng = random.Random(size.seed)  # noqa: S311 - reproducible sample data, not secrets
    customers = [_customer(rng, number) for number in range(1, size.customers + 1)]
    with transaction.atomic():
        existing = Customer.objects.filter(email__endswith=f"@{SAMPLE_EMAIL_DOMAIN}")
        if not replace and _is_loaded(existing, customers, size.orders):
            return False
        Order.objects.filter(customer__in=existing).delete()
        existing.delete()
        Customer.objects.bulk_create(customers, batch_size=_BATCH)
        orders, baskets = _orders(rng, customers, size, now)
        Order.objects.bulk_create(orders, batch_size=_BATCH)
        OrderItem.objects.bulk_create(
            (
                OrderItem(order=order, sku=sku, qty=qty, unit_price=price)
                for order, basket in zip(orders, baskets, strict=True)
                for sku, qty, price in basket
            ),
            batch_size=_BATCH,
        )
    return True


def _is_loaded(existing: QuerySet[Customer], customers: list[Customer], order_count: int) -> bool:
    stored = set(existing.values_list("email", "name", "active"))
    wanted = {(c.email, c.name, c.active) for c in customers}
    return stored == wanted and Order.objects.filter(customer__in=existing).count() == order_count


def _customer(rng: random.Random, number: int) -> Customer:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return Customer(
        name=f"{first} {last}",
        email=f"{first}.{last}.{number}@{SAMPLE_EMAIL_DOMAIN}".lower(),
        active=rng.random() < 0.9,
    )


def _orders(
    rng: random.Random, customers: list[Customer], size: SampleSize, now: datetime
) -> tuple[list[Order], list[list[tuple[str, int, Decimal]]]]:
    span = timedelta(days=size.days).total_seconds()
    # Squaring a uniform draw crowds the orders towards now, as a growing shop's are.
    ages = sorted((rng.random() ** 2 * span for _ in range(size.orders)), reverse=True)
    orders, baskets = [], []
    for age in ages:
        basket = _basket(rng)
        orders.append(
            Order(
                customer=rng.choice(customers),
                status=_status(rng, age_days=age / 86400),
                created_at=now - timedelta(seconds=age),
                total=sum((qty * price for _, qty, price in basket), Decimal("0.00")),
            )
        )
        baskets.append(basket)
    return orders, baskets


def _basket(rng: random.Random) -> list[tuple[str, int, Decimal]]:
    products = rng.sample(_PRODUCTS, k=rng.choice((1, 1, 2, 2, 3, 4)))
    return [
        (f"{name}-{rng.choice(_VARIANTS)}", rng.choice((1, 1, 1, 2, 2, 3, 6)), price)
        for name, price in products
    ]


def _status(rng: random.Random, *, age_days: float) -> str:
    # Young orders are still moving through the pipeline; old ones have settled.
    if age_days < 1:
        weights = (50, 35, 10, 0, 5)
    elif age_days < 7:
        weights = (5, 20, 45, 25, 5)
    else:
        weights = (1, 2, 7, 82, 8)
    return rng.choices(OrderStatus.values, weights=weights)[0]
