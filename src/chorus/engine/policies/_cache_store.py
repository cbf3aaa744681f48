"""``CacheStore``: where the cache's entries live, the worker's memory and, when shared, Redis.

A ``"memory"`` store is a bounded LRU in the worker. A ``"redis"`` store keeps
the same LRU as a near copy, and Redis as the copy every worker shares:

- **Reads** go to Redis only when memory cannot answer: no entry at all (a
  worker started since, or one whose entry ran out), or, with a TTL, an entry
  no longer fresh (another worker may have refreshed it). What Redis holds is
  copied into memory, so a worker started during an outage reads each key
  once, and serves the others' last good answer (marked stale by the cache)
  from then on. With a TTL of 0 (last-good answers only), a worker holding its
  own good answer never reads Redis: the common call costs no round trip.
- **Writes**: every good answer goes to memory, and to Redis at most once per
  ``SHARE_INTERVAL`` per key: a last-good answer with a TTL of 0 arrives with
  every call, and one write a second is plenty to leave the others something
  to stand on.
- **Redis failing** (down, slower than its socket timeout, a key holding
  something unreadable) never fails a call: the store carries on with memory
  alone, counts the failure (``shared_errors``, in ``chorus.policy_report()``),
  logs the first failure of an outage and the recovery, and leaves Redis
  alone for ``RETRY_AFTER`` seconds, so an absent Redis costs one socket
  timeout a second rather than one per call.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from cachetools import LRUCache

from chorus.engine._attempt import Reply
from chorus.engine._policy_config import CachePolicy
from chorus.engine._redis import get_redis, redis_errors

__all__ = ["SHARE_INTERVAL", "CacheStore", "Entry"]

logger = logging.getLogger("chorus.cache")

SHARE_INTERVAL = 1.0
RETRY_AFTER = 1.0


@dataclass(frozen=True, slots=True)
class Entry:
    status: int | None
    data: Any
    raw: bytes | None
    fresh_until: float
    stale_until: float
    # When this worker last wrote (or read) the entry in Redis: the next write waits
    # for SHARE_INTERVAL past it.
    shared_at: float = float("-inf")


class CacheStore:
    def __init__(self, name: str, policy: CachePolicy) -> None:
        self.name = name
        self.policy = policy
        self.shared = policy.backend == "redis"
        self.shared_errors = 0
        self._memory: LRUCache[Hashable, Entry] = LRUCache(maxsize=policy.max_entries)
        self._redis_down = False
        self._retry_redis_at = 0.0

    def near(self, key: Hashable) -> Entry | None:
        """The entry for ``key`` in this worker's memory, within its stale bound, or ``None``:
        all of ``get`` for a store that is not shared, without a coroutine per call."""
        entry = self._memory.get(key)
        if entry is not None and time.time() >= entry.stale_until:
            self._memory.pop(key, None)
            return None
        return entry

    async def get(self, key: Hashable) -> Entry | None:
        """The entry for ``key`` still within its stale bound, or ``None``."""
        entry = self.near(key)
        now = time.time()
        if not self.shared or (
            entry is not None and (self.policy.ttl == 0 or now < entry.fresh_until)
        ):
            return entry
        found = await self._read(key)
        if found is None or now >= found.stale_until:
            return entry
        if entry is not None and entry.fresh_until >= found.fresh_until:
            return entry
        self._memory[key] = found
        return found

    def keep_near(self, key: Hashable, reply: Reply) -> None:
        """``set`` for a store that is not shared, without a coroutine per call."""
        self._memory[key] = self._entry(reply, time.time())

    async def set(self, key: Hashable, reply: Reply) -> None:
        """Keep ``reply``, a good answer, as the entry for ``key``."""
        now = time.time()
        entry = self._entry(reply, now)
        previous = self._memory.get(key)
        if self.shared and previous is not None and now - previous.shared_at < SHARE_INTERVAL:
            entry = replace(entry, shared_at=previous.shared_at)
        elif self.shared and await self._write(key, entry, now):
            entry = replace(entry, shared_at=now)
        self._memory[key] = entry

    def clear(self) -> None:
        self._memory.clear()

    def _entry(self, reply: Reply, now: float) -> Entry:
        fresh_until = now + self.policy.ttl
        stale_until = fresh_until + (self.policy.stale_if_error or 0.0)
        return Entry(reply.status, reply.data, reply.raw, fresh_until, stale_until)

    # -- Redis ----------------------------------------------------------------

    async def _read(self, key: Hashable) -> Entry | None:
        if not self._redis_usable():
            return None
        try:
            stored = await get_redis().get(self._redis_key(key))
        except redis_errors() as error:
            self._redis_failed(error)
            return None
        if stored is None:
            self._redis_answered()
            return None
        try:
            status, raw, fresh_until, stale_until = orjson.loads(stored)
            body = raw.encode()
            entry = Entry(status, orjson.loads(body), body, fresh_until, stale_until, time.time())
        except (ValueError, TypeError, AttributeError) as error:
            # Written by something else, or corrupted: a miss, counted like Redis failing.
            self._redis_failed(error)
            return None
        self._redis_answered()
        return entry

    async def _write(self, key: Hashable, entry: Entry, now: float) -> bool:
        if not self._redis_usable():
            return False
        try:
            raw = entry.raw if entry.raw is not None else orjson.dumps(entry.data)
            stored = orjson.dumps(
                [entry.status, raw.decode(), entry.fresh_until, entry.stale_until]
            )
        except (TypeError, UnicodeDecodeError):
            # An awaitable source's value orjson cannot write: this worker keeps it alone.
            return False
        try:
            await get_redis().set(
                self._redis_key(key), stored, px=max(1, int((entry.stale_until - now) * 1000))
            )
        except redis_errors() as error:
            self._redis_failed(error)
            return False
        self._redis_answered()
        return True

    def _redis_key(self, key: Hashable) -> str:
        digest = hashlib.blake2b(orjson.dumps(key), digest_size=16).hexdigest()
        return f"chorus:cache:{self.name}:{digest}"

    def _redis_usable(self) -> bool:
        return not self._redis_down or time.monotonic() >= self._retry_redis_at

    def _redis_failed(self, error: BaseException) -> None:
        self.shared_errors += 1
        self._retry_redis_at = time.monotonic() + RETRY_AFTER
        if not self._redis_down:
            self._redis_down = True
            logger.warning(
                "cache for %r: Redis unavailable (%s), memory only until it answers",
                self.name,
                type(error).__name__,
            )

    def _redis_answered(self) -> None:
        if self._redis_down:
            self._redis_down = False
            logger.info("cache for %r: Redis answers again, entries shared", self.name)
