"""A status fault answers that status with a JSON body that leaks internals on purpose."""

from __future__ import annotations

import httpx

from upstreams.server import SimulatorServer


async def test_status_fault_answers_that_status_with_a_json_error(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("billing", status=503, latency_ms=0)

    response = await client.get("/billing/summary")

    assert response.status_code == 503
    assert response.json()["error"] == "upstream failure"


async def test_status_fault_body_carries_an_internal_looking_detail(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("billing", status=500, latency_ms=0)

    detail = (await client.get("/billing/summary")).json()["detail"]

    assert "Traceback" in detail
    assert "password=hunter2" in detail
    assert "10.0.0.5" in detail


async def test_status_and_a_body_fault_combine(client: httpx.AsyncClient) -> None:
    response = await client.get("/billing/summary?status=502&fault=invalid_json&latency_ms=0")

    assert response.status_code == 502
    assert response.content.startswith(b'{"items": [')
