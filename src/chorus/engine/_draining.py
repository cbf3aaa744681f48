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
    chorus.server.begin_draining()

    # anything long-lived
    await chorus.server.wait_draining()

The state is per process; each event loop gets its own future to wait on.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

__all__ = ["begin_draining", "is_draining", "wait_draining"]

DrainCallback = Callable[[], object]

_draining = False
# Callbacks per event loop, run on their loop. A set: registering and dropping one costs
# O(1) with 10,000 streams open, and nothing is paid per event a stream sends.
_callbacks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[DrainCallback]] = (
    weakref.WeakKeyDictionary()
)


def is_draining() -> bool:
    """Whether ``begin_draining()`` has been called in this process."""
    return _draining


def begin_draining() -> None:
    """Mark the process as draining and wake everything waiting for it.

    Safe to call more than once, and from any thread.
    """
    global _draining
    _draining = True
    for loop, callbacks in list(_callbacks.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(_run, callbacks)


def on_drain(callback: DrainCallback) -> None:
    """Call ``callback()`` on the running loop when draining begins (soon, if it has)."""
    loop = asyncio.get_running_loop()
    if _draining:
        loop.call_soon(callback)
    else:
        _callbacks.setdefault(loop, set()).add(callback)


def discard(callback: DrainCallback) -> None:
    """Forget a callback given to ``on_drain`` (its owner has finished)."""
    callbacks = _callbacks.get(asyncio.get_running_loop())
    if callbacks is not None:
        callbacks.discard(callback)


async def wait_draining() -> None:
    """Return once the process drains (at once if it already is)."""
    if _draining:
        return
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    on_drain(wake)
    try:
        await future
    finally:
        discard(wake)


def reset_draining() -> None:
    """Forget that the process drained (for tests that run many servers in one process)."""
    global _draining
    _draining = False
    _callbacks.clear()


def _run(callbacks: set[DrainCallback]) -> None:
    pending = list(callbacks)
    callbacks.clear()
    for callback in pending:
        callback()
