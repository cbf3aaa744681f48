"""The process is draining: the server stopped accepting and long-lived streams should end now.

A server shuts a worker down in three steps: stop accepting, wait (within a
bound) for open connections to finish, then send the ASGI ``lifespan.shutdown``
message. That message arrives only after the connections have closed, so an
endless stream (Server-Sent Events, a WebSocket) would hold the worker until
the bound runs out and then be cut without a word. ``begin_draining()`` is the
signal in between: the server's shutdown hook calls it as it stops accepting
(storefront's gunicorn worker does, ``storefront/ops/worker.py``), and
``EventStreamResponse`` then sends its final event and ends, so clients
reconnect to another worker while in-flight requests finish as usual.

    # a server's shutdown hook, on the worker's event loop
    chorus.begin_draining()

    # anything long-lived
    await chorus.wait_draining()

The state is per process; each event loop gets its own future to wait on.
"""

from __future__ import annotations

import asyncio
import weakref

__all__ = ["begin_draining", "is_draining", "wait_draining"]

_draining = False
_futures: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[None]] = (
    weakref.WeakKeyDictionary()
)


def is_draining() -> bool:
    """Whether ``begin_draining()`` has been called in this process."""
    return _draining


def begin_draining() -> None:
    """Mark the process as draining and wake everything waiting in ``wait_draining()``.

    Safe to call more than once, and from any thread.
    """
    global _draining
    _draining = True
    for loop, future in list(_futures.items()):
        if loop.is_closed():
            continue
        loop.call_soon_threadsafe(_resolve, future)


def drained_future() -> asyncio.Future[None]:
    """The running loop's future that completes when draining begins (shared: never cancel it)."""
    loop = asyncio.get_running_loop()
    future = _futures.get(loop)
    if future is None:
        future = _futures[loop] = loop.create_future()
        if _draining:
            future.set_result(None)
    return future


async def wait_draining() -> None:
    """Return once the process drains (at once if it already is)."""
    await asyncio.shield(drained_future())


def reset_draining() -> None:
    """Forget that the process drained (for tests that run many servers in one process)."""
    global _draining
    _draining = False
    _futures.clear()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
