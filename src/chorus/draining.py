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
# Each waiter has its own future, so that waking or dropping one costs O(1) with 10,000
# streams open (one shared future would scan all its callbacks each time a stream wakes).
_waiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[asyncio.Future[None]]] = (
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
    for loop, waiters in list(_waiters.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(_wake, waiters)


def drain_waiter() -> asyncio.Future[None]:
    """A future of the running loop, done when draining begins; ``forget()`` it when done."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    if _draining:
        future.set_result(None)
    else:
        _waiters.setdefault(asyncio.get_running_loop(), set()).add(future)
    return future


def forget(future: asyncio.Future[None]) -> None:
    """Stop tracking a future from ``drain_waiter()`` (its owner no longer waits)."""
    waiters = _waiters.get(asyncio.get_running_loop())
    if waiters is not None:
        waiters.discard(future)


async def wait_draining() -> None:
    """Return once the process drains (at once if it already is)."""
    future = drain_waiter()
    try:
        await future
    finally:
        forget(future)


def reset_draining() -> None:
    """Forget that the process drained (for tests that run many servers in one process)."""
    global _draining
    _draining = False
    _waiters.clear()


def _wake(waiters: set[asyncio.Future[None]]) -> None:
    for future in list(waiters):
        if not future.done():
            future.set_result(None)
    waiters.clear()
