"""``LoopLocal``: one value per running event loop, made on first use.

Anything holding futures, connections or other loop-bound objects (a
transport, a bulkhead, a singleflight's waiters, a Redis client) must not be
touched from another loop. Each loop gets its own, kept in a weak-key map so
that a closed loop's plain values go with it. A value that refers back to its
loop (a future, a connection) keeps its key alive, and so itself: its owner
must ``pop()`` it before the loop closes, as ``aclose_transport`` and
``aclose_hubs`` do at server shutdown. A worker has one loop, so the last
loop's value is found without the weak-key lookup (it showed in the request
profile).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

__all__ = ["LoopLocal"]


class LoopLocal[T]:
    __slots__ = ("_factory", "_last", "_values")

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[asyncio.AbstractEventLoop, T] | None = None

    def get(self) -> T:
        """The running loop's value, made by the factory on first use."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        value = self._values.get(loop)
        if value is None:
            value = self._values[loop] = self._factory()
        self._last = (loop, value)
        return value

    def pop(self) -> T | None:
        """Forget the running loop's value and return it (``None`` if it had none)."""
        loop = asyncio.get_running_loop()
        if self._last is not None and self._last[0] is loop:
            self._last = None
        return self._values.pop(loop, None)

    def clear(self) -> None:
        """Forget every loop's value (their owners close them)."""
        self._last = None
        self._values.clear()
