"""Order changes are published after their transaction commits, wherever they are made."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from chorus.streams import EventLog
from storefront.orders.models import Customer, Order, OrderStatus
from tests.storefront.live.support.helpers import latest_id, published_after


@pytest.fixture
def customer(transactional_db: None) -> Customer:
    return Customer.objects.create(name="Ada Lovelace", email="ada@example.com")


@pytest.fixture
def api(api_key: dict[str, str]) -> Client:
    return Client(headers=api_key)


def _order(customer: Customer, status: str = OrderStatus.PENDING) -> Order:
    return Order.objects.create(customer=customer, status=status, total="9.50")


def test_an_order_created_through_the_api_is_published(
    live_backend: EventLog, api: Client, customer: Customer
) -> None:
    start = latest_id(live_backend)
    body = {"customer": customer.pk, "items": [{"sku": "TEA", "qty": 2, "unit_price": "4.75"}]}
    response = api.post("/api/orders/", body, content_type="application/json")
    assert response.status_code == 201
    [event] = published_after(live_backend, start)
    assert event.kind == "order.created"
    assert event.data["id"] == response.json()["id"]
    assert event.data["total"] == "9.50"
    assert event.data["customer"] == {"id": customer.pk, "name": "Ada Lovelace"}


def test_an_order_saved_in_plain_python_is_published(
    live_backend: EventLog, customer: Customer
) -> None:
    start = latest_id(live_backend)
    order = _order(customer)
    order.status = OrderStatus.PAID
    order.save()
    events = published_after(live_backend, start)
    assert [(e.kind, e.data["id"]) for e in events] == [
        ("order.created", order.pk),
        ("order.status_changed", order.pk),
    ]
    assert events[1].data["from"] == "pending"
    assert events[1].data["status"] == "paid"


def test_nothing_is_published_before_the_commit(live_backend: EventLog, customer: Customer) -> None:
    start = latest_id(live_backend)
    with transaction.atomic():
        _order(customer)
        assert published_after(live_backend, start) == []
    assert [e.kind for e in published_after(live_backend, start)] == ["order.created"]


def test_a_rolled_back_change_publishes_nothing(live_backend: EventLog, customer: Customer) -> None:
    start = latest_id(live_backend)

    def create_then_fail() -> None:
        with transaction.atomic():
            _order(customer)
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        create_then_fail()
    assert published_after(live_backend, start) == []


def test_saving_without_a_status_change_publishes_nothing(
    live_backend: EventLog, customer: Customer
) -> None:
    order = _order(customer)
    start = latest_id(live_backend)
    order.total = "12.00"
    order.save()
    assert published_after(live_backend, start) == []


def test_patch_moves_an_order_along_an_allowed_transition(
    live_backend: EventLog, api: Client, customer: Customer
) -> None:
    order = _order(customer)
    start = latest_id(live_backend)
    response = api.patch(
        f"/api/orders/{order.pk}/", {"status": "paid"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "paid"
    [event] = published_after(live_backend, start)
    assert (event.kind, event.data["from"], event.data["status"]) == (
        "order.status_changed",
        "pending",
        "paid",
    )


def test_cancelling_an_order_publishes_order_cancelled(
    live_backend: EventLog, api: Client, customer: Customer
) -> None:
    order = _order(customer, OrderStatus.PAID)
    start = latest_id(live_backend)
    response = api.patch(
        f"/api/orders/{order.pk}/", {"status": "cancelled"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert [e.kind for e in published_after(live_backend, start)] == ["order.cancelled"]


def test_patch_refuses_a_forbidden_transition_with_409(
    live_backend: EventLog, api: Client, customer: Customer
) -> None:
    order = _order(customer, OrderStatus.COMPLETED)
    start = latest_id(live_backend)
    response = api.patch(
        f"/api/orders/{order.pk}/", {"status": "pending"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "forbidden_transition"
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert published_after(live_backend, start) == []


def test_patch_refuses_an_unknown_status_with_400(api: Client, customer: Customer) -> None:
    order = _order(customer)
    response = api.patch(
        f"/api/orders/{order.pk}/", {"status": "lost"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_status"


def test_patch_on_a_missing_order_is_404(api: Client, transactional_db: None) -> None:
    response = api.patch("/api/orders/999999/", {"status": "paid"}, content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
