"""An HTTP client aimed at the session's simulator, for the simulator's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from upstreams.server import SimulatorServer


@pytest.fixture
async def client(simulator: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator.url, trust_env=False, timeout=10) as client:
        yield client
