"""The policies' state, one set per upstream and process: breakers, budgets, caches, latencies.

State outlives requests and event loops (a breaker opened on one request
refuses the next), so it lives here, keyed by upstream name, and not in the
per-loop chains that use it. It is dropped when ``CHORUS`` changes and by
``chorus.testing.reset_policies``. ``policy_report()`` is what an operator sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chorus.engine._metrics import BREAKER_STATE_VALUES, upstream_meter
from chorus.engine._policy_config import CachePolicy, RetryPolicy
from chorus.engine._settings import UpstreamConfig, get_settings
from chorus.engine.policies._breaker import CircuitBreaker
from chorus.engine.policies._cache import ResponseCache
from chorus.engine.policies._latency import LatencyTracker
from chorus.engine.policies._retry import RetryBudget
from chorus.engine.policies._shared_breaker import SharedBreakerState

__all__ = ["UpstreamPolicies", "policies_for", "policy_report", "reset", "source_cache"]


@dataclass(slots=True)
class UpstreamPolicies:
    upstream: UpstreamConfig
    breaker: CircuitBreaker | None = None
    shared_breaker: SharedBreakerState | None = None
    latency: LatencyTracker = field(default_factory=LatencyTracker)
    _budget: RetryBudget | None = None
    _caches: dict[CachePolicy, ResponseCache] = field(default_factory=dict)

    def budget(self, policy: RetryPolicy) -> RetryBudget:
        """The upstream's one retry budget (shaped by the first retry policy that asks)."""
        if self._budget is None:
            self._budget = RetryBudget(self.upstream.retry or policy)
        return self._budget

    def cache(self, policy: CachePolicy) -> ResponseCache:
        found = self._caches.get(policy)
        if found is None:
            found = self._caches[policy] = ResponseCache(self.upstream.name, policy)
        return found


_upstreams: dict[str, UpstreamPolicies] = {}
_sources: dict[tuple[str, CachePolicy], ResponseCache] = {}


def policies_for(upstream: UpstreamConfig) -> UpstreamPolicies:
    found = _upstreams.get(upstream.name)
    if found is None or found.upstream is not upstream:
        breaker = (
            None if upstream.breaker is None else CircuitBreaker(upstream.name, upstream.breaker)
        )
        meter = upstream_meter(upstream)
        if breaker is not None and meter is not None:
            breaker.on_change = meter.breaker_moved
            meter.breaker_state.set(BREAKER_STATE_VALUES[breaker.state.value])
        shared = None
        if upstream.breaker is not None and upstream.breaker.shared:
            shared = SharedBreakerState(upstream.name)
        found = _upstreams[upstream.name] = UpstreamPolicies(
            upstream, breaker=breaker, shared_breaker=shared
        )
    return found


def source_cache(key: str, policy: CachePolicy) -> ResponseCache:
    """The cache of an awaitable source (``chorus.source(..., cache=...)``)."""
    found = _sources.get((key, policy))
    if found is None:
        found = _sources[(key, policy)] = ResponseCache(f"source:{key}", policy)
    return found


def reset() -> None:
    """Forget every breaker, budget, latency and memory cache entry of this process."""
    _upstreams.clear()
    _sources.clear()


def policy_report() -> dict[str, dict[str, Any]]:
    """Each configured upstream's policy state in this process, for an operator's endpoint."""
    upstreams = get_settings().upstreams
    return {name: _report(policies_for(upstreams[name])) for name in sorted(upstreams)}


def _report(policies: UpstreamPolicies) -> dict[str, Any]:
    breaker, budget = policies.breaker, policies._budget
    caches = list(policies._caches.values())
    return {
        "breaker": None
        if breaker is None
        else {
            "state": breaker.state.value,
            "failure_rate": round(breaker.failure_rate, 3),
            "calls": breaker.calls,
            "retry_in": round(breaker.retry_in(), 2),
            "shared": policies.shared_breaker is not None,
        },
        "retry_budget": None
        if budget is None
        else {
            "calls": budget.calls(),
            "retries": budget.retries(),
            "allowed": round(budget.allowed(), 1),
            "refused": budget.refused,
        },
        "cache": None
        if not caches
        else {
            "hits": sum(cache.hits for cache in caches),
            "misses": sum(cache.misses for cache in caches),
            "coalesced": sum(cache.coalesced for cache in caches),
            "stale": sum(cache.stale for cache in caches),
            "shared_errors": sum(cache.store.shared_errors for cache in caches),
        },
        "p95_ms": None
        if (p95 := policies.latency.quantile(0.95)) is None
        else round(p95 * 1000, 1),
    }
