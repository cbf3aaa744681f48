"""One transport per event loop, made by a factory the project may choose.

A ``Transport`` sends one request and returns the status, headers and a body
read up to a byte limit. Each event loop gets its own, made on first use, so a
worker's requests share its keep-alive connections and none is touched from a
loop it was not made on. ``chorus.server._asgi`` closes the loop's transport at server
shutdown; ``aclose_transport()`` does it by hand (tests, scripts).

The default is ``Http1Transport`` (``chorus.engine.transport._http1``), chorus's own lean
HTTP/1.1 client; ``AiohttpTransport`` wraps an ``aiohttp.ClientSession`` for
what that one leaves out (proxies, HTTP features beyond a fan-out's needs).
``set_transport_factory`` chooses. Timeouts are the caller's job
(``asyncio.timeout``), except the connect timeout, which only a transport can see.
"""

from __future__ import annotations

from collections.abc import Callable

from chorus.engine._loop_local import LoopLocal
from chorus.engine.transport._base import Transport
from chorus.engine.transport._http1 import Http1Transport

__all__ = [
    "TransportFactory",
    "aclose_transport",
    "get_transport",
    "override_transport",
    "set_transport_factory",
]

TransportFactory = Callable[[], Transport]
_factory: TransportFactory = Http1Transport
_transports: LoopLocal[Transport] = LoopLocal(lambda: _factory())
# One transport for every loop, whatever each already has: ``chorus.testing``'s mocks.
_override: Transport | None = None


def get_transport() -> Transport:
    """The running event loop's transport, created on first use."""
    if _override is not None:
        return _override
    return _transports.get()


def override_transport(transport: Transport | None) -> Transport | None:
    """Answer every call, on every loop, with ``transport`` (``None``: stop); return the last one.

    For tests (``chorus.testing.mock_upstreams``): unlike ``set_transport_factory``,
    it takes over loops that already made their transport, and lets them have it back.
    """
    global _override
    previous, _override = _override, transport
    return previous


async def aclose_transport() -> bool:
    """Close the running loop's transport; the next call makes a new one.

    Returns whether there was one to close.
    """
    transport = _transports.pop()
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
