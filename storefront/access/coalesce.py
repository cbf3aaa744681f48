"""``CoalescingCache``: a TTL cache for async lookups that one burst cannot multiply.

A plain TTL cache in front of a lookup (an API key in the database, a key set
from an identity provider) has two failure modes under load:

- **a cold key under a burst**: every request that misses starts its own
  lookup, so a thousand requests for one key make a thousand queries (and,
  through ``sync_to_async``, a thousand threads);
- **expiry under steady traffic**: the entry's lifetime is not renewed by
  hits, so a hot key goes cold every TTL and the next burst misses together.

Here concurrent misses for one key share a single lookup, and a hit on an entry
past ``refresh_ahead`` of its lifetime starts one background refresh while the
caller gets the cached value at once, so a key in steady use never goes cold.

Each lookup runs in a task of its own, in a fresh ``contextvars`` context:
a caller that is cancelled (its client left) does not cancel it for the
others, and thread-sensitive work inside it (``sync_to_async``) does not run
on, or keep alive, the executor of whichever request happened to miss first.
A failed lookup reaches every caller waiting on it, is not cached, and evicts
the key's entry (a refresh that finds the key gone must not leave it trusted).

Entries live in a ``cachetools.TTLCache`` (bounded, least recently used out
first); only the in-flight lookups are kept here, per event loop. Neither
``async-lru`` (no refresh ahead, cancels with its caller) nor cachetools (sync)
does both halves, hence this module.

    keys = CoalescingCache[str, Credential](ttl=30, maxsize=10_000)
    credential = await keys.get(digest, lambda: lookup(digest))
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Final, cast

from cachetools import TTLCache

from chorus import LoopLocal

__all__ = ["MISSING", "CoalescingCache"]

logger = logging.getLogger("storefront.access.coalesce")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class CoalescingCache[K: Hashable, V]:
    """See the module docstring. ``ttl`` ≤ 0 keeps nothing but still coalesces lookups."""

    def __init__(self, *, ttl: float, maxsize: int = 10_000, refresh_ahead: float = 0.5) -> None:
        if not 0 < refresh_ahead <= 1:
            raise ValueError("refresh_ahead is a fraction of the TTL, in (0, 1]")
        self.ttl = ttl
        self._refresh_after = ttl * refresh_ahead
        self._entries: TTLCache[K, tuple[V, float]] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl) if ttl > 0 and maxsize > 0 else None
        )
        self._flights: LoopLocal[dict[K, asyncio.Task[V]]] = LoopLocal(dict)

    def peek(self, key: K) -> V | _Missing:
        """The cached value, or ``MISSING``; never starts a lookup (for sync callers)."""
        entry = self._entries.get(key) if self._entries is not None else None
        return MISSING if entry is None else entry[0]

    def put(self, key: K, value: V) -> None:
        if self._entries is not None:
            self._entries[key] = (value, time.monotonic())

    def forget(self, key: K) -> None:
        if self._entries is not None:
            self._entries.pop(key, None)

    def clear(self) -> None:
        if self._entries is not None:
            self._entries.clear()

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The value for ``key``: cached, or from the one lookup in flight, or a new one."""
        entry = self._entries.get(key) if self._entries is not None else None
        if entry is not None:
            value, loaded_at = entry
            if time.monotonic() - loaded_at >= self._refresh_after:
                self._flight(key, load)
            return value
        # shield: a caller that leaves stops waiting; the lookup goes on for the others.
        return await asyncio.shield(self._flight(key, load))

    def _flight(self, key: K, load: Callable[[], Awaitable[V]]) -> asyncio.Task[V]:
        flights = self._flights.get()
        task = flights.get(key)
        if task is None:
            task = asyncio.create_task(self._load(key, load), context=contextvars.Context())
            flights[key] = task
            task.add_done_callback(lambda done: self._landed(flights, key, done))
        return task

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        except BaseException:
            self.forget(key)
            raise
        self.put(key, value)
        return value

    def _landed(self, flights: dict[K, asyncio.Task[V]], key: K, task: asyncio.Task[V]) -> None:
        if flights.get(key) is task:
            del flights[key]
        if not task.cancelled() and task.exception() is not None:
            # Retrieved here so a refresh nobody waits for is not "never retrieved";
            # callers waiting on a miss get the exception themselves.
            logger.debug("a lookup failed", exc_info=task.exception())

    async def aclose(self) -> None:
        """Cancel and await this loop's lookups in flight (at server shutdown)."""
        flights = self._flights.pop() or {}
        tasks = cast(list[asyncio.Task[V]], list(flights.values()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
