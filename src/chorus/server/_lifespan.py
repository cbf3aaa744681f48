"""Work to do when the server shuts a worker down: ``on_shutdown``.

Per-loop resources (the transport's connection pool, a Redis client) must be closed on
the loop that made them, before it stops. ``ChorusASGIHandler`` answers the
ASGI lifespan protocol and, at shutdown, calls every registered callback
(awaiting an async one's result), then closes chorus's own transport and the
Redis clients of shared breakers and caches. A failing callback is logged and
does not stop the others.

    # apps.py
    def ready(self):
        chorus.server.on_shutdown(close_my_redis_client)
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable

from chorus.engine._redis import aclose_redis
from chorus.engine.transport._factory import aclose_transport

__all__ = ["on_shutdown", "run_shutdown"]

logger = logging.getLogger("chorus")

ShutdownCallback = Callable[[], Awaitable[object] | None]
_callbacks: list[ShutdownCallback] = []


def on_shutdown(callback: ShutdownCallback) -> ShutdownCallback:
    """Call ``callback()`` when the server shuts down, awaiting what it returns if awaitable.

    Sync or async; registered twice, it still runs once.
    """
    if callback not in _callbacks:
        _callbacks.append(callback)
    return callback


async def run_shutdown() -> None:
    """Run every registered callback, then close the loop's transport and Redis clients."""
    for callback in _callbacks:
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("shutdown callback %r failed", callback)
    if await aclose_transport():
        logger.info("closed the upstream connection pool")
    try:
        await aclose_redis()
    except Exception:
        logger.exception("closing chorus's Redis clients failed")
