"""The admin: lists search and filter, an order shows its items inline and keeps its total true."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from storefront.orders.models import Customer, Order, OrderStatus

from .conftest import MakeOrder

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/orders/customer/?q=ada&active__exact=1",
        "/admin/orders/order/?q=ada&status__exact=pending",
        "/admin/orders/orderitem/?q=TEA",
    ],
)
def test_lists_search_and_filter(admin_client: Client, make_order: MakeOrder, url: str) -> None:
    make_order([("TEA-S", 1, "4.50")])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_saving_an_order_recomputes_its_total_from_the_items(
    admin_client: Client, make_order: MakeOrder, customer: Customer
) -> None:
    order = make_order([("TEA-S", 1, "4.50")])
    item = order.items.get()
    response = admin_client.post(
        f"/admin/orders/order/{order.pk}/change/",
        {
            "customer": customer.pk,
            "status": OrderStatus.PAID,
            "items-TOTAL_FORMS": "2",
            "items-INITIAL_FORMS": "1",
            "items-0-id": item.pk,
            "items-0-order": order.pk,
            "items-0-sku": "TEA-S",
            "items-0-qty": "3",
            "items-0-unit_price": "4.50",
            "items-1-order": order.pk,
            "items-1-sku": "MUG-L",
            "items-1-qty": "1",
            "items-1-unit_price": "12.00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.PAID
    assert order.total == Decimal("25.50")
