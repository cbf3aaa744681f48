"""The live-event settings, read once from ``settings.STOREFRONT_LIVE`` (cleared when settings change).

STOREFRONT_LIVE = {
    "BACKEND": "database",     # or "redis" (needs REDIS_URL)
    "REDIS_URL": None,
    "STREAM": "storefront:live",  # the Redis stream's key
    "BACKLOG": 10_000,         # events kept for resuming viewers
    "VIEWER_QUEUE": 1_000,     # events a viewer may fall behind before it is cut off
    "POLL_INTERVAL": 0.1,      # seconds between the database poller's reads
    "HEARTBEAT": 15.0,         # idle seconds before an SSE comment / WebSocket ping
    "RECHECK_INTERVAL": 1.0,   # seconds between re-checks of open streams' credentials
}
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

__all__ = ["LiveSettings", "live_settings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveSettings:
    backend: str = "database"
    redis_url: str | None = None
    stream: str = "storefront:live"
    backlog: int = 10_000
    viewer_queue: int = 1_000
    poll_interval: float = 0.1
    heartbeat: float = 15.0
    recheck_interval: float = 1.0


@cache
def live_settings() -> LiveSettings:
    raw: dict[str, Any] = getattr(settings, "STOREFRONT_LIVE", {})
    values = {key.lower(): value for key, value in raw.items()}
    result = LiveSettings(**values)
    if result.backend not in {"database", "redis"}:
        raise ValueError(
            f"STOREFRONT_LIVE BACKEND must be 'database' or 'redis', not {result.backend!r}"
        )
    if not 0 < result.recheck_interval <= 5:
        raise ValueError("STOREFRONT_LIVE RECHECK_INTERVAL must be more than 0 and at most 5 s")
    if result.backend == "redis" and not result.redis_url:
        raise ValueError("STOREFRONT_LIVE BACKEND 'redis' needs REDIS_URL")
    return result


def _clear(*, setting: str, **kwargs: object) -> None:
    if setting == "STOREFRONT_LIVE":
        live_settings.cache_clear()


setting_changed.connect(_clear)
