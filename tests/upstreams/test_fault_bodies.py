"""Faults in the body: not JSON, far too large, or trickled slowly."""

from __future__ import annotations

import time

import httpx
import orjson
import pytest

from upstreams.server import SimulatorServer

MiB = 1024 * 1024


async def test_invalid_json_is_a_200_json_response_that_does_not_parse(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("notifications", fault="invalid_json", latency_ms=0)

    response = await client.get("/notifications/recent")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


async def test_oversize_streams_megabytes_without_a_content_length(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("inventory", fault="oversize", latency_ms=0)

    received = 0
    async with client.stream("GET", "/inventory/stock") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > 2 * MiB:
                break

    assert received > 2 * MiB


async def test_oversize_bytes_sets_the_size_of_a_whole_json_body(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/inventory/stock?fault=oversize&oversize_bytes=300000&latency_ms=0"
    )

    assert len(response.content) == 300_000
    assert set(orjson.loads(response.content)) == {"padding"}


async def test_slow_body_sends_headers_at_once_and_the_body_over_time(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("users", fault="slow_body", latency_ms=0)

    started = time.perf_counter()
    async with client.stream("GET", "/users/summary") as response:
        headers_after = time.perf_counter() - started
        body = await response.aread()
    body_after = time.perf_counter() - started

    assert headers_after < 1.0
    assert body_after > 1.0
    assert set(orjson.loads(body)) == {"active_users", "signups_today", "churned_this_week"}


async def test_slow_body_ms_sets_how_long_the_body_takes(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    response = await client.get("/users/summary?fault=slow_body&slow_body_ms=400&latency_ms=0")

    assert response.status_code == 200
    assert 0.38 <= time.perf_counter() - started < 1.9
