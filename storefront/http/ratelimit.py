"""Token-bucket rate limits: per API key or staff user on ``/api/``, per client IP elsewhere.

Each identity has a bucket of ``burst`` tokens refilled at ``rate`` per second;
a request takes one, and an empty bucket answers 429 JSON with ``Retry-After``
(whole seconds until a token is back). Limits come from
``STOREFRONT_RATE_LIMITS`` (see settings.py; each from the environment), and a
rate of 0 turns that limit off.

Where the buckets live follows Django's cache: in Redis when ``REDIS_URL`` is
set, so every worker and machine shares them, and in this process otherwise
(as the local-memory cache would). Two deliberate departures from calling
``cache.aget``/``cache.aset``:

- Django's cache "async" methods run the sync ones through ``sync_to_async``: a
  thread hop per call on every API request. Redis is reached through
  ``redis.asyncio`` instead (one pooled client per event loop), and the
  in-process buckets are a dictionary touched only by the event loop.
- A token bucket is a read-modify-write; two workers doing it with GET then SET
  would both spend the last token. In Redis the whole update is one Lua script
  (atomic by construction) and the time is Redis's own clock (``TIME``), so
  workers with skewed clocks agree. A fixed window with ``INCR`` would also be
  atomic, but lets twice the limit through around a window's edge.

Keys use the default cache's prefix and version (``cache.make_key``).

A burst of requests waits for one of a worker's pooled Redis connections
(``_POOL_SIZE``) instead of opening one each (redis-py's default pool refuses
the 101st with ``MaxConnectionsError``: a 500 for every request of a burst).
If Redis fails, the limit falls back to this process's buckets and says so in
one WARNING line per minute: a rate limiter must not turn a Redis outage into
an outage of the API.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase
from redis.exceptions import RedisError

import chorus
from chorus.server import DualModeMiddleware
from storefront.http.conf import conf
from storefront.http.errors import json_error

__all__ = [
    "Limit",
    "RateLimitMiddleware",
    "aclose_rate_limiter",
    "limit_for",
    "limited",
    "limited_sync",
    "take_token",
]

# Probes and the page's own files are never limited: a load balancer must always get through.
_EXEMPT_PREFIXES = ("/healthz", "/readyz", "/static/")
_MAX_LOCAL_BUCKETS = 100_000
# Connections per worker (event loop) to Redis, and how long a request waits for a free one.
_POOL_SIZE = 32
_POOL_WAIT = 2.0
_SOCKET_TIMEOUT = 1.0
_WARN_EVERY = 60.0

logger = logging.getLogger("storefront.ratelimit")

_BUCKET_SCRIPT = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


@dataclass(frozen=True, slots=True)
class Limit:
    """``rate`` tokens per second into a bucket of ``burst``; ``rate == 0`` means no limit."""

    rate: float
    burst: int


def limit_for(kind: str) -> Limit:
    """``"API"`` (per key or user) or ``"ANONYMOUS"`` (per IP), read from settings at call time."""
    configured = conf.rate_limit(kind)
    return Limit(rate=float(configured["RATE"]), burst=int(configured["BURST"]))


# -- in-process buckets (no Redis) -------------------------------------------------------

_local: dict[str, tuple[float, float]] = {}  # key -> (tokens, monotonic time)


def _take_local(key: str, limit: Limit) -> float:
    now = time.monotonic()
    tokens, at = _local.get(key, (float(limit.burst), now))
    tokens = min(float(limit.burst), tokens + (now - at) * limit.rate)
    wait = 0.0
    if tokens >= 1:
        tokens -= 1
    else:
        wait = (1 - tokens) / limit.rate
    if len(_local) >= _MAX_LOCAL_BUCKETS and key not in _local:
        _local.clear()  # bounded memory; forgetting buckets only ever lets requests through
    _local[key] = (tokens, now)
    return wait


# -- Redis buckets -----------------------------------------------------------------------

# One asyncio client per event loop (a client's connections belong to the loop that made them).
_async_clients: chorus.LoopLocal[dict[str, Any]] = chorus.LoopLocal(dict)
_sync_client: Any = None


def _redis_url() -> str | None:
    url: str | None = getattr(settings, "REDIS_URL", None)
    return url


async def _take_redis(url: str, key: str, limit: Limit) -> float:
    clients = _async_clients.get()
    client = clients.get(url)
    if client is None:
        import redis.asyncio

        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=_POOL_SIZE,
            timeout=_POOL_WAIT,
            socket_timeout=_SOCKET_TIMEOUT,
            socket_connect_timeout=_SOCKET_TIMEOUT,
        )
        client = clients[url] = redis.asyncio.Redis.from_pool(pool)
        client.token_bucket = client.register_script(_BUCKET_SCRIPT)
    return float(await client.token_bucket(keys=[key], args=[limit.rate, limit.burst]))


def _take_redis_sync(url: str, key: str, limit: Limit) -> float:
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(
            url, socket_timeout=_SOCKET_TIMEOUT, socket_connect_timeout=_SOCKET_TIMEOUT
        )
        _sync_client.token_bucket = _sync_client.register_script(_BUCKET_SCRIPT)
    return float(_sync_client.token_bucket(keys=[key], args=[limit.rate, limit.burst]))


async def aclose_rate_limiter() -> None:
    """Close the running loop's Redis client, if it has one (server shutdown, tests)."""
    for client in (_async_clients.pop() or {}).values():
        await client.aclose()


_last_warning = -_WARN_EVERY


def _redis_failed(error: BaseException) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY:
        _last_warning = now
        logger.warning(
            "rate limits: Redis failed (%s: %s); this worker limits on its own buckets "
            "until it is back (said once a minute)",
            type(error).__name__,
            error,
        )


# What a failing Redis raises: the limiter then falls back to this worker's own buckets.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)


async def take_token(identity: str, limit: Limit) -> float:
    """Take a token from ``identity``'s bucket: 0 when allowed, else the seconds to wait."""
    key = cache.make_key(f"ratelimit:{identity}")
    url = _redis_url()
    if url:
        try:
            return await _take_redis(url, key, limit)
        except REDIS_ERRORS as error:
            _redis_failed(error)
    return _take_local(key, limit)


def _take_token_sync(identity: str, limit: Limit) -> float:
    key = cache.make_key(f"ratelimit:{identity}")
    url = _redis_url()
    if url:
        try:
            return _take_redis_sync(url, key, limit)
        except REDIS_ERRORS as error:
            _redis_failed(error)
    return _take_local(key, limit)


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


async def limited(request: HttpRequest) -> HttpResponseBase | None:
    """A 429 if the client's address is out of anonymous tokens (one is taken), else ``None``."""
    limit = limit_for("ANONYMOUS")
    if limit.rate > 0 and (wait := await take_token(_address(request), limit)) > 0:
        return _too_many(wait)
    return None


def limited_sync(request: HttpRequest) -> HttpResponseBase | None:
    limit = limit_for("ANONYMOUS")
    if limit.rate > 0 and (wait := _take_token_sync(_address(request), limit)) > 0:
        return _too_many(wait)
    return None


def _too_many(wait: float) -> HttpResponseBase:
    seconds = max(1, math.ceil(wait))
    return json_error(
        429, "rate_limited", f"Too many requests: retry in {seconds} s.", Retry_After=str(seconds)
    )


class RateLimitMiddleware(DualModeMiddleware):
    """Sits after ``ApiAccessMiddleware``, whose ``request.api_identity`` names the bucket."""

    def call(self, request: HttpRequest) -> HttpResponseBase:
        bucket = _bucket(request)
        if bucket is not None and (wait := _take_token_sync(*bucket)) > 0:
            return _too_many(wait)
        response: HttpResponseBase = self.get_response(request)
        return response

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        bucket = _bucket(request)
        if bucket is not None and (wait := await take_token(*bucket)) > 0:
            return _too_many(wait)
        return await self.get_response(request)
