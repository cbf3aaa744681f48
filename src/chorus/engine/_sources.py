"""Sources: what a fan-out runs. A ``Call`` to a named upstream, or any awaitable.

``source()`` wraps an awaitable to mark it optional, give it its own timeout,
or cache its value like an upstream's answers (``chorus.CachePolicy``). The
fan-out works each source out once, when it is made (``plan``): its upstream
(an unknown name fails then, not mid-request), its time limit, whether it is
required.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chorus.engine._attempt import Reply
from chorus.engine._call import Call
from chorus.engine._policy_config import CachePolicy
from chorus.engine._settings import UpstreamConfig
from chorus.engine.policies import _registry as registry

__all__ = ["Plan", "Source", "SourceSpec", "await_source", "discard", "plan_of", "source"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """An awaitable (or, in a ``Composite``, a factory of one) with its flags."""

    target: Awaitable[Any] | Callable[..., Any]
    required: bool = True
    timeout: float | None = None
    cache: CachePolicy | None = None
    cache_key: str | None = None


SourceSpec = Call | Source | Awaitable[Any]


def source(
    target: Awaitable[Any] | Callable[..., Any],
    *,
    required: bool = True,
    timeout: float | None = None,
    cache: CachePolicy | None = None,
    cache_key: str | None = None,
) -> Source:
    """Wrap an awaitable as a source: mark it optional, give it a timeout or a cache.

    await chorus.gather(orders=chorus.source(count_orders(), required=False, timeout=0.2))

    With ``cache`` (a ``chorus.CachePolicy``) its value is kept under
    ``cache_key`` and shared by concurrent callers, as for an upstream's calls:

    chorus.source(count_orders(), cache=chorus.CachePolicy(ttl=1.0), cache_key="orders-today")
    """
    if timeout is not None and not timeout > 0:
        raise ValueError("timeout must be a positive number of seconds, or None for no limit")
    if (cache is None) != (cache_key is None):
        raise ValueError("a cached source needs both cache and cache_key")
    return Source(
        target=target, required=required, timeout=timeout, cache=cache, cache_key=cache_key
    )


@dataclass(slots=True)
class Plan:
    """One source as the fan-out runs it, worked out once when the fan-out is made."""

    spec: SourceSpec
    required: bool
    timeout: float | None
    # A call's upstream; None for an awaitable source.
    upstream: UpstreamConfig | None


def plan_of(spec: SourceSpec, settings_upstream: Callable[[str], UpstreamConfig]) -> Plan:
    if isinstance(spec, Call):
        upstream = settings_upstream(spec.upstream)  # an unknown name is a bug: say so now
        return Plan(spec, spec.required, spec.resolved_timeout(upstream), upstream)
    if isinstance(spec, Source):
        return Plan(spec, spec.required, spec.timeout, None)
    return Plan(spec, True, None, None)


async def await_source(spec: SourceSpec) -> Reply:
    """An awaitable source's value as a ``Reply``, through its cache when it has one."""
    target = spec.target if isinstance(spec, Source) else spec

    async def produce() -> Reply:
        return Reply(status=None, data=await target)  # type: ignore[misc]

    if not isinstance(spec, Source) or spec.cache is None:
        return await produce()
    assert spec.cache_key is not None
    cache = registry.source_cache(spec.cache_key, spec.cache)
    try:
        return await cache.through(spec.cache_key, produce)
    finally:
        discard(spec)  # answered from the cache: its own coroutine never ran


def discard(spec: SourceSpec) -> None:
    """Close a coroutine that will never run, so Python does not warn it was never awaited."""
    target = spec.target if isinstance(spec, Source) else spec
    if inspect.iscoroutine(target) and inspect.getcoroutinestate(target) == "CORO_CREATED":
        target.close()
