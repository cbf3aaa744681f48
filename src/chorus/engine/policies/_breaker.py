"""``CircuitBreaker``: stop calling an upstream that keeps failing, probe it after a cool-down.

Written here rather than taken from a library (pybreaker, aiobreaker,
purgatory) because a call's failure must be judged by chorus's own outcomes
(a timeout is the fan-out's cancellation at the attempt's deadline, not an
exception the breaker could catch), because a refusal must cost microseconds
and no await on the hot path, and because the libraries' shared-state
backends hop threads or speak Redis synchronously.

States, as in resilience4j:

- **closed**: calls pass; each outcome lands in a sliding window (the last
  ``window`` calls, or the last ``window_seconds``). Once the window holds at
  least ``minimum_calls`` and the share of failures reaches ``failure_rate``,
  the breaker opens.
- **open**: calls are refused with ``CircuitOpenError`` without touching the
  network, for ``cool_down`` seconds.
- **half-open**: up to ``half_open_calls`` probes pass; when they all
  succeed the breaker closes with an empty window, and one failure opens it again.

Each state change is logged once. The state is per process: every event loop
of a worker shares it (``SharedBreakerState`` spreads it across processes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from chorus.engine._attempt import Attempt, Reply, Send
from chorus.engine._exceptions import CircuitOpenError, UpstreamError
from chorus.engine._expiry import by_deadline
from chorus.engine._policy_config import BreakerPolicy

if TYPE_CHECKING:
    from chorus.engine.policies._shared_breaker import SharedBreakerState

__all__ = ["BreakerState", "CircuitBreaker", "breaker_link"]

logger = logging.getLogger("chorus.breaker")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.policy = policy
        self._clock = clock
        self.state = BreakerState.CLOSED
        self.opened_at = 0.0
        self.open_for = policy.cool_down
        # Count window: one bool per call (True = failed). Time window: [second, calls, failures].
        self._outcomes: deque[bool] = deque(maxlen=policy.window)
        self._buckets: deque[list[int]] = deque()
        self._failures = 0
        self._probes = 0
        self._probe_successes = 0
        # Set when this process opened the breaker, until the shared state has been told.
        self.unpublished_open = False
        # Bumped on every change of state: a call's verdict counts only in the state
        # it was let through in (a call sent before the breaker opened is no probe).
        self.generation = 0
        # Told of every change of state (chorus.engine._metrics' gauge and counter).
        self.on_change: Callable[[BreakerState], None] | None = None

    # -- asking ---------------------------------------------------------------

    def acquire(self) -> float | None:
        """``None`` if a call may go ahead now; else seconds until the next probe."""
        if self.state is BreakerState.CLOSED:
            return None
        now = self._clock()
        if self.state is BreakerState.OPEN:
            waited = now - self.opened_at
            if waited < self.open_for:
                return self.open_for - waited
            self._move(BreakerState.HALF_OPEN, "cool-down over, letting probes through")
            self._probes = self._probe_successes = 0
        if self._probes < self.policy.half_open_calls:
            self._probes += 1
            return None
        return 0.0  # every probe is out: refused until they answer

    def release(self, generation: int | None = None) -> None:
        """An acquired call ended with no verdict (its caller went away)."""
        if generation is not None and generation != self.generation:
            return
        if self.state is BreakerState.HALF_OPEN and self._probes > 0:
            self._probes -= 1

    # -- telling --------------------------------------------------------------

    def record(self, failed: bool, generation: int | None = None) -> None:
        """The outcome of a call that ``acquire`` let through (in ``generation``, if given)."""
        if generation is not None and generation != self.generation:
            return  # let through in an earlier state: says nothing about this one
        if self.state is BreakerState.HALF_OPEN:
            if failed:
                self._open("a probe failed")
            else:
                self._probe_successes += 1
                if self._probe_successes >= self.policy.half_open_calls:
                    self._reset_window()
                    self._move(BreakerState.CLOSED, "probes succeeded")
            return
        if self.state is BreakerState.OPEN:
            return  # a call that started before the breaker opened
        calls = self._add(failed)
        if (
            calls >= self.policy.minimum_calls
            and self._failures >= self.policy.failure_rate * calls
        ):
            self._open(f"{self._failures} of the last {calls} calls failed")

    def force_open(self, remaining: float) -> None:
        """Open for ``remaining`` seconds because another process opened it."""
        if self.state is BreakerState.OPEN:
            return
        self.state = BreakerState.OPEN
        self.generation += 1
        self.opened_at = self._clock()
        self.open_for = remaining
        logger.warning("circuit for %r opened: opened by another worker", self.name)
        if self.on_change is not None:
            self.on_change(BreakerState.OPEN)

    # -- reading --------------------------------------------------------------

    @property
    def calls(self) -> int:
        self._expire(self._clock())
        return len(self._outcomes) if self.policy.window_seconds is None else self._bucket_calls()

    @property
    def failure_rate(self) -> float:
        calls = self.calls
        return self._failures / calls if calls else 0.0

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 unless open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.open_for - (self._clock() - self.opened_at))

    # -- inside ---------------------------------------------------------------

    def _open(self, why: str) -> None:
        self.opened_at = self._clock()
        self.open_for = self.policy.cool_down
        self.unpublished_open = True
        self._move(BreakerState.OPEN, why)

    def _move(self, state: BreakerState, why: str) -> None:
        self.state = state
        self.generation += 1
        log = logger.warning if state is BreakerState.OPEN else logger.info
        log("circuit for %r %s: %s", self.name, _VERBS[state], why)
        if self.on_change is not None:
            self.on_change(state)

    def _reset_window(self) -> None:
        self._outcomes.clear()
        self._buckets.clear()
        self._failures = 0

    def _add(self, failed: bool) -> int:
        if self.policy.window_seconds is None:
            outcomes = self._outcomes
            if len(outcomes) == outcomes.maxlen and outcomes[0]:
                self._failures -= 1
            outcomes.append(failed)
            self._failures += failed
            return len(outcomes)
        now = self._clock()
        self._expire(now)
        second = int(now)
        if not self._buckets or self._buckets[-1][0] != second:
            self._buckets.append([second, 0, 0])
        bucket = self._buckets[-1]
        bucket[1] += 1
        bucket[2] += failed
        self._failures += failed
        return self._bucket_calls()

    def _bucket_calls(self) -> int:
        return sum(bucket[1] for bucket in self._buckets)

    def _expire(self, now: float) -> None:
        if self.policy.window_seconds is None:
            return
        oldest = now - self.policy.window_seconds
        while self._buckets and self._buckets[0][0] + 1 <= oldest:
            self._failures -= self._buckets.popleft()[2]


_VERBS = {
    BreakerState.OPEN: "opened",
    BreakerState.HALF_OPEN: "half-open",
    BreakerState.CLOSED: "closed",
}


def breaker_link(send: Send, breaker: CircuitBreaker, shared: SharedBreakerState | None) -> Send:
    """The chain's breaker: refuse while open, record every verdict, share the state."""
    count_client_errors = breaker.policy.count_client_errors

    def failed(error: UpstreamError) -> bool:
        status = error.status
        return count_client_errors or status is None or not 400 <= status < 500

    async def guarded(attempt: Attempt) -> Reply:
        if shared is not None:
            await shared.sync(breaker)
        retry_in = breaker.acquire()
        if retry_in is not None:
            raise CircuitOpenError(breaker.name, retry_in=retry_in)
        generation = breaker.generation
        try:
            reply = await send(attempt)
        except asyncio.CancelledError as error:
            # Cancelled by its deadline, the upstream did not answer in time: a failure.
            # Cancelled otherwise (fail-fast, the caller went away): no verdict on the upstream.
            if by_deadline(error):
                breaker.record(True, generation)
            else:
                breaker.release(generation)
            raise
        except UpstreamError as error:
            breaker.record(failed(error), generation)
            if shared is not None and breaker.unpublished_open:
                await shared.sync(breaker)  # tell the other workers now, not on the next call
            raise
        except BaseException:
            breaker.release(generation)
            raise
        breaker.record(False, generation)
        return reply

    return guarded
