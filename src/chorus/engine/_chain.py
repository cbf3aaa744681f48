"""The policy chain of each upstream, and ``fetch``, which sends one call through it.

A call passes through its upstream's policies on its way to the transport::

    cache → breaker → retry → hedge → bulkhead + transport

Each link is a ``Send`` wrapping the next (``chorus.engine._attempt``). A link exists
only when its policy is configured, so an upstream with none has a chain of
one: ``chorus.engine._send.send``. Chains hold loop-bound pieces (singleflight
futures), so each event loop builds its own, once per upstream and set of
per-call overrides; the policies' state is the process's (``policies.registry``).
Both are dropped when ``CHORUS`` changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest

from chorus.engine import _send
from chorus.engine._attempt import Attempt, Send
from chorus.engine._call import Call
from chorus.engine._exceptions import UpstreamError, UpstreamTimeoutError
from chorus.engine._expiry import deadline_at
from chorus.engine._loop_local import LoopLocal
from chorus.engine._metrics import upstream_meter
from chorus.engine._results import Outcome, outcome_of
from chorus.engine._settings import UpstreamConfig, get_settings
from chorus.engine.policies import _registry as registry
from chorus.engine.policies._breaker import breaker_link
from chorus.engine.policies._cache import cache_link
from chorus.engine.policies._hedge import hedge_link
from chorus.engine.policies._retry import retry_link

__all__ = ["chain_for", "fetch", "forget_policies"]

_chains: LoopLocal[dict[object, Send]] = LoopLocal(dict)


def chain_for(call: Call, upstream: UpstreamConfig) -> Send:
    """The running loop's chain for ``call`` on ``upstream``, built on first use."""
    key: object = upstream.name if call.overrides is None else (upstream.name, call.overrides)
    chains = _chains.get()
    chain = chains.get(key)
    if chain is None:
        chain = chains[key] = _build(upstream, call)
    return chain


def _build(upstream: UpstreamConfig, call: Call) -> Send:
    breaker, retry, hedge, cache = call.overrides or (None, None, None, None)
    breaker_on = breaker is not False and upstream.breaker is not None
    retry_policy = _choose(retry, upstream.retry)
    hedge_policy = _choose(hedge, upstream.hedge)
    cache_policy = _choose(cache, upstream.cache)
    if not (breaker_on or retry_policy or hedge_policy or cache_policy):
        return _send.send
    state = registry.policies_for(upstream)
    meter = upstream_meter(upstream)
    send: Send = _send.send
    if hedge_policy is not None:
        send = hedge_link(send, hedge_policy, state.latency, meter)
    if retry_policy is not None:
        send = retry_link(send, retry_policy, state.budget(retry_policy), state.latency, meter)
    if breaker_on:
        assert state.breaker is not None
        send = breaker_link(send, state.breaker, state.shared_breaker)
    if cache_policy is not None:
        send = cache_link(send, state.cache(cache_policy))
    return send


def _choose[P](override: P | bool | None, configured: P | None) -> P | None:
    if override is False:
        return None
    if override is None or override is True:
        return configured
    return override


async def fetch(call: Call, *, request: HttpRequest | None = None) -> Any:
    """Perform one call on its own, through its upstream's policies; return its parsed JSON.

    stock = await chorus.fetch(chorus.call("inventory", "/stock"))

    Raises ``UpstreamError`` when the call fails. A stale answer from the cache
    (its ``STALE_IF_ERROR``) is returned as an answer; ``chorus.gather`` is the
    way to learn that it was stale.
    """
    upstream = get_settings().upstream(call.upstream)
    timeout = call.resolved_timeout(upstream)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = None if timeout is None else started + timeout
    meter = upstream_meter(upstream)
    outcome = Outcome.ERROR
    try:
        async with deadline_at(deadline):
            reply = await chain_for(call, upstream)(Attempt(call, upstream, request, deadline))
        outcome = Outcome.OK if reply.error is None else outcome_of(reply.error)
    except TimeoutError:
        outcome = Outcome.TIMEOUT
        elapsed = (loop.time() - started) * 1000
        raise UpstreamTimeoutError(
            upstream.name, f"no answer within {elapsed:.0f} ms", elapsed_ms=elapsed
        ) from None
    except UpstreamError as error:
        outcome = outcome_of(error)
        raise
    except asyncio.CancelledError:
        outcome = Outcome.CANCELLED
        raise
    finally:
        if meter is not None:
            meter.calls[outcome].inc(1)
    return reply.data


def forget_policies() -> None:
    """Drop every chain and the policies' state: breakers closed, budgets and caches empty."""
    _chains.clear()
    registry.reset()


@receiver(setting_changed)
def _forget_on_change(*, setting: str, **kwargs: object) -> None:
    if setting == "CHORUS":
        forget_policies()
