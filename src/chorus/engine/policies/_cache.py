"""``ResponseCache``: good answers kept for a while, one request per key at a time, stale on error.

- **TTL**: a good answer (2xx with a JSON body, or an awaitable source's
  value) is kept for ``ttl`` seconds and served as ``cached`` without a request.
- **Singleflight**: concurrent identical calls in one worker share one
  request: the first one goes, the others wait for its answer (also when an
  entry expires under load, which would otherwise send every waiting caller
  at once: a cache stampede). If the leader is cancelled (its caller went
  away), each waiter sends its own request instead of failing. A call joins
  a request only while that request is younger than the TTL, or than
  ``JOIN_WINDOW`` (5 ms) when the TTL is shorter: an answer asked for long
  before the call was made would be a cached one, which a TTL of 0 refuses.
  The window also bounds a herd. Every caller sharing one request wakes in
  the same turn of the loop, and in a closed loop (a client asking again as
  soon as it is answered) they come back together and share again: waves,
  with the loop idle between them. With the 5 ms window storefront's dashboard
  did 1.13x the requests/s at 64 connections (p50 118 against 134 ms), and the
  upstream still gets at most one new request per key every 5 ms (``bench/README.md``,
  session 10).
- **stale-if-error** (RFC 5861): for ``stale_if_error`` seconds past its TTL,
  an entry answers for a call that fails, times out or is refused by the
  breaker. The reply keeps the failure (``error``) and carries the old data,
  ``cached`` and ``stale``. A timeout is the deadline's cancellation of the
  call (``chorus.engine._expiry.by_deadline``): it is caught and answered with
  the stale entry, also by a waiter sharing another caller's request whose own
  deadline comes first. Any other cancellation (fail-fast, the caller going
  away) is never answered: it goes on. With a ``ttl`` of 0 nothing is
  served without a request: the cache only stands in for failures (and still
  shares one request among identical calls made within ``JOIN_WINDOW``).

Entries live in the worker's memory (a bounded LRU from ``cachetools``), and
with ``backend: "redis"`` in Redis too, so that every worker shares them: a
worker started during an outage serves the others' last good answers
(``_cache_store``; a Redis failure leaves the worker with its memory). Keys hold the method, path, query,
the call's headers and the values of forwarded request headers, so one
user's answer is never served to another whose forwarded headers differ.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from functools import partial

from chorus.engine._attempt import Attempt, Reply, Send
from chorus.engine._exceptions import UpstreamError, UpstreamTimeoutError
from chorus.engine._expiry import by_deadline
from chorus.engine._loop_local import LoopLocal
from chorus.engine._metrics import cache_meter
from chorus.engine._policy_config import CachePolicy
from chorus.engine.policies._cache_store import CacheStore, Entry

__all__ = ["JOIN_WINDOW", "ResponseCache", "cache_link", "call_key"]


JOIN_WINDOW = 0.005
"""Seconds during which identical calls share a request even under a shorter TTL."""


class _Flight:
    """A request in flight that identical calls may share, and when it was sent."""

    __slots__ = ("answer", "sent_at")

    def __init__(self, answer: asyncio.Future[Reply], sent_at: float) -> None:
        self.answer = answer
        self.sent_at = sent_at


class _LeaderGoneError(Exception):
    """The request a waiter was sharing was cancelled; the waiter sends its own."""


class ResponseCache:
    def __init__(self, name: str, policy: CachePolicy) -> None:
        self.name = name
        self.policy = policy
        self.store = CacheStore(name, policy)
        self._flights: LoopLocal[dict[Hashable, _Flight]] = LoopLocal(dict)
        self._join_within = max(policy.ttl, JOIN_WINDOW)
        self.hits = self.misses = self.stale = self.coalesced = 0
        self._meter = cache_meter(name)

    async def through(
        self,
        key: Hashable,
        produce: Callable[[], Awaitable[Reply]],
    ) -> Reply:
        """The answer for ``key``: from the cache, from a request in flight, or from ``produce``."""
        store = self.store
        entry = await store.get(key) if store.shared else store.near(key)
        now = time.time()
        if entry is not None and now < entry.fresh_until:
            self.hits += 1
            if self._meter is not None:
                self._meter.hit.inc()
            return Reply(
                status=entry.status, data=entry.data, raw=entry.raw, attempts=0, cached=True
            )
        flights = self._flights.get()
        loop = asyncio.get_running_loop()
        flight = flights.get(key)
        if flight is not None and loop.time() - flight.sent_at <= self._join_within:
            fallback = entry if entry is not None and now < entry.stale_until else None
            try:
                shared = await self._follow(flight.answer, fallback)
            except _LeaderGoneError:
                pass
            except UpstreamError as error:
                # The leader's failure, as this caller's own: none of its requests.
                raise error.shared() from None
            else:
                self.coalesced += 1
                if self._meter is not None:
                    self._meter.coalesced.inc()
                return Reply(
                    status=shared.status,
                    data=shared.data,
                    raw=shared.raw,
                    attempts=0,
                    cached=True,
                    stale=shared.stale,
                    error=shared.error,
                )
        self.misses += 1
        if self._meter is not None:
            self._meter.miss.inc()
        answer = loop.create_future()
        # Replaces a flight too old to join; that one's leader leaves this one in place.
        flight = flights[key] = _Flight(answer, loop.time())
        try:
            reply = await self._refresh(key, produce, entry)
        except asyncio.CancelledError:
            answer.set_exception(_LeaderGoneError())
            raise
        except BaseException as error:
            answer.set_exception(error)
            raise
        else:
            answer.set_result(reply)
            return reply
        finally:
            if flights.get(key) is flight:
                del flights[key]
            if answer.done() and not answer.cancelled():
                answer.exception()  # nobody may be waiting: not "never retrieved"

    async def _follow(self, flight: asyncio.Future[Reply], fallback: Entry | None) -> Reply:
        """The leader's reply; or, for a waiter with a stale entry, that entry when the
        waiter's own deadline comes first (the leader's may come later)."""
        try:
            # Shielded: one waiter's cancellation must not cancel the others' flight.
            return await asyncio.shield(flight)
        except asyncio.CancelledError as error:
            if fallback is None or not by_deadline(error):
                raise
            return self._stale_reply(fallback, TimeoutError())

    async def _refresh(
        self,
        key: Hashable,
        produce: Callable[[], Awaitable[Reply]],
        entry: Entry | None,
    ) -> Reply:
        fallback = entry if entry is not None and time.time() < entry.stale_until else None
        try:
            reply = await produce()
        except asyncio.CancelledError as error:
            # The deadline's own cancel (the fan-out's time limit, or chorus.fetch's) is a
            # timeout, which the links below have already counted as one and the stale
            # entry answers. Any other cancel (fail-fast, the caller's) goes on. No timer
            # of the cache's own: it would cost every call a timer handle.
            if fallback is None or not by_deadline(error):
                raise
            return self._stale_reply(fallback, TimeoutError())
        except Exception as error:
            if fallback is None:
                raise
            return self._stale_reply(fallback, error)
        if reply.error is None:
            if self.store.shared:
                await self.store.set(key, reply)
            else:
                self.store.keep_near(key, reply)
        return reply

    def _stale_reply(self, fallback: Entry, error: Exception) -> Reply:
        """``fallback``'s data standing in for the failure ``error``."""
        self.stale += 1
        if self._meter is not None:
            self._meter.stale.inc()
        if isinstance(error, TimeoutError) and not isinstance(error, UpstreamError):
            error = UpstreamTimeoutError(self.name, "no answer in time", elapsed_ms=0.0)
        return Reply(
            status=fallback.status,
            data=fallback.data,
            raw=fallback.raw,
            attempts=error.attempts if isinstance(error, UpstreamError) else 1,
            cached=True,
            stale=True,
            error=error,
        )

    def clear(self) -> None:
        self.store.clear()


def call_key(attempt: Attempt) -> Hashable:
    """What makes two calls the same for the cache (see the module docstring)."""
    call, request = attempt.call, attempt.request
    forwarded: tuple[str | None, ...] = ()
    if request is not None and attempt.upstream.forward_headers:
        forwarded = tuple(request.headers.get(name) for name in attempt.upstream.forward_headers)
    return (call.method, call.path, call.params, call.headers, forwarded)


def cache_link(send: Send, cache: ResponseCache) -> Send:
    """The chain's cache link: GET calls only; anything else goes straight through."""

    async def caching(attempt: Attempt) -> Reply:
        if attempt.call.method != "GET":
            return await send(attempt)

        return await cache.through(call_key(attempt), partial(send, attempt))

    return caching
