"""Each simulated service answers realistic JSON on its documented paths, and 404 elsewhere."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("/inventory/stock", {"items", "low_stock", "updated_at"}),
        ("/notifications/recent", {"unread", "items"}),
        (
            "/analytics/summary",
            {"visitors_today", "conversion_rate", "revenue_today", "top_products"},
        ),
        ("/users/summary", {"active_users", "signups_today", "churned_this_week"}),
        ("/billing/summary", {"mrr", "invoices_due", "failed_payments", "currency"}),
    ],
)
async def test_service_answers_json_with_its_fields(
    client: httpx.AsyncClient, path: str, keys: set[str]
) -> None:
    response = await client.get(path, params={"latency_ms": 0})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == keys


async def test_stock_lists_about_twenty_items_with_their_fields(client: httpx.AsyncClient) -> None:
    items = (await client.get("/inventory/stock?latency_ms=0")).json()["items"]

    assert len(items) == 20
    assert set(items[0]) == {"sku", "name", "on_hand", "reserved", "warehouse"}


async def test_inventory_item_is_found_by_its_sku(client: httpx.AsyncClient) -> None:
    response = await client.get("/inventory/items/SKU-1003?latency_ms=0")

    assert response.status_code == 200
    assert response.json()["sku"] == "SKU-1003"


async def test_unknown_sku_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/inventory/items/SKU-0?latency_ms=0")

    assert response.status_code == 404
    assert "error" in response.json()


async def test_unknown_path_under_a_service_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/billing/nothing-here?latency_ms=0")

    assert response.status_code == 404
    assert "error" in response.json()


@pytest.mark.parametrize("path", ["/payments/summary", "/", "/_nothing", "/_stats/extra"])
async def test_path_outside_the_services_is_a_json_404(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 404
    assert "error" in response.json()


async def test_service_answers_only_get(client: httpx.AsyncClient) -> None:
    response = await client.post("/users/summary?latency_ms=0", content=b"{}")

    assert response.status_code == 405
    assert "error" in response.json()


async def test_content_is_the_same_on_every_request(client: httpx.AsyncClient) -> None:
    first = await client.get("/analytics/summary?latency_ms=0")
    second = await client.get("/analytics/summary?latency_ms=0")

    assert first.content == second.content
