"""Fault keys in a request's query string apply to that request alone."""

from __future__ import annotations

import time

import httpx
import pytest

from upstreams.server import SimulatorServer


async def test_query_override_applies_to_its_request(client: httpx.AsyncClient) -> None:
    response = await client.get("/billing/summary?status=503&latency_ms=0")

    assert response.status_code == 503


async def test_query_override_does_not_outlive_its_request(client: httpx.AsyncClient) -> None:
    await client.get("/billing/summary?status=503&latency_ms=0")

    response = await client.get("/billing/summary")

    assert response.status_code == 200


async def test_query_override_does_not_change_the_stored_settings(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await client.get("/billing/summary?status=503&latency_ms=0")

    settings = (await client.get("/_faults")).json()["services"]["billing"]

    assert (settings["status"], settings["latency_ms"]) == (200, 100)


async def test_query_override_beats_the_stored_setting(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("users", latency_ms=5000)

    started = time.perf_counter()
    response = await client.get("/users/summary?latency_ms=0")

    assert response.status_code == 200
    assert time.perf_counter() - started < 2.5


async def test_query_parameters_that_are_not_fault_keys_are_ignored(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/users/summary?latency_ms=0&page=2&q=shoes")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("latency_ms=soon", "latency_ms"),
        ("latency_ms=-5", "latency_ms"),
        ("rate=2", "rate"),
        ("status=99", "status"),
        ("fault=explode", "fault"),
        ("jitter_ms=nan", "jitter_ms"),
        ("oversize_bytes=1.5", "oversize_bytes"),
    ],
)
async def test_bad_query_override_is_a_400_naming_the_key(
    client: httpx.AsyncClient, query: str, named: str
) -> None:
    response = await client.get(f"/users/summary?{query}")

    assert response.status_code == 400
    assert named in response.json()["error"]
