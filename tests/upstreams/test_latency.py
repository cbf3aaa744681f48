"""Every service request waits its latency before answering: 100 ms unless told otherwise."""

from __future__ import annotations

import asyncio
import time

import httpx

from upstreams.server import SimulatorServer


async def _timed_get(client: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await client.get(path)
    assert response.status_code == 200
    return (time.perf_counter() - started) * 1000


async def test_default_latency_is_about_100_ms(client: httpx.AsyncClient) -> None:
    elapsed_ms = await _timed_get(client, "/inventory/stock")

    assert 95 <= elapsed_ms < 1000


async def test_configured_latency_is_waited(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("users", latency_ms=300)

    elapsed_ms = await _timed_get(client, "/users/summary")

    assert elapsed_ms >= 295


async def test_latency_waits_run_concurrently(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    await asyncio.gather(*(_timed_get(client, "/users/summary?latency_ms=300") for _ in range(10)))

    # Ten sequential waits would take 3 s.
    assert time.perf_counter() - started < 1.5


async def test_jitter_spreads_the_latency_between_requests(client: httpx.AsyncClient) -> None:
    durations = await asyncio.gather(
        *(_timed_get(client, "/users/summary?latency_ms=0&jitter_ms=300") for _ in range(10))
    )

    # Ten uniform draws in [0, 300] ms all below 100 ms: odds of (1/3)**10.
    assert max(durations) >= 100
    assert max(durations) - min(durations) >= 50
