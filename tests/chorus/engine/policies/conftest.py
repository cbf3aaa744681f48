"""Fresh policy state for every test, and a one-upstream ``CHORUS`` setting to shape."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import chorus
import chorus.testing
from chorus.engine._redis import aclose_redis

JSON_OK = b'{"ok": true}'


@pytest.fixture(autouse=True)
def _fresh_policies(chorus_policies: None) -> None:
    """Every test here gets chorus's own ``chorus_policies`` fixture."""


@pytest.fixture
def one_upstream(settings) -> Callable[..., None]:
    """``one_upstream(base_url, TIMEOUT=..., BREAKER={...}, ...)``: CHORUS with upstream "svc"."""

    def configure(base_url: str, redis_url: str | None = None, **entry: Any) -> None:
        settings.CHORUS = {
            "UPSTREAMS": {"svc": {"BASE_URL": base_url, "TIMEOUT": 1.0, **entry}},
            "DEFAULT_DEADLINE": 3.0,
            "REDIS_URL": redis_url,
        }

    return configure


async def run(spec: chorus.Call, deadline: float | None = 3.0) -> chorus.SourceResult:
    """One source through ``chorus.gather``: its ``SourceResult``."""
    return (await chorus.gather(only=spec, deadline=deadline)).sources["only"]


async def requests_to(simulator: Any, service: str) -> int:
    """How many requests really reached ``service`` (the simulator's own count)."""
    return int((await simulator.astats())["services"][service]["requests"])


@contextlib.asynccontextmanager
async def fresh_shared_state() -> AsyncIterator[None]:
    """chorus's keys in ``CHORUS["REDIS_URL"]`` deleted before and after; its client closed."""
    await chorus.testing.areset_shared_state()
    try:
        yield
    finally:
        await chorus.testing.areset_shared_state()
        await aclose_redis()
