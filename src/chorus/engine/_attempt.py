"""The seam every policy shares: an ``Attempt`` goes in, a ``Reply`` comes out.

A call on its way to an upstream travels as an ``Attempt``: the ``Call``, its
upstream's configuration, the Django request it serves (for forwarded
headers) and the absolute deadline in event-loop time. Each link of the chain
(cache, breaker, retry, hedge, bulkhead, transport) is a ``Send``: it takes
the attempt and returns a ``Reply`` or raises an ``UpstreamError``, so a
policy wraps the next link without knowing what it is::

    cache → breaker → retry → hedge → bulkhead → transport

A ``Reply`` says what happened on the way: how many requests were sent
(``attempts``), whether it came from the cache (``cached``), whether it stands
in for a failure (``stale``, with that failure in ``error``) and whether a
second request raced the first (``hedged``).

An ``Attempt`` also counts the requests sent for it (``sent``), which a reply
cannot: a call cancelled mid-way returns none. One request counts once
``chorus.engine._send.send`` hands it to the transport, having taken its
bulkhead place: from then on it may reach the upstream (the transport connects
or writes without waiting on anything else first), so a request cancelled
while its connection is being made counts, as a connect failure always has;
one cancelled while waiting for a bulkhead place does not. A transport's own
re-send on a new connection (RFC 9112 §9.3.1) is added when the transport
answers or fails. Every link sending for a call (a retry, a hedge in its own
task) passes the same ``Attempt`` down, so the count is the call's; a cache
waiter has its own, and sends nothing unless its leader went away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from chorus.engine._call import Call
from chorus.engine._settings import UpstreamConfig

__all__ = ["Attempt", "Reply", "Send"]


# Attempts and replies are made for every call: plain slotted classes, since a frozen
# dataclass's __init__ sets each field through object.__setattr__ (a measurable share of
# a call's CPU). Treat them as immutable all the same (links make new replies with
# replace()), except ``Attempt.sent``, which _send.send counts up in place.


@dataclass(slots=True)
class Attempt:
    call: Call
    upstream: UpstreamConfig
    request: HttpRequest | None = None
    # Event-loop time by which the answer is needed; None: no limit.
    deadline: float | None = None
    # Requests handed to the transport for this call so far (see the module docstring).
    sent: int = 0

    def remaining(self) -> float | None:
        """Seconds left before the deadline (may be negative); ``None`` without one."""
        if self.deadline is None:
            return None
        return self.deadline - asyncio.get_running_loop().time()


@dataclass(slots=True, kw_only=True)
class Reply:
    status: int | None
    data: Any
    raw: bytes | None = None
    attempts: int = 1
    cached: bool = False
    stale: bool = False
    hedged: bool = False
    # For a stale reply: the failure its data stands in for (an UpstreamError, or an
    # awaitable source's own exception).
    error: Exception | None = None


Send = Callable[[Attempt], Coroutine[Any, Any, Reply]]
