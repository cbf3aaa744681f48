"""``/_faults``: set, validate, list and restore each service's fault settings."""

from __future__ import annotations

import httpx
import pytest

DEFAULTS = {
    "latency_ms": 100,
    "jitter_ms": 0,
    "status": 200,
    "fault": None,
    "rate": 1.0,
    "oversize_bytes": 4 * 1024 * 1024,
    "slow_body_ms": 2000,
}


async def test_listing_shows_every_service_at_its_defaults(client: httpx.AsyncClient) -> None:
    response = await client.get("/_faults")

    assert response.json() == {
        "services": dict.fromkeys(
            ["inventory", "notifications", "analytics", "users", "billing"], DEFAULTS
        )
    }


async def test_put_changes_only_the_given_keys(client: httpx.AsyncClient) -> None:
    await client.put("/_faults/users", json={"latency_ms": 250})
    response = await client.put("/_faults/users", json={"fault": "hang", "rate": 0.5})

    assert response.status_code == 200
    assert response.json() == {
        "service": "users",
        **DEFAULTS,
        "latency_ms": 250,
        "fault": "hang",
        "rate": 0.5,
    }


async def test_put_is_listed(client: httpx.AsyncClient) -> None:
    await client.put("/_faults/analytics", json={"status": 503})

    listing = (await client.get("/_faults")).json()["services"]

    assert listing["analytics"]["status"] == 503
    assert listing["users"]["status"] == 200


async def test_delete_restores_one_service(client: httpx.AsyncClient) -> None:
    await client.put("/_faults/analytics", json={"status": 503})
    await client.put("/_faults/billing", json={"status": 500})

    await client.delete("/_faults/analytics")
    listing = (await client.get("/_faults")).json()["services"]

    assert (listing["analytics"]["status"], listing["billing"]["status"]) == (200, 500)


async def test_delete_all_restores_every_service(client: httpx.AsyncClient) -> None:
    await client.put("/_faults/analytics", json={"status": 503})
    await client.put("/_faults/billing", json={"fault": "reset"})

    response = await client.delete("/_faults")

    assert all(settings == DEFAULTS for settings in response.json()["services"].values())


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "JSON"),
        (b"[1, 2]", "object"),
        (b'{"latency": 5}', "latency"),
        (b'{"latency_ms": "fast"}', "latency_ms"),
        (b'{"latency_ms": true}', "latency_ms"),
        (b'{"latency_ms": -1}', "latency_ms"),
        (b'{"jitter_ms": -0.5}', "jitter_ms"),
        (b'{"rate": 1.5}', "rate"),
        (b'{"rate": -0.1}', "rate"),
        (b'{"status": 700}', "status"),
        (b'{"status": 503.5}', "status"),
        (b'{"fault": "explode"}', "fault"),
        (b'{"fault": 3}', "fault"),
    ],
)
async def test_invalid_settings_are_a_400_naming_the_problem(
    client: httpx.AsyncClient, body: bytes, named: str
) -> None:
    response = await client.put("/_faults/users", content=body)

    assert response.status_code == 400
    assert named in response.json()["error"]


async def test_invalid_settings_change_nothing(client: httpx.AsyncClient) -> None:
    await client.put("/_faults/users", content=b'{"latency_ms": 5, "rate": 7}')

    assert (await client.get("/_faults")).json()["services"]["users"] == DEFAULTS


async def test_unknown_service_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.put("/_faults/payments", json={"status": 503})

    assert response.status_code == 404
    assert "payments" in response.json()["error"]


async def test_other_methods_are_a_405(client: httpx.AsyncClient) -> None:
    response = await client.post("/_faults/users", json={"status": 503})

    assert response.status_code == 405
