"""Hedging: when the first request is slow, send one more and take the first success.

A slow answer is often one unlucky connection or instance; a second, identical
request usually beats it (Dean and Barroso, "The Tail at Scale"; KrakenD's
concurrent calls). Only idempotent calls are hedged, at most once, after
``delay`` seconds, or after the upstream's observed p95 (``"p95"``), so that
about one call in twenty sends a second request (with ``"p95"``, nothing is
hedged until enough answers have been seen to know it). The first success wins; the
other request is cancelled and awaited (its connection is closed), so nothing
outlives the call. When both fail, the first failure is raised. A hedge that
could not start before the attempt's deadline is not planned at all.

The first request runs in the caller's own task, and the hedge is a timer
until it fires: a call answered before the delay costs one timer, not a task
and a wait (a task per call was most of the policy chain's CPU). If the
hedge wins, it cancels the caller's task out of its wait for the first
request, and that cancellation is withdrawn at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from chorus.engine import _tracing as tracing
from chorus.engine._attempt import Attempt, Reply, Send
from chorus.engine._exceptions import UpstreamError
from chorus.engine._expiry import DEADLINE, by_deadline
from chorus.engine._methods import IDEMPOTENT_METHODS
from chorus.engine._metrics import UpstreamMeter
from chorus.engine._policy_config import HedgePolicy
from chorus.engine.policies._latency import LatencyTracker

__all__ = ["hedge_link"]


def hedge_link(
    send: Send, policy: HedgePolicy, latency: LatencyTracker, meter: UpstreamMeter | None = None
) -> Send:
    def delay() -> float | None:
        if policy.delay != "p95":
            return policy.delay
        p95 = latency.quantile(0.95)
        # No p95 before enough answers have been seen: no hedge either, rather than a
        # second request for every call of a worker's first moments.
        return None if p95 is None else max(policy.min_delay, p95)

    async def hedging(attempt: Attempt) -> Reply:
        if attempt.call.method not in IDEMPOTENT_METHODS:
            return await send(attempt)
        wait = delay()
        remaining = attempt.remaining()
        loop = asyncio.get_running_loop()
        started = loop.time()
        if wait is None or (remaining is not None and remaining <= wait):
            reply = await send(attempt)
        else:
            reply = await _Race(send, attempt, meter).run(wait)
        # The time since the first request went out, hedged or not: recording only the
        # winner's own time would pull the p95 down, hedge more, and pull it down again.
        latency.record(loop.time() - started)
        return reply

    return hedging


class _Race:
    __slots__ = ("attempt", "first_done", "hedge", "hedge_won", "meter", "send", "stop", "task")

    def __init__(self, send: Send, attempt: Attempt, meter: UpstreamMeter | None) -> None:
        self.send = send
        self.meter = meter
        self.attempt = attempt
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.hedge: asyncio.Task[Reply] | None = None
        self.hedge_won = False
        self.first_done = False
        # The message the hedge is cancelled with when the call is: the deadline's, when
        # it was the deadline alone, so that the hedge's request is a timeout as well.
        self.stop: str | None = None

    async def run(self, wait: float) -> Reply:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(wait, self._start_hedge)
        try:
            try:
                reply = await self.send(self.attempt)
            except asyncio.CancelledError as error:
                if not self.hedge_won:
                    if by_deadline(error):
                        self.stop = DEADLINE
                    raise
                # Our own cancel, sent by the winning hedge; anyone else's still stands.
                if self.task.uncancel() > 0:
                    raise
                assert self.hedge is not None
                return self._hedge_answer(self.hedge)
            except UpstreamError as error:
                self.first_done = True
                return await self._after_first_failed(error)
            self.first_done = True
            if self.hedge_won:
                # The hedge won and cancelled us, but the first request finished anyway
                # (its cancel came too late to land): withdraw that cancel, keep this answer.
                self.task.uncancel()
            if self.hedge is None:
                return reply
            if (spans := tracing.spans()) is not None:
                spans.hedge_won("first")
            return _hedged(reply)
        finally:
            timer.cancel()
            await self._stop_hedge()

    def _start_hedge(self) -> None:
        if self.meter is not None:
            self.meter.hedges.inc()
        request = self.send(self.attempt)
        spans = tracing.spans()
        if spans is None:
            self.hedge = asyncio.get_running_loop().create_task(request)
        else:
            self.hedge = spans.hedge_task(request)
        self.hedge.add_done_callback(self._hedge_done)

    def _hedge_done(self, hedge: asyncio.Task[Reply]) -> None:
        if hedge.cancelled() or hedge.exception() is not None or self.first_done:
            return  # a loser, or too late: the first request has answered
        self.hedge_won = True
        self.task.cancel()

    async def _after_first_failed(self, error: UpstreamError) -> Reply:
        """The first request failed: the hedge, if it is out, may still answer."""
        hedge = self.hedge
        if hedge is None:
            raise error
        await asyncio.wait([hedge])
        if hedge.cancelled() or hedge.exception() is not None:
            second = hedge.exception() if not hedge.cancelled() else None
            error.attempts += second.attempts if isinstance(second, UpstreamError) else 1
            error.hedged = True
            raise error
        return self._hedge_answer(hedge)

    def _hedge_answer(self, hedge: asyncio.Task[Reply]) -> Reply:
        """The hedge's reply, which answers the call (``chorus_hedges_won_total``)."""
        if self.meter is not None:
            self.meter.hedges_won.inc()
        if (spans := tracing.spans()) is not None:
            spans.hedge_won("hedge")
        return _hedged(hedge.result())

    async def _stop_hedge(self) -> None:
        """Cancel a hedge still running (the loser) and wait until it has stopped."""
        hedge = self.hedge
        if hedge is None or hedge.done():
            return
        hedge.cancel(msg=self.stop)
        await asyncio.wait([hedge])


def _hedged(reply: Reply) -> Reply:
    return replace(reply, hedged=True, attempts=reply.attempts + 1)
