"""The hang fault never answers; the client's timeout ends it, and the server counts a disconnect."""

from __future__ import annotations

import httpx
import pytest

from tests.upstreams.support.polling import service_stats_when
from upstreams.server import SimulatorServer


async def test_hang_never_answers(simulator: SimulatorServer, client: httpx.AsyncClient) -> None:
    await simulator.aset_fault("analytics", fault="hang", latency_ms=0)

    with pytest.raises(httpx.ReadTimeout):
        await client.get("/analytics/summary", timeout=0.5)


async def test_client_giving_up_on_a_hang_is_counted_as_a_disconnect(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await simulator.aset_fault("analytics", fault="hang", latency_ms=0)
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/analytics/summary", timeout=0.3)

    analytics = await service_stats_when(simulator, "analytics", "disconnects", 1)

    assert (analytics["disconnects"], analytics["in_flight"]) == (1, 0)


async def test_client_leaving_during_the_latency_is_counted_as_a_disconnect(
    simulator: SimulatorServer, client: httpx.AsyncClient
) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/users/summary?latency_ms=5000", timeout=0.3)

    users = await service_stats_when(simulator, "users", "disconnects", 1)

    assert (users["disconnects"], users["in_flight"]) == (1, 0)
