"""Waiting, within a bound, for the simulator's stats to show what a test did."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from upstreams.server import SimulatorServer


async def service_stats_when(
    simulator: SimulatorServer, service: str, key: str, value: int, *, within: float = 5.0
) -> dict[str, Any]:
    """The service's stats once ``stats[key] == value``; the last seen ones after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        stats: dict[str, Any] = (await simulator.astats())["services"][service]
        if stats[key] == value or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.02)
