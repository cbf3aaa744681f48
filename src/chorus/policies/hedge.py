"""Hedging: when the first request is slow, send one more and take the first success.

A slow answer is often one unlucky connection or instance; a second, identical
request usually beats it (Dean and Barroso, "The Tail at Scale"; KrakenD's
concurrent calls). Only idempotent calls are hedged, at most once, after
``delay`` seconds, or after the upstream's observed p95 (``"p95"``), so that
about one call in twenty sends a second request. The first success wins and
the other request is cancelled and awaited: its connection is closed, and
nothing outlives the call. When both fail, the first failure is raised.
A hedge that could not start before the attempt's deadline is not sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from chorus import metrics
from chorus.attempt import IDEMPOTENT_METHODS, Attempt, Reply, Send
from chorus.exceptions import UpstreamError
from chorus.policies.config import HedgePolicy
from chorus.policies.latency import LatencyTracker

__all__ = ["hedge_link"]


def hedge_link(send: Send, policy: HedgePolicy, latency: LatencyTracker) -> Send:
    def delay() -> float:
        if policy.delay != "p95":
            return policy.delay
        p95 = latency.quantile(0.95)
        return policy.min_delay if p95 is None else max(policy.min_delay, p95)

    async def hedging(attempt: Attempt) -> Reply:
        if attempt.call.method not in IDEMPOTENT_METHODS:
            return await send(attempt)
        wait = delay()
        remaining = attempt.remaining()
        if remaining is not None and remaining <= wait:
            return await send(attempt)
        loop = asyncio.get_running_loop()
        racing: list[asyncio.Task[Reply]] = [loop.create_task(send(attempt))]
        try:
            await asyncio.wait(racing, timeout=wait)
            if racing[0].done():
                return racing[0].result()
            metrics.hedged(attempt.upstream.name)
            racing.append(loop.create_task(send(attempt)))
            first_error: UpstreamError | None = None
            pending = set(racing)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = task.exception()
                    if error is None:
                        reply = task.result()
                        return replace(reply, hedged=True, attempts=reply.attempts + 1)
                    if not isinstance(error, UpstreamError):
                        raise error
                    first_error = first_error or error
            assert first_error is not None
            first_error.attempts = sum(_sent(task) for task in racing)
            raise first_error
        finally:
            await _cancel_all(racing)

    return hedging


def _sent(task: asyncio.Task[Reply]) -> int:
    error = task.exception()
    return error.attempts if isinstance(error, UpstreamError) else 1


async def _cancel_all(tasks: list[asyncio.Task[Reply]]) -> None:
    """Cancel the loser (or both, when the caller went away) and wait until it has stopped."""
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: a loser's failure is not news
