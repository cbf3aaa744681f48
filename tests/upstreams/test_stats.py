"""``/_stats``: what really reached each service, exactly as it arrived."""

from __future__ import annotations

import asyncio

import httpx

from tests.upstreams.support.polling import service_stats_when
from upstreams.server import SimulatorServer


async def test_requests_are_counted_per_service(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.get("/users/summary?latency_ms=0")
    await client.get("/billing/summary?latency_ms=0")

    services = (await client.get("/_stats")).json()["services"]

    assert services["users"]["requests"] == 3
    assert services["billing"]["requests"] == 1
    assert services["inventory"]["requests"] == 0


async def test_paths_are_recorded_after_the_service_prefix(client: httpx.AsyncClient) -> None:
    await client.get("/inventory/stock?latency_ms=0")
    await client.get("/inventory/items/SKU-1001?latency_ms=0")
    await client.get("/inventory/items/SKU-1001?latency_ms=0")

    paths = (await client.get("/_stats")).json()["services"]["inventory"]["paths"]

    assert paths == {"/stock": 1, "/items/SKU-1001": 2}


async def test_raw_path_and_query_are_recorded_as_sent(client: httpx.AsyncClient) -> None:
    url = httpx.URL("/inventory/items/..%2F..%2Fbilling%2Fsummary?latency_ms=0&sku=1%26admin%3D1")

    await client.get(url)

    services = (await client.get("/_stats")).json()["services"]
    assert services["inventory"]["paths"] == {"/items/..%2F..%2Fbilling%2Fsummary": 1}
    assert services["inventory"]["queries"] == {"latency_ms=0&sku=1%26admin%3D1": 1}
    assert services["billing"]["requests"] == 0


async def test_in_flight_counts_requests_still_waiting(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    pending = asyncio.create_task(client.get("/users/summary?latency_ms=600"))
    try:
        during = await service_stats_when(simulator, "users", "in_flight", 1)
    finally:
        await pending
    after = (await simulator.astats())["services"]["users"]

    assert (during["in_flight"], after["in_flight"]) == (1, 0)


async def test_delete_resets_the_counts(client: httpx.AsyncClient) -> None:
    await client.get("/users/summary?latency_ms=0")

    response = await client.delete("/_stats")

    assert response.json()["services"]["users"] == {
        "requests": 0,
        "in_flight": 0,
        "disconnects": 0,
        "paths": {},
        "queries": {},
    }


async def test_admin_requests_are_not_counted(client: httpx.AsyncClient) -> None:
    await client.get("/_faults")
    await client.get("/_stats")

    services = (await client.get("/_stats")).json()["services"]

    assert sum(service["requests"] for service in services.values()) == 0
