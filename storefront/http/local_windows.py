"""The rate limiter's windows in this process: when no Redis is configured, or while it fails.

``LocalWindows`` is a ``limits`` storage for the moving-window strategy.
``limits``' own memory storage has no bound but time (100,000 identities
rotated within a window were 100,000 keys, 46 MB) and cost 58-114 µs a call
(its expiry sweeps every key, one ``to_thread`` each). This one keeps a ring of
each key's last ``amount`` timestamps (8 bytes each) in two LRU maps bounded by
size, about 16 MiB each (``LOCAL_SLOTS``; ``OrderedDict``:
``cachetools.LRUCache`` made a rotation 3 times slower). A key starts in the
*fresh* map and moves to the *spent* map once its window is full. Rotating
identities only churns the fresh map, which forgets its least recently used
keys: each at most gets a burst it had not used yet. A key that used its burst
stays limited until its window has passed, unless ~1,000 full API windows
(~10,000 anonymous ones) are filled by others meanwhile. Never a global reset.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections import OrderedDict

from limits.aio.storage import MovingWindowSupport, Storage

__all__ = ["KEY_SLOTS", "LOCAL_SLOTS", "LocalWindows"]

# Each of the two in-process maps holds this many 8-byte slots: a key costs its timestamps
# plus KEY_SLOTS for itself (its string, its ring, the map's entry: 320-370 bytes measured
# with tracemalloc for an IPv6-long address). 16 MiB a map: ~42,000 keys of one request,
# or ~1,000 full API windows (2,000 timestamps each).
LOCAL_SLOTS = 2**21
KEY_SLOTS = 48


class _Ring:
    """One key's last ``limit`` request times (oldest first from ``start`` once full)."""

    __slots__ = ("charged", "start", "times")

    def __init__(self) -> None:
        self.times = array("d")
        self.start = 0
        self.charged = 0  # the slots its map counts for it

    def at(self, age: int) -> float:
        """The time of the request ``age`` places before the newest (0: the newest)."""
        times = self.times
        return times[(self.start - 1 - age) % len(times)]

    def add(self, now: float, limit: int) -> None:
        if len(self.times) < limit:
            self.times.append(now)
        else:
            self.times[self.start] = now
            self.start = (self.start + 1) % limit


class _Recent:
    """Rings by key, least recently used first, forgotten from there past ``slots``."""

    __slots__ = ("rings", "slots", "used")

    def __init__(self, slots: int) -> None:
        self.rings: OrderedDict[str, _Ring] = OrderedDict()
        self.slots = slots
        self.used = 0

    def pop(self, key: str) -> _Ring | None:
        ring = self.rings.pop(key, None)
        if ring is not None:
            self.used -= ring.charged
        return ring

    def put(self, key: str, ring: _Ring) -> None:
        """Store ``ring`` as the most recently used (again), counting its size now."""
        rings = self.rings
        charge = min(KEY_SLOTS + len(ring.times), self.slots)
        if rings.get(key) is ring:
            self.used += charge - ring.charged
            rings.move_to_end(key)
        else:
            self.used += charge
            rings[key] = ring
        ring.charged = charge
        while self.used > self.slots:
            self.used -= rings.popitem(last=False)[1].charged

    def clear(self) -> None:
        self.rings.clear()
        self.used = 0


class LocalWindows(Storage, MovingWindowSupport):
    """A ``limits`` moving-window store in this process's memory, bounded by LRU eviction.

    Only the moving-window methods do anything; the counter methods of the
    other strategies are refused. Times are ``time.monotonic()`` (``clock``).
    Thread-safe: the sync callers' loops and a server's loop may share it.
    """

    STORAGE_SCHEME = None
    clock = staticmethod(time.monotonic)

    def __init__(self, slots: int = LOCAL_SLOTS) -> None:
        super().__init__()
        self.fresh = _Recent(slots)  # keys whose window has never been full
        self.spent = _Recent(slots)  # keys that have used their whole burst
        self._lock = threading.Lock()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ()

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return self.acquire(key, limit, expiry, amount)

    def acquire(self, key: str, limit: int, expiry: float, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        with self._lock:
            ring = self.spent.rings.get(key)
            spent = ring is not None
            if ring is None:
                ring = self.fresh.rings.get(key) or _Ring()
            times = ring.times
            # As limits' Lua script: refused if the request `limit - amount` places back is in the window.
            allowed = len(times) <= limit - amount or ring.at(limit - amount) < now - expiry
            if allowed:
                for _ in range(amount):
                    ring.add(now, limit)
            # Full now (its oldest slot is in the window): it has used its burst.
            if spent or (len(times) == limit and times[ring.start] >= now - expiry):
                if not spent:
                    self.fresh.pop(key)
                self.spent.put(key, ring)
            else:
                self.fresh.put(key, ring)
        return allowed

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """The oldest time still in ``key``'s window and how many are in it (``(now, 0)``: none)."""
        now = self.clock()
        with self._lock:
            ring = self.spent.rings.get(key) or self.fresh.rings.get(key)
            if ring is None:
                return now, 0
            edge = now - expiry
            # Ages 0.. are newest first; count those still in the window (a binary search).
            low, high = 0, len(ring.times)
            while low < high:
                middle = (low + high) // 2
                if ring.at(middle) >= edge:
                    low = middle + 1
                else:
                    high = middle
            return (ring.at(low - 1), low) if low else (now, 0)

    async def clear(self, key: str) -> None:
        with self._lock:
            self.fresh.pop(key)
            self.spent.pop(key)

    async def reset(self) -> int | None:
        return self.forget_all()

    def forget_all(self) -> int:
        """Forget every window (tests start full); the number of keys forgotten."""
        with self._lock:
            count = len(self.fresh.rings) + len(self.spent.rings)
            self.fresh.clear()
            self.spent.clear()
        return count

    async def check(self) -> bool:
        return True

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("LocalWindows keeps moving windows only")

    async def get(self, key: str) -> int:
        raise NotImplementedError("LocalWindows keeps moving windows only")

    async def get_expiry(self, key: str) -> float:
        raise NotImplementedError("LocalWindows keeps moving windows only")
