"""The asyncio Redis client behind chorus's shared state (breakers, caches).

One client per event loop and URL (``CHORUS["REDIS_URL"]``), made on first
use, closed at server shutdown by ``chorus.server._lifespan``. Its socket timeouts
are short on purpose: shared state is an optimisation, and a slow or absent
Redis must cost a call a few milliseconds, never its deadline; callers fall
back to their per-process state when Redis fails.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from chorus.engine._exceptions import ConfigurationError
from chorus.engine._loop_local import LoopLocal
from chorus.engine._settings import get_settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["aclose_redis", "get_redis", "redis_errors"]

SOCKET_TIMEOUT = 0.1

_clients: LoopLocal[dict[str, Redis]] = LoopLocal(dict)


@functools.cache
def redis_errors() -> tuple[type[BaseException], ...]:
    """What a failing Redis raises: each caller catches these and carries on without it.

    A function, not a constant, so that importing chorus does not import redis: an
    ``except redis_errors():`` clause calls it only when something was raised.
    """
    try:
        from redis.exceptions import RedisError
    except ImportError:  # redis is an optional dependency
        return (OSError, TimeoutError)
    return (RedisError, OSError, TimeoutError)


def get_redis() -> Redis:
    """The running loop's client for ``CHORUS["REDIS_URL"]``."""
    url = get_settings().redis_url
    if url is None:
        raise ConfigurationError("CHORUS['REDIS_URL'] is not set")
    clients = _clients.get()
    client = clients.get(url)
    if client is None:
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigurationError(
                "shared breakers and caches need the redis package: "
                "pip install 'django-chorus[redis]'"
            ) from None
        client = clients[url] = Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
    return client


async def aclose_redis() -> None:
    """Close the running loop's clients; the next use makes new ones."""
    clients = _clients.pop() or {}
    for client in clients.values():
        await client.aclose()
