"""Switches for a project's own test suite, like stamina's ``set_testing``.

``reset_policies`` forgets what this process knows; ``areset_shared_state``
also deletes chorus's keys in Redis (shared breakers and caches), for suites
that run against a Redis of their own.
"""

from __future__ import annotations

from chorus.engine import _chain, _redis
from chorus.engine.policies import _switches

__all__ = ["areset_shared_state", "is_testing", "reset_policies", "set_testing"]


def set_testing(testing: bool = True) -> None:
    """In a test suite: no backoff sleeps between retries (attempts still count)."""
    _switches.testing = testing


def is_testing() -> bool:
    """Whether ``set_testing(True)`` is in force."""
    return _switches.testing


def reset_policies() -> None:
    """Close every breaker, empty every retry budget, latency record and memory cache."""
    _chain.forget_policies()


async def areset_shared_state() -> None:
    """``reset_policies``, and delete chorus's breaker and cache keys in ``CHORUS["REDIS_URL"]``."""
    reset_policies()
    client = _redis.get_redis()
    for pattern in ("chorus:breaker:*", "chorus:cache:*"):
        keys = [key async for key in client.scan_iter(match=pattern, count=500)]
        if keys:
            await client.delete(*keys)
