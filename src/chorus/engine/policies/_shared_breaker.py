"""``SharedBreakerState``: one breaker per upstream across every worker process, through Redis.

Each process keeps its own ``CircuitBreaker`` and judges its own calls. What
is shared is the verdict: a process that opens its breaker writes
``chorus:breaker:<upstream>`` with the cool-down as its expiry, and every
process reads that key at most every ``SYNC_INTERVAL`` seconds and opens its
own breaker for the time left. When the key expires, each process probes on
its own, and a failed probe writes the key again. Counting every process's
calls in one shared window would cost a Redis round trip per call; sharing the
verdict costs one per interval.

Calls wait for the read (a few hundred microseconds, one call per interval);
Redis failures are logged and leave the per-process breaker in charge. An
opening is written at once when a failed answer opens the breaker; when a
timeout opens it (the call was cancelled at its deadline, and a cancelled call
cannot wait on Redis), the next call through this worker writes it.
"""

from __future__ import annotations

import logging
import time

from chorus.engine._redis import get_redis, redis_errors
from chorus.engine.policies._breaker import BreakerState, CircuitBreaker

__all__ = ["SharedBreakerState"]

logger = logging.getLogger("chorus.breaker")

SYNC_INTERVAL = 0.25


class SharedBreakerState:
    def __init__(self, name: str) -> None:
        self.key = f"chorus:breaker:{name}"
        self._next_read = 0.0
        self._busy = False

    async def sync(self, breaker: CircuitBreaker) -> None:
        """Publish this process's opening, or read whether another process opened it."""
        publish = breaker.unpublished_open
        now = time.monotonic()
        if self._busy or not (publish or now >= self._next_read):
            return
        self._busy = True
        self._next_read = now + SYNC_INTERVAL
        try:
            client = get_redis()
            if publish:
                breaker.unpublished_open = False
                await client.set(self.key, "open", px=max(1, int(breaker.retry_in() * 1000)))
            elif breaker.state is not BreakerState.OPEN:
                left_ms = await client.pttl(self.key)
                if left_ms > 0:
                    breaker.force_open(left_ms / 1000)
        except redis_errors() as error:
            logger.warning("shared breaker %s unavailable: %s", self.key, type(error).__name__)
        finally:
            self._busy = False
