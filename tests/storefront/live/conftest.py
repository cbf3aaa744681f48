"""Live-event fixtures: each test runs on both backends, the database one and a Redis stream.

The Redis stream gets a key of its own per test (and is deleted after), so
tests never see each other's events. The database backend's poller reads from
its own thread, so those tests need committed rows: ``transactional_db``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import override_settings

from chorus.streams import EventLog
from storefront.live.backends import get_backend
from storefront.live.conf import live_settings

FAST_POLL = 0.02


def live_config(backend: str, **overrides: Any) -> dict[str, Any]:
    return {"BACKEND": backend, "POLL_INTERVAL": FAST_POLL, **overrides}


@pytest.fixture(params=["database", "redis"])
def live_backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def live_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Extra STOREFRONT_LIVE values for one test: ``@pytest.mark.live_settings(BACKLOG=3)``."""
    marker = request.node.get_closest_marker("live_settings")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def live_backend(
    request: pytest.FixtureRequest,
    live_backend_name: str,
    live_overrides: dict[str, Any],
    transactional_db: None,
) -> Iterator[EventLog]:
    """The configured backend, fresh and empty, under ``STOREFRONT_LIVE`` for this test."""
    overrides = dict(live_overrides)
    stream = None
    if live_backend_name == "redis":
        url = request.getfixturevalue("redis_url")
        stream = f"tests:live:{uuid.uuid4().hex}"
        overrides |= {"REDIS_URL": url, "STREAM": stream}
    with override_settings(STOREFRONT_LIVE=live_config(live_backend_name, **overrides)):
        try:
            yield get_backend()
        finally:
            if stream is not None:
                client = redis.Redis.from_url(overrides["REDIS_URL"])
                client.delete(stream)
                client.close()
    live_settings.cache_clear()
