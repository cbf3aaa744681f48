"""Retries: ``RetryBudget`` and the chain's retry link.

Written here rather than with ``stamina`` or ``tenacity``: both decide
per call (attempts, wait, an overall timeout as a duration), but neither can
ask a budget shared by every call to the upstream before each retry, nor
refuse an attempt because the fan-out's absolute deadline would cut it off,
and both sleep with their own backoff that a deadline cannot shorten. The
loop below is twenty lines; what it must know about is chorus's.

A call is retried only when all of these hold:

- its method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS);
- its failure is one the policy names in ``on`` (by default a connect error
  or reset, 502, 503 or 504), never a timeout of the call's own time (that
  is a cancellation: there is no time left to retry in);
- attempts remain (``attempts`` counts the first request);
- the backoff sleep plus what an attempt takes (the longer of the attempt
  that just failed and the upstream's recent median, known when it is hedged)
  still ends before the attempt's deadline;
- the **budget** allows it: retries may be at most ``budget`` (20%) of the
  upstream's calls in the last ``budget_window`` seconds, plus
  ``budget_floor`` retries per second, as in Envoy's and Finagle's retry
  budgets. When an upstream is down, every call fails; without a budget each
  would be sent ``attempts`` times and the outage multiplied.

The backoff is full jitter (AWS's "exponential backoff and jitter"): a random
wait between 0 and ``min(max_backoff, backoff * 2^n)``. ``chorus.testing.set_testing``
removes the waits in a user's test suite.

A transport's own re-send of a request whose reused connection dropped
(RFC 9112 §9.3.1) is counted in ``attempts`` and spent from the budget too;
a hedge (below this link) is counted in ``attempts`` but is not a retry.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from chorus.engine._attempt import Attempt, Reply, Send
from chorus.engine._exceptions import UpstreamError, UpstreamTimeoutError
from chorus.engine._methods import IDEMPOTENT_METHODS
from chorus.engine._metrics import UpstreamMeter
from chorus.engine._policy_config import RetryPolicy
from chorus.engine._results import Outcome, outcome_of
from chorus.engine.policies import _switches as switches
from chorus.engine.policies._latency import LatencyTracker

__all__ = ["RetryBudget", "retry_link"]


class RetryBudget:
    """How many retries an upstream may have now, from its calls of the last few seconds."""

    def __init__(self, policy: RetryPolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        # One [second, calls, retries] per second of the window.
        self._buckets: deque[list[int]] = deque()
        self.refused = 0

    def record_call(self) -> None:
        self._bucket()[1] += 1

    def try_spend(self) -> bool:
        """Take one retry from the budget if it has one; count a refusal if not."""
        if self.retries() + 1 > self.allowed():
            self.refused += 1
            return False
        self._bucket()[2] += 1
        return True

    def spend(self, retries: int) -> None:
        """Count retries that happened without asking (a transport's re-send)."""
        self._bucket()[2] += retries

    def calls(self) -> int:
        self._expire()
        return sum(bucket[1] for bucket in self._buckets)

    def retries(self) -> int:
        self._expire()
        return sum(bucket[2] for bucket in self._buckets)

    def allowed(self) -> float:
        policy = self.policy
        return policy.budget * self.calls() + policy.budget_floor * policy.budget_window

    def _bucket(self) -> list[int]:
        second = int(self._clock())
        if not self._buckets or self._buckets[-1][0] != second:
            self._expire()
            self._buckets.append([second, 0, 0])
        return self._buckets[-1]

    def _expire(self) -> None:
        oldest = self._clock() - self.policy.budget_window
        while self._buckets and self._buckets[0][0] + 1 <= oldest:
            self._buckets.popleft()


def _retryable(error: UpstreamError, on: frozenset[str | int]) -> bool:
    outcome = outcome_of(error)
    if outcome is Outcome.BAD_STATUS:
        return error.status in on
    if outcome is Outcome.TIMEOUT:
        # Only the transport's connect timeout reaches here: the call's own is a cancel.
        return isinstance(error, UpstreamTimeoutError) and "connect_timeout" in on
    return outcome.value in on


def retry_link(
    send: Send,
    policy: RetryPolicy,
    budget: RetryBudget,
    latency: LatencyTracker,
    meter: UpstreamMeter | None = None,
) -> Send:
    """The chain's retry link (see the module docstring for when it retries)."""

    async def retrying(attempt: Attempt) -> Reply:
        if attempt.call.method not in IDEMPOTENT_METHODS:
            return await send(attempt)
        budget.record_call()
        loop = asyncio.get_running_loop()
        sent = 0
        for tried in range(1, policy.attempts + 1):
            started = loop.time()
            try:
                reply = await send(attempt)
            except UpstreamError as error:
                sent += error.attempts
                budget.spend(error.attempts - 1 - error.hedged)
                error.attempts = sent
                if tried == policy.attempts or not _retryable(error, policy.on):
                    raise
                pause = 0.0 if switches.testing else _backoff(policy, tried)
                if not _fits(attempt, pause, max(loop.time() - started, _usual(latency))):
                    raise
                if not budget.try_spend():
                    if meter is not None:
                        meter.retry_budget_refusals.inc()
                    raise
                if meter is not None:
                    meter.retries.inc()
                if pause > 0:
                    await asyncio.sleep(pause)
                continue
            budget.spend(reply.attempts - 1 - reply.hedged)
            sent += reply.attempts
            return reply if sent == reply.attempts else replace(reply, attempts=sent)
        raise AssertionError("unreachable: the last attempt returns or raises")

    return retrying


def _backoff(policy: RetryPolicy, tried: int) -> float:
    ceiling = min(policy.max_backoff, policy.backoff * 2 ** (tried - 1))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


def _usual(latency: LatencyTracker) -> float:
    return latency.quantile(0.5) or 0.0


def _fits(attempt: Attempt, pause: float, expected: float) -> bool:
    """Whether another attempt, after ``pause``, can answer before the deadline.

    ``expected`` is what an attempt takes: the longer of the one that just
    failed and the upstream's recent median.
    """
    remaining = attempt.remaining()
    return remaining is None or pause + expected < remaining
