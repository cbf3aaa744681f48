"""Rate limits: per API key or staff user on ``/api/``, per client IP elsewhere.

The strategy is a moving window from the ``limits`` library
(``limits.aio.strategies.MovingWindowRateLimiter``): a request is let through
when fewer than ``amount`` of the identity's requests fall in the last
``window`` seconds, else it is answered 429 JSON with ``Retry-After``: the whole
seconds until the oldest request in the window leaves it
(``get_window_stats``).

Settings. ``STOREFRONT_RATE_LIMITS`` (read through ``storefront/http/conf.py``)
still gives each kind a ``RATE`` (requests per second) and a ``BURST``
(requests at once), and a rate of 0 still turns that limit off. They map to a
window of ``BURST`` requests per ``BURST / RATE`` seconds: the burst is the
same, and so is the average rate over any longer stretch. ``limits`` counts
windows in whole seconds (Redis expires its keys in seconds), so the window is
rounded **up**: neither the burst nor the average rate is ever more than the
setting, and where ``BURST / RATE`` is a whole number (the defaults: 2000 per
2 s for API keys, 200 per 10 s for addresses) both are exact. One difference
from the token bucket this replaced: a client that spends its whole burst at
once gets those slots back one window later, not a trickle at ``RATE`` from
the start (``Retry-After`` says so).

Where the windows live:

- In Redis when ``REDIS_URL`` is set, so every worker and machine shares them:
  ``limits.aio.storage.RedisStorage`` with redis-py's asyncio client (no
  thread hop, unlike Django's cache "async" methods), one pooled client per
  event loop. Each check is one Lua script (atomic: two workers never both
  take the last slot). A refusal asks once more, for ``Retry-After``. The
  timestamps are the workers' own clocks (``limits`` sends ``time.time()``),
  so workers should be on NTP: a worker whose clock is off by ``d`` seconds
  moves its own requests' edge of the window by ``d``.
- In this process otherwise, or while Redis fails: ``LocalWindows``
  (``storefront/http/local_windows.py``), the same strategy over a store of
  our own, bounded by LRU eviction: never a global reset.

If Redis fails, the limit falls back to this process's windows and says so in
one WARNING line per minute: a rate limiter must not turn a Redis outage into
an outage of the API. A burst of requests waits for one of a worker's pooled
Redis connections (``_POOL_SIZE``) instead of opening one each (redis-py's
default pool refuses the 101st with ``MaxConnectionsError``: a 500 for every
request of a burst).

One implementation. The WSGI baseline's sync middleware runs the same
coroutines to their end on an event loop of its calling thread's own
(``run_sync``), not a sync copy of the logic: no thread hop, and the in-process
windows never suspend, so it costs one ``run_until_complete`` (measured in
``bench/ratelimit_cost.py``; handing each call to one loop thread per process
cost 6-10 times more). Each such loop has its own Redis client, closed with
its thread or at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

import chorus
from chorus.server import DualModeMiddleware
from storefront.http.conf import conf
from storefront.http.errors import json_error
from storefront.http.local_windows import LocalWindows

__all__ = [
    "Limit",
    "LocalWindows",
    "RateLimitMiddleware",
    "aclose_rate_limiter",
    "limit_for",
    "limited",
    "limited_sync",
    "run_sync",
    "take_token",
    "window_for",
]

# Probes and the page's own files are never limited: a load balancer must always get through.
_EXEMPT_PREFIXES = ("/healthz", "/readyz", "/static/")
# Connections per worker (event loop) to Redis, and how long a request waits for a free one.
_POOL_SIZE = 32
_POOL_WAIT = 2.0
_SOCKET_TIMEOUT = 1.0
_WARN_EVERY = 60.0
# A refused request waits at least this long (a window's edge can be exactly now).
_MIN_WAIT = 1e-3

logger = logging.getLogger("storefront.ratelimit")


@dataclass(frozen=True, slots=True)
class Limit:
    """``rate`` requests per second on average, ``burst`` at once; ``rate == 0`` means no limit."""

    rate: float
    burst: int


def limit_for(kind: str) -> Limit:
    """``"API"`` (per key or user) or ``"ANONYMOUS"`` (per IP), read from settings at call time."""
    configured = conf.rate_limit(kind)
    return Limit(rate=float(configured["RATE"]), burst=int(configured["BURST"]))


@lru_cache(maxsize=64)
def window_for(limit: Limit) -> RateLimitItem:
    """``burst`` requests per ``burst / rate`` seconds, rounded up to whole seconds (≥ 1)."""
    seconds = max(1, math.ceil(round(limit.burst / limit.rate, 6)))
    return RateLimitItemPerSecond(limit.burst, seconds)


@dataclass(frozen=True, slots=True)
class _Backend:
    limiter: MovingWindowRateLimiter
    clock: Callable[[], float]  # the clock the storage stamps requests with
    pool: Any = None  # a Redis connection pool to close with its loop


_local = LocalWindows()
_LOCAL = _Backend(MovingWindowRateLimiter(_local), LocalWindows.clock)


# -- Redis windows -----------------------------------------------------------------------

# One storage per event loop and URL (a client's connections belong to the loop that made them).
_redis_backends: chorus.LoopLocal[dict[str, _Backend]] = chorus.LoopLocal(dict)


def _redis_url() -> str | None:
    url: str | None = getattr(settings, "REDIS_URL", None)
    return url


def _redis_backend(url: str) -> _Backend:
    backends = _redis_backends.get()
    backend = backends.get(url)
    if backend is None:
        import redis.asyncio
        from limits.aio.storage import RedisStorage

        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=_POOL_SIZE,
            timeout=_POOL_WAIT,
            socket_timeout=_SOCKET_TIMEOUT,
            socket_connect_timeout=_SOCKET_TIMEOUT,
        )
        # limits reads the scheme (redis, rediss, redis+unix) only to pick its client.
        scheme = "async+redis+unix://" if url.startswith("unix://") else "async+"
        storage = RedisStorage(
            scheme + url.removeprefix("unix://"),
            implementation="redispy",
            key_prefix=cache.make_key("ratelimit"),
            connection_pool=pool,
        )
        backend = backends[url] = _Backend(MovingWindowRateLimiter(storage), time.time, pool)
    return backend


async def aclose_rate_limiter() -> None:
    """Close the running loop's Redis connections, if it has any (server shutdown, tests)."""
    for backend in (_redis_backends.pop() or {}).values():
        await backend.pool.aclose()


_last_warning = -_WARN_EVERY


def _redis_failed(error: BaseException) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY:
        _last_warning = now
        logger.warning(
            "rate limits: Redis failed (%s: %s); this worker limits on its own windows "
            "until it is back (said once a minute)",
            type(error).__name__,
            error,
        )


# What a failing Redis raises: the limiter then falls back to this worker's own windows.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)


async def _take(backend: _Backend, item: RateLimitItem, identity: str) -> float:
    if await backend.limiter.hit(item, identity):
        return 0.0
    stats = await backend.limiter.get_window_stats(item, identity)
    return max(stats.reset_time - backend.clock(), _MIN_WAIT)


async def take_token(identity: str, limit: Limit) -> float:
    """Count a request of ``identity``'s: 0 when allowed, else the seconds until a slot frees."""
    if limit.rate <= 0:
        return 0.0
    item = window_for(limit)
    url = _redis_url()
    if url:
        try:
            return await _take(_redis_backend(url), item, identity)
        except REDIS_ERRORS as error:
            _redis_failed(error)
    return await _take(_LOCAL, item, identity)


# -- the sync (WSGI) callers' loops ------------------------------------------------------


class _OwnLoop:
    """A thread's own event loop for ``run_sync``: closed after its thread, or at exit."""

    __slots__ = ("__weakref__", "loop", "pid")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        _own_loops.add(self)

    def close(self) -> None:
        loop = self.loop
        # A forked child's copy shares its Redis sockets with the parent: leave them be.
        if loop.is_closed() or loop.is_running() or self.pid != os.getpid():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            _close_loop(loop)
        else:  # collected inside another loop, which cannot wait for this one: later
            _orphans.append(loop)

    __del__ = close  # the thread has ended: its thread-local values go with it


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_until_complete(aclose_rate_limiter())
    finally:
        loop.close()


_own_loops: weakref.WeakSet[_OwnLoop] = weakref.WeakSet()
_orphans: list[asyncio.AbstractEventLoop] = []  # ended threads' loops, closed by the next run_sync
_thread = threading.local()


def run_sync[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on this thread's own loop (sync callers: no loop running)."""
    _close_orphans()
    own: _OwnLoop | None = getattr(_thread, "own", None)
    if own is None:
        own = _thread.own = _OwnLoop()
    return own.loop.run_until_complete(coroutine)


def _close_own_loops() -> None:
    for own in list(_own_loops):
        own.close()
    _close_orphans()


def _close_orphans() -> None:
    while _orphans:
        try:
            loop = _orphans.pop()
        except IndexError:  # another thread took the last one
            return
        _close_loop(loop)


atexit.register(_close_own_loops)
os.register_at_fork(after_in_child=lambda: vars(_thread).clear())


# -- middleware --------------------------------------------------------------------------


def _bucket(request: HttpRequest) -> tuple[str, Limit] | None:
    identity: str | None = getattr(request, "api_identity", None)
    if identity is not None:
        limit = limit_for("API")
    elif request.path.startswith(_EXEMPT_PREFIXES):
        return None
    else:
        identity, limit = _address(request), limit_for("ANONYMOUS")
    return (identity, limit) if limit.rate > 0 else None


def _address(request: HttpRequest) -> str:
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


async def _refuse(bucket: tuple[str, Limit] | None) -> HttpResponseBase | None:
    if bucket is None or not (wait := await take_token(*bucket)):
        return None
    seconds = max(1, math.ceil(wait))
    return json_error(
        429, "rate_limited", f"Too many requests: retry in {seconds} s.", Retry_After=str(seconds)
    )


def _anonymous(request: HttpRequest) -> tuple[str, Limit] | None:
    limit = limit_for("ANONYMOUS")
    return (_address(request), limit) if limit.rate > 0 else None


async def limited(request: HttpRequest) -> HttpResponseBase | None:
    """A 429 if the client's address is out of anonymous requests (this one counts), else ``None``."""
    return await _refuse(_anonymous(request))


def limited_sync(request: HttpRequest) -> HttpResponseBase | None:
    """``limited`` for a sync caller (the WSGI baseline), run on the rate-limit loop."""
    bucket = _anonymous(request)
    return None if bucket is None else run_sync(_refuse(bucket))


class RateLimitMiddleware(DualModeMiddleware):
    """Sits after ``ApiAccessMiddleware``, whose ``request.api_identity`` names the window."""

    def call(self, request: HttpRequest) -> HttpResponseBase:
        bucket = _bucket(request)
        if bucket is not None and (refused := run_sync(_refuse(bucket))) is not None:
            return refused
        response: HttpResponseBase = self.get_response(request)
        return response

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        return await _refuse(_bucket(request)) or await self.get_response(request)
