"""``rate`` is the share of requests that get the status and fault; latency applies to all."""

from __future__ import annotations

import time

import httpx

from upstreams.server import SimulatorServer


async def test_rate_zero_spares_every_request(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("billing", status=503, rate=0, latency_ms=0)

    statuses = {(await client.get("/billing/summary")).status_code for _ in range(20)}

    assert statuses == {200}


async def test_rate_one_hits_every_request(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("billing", status=503, rate=1, latency_ms=0)

    statuses = {(await client.get("/billing/summary")).status_code for _ in range(20)}

    assert statuses == {503}


async def test_rate_half_hits_some_requests_and_spares_others(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("billing", status=503, rate=0.5, latency_ms=0)

    # 200 draws at 1/2 all landing on one side has probability 2**-199.
    statuses = {(await client.get("/billing/summary")).status_code for _ in range(200)}

    assert statuses == {200, 503}


async def test_latency_applies_even_when_the_rate_spares_the_request(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("billing", status=503, rate=0, latency_ms=200)

    started = time.perf_counter()
    response = await client.get("/billing/summary")

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.195
