"""Orders test data: small factories that write through the ORM, in the calling thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

import pytest
from django.test import AsyncClient, Client
from django.utils import timezone

from storefront.orders.models import Customer, Order, OrderItem, OrderStatus

ItemSpec = tuple[str, int, str]  # sku, qty, unit price
MakeOrder = Callable[..., Order]


@pytest.fixture
def async_client(api_key: dict[str, str]) -> AsyncClient:
    """pytest-django's client, sending a read-write API key as every API client must."""
    # Not headers=: AsyncClient turns default headers into "http-authorization" (Django 6.1).
    return AsyncClient(**api_key)


@pytest.fixture
def client(api_key: dict[str, str]) -> Client:
    return Client(headers=api_key)


@pytest.fixture
def customer() -> Customer:
    return Customer.objects.create(name="Ada Lovelace", email="ada@example.com")


@pytest.fixture
def make_order(customer: Customer) -> MakeOrder:
    def make(
        items: Sequence[ItemSpec] = (("TEA-S", 1, "4.50"),),
        *,
        status: str = OrderStatus.PENDING,
        created_at: datetime | None = None,
        owner: Customer | None = None,
    ) -> Order:
        total = sum((qty * Decimal(price) for _, qty, price in items), Decimal("0.00"))
        order = Order.objects.create(
            customer=owner or customer,
            status=status,
            created_at=created_at or timezone.now(),
            total=total,
        )
        OrderItem.objects.bulk_create(
            OrderItem(order=order, sku=sku, qty=qty, unit_price=Decimal(price))
            for sku, qty, price in items
        )
        return order

    return make
