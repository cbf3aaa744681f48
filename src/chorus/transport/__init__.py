"""Chorus's transport: the one seam between chorus and the HTTP client underneath.

A ``Transport`` sends one request and returns the status, headers and a body
read up to a byte limit. Each event loop gets its own, made on first use, so a
worker's requests share its keep-alive connections and none is touched from a
loop it was not made on. ``chorus.asgi`` closes the loop's transport at server
shutdown; ``aclose_transport()`` does it by hand (tests, scripts).

The default is ``Http1Transport`` (``chorus.transport.http1``), chorus's own lean
HTTP/1.1 client; ``AiohttpTransport`` wraps an ``aiohttp.ClientSession`` for
what that one leaves out (proxies, HTTP features beyond a fan-out's needs).
``set_transport_factory`` chooses. Timeouts are the caller's job
(``asyncio.timeout``), except the connect timeout, which only a transport can see.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from chorus.transport.aiohttp_client import AiohttpTransport
from chorus.transport.base import Transport, TransportResponse
from chorus.transport.http1 import Http1Transport

__all__ = [
    "AiohttpTransport",
    "Http1Transport",
    "Transport",
    "TransportFactory",
    "TransportResponse",
    "aclose_transport",
    "get_transport",
    "set_transport_factory",
]

TransportFactory = Callable[[], Transport]
_factory: TransportFactory = Http1Transport
_transports: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Transport] = (
    weakref.WeakKeyDictionary()
)


# The last loop's transport, found without a weak-key lookup: a worker has one loop.
_last: tuple[asyncio.AbstractEventLoop, Transport] | None = None


def get_transport() -> Transport:
    """The running event loop's transport, created on first use."""
    global _last
    loop = asyncio.get_running_loop()
    last = _last
    if last is not None and last[0] is loop:
        return last[1]
    transport = _transports.get(loop)
    if transport is None:
        transport = _transports[loop] = _factory()
    _last = (loop, transport)
    return transport


async def aclose_transport() -> bool:
    """Close the running loop's transport; the next call makes a new one.

    Returns whether there was one to close.
    """
    global _last
    loop = asyncio.get_running_loop()
    if _last is not None and _last[0] is loop:
        _last = None
    transport = _transports.pop(loop, None)
    if transport is None:
        return False
    await transport.aclose()
    return True


def set_transport_factory(factory: TransportFactory | None) -> None:
    """Make transports with ``factory`` from now on (``None``: back to ``Http1Transport``).

    Transports already made keep serving their loops until closed.
    """
    global _factory
    _factory = factory if factory is not None else Http1Transport
