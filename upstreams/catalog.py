"""What the five simulated services say: realistic JSON, generated once and pre-encoded.

The content comes from a seeded generator so every run (and every test) sees the
same bodies, and it is encoded with orjson at import time so that answering a
request costs a dictionary lookup, not a serialisation: the simulator must stay
far faster than whatever is measured against it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["SERVICES", "Body", "Catalog", "build_catalog", "encode_json"]

SERVICES = ("inventory", "notifications", "analytics", "users", "billing")

_SEED = 20_260_101
_UPDATED_AT = "2026-01-15T09:30:00Z"
_WAREHOUSES = ("Lyon-1", "Rotterdam-2", "Leipzig-1", "Milano-3")
_PRODUCTS = (
    "Walnut desk organiser",
    "Linen tea towel",
    "Enamel camping mug",
    "Merino beanie",
    "Cork yoga block",
    "Brass bottle opener",
    "Stoneware planter",
    "Canvas tote bag",
    "Beeswax candle",
    "Oak cutting board",
    "Wool throw blanket",
    "Ceramic pour-over",
)
_NOTIFICATION_KINDS = {
    "order": "Order #{n} was paid and is ready to pack",
    "stock": "Stock for SKU-{n} fell below its reorder point",
    "refund": "Refund requested for order #{n}",
    "review": "New 2-star review on order #{n}",
}


@dataclass(frozen=True, slots=True)
class Body:
    """A pre-encoded JSON answer and its status."""

    status: int
    content: bytes


def encode_json(value: object) -> bytes:
    return orjson.dumps(value)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Pre-encoded answers, keyed by service and then by the path after the service."""

    routes: Mapping[str, Mapping[str, Body]]
    inventory_items: Mapping[str, Body]

    def lookup(self, service: str, path: str) -> Body | None:
        body = self.routes[service].get(path)
        if body is None and service == "inventory" and path.startswith("/items/"):
            body = self.inventory_items.get(path.removeprefix("/items/"))
        return body


def build_catalog(seed: int = _SEED) -> Catalog:
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    items: list[dict[str, Any]] = [
        {
            "sku": f"SKU-{1001 + index}",
            "name": rng.choice(_PRODUCTS),
            "on_hand": rng.randint(0, 240),
            "reserved": rng.randint(0, 12),
            "warehouse": rng.choice(_WAREHOUSES),
        }
        for index in range(20)
    ]
    stock = {
        "items": items,
        "low_stock": sum(1 for item in items if item["on_hand"] < 20),
        "updated_at": _UPDATED_AT,
    }
    kinds = list(_NOTIFICATION_KINDS)
    notifications = []
    for index in range(10):
        kind = rng.choice(kinds)
        notifications.append(
            {
                "id": f"ntf_{5000 + index}",
                "kind": kind,
                "message": _NOTIFICATION_KINDS[kind].format(n=rng.randint(1001, 9999)),
                "created_at": f"2026-01-15T09:{29 - index * 2:02d}:00Z",
            }
        )
    unread = rng.randint(1, len(notifications))
    analytics = {
        "visitors_today": rng.randint(8_000, 15_000),
        "conversion_rate": round(rng.uniform(0.02, 0.04), 3),
        "revenue_today": f"{rng.uniform(9_000, 20_000):.2f}",
        "top_products": [
            {"sku": item["sku"], "name": item["name"], "units_sold": rng.randint(20, 140)}
            for item in rng.sample(items, 5)
        ],
    }
    users = {
        "active_users": rng.randint(1_200, 2_400),
        "signups_today": rng.randint(20, 90),
        "churned_this_week": rng.randint(3, 30),
    }
    billing = {
        "mrr": f"{rng.uniform(40_000, 90_000):.2f}",
        "invoices_due": rng.randint(10, 60),
        "failed_payments": rng.randint(0, 8),
        "currency": "EUR",
    }

    def ok(value: object) -> Body:
        return Body(200, encode_json(value))

    return Catalog(
        routes={
            "inventory": {"/stock": ok(stock)},
            "notifications": {"/recent": ok({"unread": unread, "items": notifications})},
            "analytics": {"/summary": ok(analytics)},
            "users": {"/summary": ok(users)},
            "billing": {"/summary": ok(billing)},
        },
        inventory_items={str(item["sku"]): ok(item) for item in items},
    )
